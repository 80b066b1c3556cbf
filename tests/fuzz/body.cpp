// Fuzz target: request bodies through input::parse_body, with the field
// lists the programs declare (cgi/session.cpp, cgi/messages.cpp,
// cgi/agent.cpp). The first byte picks the list and the content type, the
// rest is the body. Every outcome must be a parsed body that holds only
// declared fields of their declared type, or an http::Error of 400, 413 or
// 415 whose JSON answer can be written; nothing else may escape.
#include "fuzz.hpp"
#include "input.hpp"
#include "limits.hpp"

#include <array>

using namespace abri;

namespace {

constexpr input::Field kOpen[] = {
    {"postcode", input::Kind::String, true, 16, "invalid_postcode"},
    {"role", input::Kind::String, true, 16, "invalid_role"},
};
constexpr input::Field kSend[] = {
    {"text", input::Kind::String, true, limits::kMaxBodyBytes, "invalid_text"},
};
constexpr input::Field kLeave[] = {
    {"quick", input::Kind::Bool, false, 0, "invalid_body"},
};
constexpr input::Field kLogin[] = {
    {"username", input::Kind::String, true, limits::kMaxUsernameBytes, "invalid_credentials"},
    {"password", input::Kind::String, true, limits::kMaxPasswordBytes, "invalid_credentials"},
};
constexpr input::Field kTransfer[] = {
    {"unit", input::Kind::String, true, limits::kMaxUnitCodeBytes, "unknown_unit"},
};

struct Spec {
    std::span<const input::Field> fields;
    bool empty_ok;
};
const std::array<Spec, 6> kSpecs = {{
    {kOpen, false}, {kSend, false}, {kLeave, true}, {kLogin, false}, {kTransfer, false}, {{}, true},
}};
const std::array<const char*, 4> kTypes = {
    "application/json", "application/json; charset=utf-8", "APPLICATION/JSON ;x", "text/plain",
};

void check_fields(const input::Body& body, std::span<const input::Field> spec) {
    for (const auto& [name, value] : body.fields) {
        const input::Field* field = nullptr;
        for (const auto& f : spec) {
            if (f.name == name) field = &f;
        }
        fuzz::require(field != nullptr, "an undeclared field reached the handler");
        if (field->kind == input::Kind::String) {
            fuzz::require(value.is_string(), "a string field of another type");
            fuzz::require(value.get_ref<const std::string&>().size() <= field->max_bytes, "a field over its size");
            (void)body.text(name);
        } else {
            fuzz::require(value.is_boolean(), "a flag of another type");
            (void)body.flag(name);
        }
    }
    for (const auto& f : spec) fuzz::require(!f.required || body.has(f.name), "a required field is missing");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const Spec& spec = kSpecs[data[0] % kSpecs.size()];
    http::Request request;
    request.method = "POST";
    request.content_type = kTypes[(data[0] / kSpecs.size()) % kTypes.size()];
    request.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        check_fields(input::parse_body(request, spec.fields, spec.empty_ok), spec.fields);
    } catch (const http::Error& e) {
        fuzz::require(e.status == 400 || e.status == 413 || e.status == 415, "an unexpected status");
        fuzz::answer(e);
    }
    return 0;
}

// Fuzz target: request bodies through input::parse_body, with the field
// lists the programs declare (lib/fields.hpp, the very tables their
// handlers use). The first byte picks the list, whether an empty body is
// accepted, and the content type; the rest is the body. Every outcome must be a parsed body that holds only
// declared fields of their declared type, or an http::Error of 400, 413 or
// 415 whose JSON answer can be written; nothing else may escape.
#include "fields.hpp"
#include "fuzz.hpp"
#include "input.hpp"
#include "limits.hpp"

#include <array>

using namespace abri;

namespace {

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
    constexpr std::size_t kLists = std::size(fields::kBodies);
    const auto spec = fields::kBodies[data[0] % kLists];
    const bool empty_ok = (data[0] / kLists) % 2 != 0;
    http::Request request;
    request.method = "POST";
    request.content_type = kTypes[(data[0] / kLists / 2) % kTypes.size()];
    request.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        check_fields(input::parse_body(request, spec, empty_ok), spec);
    } catch (const http::Error& e) {
        fuzz::require(e.status == 400 || e.status == 413 || e.status == 415, "an unexpected status");
        fuzz::answer(e);
    }
    return 0;
}

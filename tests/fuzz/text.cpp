// Fuzz target: message text (messages::validate_text, input::is_clean_utf8,
// input::trimmed_length), checked against nlohmann/json's own UTF-8
// validation: a text is clean exactly when it is valid UTF-8 (what JSON
// can carry) without C0 controls other than tab, newline and carriage
// return, and without DEL. An accepted text has 1 to 2000 characters and
// goes into a JSON answer as it is.
#include "fuzz.hpp"
#include "input.hpp"
#include "limits.hpp"
#include "messages.hpp"

using namespace abri;

namespace {

bool valid_utf8(std::string_view text) {
    try {
        (void)nlohmann::json(std::string(text)).dump();  // strict: throws on invalid UTF-8
        return true;
    } catch (const nlohmann::json::type_error&) {
        return false;
    }
}

bool has_forbidden_control(std::string_view text) {
    for (char c : text) {
        const auto b = static_cast<unsigned char>(c);
        if ((b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7f) return true;
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const bool clean = input::is_clean_utf8(text);
    fuzz::require(clean == (valid_utf8(text) && !has_forbidden_control(text)), "is_clean_utf8 disagrees with JSON");
    const std::size_t length = input::trimmed_length(text);
    fuzz::require(length <= size, "more characters than bytes");
    try {
        messages::validate_text(text);
        fuzz::require(clean && length >= 1 && length <= limits::kMaxTextChars, "an invalid text was accepted");
        messages::Message message{1, "visitor", std::string(text), 0};
        const auto body = messages::to_json({message}).dump();
        fuzz::require(nlohmann::json::parse(body)[0]["text"] == std::string(text), "a text that does not round-trip");
    } catch (const http::Error& e) {
        fuzz::require(e.status == 400 && e.code == "invalid_text", "a text error that is not 400 invalid_text");
        fuzz::require(!clean || length == 0 || length > limits::kMaxTextChars, "a valid text was refused");
        fuzz::answer(e);
    }
    return 0;
}

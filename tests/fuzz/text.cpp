// Fuzz target: message text (messages::validate_text, input::is_clean_utf8,
// input::code_points), checked against nlohmann/json's own UTF-8
// validation and an independent reading of the code points: a text is
// clean exactly when it is valid UTF-8 (what JSON can carry) without C0
// controls other than tab and newline, DEL, C1 controls, bidirectional
// overrides and isolates, or line and paragraph separators. An accepted
// text has 1 to 2000 characters as sent and goes into a JSON answer as it is.
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

// The code points of valid UTF-8, read through std::u32string by hand.
std::u32string decoded(std::string_view text) {
    std::u32string out;
    for (std::size_t i = 0; i < text.size();) {
        const auto b = static_cast<unsigned char>(text[i]);
        const std::size_t n = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
        char32_t code = n == 1 ? b : b & (0xff >> (n + 1));
        for (std::size_t k = 1; k < n; ++k) code = (code << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
        out.push_back(code);
        i += n;
    }
    return out;
}

bool has_forbidden(const std::u32string& codes) {
    for (const char32_t c : codes) {
        if ((c < 0x20 && c != U'\t' && c != U'\n') || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) ||
            (c >= 0x2066 && c <= 0x2069) || c == 0x2028 || c == 0x2029) {
            return true;
        }
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const bool valid = valid_utf8(text);
    const auto codes = valid ? decoded(text) : std::u32string();
    const bool clean = input::is_clean_utf8(text);
    fuzz::require(clean == (valid && !has_forbidden(codes)), "is_clean_utf8 disagrees with JSON");
    const std::size_t length = input::code_points(text);
    fuzz::require(length <= size, "more characters than bytes");
    fuzz::require(!valid || length == codes.size(), "code_points disagrees with the decoder");
    try {
        messages::validate_text(text);
        fuzz::require(clean && !input::is_blank(text) && length <= limits::kMaxTextChars,
                      "an invalid text was accepted");
        messages::Message message{1, "visitor", std::string(text), 0, "", ""};
        const auto body = messages::to_json(std::vector<messages::Message>{message}).dump();
        fuzz::require(nlohmann::json::parse(body)[0]["text"] == std::string(text), "a text that does not round-trip");
    } catch (const http::Error& e) {
        fuzz::require(e.status == 400 && e.code == "invalid_text", "a text error that is not 400 invalid_text");
        fuzz::require(!clean || input::is_blank(text) || length > limits::kMaxTextChars, "a valid text was refused");
        fuzz::answer(e);
    }
    return 0;
}

// Fuzz target: the credentials a request carries. The bytes are read as an
// Authorization header (token::from_bearer, token::session_key), a Cookie header
// (auth::cookie_of, over HTTP and HTTPS), an operator's session id in a
// path (token::is_public_id) and a CSRF value (token::equal). Whatever is
// accepted must have the exact shape the server hands out.
#include "auth.hpp"
#include "fuzz.hpp"
#include "token.hpp"

using namespace abri;

namespace {

bool is_base64url(std::string_view s) {
    for (char c : s) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '_';
        if (!ok) return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);

    if (const auto token = token::from_bearer(bytes)) {
        fuzz::require(token->size() == 8 + 43 && token->find_first_not_of("0123456789abcdef") >= 8 &&
                          is_base64url(*token),
                      "a bearer token of the wrong shape");
        fuzz::require(bytes == "Bearer " + *token, "a bearer token read from something else");
        fuzz::require(token::session_key(*token).size() == 8 + 64, "a key of the wrong size");
    }
    fuzz::require(token::is_well_formed(bytes) == (size == 43 && is_base64url(bytes)), "is_well_formed disagrees");

    for (const bool https : {false, true}) {
        http::Request request;
        request.cookie = std::string(bytes);
        request.https = https;
        if (const auto cookie = auth::cookie_of(request)) {
            fuzz::require(token::is_well_formed(*cookie), "a cookie of the wrong shape");
            fuzz::require(bytes.find(auth::cookie_name(https) + "=" + *cookie) != std::string_view::npos,
                          "a cookie that was not in the header");
        }
    }

    if (token::is_public_id(bytes)) {
        fuzz::require(size == 10, "a public id of the wrong length");
        for (char c : bytes) fuzz::require(std::string_view("0123456789ABCDEFGHJKMNPQRSTVWXYZ").find(c) != std::string_view::npos, "a public id outside Crockford base32");
    }

    const std::string_view left = bytes.substr(0, size / 2);
    const std::string_view right = bytes.substr(size / 2);
    fuzz::require(token::equal(left, right) == (left == right), "token::equal disagrees with ==");
    return 0;
}

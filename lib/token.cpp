#include "token.hpp"
#include "limits.hpp"

#include <sodium.h>
#include <array>
#include <cstdio>
#include <stdexcept>

namespace abri::token {

namespace {

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::size_t kPublicIdLength = 10;
constexpr std::size_t kPublicIdTimeChars = 4;
constexpr int kPublicIdTimeStep = 6;  // bits: 64-second steps
constexpr std::size_t kTimeDigits = 8;  // hex: Unix seconds until 2106

std::size_t encoded_length() {
    return sodium_base64_ENCODED_LEN(limits::kTokenBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1;
}

void require_sodium() {
    // sodium_init() is idempotent and thread-safe; failing to seed the
    // CSPRNG must stop the program, never fall back to something weaker.
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

}  // namespace

std::string generate() {
    require_sodium();
    std::array<unsigned char, limits::kTokenBytes> raw{};
    randombytes_buf(raw.data(), raw.size());
    std::string out(encoded_length() + 1, '\0');
    sodium_bin2base64(out.data(), out.size(), raw.data(), raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw.data(), raw.size());
    out.resize(encoded_length());
    return out;
}

std::string hash(std::string_view secret) {
    require_sodium();
    std::array<unsigned char, crypto_generichash_BYTES> digest{};
    crypto_generichash(digest.data(), digest.size(), reinterpret_cast<const unsigned char*>(secret.data()),
                       secret.size(), nullptr, 0);
    std::string hex(digest.size() * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
    hex.pop_back();
    return hex;
}

bool is_well_formed(std::string_view secret) {
    if (secret.size() != encoded_length()) return false;
    for (char c : secret) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '_';
        if (!ok) return false;
    }
    return true;
}

std::string session_token(std::int64_t now) {
    char time[kTimeDigits + 1];
    std::snprintf(time, sizeof time, "%08llx", static_cast<unsigned long long>(now) & 0xffffffffULL);
    return time + generate();
}

bool is_session_token(std::string_view token) {
    const std::string_view time = token.substr(0, kTimeDigits);
    return time.size() == kTimeDigits && time.find_first_not_of("0123456789abcdef") == std::string_view::npos &&
           is_well_formed(token.substr(kTimeDigits));
}

std::string session_key(std::string_view token) { return std::string(token.substr(0, kTimeDigits)) + hash(token); }

std::optional<std::string> from_bearer(std::string_view authorization) {
    constexpr std::string_view kScheme = "Bearer ";
    if (authorization.substr(0, kScheme.size()) != kScheme) return std::nullopt;
    const std::string_view token = authorization.substr(kScheme.size());
    if (!is_session_token(token)) return std::nullopt;
    return std::string(token);
}

std::string public_id(std::int64_t now) {
    require_sodium();
    std::string id;
    const std::uint64_t step = static_cast<std::uint64_t>(now) >> kPublicIdTimeStep;
    for (std::size_t i = kPublicIdTimeChars; i-- > 0;) id += kCrockford[(step >> (5 * i)) & 31];
    while (id.size() < kPublicIdLength) id += kCrockford[randombytes_uniform(32)];
    return id;
}

bool is_public_id(std::string_view id) {
    if (id.size() != kPublicIdLength) return false;
    for (char c : id) {
        if (kCrockford.find(c) == std::string_view::npos) return false;
    }
    return true;
}

bool equal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace abri::token

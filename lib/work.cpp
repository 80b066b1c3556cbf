#include "work.hpp"
#include "errors.hpp"
#include "limits.hpp"

#include <stdexcept>

namespace abri::work {

namespace {

// A challenge, before base64url: issue time, bits, random, MAC of the rest.
constexpr std::size_t kTimeBytes = 4;     // Unix seconds, big-endian, until 2106
constexpr std::size_t kRandomBytes = 8;
constexpr std::size_t kMacBytes = 16;     // keyed BLAKE2b-128
constexpr std::size_t kSignedBytes = kTimeBytes + 1 + kRandomBytes;
constexpr std::size_t kChallengeBytes = kSignedBytes + kMacBytes;
constexpr int kBase64 = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
static_assert(sodium_base64_ENCODED_LEN(kChallengeBytes, kBase64) - 1 == limits::kWorkChallengeChars);

using Raw = std::array<unsigned char, kChallengeBytes>;

void sign(Raw& raw, const unsigned char* key) {
    crypto_generichash(raw.data() + kSignedBytes, kMacBytes, raw.data(), kSignedBytes, key,
                       crypto_generichash_KEYBYTES);
}

std::optional<Raw> decode(std::string_view challenge) {
    Raw raw{};
    std::size_t length = 0;
    if (challenge.size() != limits::kWorkChallengeChars ||
        sodium_base642bin(raw.data(), raw.size(), challenge.data(), challenge.size(), nullptr, &length, nullptr,
                          kBase64) != 0 ||
        length != raw.size()) {
        return std::nullopt;
    }
    return raw;
}

std::int64_t issued_at(const Raw& raw) {
    std::int64_t time = 0;
    for (std::size_t i = 0; i < kTimeBytes; ++i) time = (time << 8) | raw[i];
    return time;
}

}  // namespace

void Window::add(std::int64_t now) {
    const auto i = static_cast<std::size_t>(now % 60);
    if (second_[i] != now) {
        second_[i] = now;
        count_[i] = 0;
    }
    ++count_[i];
}

int Window::total(std::int64_t now) const {
    int total = 0;
    for (std::size_t i = 0; i < second_.size(); ++i) {
        if (second_[i] > now - 60 && second_[i] <= now) total += count_[i];
    }
    return total;
}

Gate::Gate(int after) : after_(after), ceiling_(after * limits::kSessionCeilingTimes) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
    crypto_generichash_keygen(key_.data());
}

Gate::~Gate() { sodium_memzero(key_.data(), key_.size()); }

int Gate::bits_for(int per_minute) const {
    if (per_minute < after_) return 0;
    int extra = 0;
    while (extra < limits::kWorkMaxExtraBits && per_minute >= after_ * (2 << extra)) ++extra;
    return limits::kWorkBits + extra;
}

std::optional<Challenge> Gate::admit(std::string_view challenge, std::string_view nonce, std::int64_t now) {
    std::lock_guard lock(mutex_);
    const int per_minute = window_.total(now);
    // Every admitted session is counted, so this also bounds spent_: at
    // most the ceiling per minute of a challenge's life (and one more).
    if (per_minute >= ceiling_) throw errors::unavailable();
    const int bits = bits_for(per_minute);
    if (bits > 0) {
        const auto issued = accepted(challenge, nonce, now);
        if (!issued) return issue(bits, now);
        spent_.emplace(*issued, challenge);
    }
    window_.add(now);
    return std::nullopt;
}

Challenge Gate::issue(int bits, std::int64_t now) const {
    Raw raw{};
    for (std::size_t i = 0; i < kTimeBytes; ++i) {
        raw[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(now) >> (8 * (kTimeBytes - 1 - i)));
    }
    raw[kTimeBytes] = static_cast<unsigned char>(bits);
    randombytes_buf(raw.data() + kTimeBytes + 1, kRandomBytes);
    sign(raw, key_.data());
    std::string text(limits::kWorkChallengeChars + 1, '\0');
    sodium_bin2base64(text.data(), text.size(), raw.data(), raw.size(), kBase64);
    text.pop_back();
    return {text, bits};
}

std::optional<std::int64_t> Gate::accepted(std::string_view challenge, std::string_view nonce, std::int64_t now) {
    const auto raw = decode(challenge);
    if (!raw) return std::nullopt;
    Raw expected = *raw;
    sign(expected, key_.data());
    if (sodium_memcmp(expected.data() + kSignedBytes, raw->data() + kSignedBytes, kMacBytes) != 0) {
        return std::nullopt;
    }
    const std::int64_t issued = issued_at(*raw);
    if (issued > now || now - issued > limits::kWorkChallengeSeconds) return std::nullopt;
    // The bits it was issued with, even when the rate has risen since: the
    // page solved what it was asked.
    if (!solves(challenge, nonce, (*raw)[kTimeBytes])) return std::nullopt;
    while (!spent_.empty() && now - spent_.begin()->first > limits::kWorkChallengeSeconds) {
        spent_.erase(spent_.begin());
    }
    if (spent_.count({issued, std::string(challenge)}) != 0) return std::nullopt;
    return issued;
}

http::Error required(const Challenge& challenge) {
    return {429, "work_required",
            "Le service reçoit beaucoup de demandes en ce moment. Un instant : votre appareil fait un petit calcul "
            "avant d'ouvrir la conversation.",
            {{"work", {{"challenge", challenge.challenge}, {"bits", challenge.bits}}}}};
}

bool solves(std::string_view challenge, std::string_view nonce, int bits) {
    if (nonce.empty() || nonce.size() > limits::kMaxWorkNonceBytes || bits < 1 || bits > 32) return false;
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(challenge.data()), challenge.size());
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(":"), 1);
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(nonce.data()), nonce.size());
    crypto_hash_sha256_final(&state, digest.data());
    const std::uint32_t first = (std::uint32_t{digest[0]} << 24) | (std::uint32_t{digest[1]} << 16) |
                                (std::uint32_t{digest[2]} << 8) | digest[3];
    return bits == 32 ? first == 0 : (first >> (32 - bits)) == 0;
}

}  // namespace abri::work

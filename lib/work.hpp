// The adaptive proof of work a new session pays while the service is
// flooded (issue 13: floods cost the attacker, not the victims).
//
// While a minute sees at most ABRI_WORK_AFTER new sessions, opening one
// costs nothing. Past that, a request without valid work is answered
// `429 work_required` with a challenge; the page finds a nonce such that
// SHA-256(challenge ":" nonce) starts with `bits` zero bits
// (www/js/work.js) and sends the same request again with
// `work_challenge` and `work_nonce`. `bits` is limits::kWorkBits (2^18
// hashes: a second of a phone's JavaScript; V8 on a server core does 1.4
// million a second, a phone a fourth or a fifth of that), one more each
// time the rate doubles, up to kWorkMaxExtraBits. Past kSessionCeilingTimes the threshold, new
// sessions are refused with a 503 before any database work.
//
// No third party, no cookie, nothing stored: a challenge is its issue
// time, its bits and 8 random bytes, signed with a keyed BLAKE2b under a
// secret drawn when the process starts. Checking one costs a MAC and a
// SHA-256 (microseconds). It is valid kWorkChallengeSeconds and only once:
// spent challenges are remembered until they expire.
//
// The count lives in memory: the session program is the only creator of
// sessions (one process, its workers share this), so it sees every one
// without a database read per request. A restart forgets the last
// minute, which at worst gives one more free minute; it also changes the
// secret, and pending challenges are then simply asked for again.
#pragma once
#include "http.hpp"

#include <sodium.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace abri::work {

// What a 429 work_required carries beside code and message.
struct Challenge {
    std::string challenge;  // base64url, limits::kWorkChallengeChars
    int bits;               // leading zero bits the hash must have
};

// New sessions of the last minute, in one-second buckets: constant memory
// whatever the rate.
class Window {
public:
    void add(std::int64_t now);
    int total(std::int64_t now) const;

private:
    std::array<std::int64_t, 60> second_{};  // the second each bucket counts
    std::array<int, 60> count_{};
};

class Gate {
public:
    // `after`: new sessions per minute that cost nothing (ABRI_WORK_AFTER).
    explicit Gate(int after);
    ~Gate();
    Gate(const Gate&) = delete;
    Gate& operator=(const Gate&) = delete;

    // Decides on one new session at `now`, given the work its request
    // brought (empty strings when none). nullopt: go ahead, it is counted.
    // A Challenge: throw required() of it. Throws errors::unavailable()
    // past the ceiling. Thread-safe.
    std::optional<Challenge> admit(std::string_view challenge, std::string_view nonce, std::int64_t now);

private:
    int bits_for(int per_minute) const;
    Challenge issue(int bits, std::int64_t now) const;
    // The challenge's issue time when it is ours, fresh, solved by `nonce`
    // and not spent yet.
    std::optional<std::int64_t> accepted(std::string_view challenge, std::string_view nonce, std::int64_t now);

    const int after_;
    const int ceiling_;                                    // new sessions per minute, at most
    std::array<unsigned char, crypto_generichash_KEYBYTES> key_{};
    std::mutex mutex_;                                     // guards the two below
    Window window_;
    std::set<std::pair<std::int64_t, std::string>> spent_; // (issue time, challenge), oldest first
};

// The 429 work_required, with `work` ({challenge, bits}) beside code and
// message.
http::Error required(const Challenge& challenge);

// Whether SHA-256(challenge ":" nonce) starts with `bits` zero bits.
bool solves(std::string_view challenge, std::string_view nonce, int bits);

}  // namespace abri::work

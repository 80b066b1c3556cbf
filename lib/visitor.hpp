// A visitor's session: created from a postcode, found again by its bearer
// token, kept alive by the visitor's calls, ended by leaving or erasing.
// Expiry is computed on every lookup, so an expired session is refused
// before any purge has run.
#pragma once
#include "http.hpp"
#include "routing.hpp"
#include "store.hpp"
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace abri::visitor {

struct Ttl {
    int idle;  // seconds without a call from the visitor
    int max;   // seconds after the start
};

struct Session {
    std::int64_t id;
    std::string public_id;
    std::int64_t unit_id;      // the unit that has it now
    std::string role;          // "victim" or "witness"
    std::string state;         // "waiting", "active", "closed"
    std::string lang;          // the page's language (BCP 47)
    bool danger;               // the person said "in danger now"
    std::int64_t agent_id;     // the operator who holds it, 0 for none
    std::int64_t created_at;
    std::int64_t last_seen;
    std::int64_t expires_at;
};

// The languages the page offers; `lang` is one of them.
bool is_known_lang(std::string_view lang);

struct Created {
    std::string token;  // given once to the visitor, never stored
    Session session;
};

// Inside a write transaction.
Created create(store::Db& db, const routing::Unit& unit, const std::string& role, const std::string& lang,
               std::int64_t now, const Ttl& ttl);

// The live session of a bearer token: not left, not erased, not expired.
std::optional<Session> find(store::Db& db, const std::string& token, std::int64_t now, const Ttl& ttl);
// Same lookup by internal id (a woken long-poll checks its session again).
std::optional<Session> find_by_id(store::Db& db, std::int64_t id, std::int64_t now, const Ttl& ttl);

// Whether last_seen is old enough to be written again (writes are spaced
// by limits::kLastSeenGranularity).
bool needs_touch(const Session& session, std::int64_t now);
void touch(store::Db& db, std::int64_t id, std::int64_t now);

// Whether the session may send `bytes` more now: `burst` sends in a row
// (ABRI_SEND_BURST), then one every limits::kSendIntervalSeconds, and
// limits::kMaxSessionMessages / kMaxSessionBytes in all. Counts the send;
// 429 too_many_messages otherwise.
void admit_send(store::Db& db, const Session& session, std::size_t bytes, int burst, std::int64_t now);

// "Je suis en danger maintenant": flags the session for the operators
// (once) with a `danger` system message both sides see.
void flag_danger(store::Db& db, const Session& session, std::int64_t now);

// The visitor goes: the token dies, the operator sees a system message
// (`left` or `quick_exit`).
void leave(store::Db& db, const Session& session, bool quick, std::int64_t now);
// The session, its messages and its pulses are deleted now; the operator
// who held it is told by public id only (the `erased` list).
void erase(store::Db& db, const Session& session, std::int64_t now);

std::int64_t expires_at(std::int64_t created_at, std::int64_t last_seen, const Ttl& ttl);

}  // namespace abri::visitor

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

namespace abri::visitor {

struct Ttl {
    int idle;  // seconds without a call from the visitor
    int max;   // seconds after the start
};

struct Session {
    std::int64_t id;
    std::string public_id;
    std::int64_t unit_id;
    std::string role;    // "victim" or "witness"
    std::string state;   // "waiting", "active", "closed"
    std::int64_t created_at;
    std::int64_t last_seen;
    std::int64_t expires_at;
};

struct Created {
    std::string token;  // given once to the visitor, never stored
    Session session;
};

// Inside a write transaction.
Created create(store::Db& db, const routing::Unit& unit, const std::string& role, std::int64_t now, const Ttl& ttl);

// The live session of a bearer token: not left, not erased, not expired.
std::optional<Session> find(store::Db& db, const std::string& token, std::int64_t now, const Ttl& ttl);
// The live session of the request's `Authorization: Bearer` token, or
// 401 session_expired.
Session require(store::Db& db, const http::Request& request, std::int64_t now, const Ttl& ttl);
// Same lookup by internal id (a woken long-poll checks its session again).
std::optional<Session> find_by_id(store::Db& db, std::int64_t id, std::int64_t now, const Ttl& ttl);

// Whether last_seen is old enough to be written again (writes are spaced
// by limits::kLastSeenGranularity).
bool needs_touch(const Session& session, std::int64_t now);
void touch(store::Db& db, std::int64_t id, std::int64_t now);

// The visitor goes: the token dies, the operator sees a system message.
void leave(store::Db& db, const Session& session, bool quick, std::int64_t now);
// The session and all its messages are deleted now.
void erase(store::Db& db, const Session& session, std::int64_t now);

std::int64_t expires_at(std::int64_t created_at, std::int64_t last_seen, const Ttl& ttl);

}  // namespace abri::visitor

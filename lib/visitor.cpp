#include "visitor.hpp"
#include "errors.hpp"
#include "limits.hpp"
#include "messages.hpp"
#include "pulse.hpp"
#include "token.hpp"

#include <algorithm>

namespace abri::visitor {

namespace {

constexpr const char* kInsert =
    "INSERT INTO sessions (public_id, token_hash, unit_id, role, created_at, last_seen) VALUES (?, ?, ?, ?, ?, ?)";
constexpr const char* kByToken =
    "SELECT id, public_id, unit_id, role, state, created_at, last_seen FROM sessions "
    "WHERE token_hash = ? AND state <> 'left'";
constexpr const char* kById =
    "SELECT id, public_id, unit_id, role, state, created_at, last_seen FROM sessions "
    "WHERE id = ? AND state <> 'left'";
constexpr const char* kTouch = "UPDATE sessions SET last_seen = ? WHERE id = ? AND last_seen < ?";
constexpr const char* kLeave =
    "UPDATE sessions SET state = 'left', quick_exit = ?, ended_at = ? WHERE id = ? AND state <> 'left'";
constexpr const char* kDelete = "DELETE FROM sessions WHERE id = ?";
constexpr int kPublicIdAttempts = 8;

std::optional<Session> read_live(store::Query& query, std::int64_t now, const Ttl& ttl) {
    if (!query.next()) return std::nullopt;
    Session s{query.integer(0), query.text(1), query.integer(2), query.text(3), query.text(4),
              query.integer(5), query.integer(6), 0};
    s.expires_at = expires_at(s.created_at, s.last_seen, ttl);
    if (now >= s.expires_at) return std::nullopt;
    return s;
}

}  // namespace

std::int64_t expires_at(std::int64_t created_at, std::int64_t last_seen, const Ttl& ttl) {
    return std::min(last_seen + ttl.idle, created_at + ttl.max);
}

Created create(store::Db& db, const routing::Unit& unit, const std::string& role, std::int64_t now, const Ttl& ttl) {
    Created created{token::session_token(now), {}};
    std::string public_id;
    // Public ids are 30 random bits within 64 seconds: the UNIQUE index
    // refuses the rare second one, and another is drawn.
    for (int attempt = 1;; ++attempt) {
        public_id = token::public_id(now);
        try {
            store::Query(db, kInsert, public_id, token::session_key(created.token), unit.id, role, now, now).run();
            break;
        } catch (const store::Error& e) {
            if (e.code != SQLITE_CONSTRAINT || attempt == kPublicIdAttempts) throw;
        }
    }
    const std::int64_t id = store::last_insert_id(db);
    pulse::record(db, id, unit.id, now);
    created.session = Session{id, public_id, unit.id, role, "waiting", now, now, expires_at(now, now, ttl)};
    return created;
}

std::optional<Session> find(store::Db& db, const std::string& token, std::int64_t now, const Ttl& ttl) {
    store::Query query(db, kByToken, token::session_key(token));
    return read_live(query, now, ttl);
}

Session require(store::Db& db, const http::Request& request, std::int64_t now, const Ttl& ttl) {
    const auto token = token::from_bearer(request.authorization);
    if (!token) throw errors::session_expired();
    auto session = find(db, *token, now, ttl);
    if (!session) throw errors::session_expired();
    return *session;
}

std::optional<Session> find_by_id(store::Db& db, std::int64_t id, std::int64_t now, const Ttl& ttl) {
    store::Query query(db, kById, id);
    return read_live(query, now, ttl);
}

bool needs_touch(const Session& session, std::int64_t now) {
    return now - session.last_seen >= limits::kLastSeenGranularity;
}

void touch(store::Db& db, std::int64_t id, std::int64_t now) { store::Query(db, kTouch, now, id, now).run(); }

void leave(store::Db& db, const Session& session, bool quick, std::int64_t now) {
    store::Query(db, kLeave, quick ? 1 : 0, now, session.id).run();
    if (store::changes(db) == 0) return;
    messages::add(db, session.id, session.unit_id, "system",
                  quick ? "La personne a quitté la conversation en urgence (sortie rapide)."
                        : "La personne a quitté la conversation.",
                  now);
}

void erase(store::Db& db, const Session& session, std::int64_t now) {
    store::Query(db, kDelete, session.id).run();
    pulse::record(db, session.id, session.unit_id, now);
}

}  // namespace abri::visitor

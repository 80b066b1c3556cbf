#include "visitor.hpp"
#include "errors.hpp"
#include "limits.hpp"
#include "messages.hpp"
#include "pulse.hpp"
#include "stats.hpp"
#include "token.hpp"

#include <algorithm>
#include <iterator>

namespace abri::visitor {

namespace {

constexpr const char* kInsert =
    "INSERT INTO sessions (public_id, token_hash, unit_id, role, lang, created_at, last_seen) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kByToken =
    "SELECT id, public_id, unit_id, role, state, lang, danger, coalesce(agent_id, 0), created_at, last_seen "
    "FROM sessions WHERE token_hash = ? AND state <> 'left'";
constexpr const char* kById =
    "SELECT id, public_id, unit_id, role, state, lang, danger, coalesce(agent_id, 0), created_at, last_seen "
    "FROM sessions WHERE id = ? AND state <> 'left'";
constexpr const char* kSendState =
    "SELECT send_tat, visitor_messages, visitor_bytes FROM sessions WHERE id = ?";
constexpr const char* kSetSendTat = "UPDATE sessions SET send_tat = ? WHERE id = ?";
constexpr const char* kFlagDanger = "UPDATE sessions SET danger = 1 WHERE id = ? AND danger = 0";
constexpr const char* kRememberErased =
    "INSERT OR REPLACE INTO erased (public_id, agent_id, at) VALUES (?, ?, ?)";
constexpr const char* kDeletePulses = "DELETE FROM pulses WHERE session_id = ?";
constexpr std::string_view kLangs[] = {"fr", "en", "ar", "es", "pt", "tr", "ro", "ru", "uk", "zh"};
constexpr const char* kTouch = "UPDATE sessions SET last_seen = ? WHERE id = ? AND last_seen < ?";
constexpr const char* kLeave =
    "UPDATE sessions SET state = 'left', quick_exit = ?, ended_at = ? WHERE id = ? AND state <> 'left'";
constexpr const char* kDelete = "DELETE FROM sessions WHERE id = ?";
constexpr int kPublicIdAttempts = 8;

std::optional<Session> read_live(store::Query& query, std::int64_t now, const Ttl& ttl) {
    if (!query.next()) return std::nullopt;
    Session s{.id = query.integer(0),
              .public_id = query.text(1),
              .unit_id = query.integer(2),
              .role = query.text(3),
              .state = query.text(4),
              .lang = query.text(5),
              .danger = query.integer(6) != 0,
              .agent_id = query.integer(7),
              .created_at = query.integer(8),
              .last_seen = query.integer(9),
              .expires_at = 0};
    s.expires_at = expires_at(s.created_at, s.last_seen, ttl);
    if (now >= s.expires_at) return std::nullopt;
    return s;
}

}  // namespace

std::int64_t expires_at(std::int64_t created_at, std::int64_t last_seen, const Ttl& ttl) {
    return std::min(last_seen + ttl.idle, created_at + ttl.max);
}

bool is_known_lang(std::string_view lang) {
    return std::find(std::begin(kLangs), std::end(kLangs), lang) != std::end(kLangs);
}

Created create(store::Db& db, const routing::Unit& unit, const std::string& role, const std::string& lang,
               std::int64_t now, const Ttl& ttl) {
    Created created{token::session_token(now), {}};
    std::string public_id;
    // Public ids are 30 random bits within 64 seconds: the UNIQUE index
    // refuses the rare second one, and another is drawn.
    for (int attempt = 1;; ++attempt) {
        public_id = token::public_id(now);
        try {
            store::Query(db, kInsert, public_id, token::session_key(created.token), unit.id, role, lang, now, now)
                .run();
            break;
        } catch (const store::Error& e) {
            if (!e.is_constraint() || attempt == kPublicIdAttempts) throw;
        }
    }
    const std::int64_t id = store::last_insert_id(db);
    pulse::record(db, id, unit.id, now);
    stats::started(db, id, now);
    created.session = Session{.id = id,
                              .public_id = public_id,
                              .unit_id = unit.id,
                              .role = role,
                              .state = "waiting",
                              .lang = lang,
                              .danger = false,
                              .agent_id = 0,
                              .created_at = now,
                              .last_seen = now,
                              .expires_at = expires_at(now, now, ttl)};
    return created;
}

std::optional<Session> find(store::Db& db, const std::string& token, std::int64_t now, const Ttl& ttl) {
    store::Query query(db, kByToken, token::session_key(token));
    return read_live(query, now, ttl);
}

std::optional<Session> find_by_id(store::Db& db, std::int64_t id, std::int64_t now, const Ttl& ttl) {
    store::Query query(db, kById, id);
    return read_live(query, now, ttl);
}

bool needs_touch(const Session& session, std::int64_t now) {
    return now - session.last_seen >= limits::kLastSeenGranularity;
}

void touch(store::Db& db, std::int64_t id, std::int64_t now) { store::Query(db, kTouch, now, id, now).run(); }

void admit_send(store::Db& db, const Session& session, std::size_t bytes, int burst, std::int64_t now) {
    store::Query state(db, kSendState, session.id);
    if (!state.next()) throw errors::session_expired();
    if (state.integer(1) >= limits::kMaxSessionMessages ||
        state.integer(2) + static_cast<std::int64_t>(bytes) > limits::kMaxSessionBytes) {
        throw http::Error{429, "too_many_messages",
                          "Cette conversation a atteint le nombre de messages possible. En cas de danger, "
                          "appelez le 17 ou le 112, ou envoyez un SMS au 114."};
    }
    // GCRA: the bucket is empty again at `tat`; a send may run a burst ahead.
    const std::int64_t tat = std::max(state.integer(0), now) + limits::kSendIntervalSeconds;
    if (tat - now > static_cast<std::int64_t>(burst) * limits::kSendIntervalSeconds) {
        throw http::Error{429, "too_many_messages",
                          "Vous envoyez des messages très vite : attendez une seconde avant le suivant."};
    }
    store::Query(db, kSetSendTat, tat, session.id).run();
}

void flag_danger(store::Db& db, const Session& session, std::int64_t now) {
    store::Query(db, kFlagDanger, session.id).run();
    if (store::changes(db) == 0) return;
    messages::add_system(db, session.id, session.unit_id, "danger",
                         "La personne signale être en danger maintenant.", now);
}

void leave(store::Db& db, const Session& session, bool quick, std::int64_t now) {
    store::Query(db, kLeave, quick ? 1 : 0, now, session.id).run();
    if (store::changes(db) == 0) return;
    stats::left(db, session.id, quick, now);
    if (quick) {
        messages::add_system(db, session.id, session.unit_id, "quick_exit",
                             "La personne a quitté la conversation en urgence (sortie rapide).", now);
    } else {
        messages::add_system(db, session.id, session.unit_id, "left", "La personne a quitté la conversation.",
                             now);
    }
}

void erase(store::Db& db, const Session& session, std::int64_t now) {
    if (session.agent_id != 0) store::Query(db, kRememberErased, session.public_id, session.agent_id, now).run();
    store::Query(db, kDelete, session.id).run();  // its messages by cascade
    // Its pulses name it and its unit at the times it changed: they go too.
    store::Query(db, kDeletePulses, session.id).run();
    // The consoles of its unit still learn that it is gone.
    pulse::record(db, 0, session.unit_id, now);
}

}  // namespace abri::visitor

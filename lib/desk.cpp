#include "desk.hpp"
#include "duty.hpp"
#include "http.hpp"
#include "limits.hpp"
#include "messages.hpp"
#include "notes.hpp"
#include "pulse.hpp"
#include "routing.hpp"

#include <cstdio>
#include <ctime>

namespace abri::desk {

namespace {

constexpr const char* kFind =
    "SELECT s.id, s.public_id, s.unit_id, u.name, s.role, s.state, coalesce(s.agent_id, 0), s.quick_exit, "
    "s.created_at, s.last_seen, coalesce(s.ended_at, 0), s.answered_at IS NOT NULL OR s.claim_message <> 0 "
    "FROM sessions s JOIN units u ON u.id = s.unit_id "
    "WHERE s.public_id = ?1 AND s.unit_id IN (SELECT unit_id FROM agent_units WHERE agent_id = ?2)";
constexpr const char* kClaim =
    "UPDATE sessions SET state = 'active', agent_id = ?, claim_message = 0 WHERE id = ? AND state = 'waiting'";
constexpr const char* kSetClaimMessage = "UPDATE sessions SET claim_message = ? WHERE id = ?";
constexpr const char* kOpenLeft = "UPDATE sessions SET agent_id = ? WHERE id = ? AND state = 'left' AND agent_id IS NULL";
constexpr const char* kTransfer =
    "UPDATE sessions SET unit_id = ?, state = 'waiting', agent_id = NULL, claim_message = 0, queued_at = ? "
    "WHERE id = ?";
constexpr const char* kClose = "UPDATE sessions SET state = 'closed', ended_at = ?, agent_id = NULL WHERE id = ?";
constexpr const char* kLetGo = "UPDATE sessions SET agent_id = NULL WHERE id = ?";
constexpr const char* kHeldActive =
    "SELECT id, unit_id, created_at, last_seen FROM sessions WHERE agent_id = ? AND state = 'active'";
constexpr const char* kExpire =
    "UPDATE sessions SET state = 'left', ended_at = ? WHERE id = ? AND state = 'active'";
constexpr const char* kAllUnits = "SELECT id, code, name, kind FROM units ORDER BY code";
constexpr const char* kTranscript =
    "SELECT m.sender, m.text, m.at, coalesce(m.kind, ''), coalesce(a.display_name, a.username, '') "
    "FROM messages m LEFT JOIN agents a ON a.id = m.author_id WHERE m.session_id = ? ORDER BY m.id LIMIT ?";
// The author, and whether the person sees their display name: the choice
// of the unit holding the conversation now (sql/007_signed_names.sql).
constexpr const char* kSetAuthor =
    "UPDATE messages SET author_id = ?1, signed = (SELECT signs_names FROM units WHERE id = ?3) "
    "WHERE id = ?2 AND author_id IS NULL";

http::Error not_found() { return {404, "not_found", "Cette conversation n'existe pas ou n'est plus visible."}; }

http::Error not_yours() {
    return {403, "not_yours", "Cette conversation est suivie par une autre personne de l'équipe."};
}

http::Error not_claimed() {
    return {409, "not_claimed", "Prenez d'abord cette conversation en charge."};
}

http::Error session_ended() {
    return {409, "session_ended", "La personne a quitté la conversation : elle ne peut plus lire vos messages."};
}

// Left before anyone of the team took it: any operator of the unit may
// still open what the person wrote.
bool is_left_unanswered(const Case& c) { return c.state == "left" && c.agent_id == 0 && !c.seen_by_team; }

bool is_gone(const Case& c) { return c.state == "left" || c.state == "closed" || c.expired; }

// The agent holds the session and its visitor can still read it.
void require_live_holder(std::int64_t agent_id, const Case& c) {
    if (c.agent_id != agent_id) {
        if (c.state == "waiting") throw not_claimed();
        throw not_yours();
    }
    if (is_gone(c)) throw session_ended();
}

// The operator opens, read only, what a person who left before an answer
// wrote. The system message (the person cannot read it any more) marks
// where the console's history starts, as a claim's does.
void open_left(store::Db& db, std::int64_t agent_id, const Case& c, std::int64_t now) {
    store::Query(db, kOpenLeft, agent_id, c.id).run();
    if (store::changes(db) != 1) {
        throw http::Error{409, "already_claimed", "Une autre personne de l'équipe a déjà ouvert cette conversation."};
    }
    const std::int64_t message = messages::add_system(
        db, c.id, c.unit_id, "claimed", "Conversation ouverte après le départ de la personne, sans réponse.", now);
    store::Query(db, kSetClaimMessage, message, c.id).run();
}

// The time `at` where the console is, `tz_offset` minutes east of UTC.
std::string console_time(std::int64_t at, int tz_offset) {
    const auto t = static_cast<std::time_t>(at + std::int64_t{tz_offset} * 60);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[32];
    const std::size_t n = std::strftime(out, sizeof out, "%Y-%m-%d %H:%M:%S", &tm);
    return std::string(out, n);
}

std::string utc_offset(int tz_offset) {
    const int minutes = tz_offset < 0 ? -tz_offset : tz_offset;
    char out[16];
    std::snprintf(out, sizeof out, "UTC%c%02d:%02d", tz_offset < 0 ? '-' : '+', minutes / 60, minutes % 60);
    return out;
}

// Who wrote a line of the transcript: the operator's name when known.
std::string who(const std::string& sender, const std::string& kind, const std::string& author) {
    if (sender == "visitor") return "Personne";
    if (kind == notes::kKind) return "Note interne (" + (author.empty() ? std::string("équipe") : author) + ")";
    if (sender == "agent") return author.empty() ? "Équipe" : "Équipe (" + author + ")";
    return "Système";
}

// Every line after the first indented, whatever the line breaks typed.
std::string indented(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            out += "\n    ";
        } else {
            out += c;
        }
    }
    return out;
}

std::string state_label(const Case& c) {
    if (c.state == "left") {
        return c.quick_exit ? "la personne est partie en urgence (sortie rapide)" : "la personne est partie";
    }
    if (c.expired) return "expirée";
    if (c.state == "closed") return "close";
    if (c.state == "waiting") return "en attente";
    return "en cours";
}

}  // namespace

Case find(store::Db& db, std::int64_t agent_id, std::string_view public_id, std::int64_t now,
          const visitor::Ttl& ttl) {
    store::Query query(db, kFind, public_id, agent_id);
    if (!query.next()) throw not_found();
    Case c{.id = query.integer(0),
           .public_id = query.text(1),
           .unit_id = query.integer(2),
           .unit_name = query.text(3),
           .role = query.text(4),
           .state = query.text(5),
           .agent_id = query.integer(6),
           .quick_exit = query.integer(7) != 0,
           .created_at = query.integer(8),
           .last_seen = query.integer(9),
           .ended_at = query.integer(10),
           .expired = false,
           .seen_by_team = query.integer(11) != 0};
    c.expired = now >= visitor::expires_at(c.created_at, c.last_seen, ttl);
    const bool mine = c.agent_id == agent_id;
    const bool left_kept = c.state == "left" && now - c.ended_at < limits::kLeftKeptSeconds;
    bool visible = false;
    if (c.state == "waiting") visible = !c.expired;
    if (c.state == "active") visible = !c.expired || mine;
    if (c.state == "left") visible = left_kept && (mine || is_left_unanswered(c));
    if (!visible) throw not_found();
    return c;
}

void claim(store::Db& db, std::int64_t agent_id, const Case& c, std::int64_t now) {
    if (c.state == "active" && c.agent_id == agent_id && !c.expired) return;
    if (is_left_unanswered(c)) {
        open_left(db, agent_id, c, now);
        return;
    }
    if (is_gone(c)) throw session_ended();
    if (c.state != "waiting") {
        throw http::Error{409, "already_claimed", "Une autre personne de l'équipe a déjà pris cette conversation."};
    }
    store::Query(db, kClaim, agent_id, c.id).run();
    if (store::changes(db) != 1) {
        throw http::Error{409, "already_claimed", "Une autre personne de l'équipe a déjà pris cette conversation."};
    }
    const std::int64_t message = messages::add_system(
        db, c.id, c.unit_id, "claimed", "Une personne de l'équipe « " + c.unit_name + " » vous répond.", now);
    store::Query(db, kSetClaimMessage, message, c.id).run();
}

messages::Sent reply(store::Db& db, std::int64_t agent_id, const Case& c, std::string_view text, std::int64_t now,
                     const std::optional<std::string>& client_id) {
    require_live_holder(agent_id, c);
    if (messages::Sent sent{}; client_id && messages::find_sent(db, c.id, *client_id, sent)) return sent;
    // Only the holder's console and the person's page see it: no unit's queue changes.
    const auto sent = messages::add(db, c.id, 0, "agent", text, now, client_id);
    store::Query(db, kSetAuthor, agent_id, sent.id, c.unit_id).run();  // colleagues and the export say who answered
    return sent;
}

void release(store::Db& db, std::int64_t agent_id, const Case& c, std::int64_t now) {
    require_live_holder(agent_id, c);
    duty::release(db, c.id, c.unit_id, now);
}

void transfer(store::Db& db, std::int64_t agent_id, const Case& c, std::string_view unit_code, std::int64_t now,
              const std::optional<std::string>& note) {
    const auto unit = routing::find_unit(db, unit_code);
    if (!unit) throw http::Error{400, "unknown_unit", "Cette équipe n'existe pas."};
    if (is_gone(c)) throw session_ended();
    if (c.state != "waiting" && c.agent_id != agent_id) throw not_yours();
    store::Query(db, kTransfer, unit->id, now, c.id).run();
    // The queue it leaves changes too.
    pulse::record(db, c.id, c.unit_id, now);
    messages::add_system(db, c.id, unit->id, "transferred",
                         "Votre conversation a été transmise à l'équipe « " + unit->name +
                             " ». Merci de patienter : une personne va vous répondre.",
                         now);
    // After the transfer's message: the receiving unit reads it with the history.
    if (note) notes::add(db, c.id, agent_id, *note, now);
}

void close(store::Db& db, std::int64_t agent_id, const Case& c, std::int64_t now) {
    if (c.agent_id != agent_id) {
        if (c.state == "waiting") throw not_claimed();
        throw not_yours();
    }
    if (is_gone(c)) {
        store::Query(db, kLetGo, c.id).run();
        pulse::record(db, c.id, c.unit_id, now);
        return;
    }
    store::Query(db, kClose, now, c.id).run();
    messages::add_system(db, c.id, c.unit_id, "closed",
                         "L'équipe a mis fin à la conversation. En cas de danger, appelez le 17 ou le 112, "
                         "ou envoyez un SMS au 114.",
                         now);
}

void require_holder(std::int64_t agent_id, const Case& c) {
    if (c.agent_id != agent_id) throw not_yours();
}

bool has_expired_held(store::Db& db, std::int64_t agent_id, std::int64_t now, const visitor::Ttl& ttl) {
    store::Query query(db, kHeldActive, agent_id);
    while (query.next()) {
        if (now >= visitor::expires_at(query.integer(2), query.integer(3), ttl)) return true;
    }
    return false;
}

int expire_held(store::Db& db, std::int64_t agent_id, std::int64_t now, const visitor::Ttl& ttl) {
    struct Expired {
        std::int64_t id, unit_id;
        bool at_max;  // reached the longest duration rather than idle
    };
    std::vector<Expired> expired;
    {
        store::Query query(db, kHeldActive, agent_id);
        while (query.next()) {
            const std::int64_t created = query.integer(2);
            const std::int64_t seen = query.integer(3);
            if (now < visitor::expires_at(created, seen, ttl)) continue;
            expired.push_back({query.integer(0), query.integer(1), created + ttl.max <= seen + ttl.idle});
        }
    }
    for (const auto& e : expired) {
        store::Query(db, kExpire, now, e.id).run();
        if (store::changes(db) == 0) continue;
        messages::add_system(db, e.id, e.unit_id, "expired",
                      e.at_max ? "La conversation a atteint sa durée maximale : elle a expiré. "
                                 "La personne ne peut plus lire vos messages."
                               : "La personne ne s'est plus connectée depuis " + std::to_string(ttl.idle / 60) +
                                     " minutes : la conversation a expiré. Elle ne peut plus lire vos messages.",
                      now);
    }
    return static_cast<int>(expired.size());
}

std::vector<routing::Unit> all_units(store::Db& db) {
    std::vector<routing::Unit> units;
    store::Query query(db, kAllUnits);
    while (query.next()) units.push_back({query.integer(0), query.text(1), query.text(2), query.text(3)});
    return units;
}

std::string transcript(store::Db& db, const Case& c, std::string_view agent_username, std::int64_t now,
                       int tz_offset) {
    std::string out;
    out += "abri — conversation " + c.public_id + "\n";
    out += "Équipe : " + c.unit_name + "\n";
    out += std::string("Personne : ") + (c.role == "victim" ? "victime" : "témoin") + "\n";
    out += "Début : " + console_time(c.created_at, tz_offset) + "\n";
    out += "État : " + state_label(c) + "\n";
    out += "Exportée le " + console_time(now, tz_offset) + " par " + std::string(agent_username) + "\n";
    out += "Heures de la console (" + utc_offset(tz_offset) +
           "). Les notes internes n'ont pas été lues par la personne.\n\n";
    std::size_t count = 0;
    store::Query query(db, kTranscript, c.id, static_cast<std::int64_t>(limits::kMaxTranscriptMessages));
    while (query.next()) {
        out += "[" + console_time(query.integer(2), tz_offset) + "] " +
               who(query.text(0), query.text(3), query.text(4)) + " : " +
               indented(query.text(1)) + "\n";
        ++count;
    }
    if (count == limits::kMaxTranscriptMessages) {
        out += "\n(Export limité aux " + std::to_string(count) + " premiers messages.)\n";
    }
    return out;
}

}  // namespace abri::desk

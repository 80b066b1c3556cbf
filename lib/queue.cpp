#include "queue.hpp"
#include "duty.hpp"
#include "limits.hpp"
#include "notes.hpp"
#include "pulse.hpp"
#include "typing.hpp"

#include <algorithm>

namespace abri::queue {

namespace {

// The columns of an Entry, in the order read_entry() reads them. ?1 is
// always the agent.
#define ABRI_ENTRY_COLUMNS                                                                                  \
    "s.id, s.public_id, u.code, u.name, u.kind, s.role, s.lang, s.state, coalesce(s.agent_id = ?1, 0), "    \
    "coalesce(s.queued_at, s.created_at), s.unread, s.last_seen, s.quick_exit, coalesce(s.ended_at, 0), " \
    "s.danger, s.answered_at IS NOT NULL, "                                                                 \
    "(SELECT substr(m.text, 1, " ABRI_PREVIEW_CHARS ") FROM messages m WHERE m.id = s.last_visitor_message), " \
    "s.visitor_typing_at, "                                                                                 \
    "(SELECT substr(m.text, 1, " ABRI_PREVIEW_CHARS ") FROM messages m WHERE m.session_id = s.id "          \
    " AND m.kind = 'note' AND s.state = 'waiting' ORDER BY m.id DESC LIMIT 1) "
#define ABRI_PREVIEW_CHARS "140"
static_assert(limits::kPreviewChars == 140, "ABRI_PREVIEW_CHARS repeats limits::kPreviewChars");

// ?2 now - kept time of a left session.
constexpr const char* kHeld =
    "SELECT " ABRI_ENTRY_COLUMNS "FROM sessions s JOIN units u ON u.id = s.unit_id "
    "WHERE s.agent_id = ?1 AND s.unit_id IN (SELECT unit_id FROM agent_units WHERE agent_id = ?1) "
    "AND (s.state = 'active' OR (s.state = 'left' AND s.ended_at > ?2)) "
    "ORDER BY coalesce(s.queued_at, s.created_at), s.id";

// ?2 now - idle ttl, ?3 now - max ttl (a waiting session not expired was
// seen after ?2 and began after ?3), ?4 now - kept time of a left
// session, ?5 limit. Those who left before an answer come last.
#define ABRI_OTHERS_WHERE                                                                                 \
    "FROM sessions s JOIN units u ON u.id = s.unit_id "                                                   \
    "WHERE s.unit_id IN (SELECT unit_id FROM agent_units WHERE agent_id = ?1) "                         \
    "AND ((s.state = 'waiting' AND s.last_seen > ?2 AND s.created_at > ?3) "                            \
    "  OR (s.state = 'left' AND s.agent_id IS NULL AND s.answered_at IS NULL AND s.claim_message = 0 " \
    "      AND s.ended_at > ?4)) "
constexpr const char* kOthers =
    "SELECT " ABRI_ENTRY_COLUMNS ABRI_OTHERS_WHERE
    "ORDER BY s.state = 'left', s.danger DESC, s.last_visitor_message > 0 DESC, "
    "coalesce(s.queued_at, s.created_at), s.id LIMIT ?5";
constexpr const char* kWaitingTotal =
    "SELECT count(*) FROM sessions s "
    "WHERE s.unit_id IN (SELECT unit_id FROM agent_units WHERE agent_id = ?1) "
    "AND s.state = 'waiting' AND s.last_seen > ?2 AND s.created_at > ?3";

// ?1 agent, ?2 the largest message id the client has (0: none), ?3 now -
// kept time of a left session, ?4 limit. A session claimed after the
// client's cursor comes with its whole history. The newest first, so that
// a limit keeps the latest.
constexpr const char* kMessages =
    "SELECT m.id, s.public_id, m.sender, m.text, m.at, coalesce(m.kind, ''), "
    "coalesce(a.display_name, a.username, '') "
    "FROM sessions s JOIN messages m ON m.session_id = s.id LEFT JOIN agents a ON a.id = m.author_id "
    "WHERE s.agent_id = ?1 AND s.unit_id IN (SELECT unit_id FROM agent_units WHERE agent_id = ?1) "
    "AND (s.state = 'active' OR (s.state = 'left' AND s.ended_at > ?3)) "
    "AND m.id > CASE WHEN s.claim_message <= ?2 THEN ?2 ELSE 0 END "
    "ORDER BY m.id DESC LIMIT ?4";

constexpr const char* kMessagesUpto = "SELECT messages_upto FROM pulses WHERE id = ?";

constexpr const char* kChanged =
    "SELECT EXISTS (SELECT 1 FROM pulses p WHERE p.id > ?2 AND "
    "(p.unit_id IN (SELECT unit_id FROM agent_units WHERE agent_id = ?1) "
    " OR p.session_id IN (SELECT id FROM sessions WHERE agent_id = ?1)))";

constexpr const char* kUnits =
    "SELECT u.id, u.code FROM agent_units au JOIN units u ON u.id = au.unit_id WHERE au.agent_id = ? ORDER BY u.code";
constexpr const char* kErased = "SELECT public_id FROM erased WHERE agent_id = ? AND at > ? ORDER BY at";

// The largest message id a client with this cursor has, if the cursor is
// one of this database's pulses.
std::optional<std::int64_t> messages_upto(store::Db& db, std::int64_t cursor) {
    store::Query query(db, kMessagesUpto, cursor);
    if (!query.next()) return std::nullopt;
    return query.integer(0);
}

Entry read_entry(const store::Query& q, std::int64_t now) {
    Entry e{.session = q.text(1),
            .unit_code = q.text(2),
            .unit_name = q.text(3),
            .unit_kind = q.text(4),
            .role = q.text(5),
            .lang = q.text(6),
            .state = q.text(7),
            .mine = q.integer(8) != 0,
            .since = q.integer(9),
            .unread = q.integer(10),
            .last_seen = q.integer(11),
            .connected = false,
            .quick_exit = q.integer(12) != 0,
            .ended_at = q.integer(13),
            .danger = q.integer(14) != 0,
            .answered = q.integer(15) != 0,
            .preview = q.is_null(16) ? std::nullopt : std::optional(q.text(16)),
            .typing = false,
            .handover = q.is_null(18) ? std::nullopt : std::optional(q.text(18))};
    e.connected = e.state != "left" && now - e.last_seen <= limits::kConnectedWithin;
    e.typing = e.mine && e.state == "active" && typing::is_typing(q.integer(17), now);
    return e;
}

void read_queue(store::Db& db, Snapshot& snapshot, std::int64_t agent_id, std::int64_t now,
                const visitor::Ttl& ttl) {
    const std::int64_t left_kept = now - limits::kLeftKeptSeconds;
    {
        store::Query held(db, kHeld, agent_id, left_kept);
        while (held.next()) {
            snapshot.held.push_back(held.integer(0));
            snapshot.queue.push_back(read_entry(held, now));
        }
    }
    {
        store::Query others(db, kOthers, agent_id, now - ttl.idle, now - ttl.max, left_kept,
                            static_cast<std::int64_t>(limits::kMaxWaitingEntries));
        while (others.next()) snapshot.queue.push_back(read_entry(others, now));
    }
    store::Query total(db, kWaitingTotal, agent_id, now - ttl.idle, now - ttl.max);
    snapshot.waiting_total = total.next() ? total.integer(0) : 0;
}

void read_duty(store::Db& db, Snapshot& snapshot, std::int64_t agent_id, std::int64_t now) {
    std::vector<std::pair<std::int64_t, std::string>> units;
    {
        store::Query query(db, kUnits, agent_id);
        while (query.next()) units.emplace_back(query.integer(0), query.text(1));
    }
    for (auto& [id, code] : units) snapshot.units.push_back({std::move(code), duty::on_duty_names(db, id, now)});
    snapshot.away = duty::is_away(db, agent_id);
    store::Query erased(db, kErased, agent_id, now - limits::kErasedKeptSeconds);
    while (erased.next()) snapshot.erased.push_back(erased.text(0));
}

void read_messages(store::Db& db, Snapshot& snapshot, std::int64_t agent_id, std::int64_t upto, std::int64_t now) {
    store::Query query(db, kMessages, agent_id, upto, now - limits::kLeftKeptSeconds,
                       static_cast<std::int64_t>(limits::kMaxEventMessages));
    while (query.next()) {
        snapshot.messages.push_back({.id = query.integer(0),
                                     .session = query.text(1),
                                     .from = query.text(2),
                                     .text = query.text(3),
                                     .at = query.integer(4),
                                     .kind = query.text(5),
                                     .author = query.text(6)});
    }
    snapshot.truncated = snapshot.messages.size() == limits::kMaxEventMessages;
    std::reverse(snapshot.messages.begin(), snapshot.messages.end());
}

}  // namespace

Snapshot read(store::Db& db, std::int64_t agent_id, std::optional<std::int64_t> after, std::int64_t now,
              const visitor::Ttl& ttl) {
    Snapshot snapshot;
    // One snapshot for every query of the answer: the cursor and the data agree.
    store::ReadTransaction transaction(db);
    snapshot.cursor = pulse::latest(db);
    read_duty(db, snapshot, agent_id, now);
    if (after && *after == snapshot.cursor) {
        // No pulse since the client's cursor: it has every message already
        // (also when the purge has emptied the feed and the cursor is 0).
        read_queue(db, snapshot, agent_id, now, ttl);
        return snapshot;
    }
    std::optional<std::int64_t> upto;
    if (after == 0) {
        upto = 0;  // a client that has nothing, e.g. before the first pulse
    } else if (after && *after <= snapshot.cursor) {
        upto = messages_upto(db, *after);
    }
    if (upto) {
        store::Query changed(db, kChanged, agent_id, *after);
        snapshot.changed = changed.next() && changed.integer(0) != 0;
    } else {
        snapshot.changed = true;
    }
    read_queue(db, snapshot, agent_id, now, ttl);
    read_messages(db, snapshot, agent_id, upto.value_or(0), now);
    return snapshot;
}

bool same_view(const Snapshot& a, const Snapshot& b) {
    return b.messages.empty() && a.queue == b.queue && a.waiting_total == b.waiting_total && a.units == b.units &&
           a.away == b.away && a.erased == b.erased;
}

nlohmann::json to_json(const Snapshot& snapshot, std::int64_t now) {
    auto queue = nlohmann::json::array();
    for (const auto& e : snapshot.queue) {
        nlohmann::json entry = {
            {"session", e.session},
            {"unit", {{"code", e.unit_code}, {"name", e.unit_name}, {"kind", e.unit_kind}}},
            {"role", e.role},
            {"lang", e.lang},
            {"state", e.state},
            {"mine", e.mine},
            {"since", e.since},
            {"waiting", std::max<std::int64_t>(0, now - e.since)},
            {"unread", e.unread},
            {"connected", e.connected},
            {"last_seen", e.last_seen},
            {"quick_exit", e.quick_exit},
            {"danger", e.danger},
            {"answered", e.answered},
            {"preview", e.preview ? nlohmann::json(*e.preview) : nlohmann::json(nullptr)},
        };
        if (e.mine) entry["typing"] = e.typing;
        if (e.handover) entry["handover"] = *e.handover;
        if (e.ended_at != 0) entry["ended_at"] = e.ended_at;
        queue.push_back(std::move(entry));
    }
    auto messages = nlohmann::json::array();
    for (const auto& m : snapshot.messages) {
        const bool note = m.kind == notes::kKind;
        nlohmann::json message = {
            {"id", m.id}, {"session", m.session}, {"from", note ? "note" : m.from}, {"text", m.text}, {"at", m.at}};
        if (!m.kind.empty() && !note) message["kind"] = m.kind;
        if (!m.author.empty()) message["author"] = m.author;
        messages.push_back(std::move(message));
    }
    auto units = nlohmann::json::array();
    for (const auto& u : snapshot.units) units.push_back({{"code", u.code}, {"on_duty", !u.on_duty.empty()}, {"on_duty_names", u.on_duty}});
    nlohmann::json out = {{"cursor", snapshot.cursor},
                          {"presence", snapshot.away ? "away" : "available"},
                          {"units", units},
                          {"queue", queue},
                          {"waiting_total", snapshot.waiting_total},
                          {"messages", messages},
                          {"erased", snapshot.erased}};
    if (snapshot.truncated) out["truncated"] = true;
    return out;
}

}  // namespace abri::queue

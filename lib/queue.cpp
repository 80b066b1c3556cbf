#include "queue.hpp"
#include "limits.hpp"
#include "pulse.hpp"

#include <algorithm>

namespace abri::queue {

namespace {

// ?1 agent, ?2 now - idle ttl, ?3 now - max ttl (a waiting session not
// expired was seen after ?2 and began after ?3), ?4 now - kept time of a
// left session, ?5 limit. Waiting sessions first, longest wait first.
constexpr const char* kQueue =
    "SELECT s.id, s.public_id, u.code, u.name, u.kind, s.role, s.state, coalesce(s.agent_id = ?1, 0), "
    "coalesce(s.queued_at, s.created_at), s.last_seen, s.quick_exit, coalesce(s.ended_at, 0), "
    "(SELECT count(*) FROM messages m WHERE m.session_id = s.id AND m.sender = 'visitor' AND m.id > "
    " coalesce((SELECT max(a.id) FROM messages a WHERE a.session_id = s.id AND a.sender = 'agent'), 0)) "
    "FROM sessions s JOIN units u ON u.id = s.unit_id "
    "WHERE s.unit_id IN (SELECT unit_id FROM agent_units WHERE agent_id = ?1) "
    "AND ((s.state = 'waiting' AND s.last_seen > ?2 AND s.created_at > ?3) "
    "  OR (s.agent_id = ?1 AND s.state = 'active') "
    "  OR (s.agent_id = ?1 AND s.state = 'left' AND s.ended_at > ?4)) "
    "ORDER BY coalesce(s.agent_id = ?1, 0), coalesce(s.queued_at, s.created_at), s.id LIMIT ?5";

// ?1 agent, ?2 the largest message id the client has (0: none), ?3 now -
// kept time of a left session, ?4 limit. A session claimed after the
// client's cursor comes with its whole history. The newest first, so that
// a limit keeps the latest.
constexpr const char* kMessages =
    "SELECT m.id, s.public_id, m.sender, m.text, m.at FROM sessions s JOIN messages m ON m.session_id = s.id "
    "WHERE s.agent_id = ?1 AND s.unit_id IN (SELECT unit_id FROM agent_units WHERE agent_id = ?1) "
    "AND (s.state = 'active' OR (s.state = 'left' AND s.ended_at > ?3)) "
    "AND m.id > CASE WHEN s.claim_message <= ?2 THEN ?2 ELSE 0 END "
    "ORDER BY m.id DESC LIMIT ?4";

constexpr const char* kMessagesUpto = "SELECT messages_upto FROM pulses WHERE id = ?";

constexpr const char* kChanged =
    "SELECT EXISTS (SELECT 1 FROM pulses p WHERE p.id > ?2 AND "
    "(p.unit_id IN (SELECT unit_id FROM agent_units WHERE agent_id = ?1) "
    " OR p.session_id IN (SELECT id FROM sessions WHERE agent_id = ?1)))";

// One snapshot for every query of an answer: the cursor and the data
// agree. Ended by COMMIT whatever happens (a read commits nothing).
class ReadTransaction {
public:
    explicit ReadTransaction(store::Db& db) : db_(db) { db_.exec("BEGIN"); }
    ~ReadTransaction() { sqlite3_exec(db_.raw(), "COMMIT", nullptr, nullptr, nullptr); }
    ReadTransaction(const ReadTransaction&) = delete;
    ReadTransaction& operator=(const ReadTransaction&) = delete;

private:
    store::Db& db_;
};

// The largest message id a client with this cursor has, if the cursor is
// one of this database's pulses.
std::optional<std::int64_t> messages_upto(store::Db& db, std::int64_t cursor) {
    store::Query query(db, kMessagesUpto, cursor);
    if (!query.next()) return std::nullopt;
    return query.integer(0);
}

void read_queue(store::Db& db, Snapshot& snapshot, std::int64_t agent_id, std::int64_t now,
                const visitor::Ttl& ttl) {
    store::Query query(db, kQueue, agent_id, now - ttl.idle, now - ttl.max, now - limits::kLeftKeptSeconds,
                       static_cast<std::int64_t>(limits::kMaxQueueEntries));
    while (query.next()) {
        Entry e{query.text(1),         query.text(2),         query.text(3),     query.text(4),
                query.text(5),         query.text(6),         query.integer(7) != 0, query.integer(8),
                query.integer(12),     query.integer(9),      false,             query.integer(10) != 0,
                query.integer(11)};
        e.connected = e.state != "left" && now - e.last_seen <= limits::kConnectedWithin;
        if (e.mine) snapshot.held.push_back(query.integer(0));
        snapshot.queue.push_back(std::move(e));
    }
}

void read_messages(store::Db& db, Snapshot& snapshot, std::int64_t agent_id, std::int64_t upto, std::int64_t now) {
    store::Query query(db, kMessages, agent_id, upto, now - limits::kLeftKeptSeconds,
                       static_cast<std::int64_t>(limits::kMaxEventMessages));
    while (query.next()) {
        snapshot.messages.push_back(
            {query.integer(0), query.text(1), query.text(2), query.text(3), query.integer(4)});
    }
    snapshot.truncated = snapshot.messages.size() == limits::kMaxEventMessages;
    std::reverse(snapshot.messages.begin(), snapshot.messages.end());
}

}  // namespace

Snapshot read(store::Db& db, std::int64_t agent_id, std::optional<std::int64_t> after, std::int64_t now,
              const visitor::Ttl& ttl) {
    Snapshot snapshot;
    ReadTransaction transaction(db);
    snapshot.cursor = pulse::latest(db);
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

bool same_view(const Snapshot& a, const Snapshot& b) { return b.messages.empty() && a.queue == b.queue; }

nlohmann::json to_json(const Snapshot& snapshot, std::int64_t now) {
    auto queue = nlohmann::json::array();
    for (const auto& e : snapshot.queue) {
        nlohmann::json entry = {
            {"session", e.session},
            {"unit", {{"code", e.unit_code}, {"name", e.unit_name}, {"kind", e.unit_kind}}},
            {"role", e.role},
            {"state", e.state},
            {"mine", e.mine},
            {"since", e.since},
            {"waiting", std::max<std::int64_t>(0, now - e.since)},
            {"unread", e.unread},
            {"connected", e.connected},
            {"last_seen", e.last_seen},
            {"quick_exit", e.quick_exit},
        };
        if (e.ended_at != 0) entry["ended_at"] = e.ended_at;
        queue.push_back(std::move(entry));
    }
    auto messages = nlohmann::json::array();
    for (const auto& m : snapshot.messages) {
        messages.push_back({{"id", m.id}, {"session", m.session}, {"from", m.from}, {"text", m.text}, {"at", m.at}});
    }
    nlohmann::json out = {{"cursor", snapshot.cursor}, {"queue", queue}, {"messages", messages}};
    if (snapshot.truncated) out["truncated"] = true;
    return out;
}

}  // namespace abri::queue

#include "stats.hpp"

namespace abri::stats {

namespace {
// ?1 = now - idle ttl, ?2 = now - max ttl, ?3 = now: a live session was
// seen after ?1 and began after ?2.
constexpr const char* kCounts =
    "SELECT coalesce(sum(state = 'waiting'), 0), coalesce(sum(state = 'active'), 0), "
    "coalesce(max(CASE WHEN state = 'waiting' THEN ?3 - created_at END), 0), "
    "(SELECT count(*) FROM messages m JOIN sessions s2 ON s2.id = m.session_id "
    " WHERE s2.state IN ('waiting', 'active') AND s2.last_seen > ?1 AND s2.created_at > ?2) "
    "FROM sessions WHERE state IN ('waiting', 'active') AND last_seen > ?1 AND created_at > ?2";
}  // namespace

Counts read(store::Db& db, std::int64_t now, const visitor::Ttl& ttl) {
    store::Query query(db, kCounts, now - ttl.idle, now - ttl.max, now);
    Counts counts;
    if (query.next()) {
        counts.waiting = query.integer(0);
        counts.active = query.integer(1);
        counts.oldest_waiting = query.integer(2);
        counts.messages = query.integer(3);
    }
    return counts;
}

}  // namespace abri::stats

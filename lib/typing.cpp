#include "typing.hpp"
#include "limits.hpp"
#include "pulse.hpp"

namespace abri::typing {

namespace {
// ?1 session, ?2 the latest time a previous signal may have been written.
constexpr const char* kNeedsVisitor =
    "SELECT 1 FROM sessions WHERE id = ?1 AND state = 'active' AND visitor_typing_at <= ?2";
constexpr const char* kNeedsTeam =
    "SELECT 1 FROM sessions WHERE id = ?1 AND state = 'active' AND agent_typing_at <= ?2";
// ?3 now.
constexpr const char* kSignalVisitor =
    "UPDATE sessions SET visitor_typing_at = ?3 WHERE id = ?1 AND state = 'active' AND visitor_typing_at <= ?2";
constexpr const char* kSignalTeam =
    "UPDATE sessions SET agent_typing_at = ?3 WHERE id = ?1 AND state = 'active' AND agent_typing_at <= ?2";
constexpr const char* kVisitorAt = "SELECT visitor_typing_at FROM sessions WHERE id = ?";
constexpr const char* kTeamAt = "SELECT agent_typing_at FROM sessions WHERE id = ?";

std::int64_t throttled_before(std::int64_t now) { return now - limits::kTypingEverySeconds; }
}  // namespace

bool needs_signal(store::Db& db, std::int64_t session_id, Side side, std::int64_t now) {
    store::Query query(db, side == Side::Visitor ? kNeedsVisitor : kNeedsTeam, session_id, throttled_before(now));
    return query.next();
}

void signal(store::Db& db, std::int64_t session_id, Side side, std::int64_t now) {
    store::Query(db, side == Side::Visitor ? kSignalVisitor : kSignalTeam, session_id, throttled_before(now), now)
        .run();
    // The session's pulse wakes both its holder's console and the person's
    // poll; each reads the other side's signal.
    if (store::changes(db) != 0) pulse::record(db, session_id, 0, now);
}

bool is_typing(std::int64_t signalled_at, std::int64_t now) {
    return signalled_at != 0 && now - signalled_at <= limits::kTypingShownSeconds;
}

std::int64_t signalled_at(store::Db& db, std::int64_t session_id, Side side) {
    store::Query query(db, side == Side::Visitor ? kVisitorAt : kTeamAt, session_id);
    return query.next() ? query.integer(0) : 0;
}

bool is_typing(store::Db& db, std::int64_t session_id, Side side, std::int64_t now) {
    return is_typing(signalled_at(db, session_id, side), now);
}

}  // namespace abri::typing

#include "duty.hpp"
#include "limits.hpp"
#include "messages.hpp"
#include "pulse.hpp"
#include "stats.hpp"

#include <algorithm>
#include <optional>
#include <set>

namespace abri::duty {

namespace {

// ?1 unit, ?2 now - kOnDutyWithin, ?3 now.
// The names colleagues see (lib/agents.hpp) of the unit's operators on duty.
constexpr const char* kOnDuty =
    "SELECT coalesce(nullif(a.display_name, ''), a.username) AS name "
    "FROM agent_units au JOIN agents a ON a.id = au.agent_id "
    "WHERE au.unit_id = ?1 AND a.disabled = 0 AND a.away_at = 0 AND a.last_poll > ?2 "
    "AND EXISTS (SELECT 1 FROM agent_logins l WHERE l.agent_id = a.id AND l.expires_at > ?3) ORDER BY name";
constexpr const char* kFallback = "SELECT coalesce(fallback_id, 0) FROM units WHERE id = ?";
constexpr const char* kLastPoll = "SELECT last_poll, away_at FROM agents WHERE id = ?";
constexpr const char* kRecordPoll = "UPDATE agents SET last_poll = ?2 WHERE id = ?1";
constexpr const char* kSetAway =
    "UPDATE agents SET away_at = CASE WHEN ?2 = 0 THEN 0 WHEN away_at = 0 THEN ?3 ELSE away_at END WHERE id = ?1";
constexpr const char* kUnitsOf = "SELECT unit_id FROM agent_units WHERE agent_id = ?";
constexpr const char* kRelease =
    "UPDATE sessions SET state = 'waiting', agent_id = NULL, claim_message = 0, queued_at = created_at "
    "WHERE id = ? AND state = 'active'";
constexpr const char* kHeldBy = "SELECT id, unit_id FROM sessions WHERE agent_id = ? AND state = 'active'";
constexpr const char* kOffDuty = "UPDATE agents SET last_poll = 0, away_at = 0 WHERE id = ?";
// Held conversations whose operator is gone: disabled, no live login, or
// no events poll since ?2 (the login's start counts as one). ?1 now, ?3
// the login's duration.
constexpr const char* kOrphans =
    "SELECT s.id, s.unit_id FROM agents a JOIN sessions s ON s.agent_id = a.id AND s.state = 'active' "
    "WHERE a.disabled = 1 "
    "OR coalesce((SELECT max(l.expires_at) FROM agent_logins l WHERE l.agent_id = a.id), 0) <= ?1 "
    "OR max(a.last_poll, coalesce((SELECT max(l.expires_at) FROM agent_logins l WHERE l.agent_id = a.id), 0) "
    "- ?3) <= ?2";
// Live waiting conversations of units that have a fallback, waiting since
// before ?3. ?1 now - idle ttl, ?2 now - max ttl.
constexpr const char* kLongWaiting =
    "SELECT s.id, s.unit_id FROM units u JOIN sessions s ON s.unit_id = u.id AND s.state = 'waiting' "
    "WHERE u.fallback_id IS NOT NULL AND s.last_seen > ?1 AND s.created_at > ?2 "
    "AND coalesce(s.queued_at, s.created_at) <= ?3";
// When somebody of the unit was last on duty: the end of the last poll's
// window, or the moment they said "away" if sooner. ?2 kOnDutyWithin.
constexpr const char* kLastOnDuty =
    "SELECT coalesce(max(CASE WHEN a.away_at > 0 THEN min(a.away_at, a.last_poll + ?2) "
    "ELSE a.last_poll + ?2 END), 0) "
    "FROM agent_units au JOIN agents a ON a.id = au.agent_id WHERE au.unit_id = ?1 AND a.disabled = 0";
constexpr const char* kEscalate =
    "UPDATE sessions SET unit_id = ?2, queued_at = created_at WHERE id = ?1 AND state = 'waiting'";

std::int64_t fallback_of(store::Db& db, std::int64_t unit_id) {
    store::Query query(db, kFallback, unit_id);
    return query.next() ? query.integer(0) : 0;
}

// The first unit on duty from `unit_id` along the fallback chain.
std::optional<std::int64_t> on_duty_along(store::Db& db, std::int64_t unit_id, std::int64_t now) {
    std::set<std::int64_t> seen;
    for (int step = 0; unit_id != 0 && step < limits::kMaxFallbackChain; ++step) {
        if (!seen.insert(unit_id).second) break;  // a loop of fallbacks
        if (on_duty(db, unit_id, now)) return unit_id;
        unit_id = fallback_of(db, unit_id);
    }
    return std::nullopt;
}

std::int64_t last_on_duty(store::Db& db, std::int64_t unit_id) {
    store::Query query(db, kLastOnDuty, unit_id, limits::kOnDutyWithin);
    return query.next() ? query.integer(0) : 0;
}

int poll_granularity(const Settings& settings) {
    return std::clamp(settings.agent_gone_after / 3, 1, limits::kPresenceGranularity);
}

void escalate(store::Db& db, const Step& step, std::int64_t now) {
    store::Query(db, kEscalate, step.session_id, step.to_unit).run();
    if (store::changes(db) == 0) return;
    stats::escalated(db, step.unit_id, now);
    pulse::record(db, step.session_id, step.unit_id, now);  // the queue it leaves
    const auto unit = routing::find_unit_by_id(db, step.to_unit);
    messages::add_system(db, step.session_id, step.to_unit, "escalated",
                         "Personne n'était disponible dans l'équipe contactée : votre conversation a été "
                         "transmise à l'équipe « " + (unit ? unit->name : std::string()) +
                             " », qui va vous répondre.",
                         now);
}

}  // namespace

bool on_duty(store::Db& db, std::int64_t unit_id, std::int64_t now) {
    store::Query query(db, kOnDuty, unit_id, now - limits::kOnDutyWithin, now);
    return query.next();
}

std::vector<std::string> on_duty_names(store::Db& db, std::int64_t unit_id, std::int64_t now) {
    std::vector<std::string> names;
    store::Query query(db, kOnDuty, unit_id, now - limits::kOnDutyWithin, now);
    while (query.next()) names.push_back(query.text(0));
    return names;
}

routing::Unit first_on_duty(store::Db& db, const routing::Unit& unit, std::int64_t now) {
    const auto found = on_duty_along(db, unit.id, now);
    if (!found || *found == unit.id) return unit;
    return routing::find_unit_by_id(db, *found).value_or(unit);
}

bool needs_poll_record(store::Db& db, std::int64_t agent_id, std::int64_t now, const Settings& settings) {
    store::Query query(db, kLastPoll, agent_id);
    return query.next() && now - query.integer(0) >= poll_granularity(settings);
}

void record_poll(store::Db& db, std::int64_t agent_id, std::int64_t now) {
    store::Query(db, kRecordPoll, agent_id, now).run();
}

void set_away(store::Db& db, std::int64_t agent_id, bool away, std::int64_t now) {
    store::Query(db, kSetAway, agent_id, away ? 1 : 0, now).run();
    std::vector<std::int64_t> units;
    {
        store::Query query(db, kUnitsOf, agent_id);
        while (query.next()) units.push_back(query.integer(0));
    }
    // No session changed, but every console of these units shows who is on duty.
    for (const auto unit : units) pulse::record(db, 0, unit, now);
}

bool is_away(store::Db& db, std::int64_t agent_id) {
    store::Query query(db, kLastPoll, agent_id);
    return query.next() && query.integer(1) != 0;
}

void release(store::Db& db, std::int64_t session_id, std::int64_t unit_id, std::int64_t now) {
    store::Query(db, kRelease, session_id).run();
    if (store::changes(db) == 0) return;
    messages::add_system(db, session_id, unit_id, "released",
                         "La personne de l'équipe qui vous répondait n'est plus disponible. Votre conversation "
                         "est gardée : une autre personne de l'équipe va vous répondre.",
                         now);
}

int sign_off(store::Db& db, std::int64_t agent_id, std::int64_t now) {
    std::vector<std::pair<std::int64_t, std::int64_t>> held;
    {
        store::Query query(db, kHeldBy, agent_id);
        while (query.next()) held.emplace_back(query.integer(0), query.integer(1));
    }
    for (const auto& [session, unit] : held) release(db, session, unit, now);
    store::Query(db, kOffDuty, agent_id).run();
    return static_cast<int>(held.size());
}

std::vector<Step> plan(store::Db& db, std::int64_t now, const Settings& settings) {
    std::vector<Step> steps;
    {
        store::Query orphans(db, kOrphans, now, now - settings.agent_gone_after,
                             static_cast<std::int64_t>(limits::kLoginSeconds));
        while (orphans.next()) steps.push_back({orphans.integer(0), orphans.integer(1), 0});
    }
    std::vector<Step> waiting;
    {
        store::Query query(db, kLongWaiting, now - settings.idle_ttl, now - settings.max_ttl,
                           now - settings.escalate_after);
        while (query.next()) waiting.push_back({query.integer(0), query.integer(1), 0});
    }
    for (auto& step : waiting) {
        if (on_duty(db, step.unit_id, now)) continue;
        if (now - last_on_duty(db, step.unit_id) < settings.escalate_after) continue;
        const auto target = on_duty_along(db, fallback_of(db, step.unit_id), now);
        if (!target || *target == step.unit_id) continue;  // nobody on duty further on: it waits here
        step.to_unit = *target;
        steps.push_back(step);
    }
    return steps;
}

int sweep(store::Db& db, std::int64_t now, const Settings& settings) {
    const auto steps = plan(db, now, settings);
    for (const auto& step : steps) {
        if (step.to_unit == 0) {
            release(db, step.session_id, step.unit_id, now);
        } else {
            escalate(db, step, now);
        }
    }
    return static_cast<int>(steps.size());
}

}  // namespace abri::duty

#include "stats.hpp"
#include "limits.hpp"

#include <ctime>
#include <map>
#include <sstream>

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

// ?1 now, ?2 the unit's id, ?3..?7 what to add. The unit's code, so that
// the figures outlive the unit.
constexpr const char* kBump =
    "INSERT INTO stats_daily (day, unit, started, answered, left_unanswered, quick_exits, escalations) "
    "SELECT date(?1, 'unixepoch'), code, ?3, ?4, ?5, ?6, ?7 FROM units WHERE id = ?2 "
    "ON CONFLICT (day, unit) DO UPDATE SET started = started + excluded.started, "
    "answered = answered + excluded.answered, left_unanswered = left_unanswered + excluded.left_unanswered, "
    "quick_exits = quick_exits + excluded.quick_exits, escalations = escalations + excluded.escalations";
constexpr const char* kAnswerTime =
    "INSERT INTO stats_answer_times (day, unit, seconds, count) "
    "SELECT date(?1, 'unixepoch'), code, ?3, 1 FROM units WHERE id = ?2 "
    "ON CONFLICT (day, unit, seconds) DO UPDATE SET count = count + 1";
constexpr const char* kUnanswered =
    "SELECT unit_id, ?2 - created_at FROM sessions WHERE id = ?1 AND answered_at IS NULL";
constexpr const char* kLeaving = "SELECT unit_id, answered_at IS NULL FROM sessions WHERE id = ?";
constexpr const char* kUnitOf = "SELECT unit_id FROM sessions WHERE id = ?";
constexpr const char* kForgetDays = "DELETE FROM stats_daily WHERE day < date(?1, 'unixepoch', ?2)";
constexpr const char* kForgetTimes = "DELETE FROM stats_answer_times WHERE day < date(?1, 'unixepoch', ?2)";
constexpr const char* kDays =
    "SELECT day, unit, started, answered, left_unanswered, quick_exits, escalations FROM stats_daily "
    "ORDER BY day DESC, unit";
constexpr const char* kTimes = "SELECT day, unit, seconds, count FROM stats_answer_times ORDER BY day, unit, seconds";

// The gauges: live sessions and operators on duty (lib/duty.cpp's rule),
// per unit, every unit listed. ?1 now - idle ttl, ?2 now - max ttl, ?3
// now - limits::kOnDutyWithin, ?4 now.
constexpr const char* kGauges =
    "SELECT u.code, "
    "(SELECT count(*) FROM sessions s WHERE s.unit_id = u.id AND s.state = 'waiting' "
    " AND s.last_seen > ?1 AND s.created_at > ?2), "
    "(SELECT count(*) FROM sessions s WHERE s.unit_id = u.id AND s.state = 'active' "
    " AND s.last_seen > ?1 AND s.created_at > ?2), "
    "(SELECT count(*) FROM agent_units au JOIN agents a ON a.id = au.agent_id "
    " WHERE au.unit_id = u.id AND a.disabled = 0 AND a.away_at = 0 AND a.last_poll > ?3 "
    " AND EXISTS (SELECT 1 FROM agent_logins l WHERE l.agent_id = a.id AND l.expires_at > ?4)) "
    "FROM units u ORDER BY u.code";

struct Figures {
    std::int64_t started = 0, answered = 0, left_unanswered = 0, quick_exits = 0, escalations = 0;
};

void bump(store::Db& db, std::int64_t unit_id, std::int64_t now, const Figures& add) {
    store::Query(db, kBump, now, unit_id, add.started, add.answered, add.left_unanswered, add.quick_exits,
                 add.escalations)
        .run();
}

std::string keep_from() { return "-" + std::to_string(limits::kStatsKeptDays) + " days"; }

using Histogram = std::vector<std::pair<std::int64_t, std::int64_t>>;

// (day, unit) -> the times to a first answer of that day and unit.
std::map<std::pair<std::string, std::string>, Histogram> answer_times(store::Db& db) {
    std::map<std::pair<std::string, std::string>, Histogram> out;
    store::Query query(db, kTimes);
    while (query.next()) out[{query.text(0), query.text(1)}].emplace_back(query.integer(2), query.integer(3));
    return out;
}

// A label value: the unit codes admins type are plain, but a backslash,
// quote or line break would break the format.
std::string label(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        out += c == '\n' ? 'n' : c;
    }
    return out;
}

std::string utc_day(std::int64_t at) {
    const auto t = static_cast<std::time_t>(at);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[16];
    return std::string(out, std::strftime(out, sizeof out, "%Y-%m-%d", &tm));
}

void family(std::ostringstream& out, const char* name, const char* type, const char* help) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

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

void started(store::Db& db, std::int64_t session_id, std::int64_t now) {
    store::Query session(db, kUnitOf, session_id);
    if (session.next()) bump(db, session.integer(0), now, {.started = 1});
}

void answered(store::Db& db, std::int64_t session_id, std::int64_t now) {
    store::Query session(db, kUnanswered, session_id, now);
    if (!session.next()) return;
    bump(db, session.integer(0), now, {.answered = 1});
    store::Query(db, kAnswerTime, now, session.integer(0), session.integer(1)).run();
}

void left(store::Db& db, std::int64_t session_id, bool quick, std::int64_t now) {
    store::Query session(db, kLeaving, session_id);
    if (!session.next()) return;
    bump(db, session.integer(0), now, {.left_unanswered = session.integer(1), .quick_exits = quick ? 1 : 0});
}

void escalated(store::Db& db, std::int64_t from_unit_id, std::int64_t now) {
    bump(db, from_unit_id, now, {.escalations = 1});
}

void forget_old(store::Db& db, std::int64_t now) {
    store::Query(db, kForgetDays, now, keep_from()).run();
    store::Query(db, kForgetTimes, now, keep_from()).run();
}

std::int64_t percentile(const Histogram& histogram, int percent) {
    std::int64_t total = 0;
    for (const auto& [seconds, count] : histogram) total += count;
    if (total == 0) return 0;
    const std::int64_t rank = (total * percent + 99) / 100;  // nearest rank: ceil(total * p)
    std::int64_t seen = 0;
    for (const auto& [seconds, count] : histogram) {
        seen += count;
        if (seen >= rank) return seconds;
    }
    return histogram.back().first;
}

std::vector<Day> daily(store::Db& db) {
    auto times = answer_times(db);
    std::vector<Day> out;
    store::Query query(db, kDays);
    while (query.next()) {
        Day day{.day = query.text(0),
                .unit = query.text(1),
                .started = query.integer(2),
                .answered = query.integer(3),
                .left_unanswered = query.integer(4),
                .quick_exits = query.integer(5),
                .escalations = query.integer(6)};
        const auto& histogram = times[{day.day, day.unit}];
        day.first_answer_median = percentile(histogram, 50);
        day.first_answer_p90 = percentile(histogram, 90);
        out.push_back(std::move(day));
    }
    return out;
}

std::string metrics(store::Db& db, std::int64_t now, const visitor::Ttl& ttl) {
    struct Gauges {
        std::string unit;
        std::int64_t waiting, active, on_duty;
    };
    std::vector<Gauges> gauges;
    {
        store::Query query(db, kGauges, now - ttl.idle, now - ttl.max, now - limits::kOnDutyWithin, now);
        while (query.next()) gauges.push_back({query.text(0), query.integer(1), query.integer(2), query.integer(3)});
    }
    std::map<std::string, Figures> totals;
    const auto days = daily(db);
    for (const auto& d : days) {
        auto& t = totals[d.unit];
        t.started += d.started;
        t.answered += d.answered;
        t.left_unanswered += d.left_unanswered;
        t.quick_exits += d.quick_exits;
        t.escalations += d.escalations;
    }
    std::ostringstream out;
    const auto gauge = [&](const char* name, const char* help, std::int64_t Gauges::*field) {
        family(out, name, "gauge", help);
        for (const auto& g : gauges) out << name << "{unit=\"" << label(g.unit) << "\"} " << g.*field << "\n";
    };
    gauge("abri_waiting", "Conversations waiting for an operator now.", &Gauges::waiting);
    gauge("abri_active", "Conversations held by an operator now.", &Gauges::active);
    gauge("abri_operators_on_duty", "Operators with a console connected and available now.", &Gauges::on_duty);
    const auto counter = [&](const char* name, const char* help, std::int64_t Figures::*field) {
        family(out, name, "counter", help);
        for (const auto& [unit, t] : totals) out << name << "{unit=\"" << label(unit) << "\"} " << t.*field << "\n";
    };
    counter("abri_conversations_started_total", "Conversations started, over the kept days.", &Figures::started);
    counter("abri_conversations_answered_total", "Conversations answered, over the kept days.", &Figures::answered);
    counter("abri_left_unanswered_total", "People who left before an answer, over the kept days.",
            &Figures::left_unanswered);
    counter("abri_quick_exits_total", "Quick exits, over the kept days.", &Figures::quick_exits);
    counter("abri_escalations_total", "Conversations escalated away from the unit, over the kept days.",
            &Figures::escalations);
    family(out, "abri_first_answer_seconds", "gauge",
           "Time to a first answer today (UTC): median and 90th percentile.");
    const std::string today = utc_day(now);
    for (const auto& d : days) {
        if (d.day != today || d.answered == 0) continue;
        out << "abri_first_answer_seconds{unit=\"" << label(d.unit) << "\",quantile=\"0.5\"} " << d.first_answer_median
            << "\n";
        out << "abri_first_answer_seconds{unit=\"" << label(d.unit) << "\",quantile=\"0.9\"} " << d.first_answer_p90
            << "\n";
    }
    return out.str();
}

}  // namespace abri::stats

// What the admin and a monitoring system learn about the service, and
// nothing about anyone: live counts, and daily aggregates per unit kept
// limits::kStatsKeptDays (no session id, no text). The record functions
// run inside the writer, in the transaction of the event they count, so
// that a figure is never ahead of or behind what happened.
#pragma once
#include "store.hpp"
#include "visitor.hpp"
#include <cstdint>
#include <string>
#include <vector>

namespace abri::stats {

struct Counts {
    std::int64_t waiting = 0;
    std::int64_t active = 0;
    std::int64_t messages = 0;           // in live sessions
    std::int64_t oldest_waiting = 0;     // seconds, 0 when nobody waits
};

// Expired sessions are not counted, purged or not. Reader.
Counts read(store::Db& db, std::int64_t now, const visitor::Ttl& ttl);

// One call at each event counted; each names the session only to find its
// unit (and, for an answer, its start), and stores none of it.
void started(store::Db& db, std::int64_t session_id, std::int64_t now);
// Before the operator's message is stored: counts only the first answer.
void answered(store::Db& db, std::int64_t session_id, std::int64_t now);
// The person left: before an answer or not, with the quick exit or not.
void left(store::Db& db, std::int64_t session_id, bool quick, std::int64_t now);
// Nobody on duty: the conversation left `from_unit_id` for another unit.
void escalated(store::Db& db, std::int64_t from_unit_id, std::int64_t now);
// Days older than limits::kStatsKeptDays go (the purge).
void forget_old(store::Db& db, std::int64_t now);

struct Day {
    std::string day;   // YYYY-MM-DD, UTC
    std::string unit;  // the unit's code
    std::int64_t started = 0;
    std::int64_t answered = 0;
    std::int64_t first_answer_median = 0;  // seconds from the start; 0 when none answered
    std::int64_t first_answer_p90 = 0;
    std::int64_t left_unanswered = 0;
    std::int64_t quick_exits = 0;
    std::int64_t escalations = 0;
    bool operator==(const Day&) const = default;
};
// Every kept day, newest first, then by unit. Reader.
std::vector<Day> daily(store::Db& db);

// The nearest-rank percentile `percent` of a histogram of (seconds,
// count) sorted by seconds; 0 when it is empty.
std::int64_t percentile(const std::vector<std::pair<std::int64_t, std::int64_t>>& histogram, int percent);

// The live gauges per unit (waiting, active, operators on duty) and the
// daily figures (totals over the kept days; today's time to a first
// answer) in the Prometheus text format. Reader.
std::string metrics(store::Db& db, std::int64_t now, const visitor::Ttl& ttl);

}  // namespace abri::stats

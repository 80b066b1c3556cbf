// Nobody left alone (shared/API.md): who is on duty, where a conversation
// goes when nobody is, and giving back the conversations of an operator
// who is gone. A unit is on duty while one of its operators has polled
// events within limits::kOnDutyWithin seconds and is not away.
//
// There is no daemon: every program that serves polls runs sweep() at most
// every limits::kSweepEverySeconds (App::sweep_duty), from the visitors'
// and the operators' own requests, which never stop while someone waits.
// Functions taking a Db run inside the writer unless said otherwise.
#pragma once
#include "routing.hpp"
#include "store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace abri::duty {

struct Settings {
    int agent_gone_after;  // ABRI_AGENT_GONE_AFTER
    int escalate_after;    // ABRI_ESCALATE_AFTER
    int idle_ttl;          // a waiting conversation's visitor is still there
    int max_ttl;
};

// Reader or writer.
bool on_duty(store::Db& db, std::int64_t unit_id, std::int64_t now);
// Who is on duty in the unit now, by the names colleagues see. Reader.
std::vector<std::string> on_duty_names(store::Db& db, std::int64_t unit_id, std::int64_t now);
// `unit` when on duty, else the first unit on duty along its fallback
// chain, else `unit` itself (a message waits best where it belongs).
routing::Unit first_on_duty(store::Db& db, const routing::Unit& unit, std::int64_t now);

// The operator's console polled now. Reader check, writer write.
bool needs_poll_record(store::Db& db, std::int64_t agent_id, std::int64_t now, const Settings& settings);
void record_poll(store::Db& db, std::int64_t agent_id, std::int64_t now);
// "available" or "away"; wakes the consoles of the operator's units.
void set_away(store::Db& db, std::int64_t agent_id, bool away, std::int64_t now);
bool is_away(store::Db& db, std::int64_t agent_id);

// The conversation goes back to the head of its unit's queue, with a
// `released` message that both sides see.
void release(store::Db& db, std::int64_t session_id, std::int64_t unit_id, std::int64_t now);
// Every conversation the operator holds, released; the operator is off
// duty (logout, disabled). Returns how many.
int sign_off(store::Db& db, std::int64_t agent_id, std::int64_t now);

// What sweep() would do now: conversations held by an operator who is
// disabled, whose login ended or whose console is gone; waiting ones that
// nobody on duty has seen for escalate_after. Reader.
struct Step {
    std::int64_t session_id;
    std::int64_t unit_id;
    std::int64_t to_unit;  // 0: release; else escalate to this unit
};
std::vector<Step> plan(store::Db& db, std::int64_t now, const Settings& settings);
// Does it, checking again. Returns how many conversations moved.
int sweep(store::Db& db, std::int64_t now, const Settings& settings);

}  // namespace abri::duty

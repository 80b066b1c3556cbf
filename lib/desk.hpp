// What an operator does to a session: claim it from the queue, answer,
// transfer it to another unit, close it, export it. Every action looks the
// session up among the operator's units first, so that a session of
// another unit is 404 whatever is asked; the visitor learns of each change
// through a system message (and its pulse). Functions taking a Db run
// inside the writer unless said otherwise.
#pragma once
#include "messages.hpp"
#include "routing.hpp"
#include "store.hpp"
#include "visitor.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace abri::desk {

// A session as an operator of its unit sees it.
struct Case {
    std::int64_t id;
    std::string public_id;
    std::int64_t unit_id;
    std::string unit_name;
    std::string role;         // "victim" or "witness"
    std::string state;        // "waiting", "active", "closed", "left"
    std::int64_t agent_id;    // who holds it, 0 for nobody
    bool quick_exit;          // the visitor left with the quick exit
    std::int64_t created_at;
    std::int64_t last_seen;   // the visitor's last call
    std::int64_t ended_at;    // left or closed, else 0
    bool expired;             // the visitor's token has expired
    bool seen_by_team;        // an operator has answered or opened it
};

// The session `public_id` in one of the agent's units, as long as an
// operator may still see it: waiting or active and not expired, or held by
// this agent (active, or left less than limits::kLeftKeptSeconds ago), or
// left that recently before anyone of the team took it.
// Otherwise 404 not_found: the same answer for another unit's session
// and for none at all. Reader or writer.
Case find(store::Db& db, std::int64_t agent_id, std::string_view public_id, std::int64_t now,
          const visitor::Ttl& ttl);

// 409 already_claimed when another operator holds it, 409 session_ended
// when the visitor has gone. Claiming one's own session again is a no-op.
// A session left before anyone answered is opened read only.
void claim(store::Db& db, std::int64_t agent_id, const Case& c, std::int64_t now);
// 403 not_yours, 409 not_claimed, 409 session_ended. `client_id`: see
// messages::add.
messages::Sent reply(store::Db& db, std::int64_t agent_id, const Case& c, std::string_view text, std::int64_t now,
                     const std::optional<std::string>& client_id = std::nullopt);
// Back at the head of the unit's queue for a colleague, with a `released`
// message. 403 not_yours, 409 not_claimed, 409 session_ended.
void release(store::Db& db, std::int64_t agent_id, const Case& c, std::int64_t now);
// Back to waiting in the queue of `unit_code` (any unit, the same one
// included: that hands the session back to the team). A waiting session
// of the agent's units can be transferred without claiming it. A handover
// `note` (checked as a message) follows as an internal note.
// 400 unknown_unit, 403 not_yours, 409 session_ended.
void transfer(store::Db& db, std::int64_t agent_id, const Case& c, std::string_view unit_code, std::int64_t now,
              const std::optional<std::string>& note = std::nullopt);
// The visitor sees the end (state closed); a session the visitor has left
// is only let go. 403 not_yours, 409 not_claimed.
void close(store::Db& db, std::int64_t agent_id, const Case& c, std::int64_t now);

// 403 not_yours unless the agent holds the session (to read or export it).
void require_holder(std::int64_t agent_id, const Case& c);

// Held active sessions whose visitor's token has expired become `left`,
// with a system message saying so. Returns how many. Writer.
int expire_held(store::Db& db, std::int64_t agent_id, std::int64_t now, const visitor::Ttl& ttl);
// Whether expire_held would change anything. Reader.
bool has_expired_held(store::Db& db, std::int64_t agent_id, std::int64_t now, const visitor::Ttl& ttl);

// Every unit, by code: where a session can be transferred. Reader.
std::vector<routing::Unit> all_units(store::Db& db);

// The whole conversation as plain text, for the operator's report: the
// session, the unit, then each message with its time, who said it (the
// operator's display name, else username) and the internal notes marked
// as such. Times where the console is: `tz_offset` minutes east of UTC.
// Reader.
std::string transcript(store::Db& db, const Case& c, std::string_view agent_username, std::int64_t now,
                       int tz_offset);

}  // namespace abri::desk

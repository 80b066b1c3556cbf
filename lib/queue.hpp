// What one operator's long-poll carries: the queue of the operator's
// units (every session the operator holds, then a page of the waiting
// ones: in danger first, then those who have written, then the longest
// wait; then those who left before an answer), who is on duty, and the
// messages of the sessions the operator holds since a cursor. The cursor is a pulse id (see sql/002_agents.sql): it
// tells both which changes the client has seen and which messages.
#pragma once
#include "store.hpp"
#include "visitor.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace abri::queue {

struct Entry {
    std::string session;       // public id
    std::string unit_code;
    std::string unit_name;
    std::string unit_kind;     // "police" or "gendarmerie"
    std::string role;          // "victim" or "witness"
    std::string lang;          // the person's page language
    std::string state;         // "waiting", "active" or "left"
    bool mine;                 // held by this operator
    std::int64_t since;        // waiting since (created, or transferred)
    std::int64_t unread;       // visitor messages since the team last wrote
    std::int64_t last_seen;    // the visitor's last call
    bool connected;            // last_seen within limits::kConnectedWithin
    bool quick_exit;           // left with the quick exit
    std::int64_t ended_at;     // left at, else 0
    bool danger;               // the person said "in danger now"
    bool answered;             // an operator has written to the person
    std::optional<std::string> preview;  // the start of the person's latest message
    bool typing;               // held by this operator, and the person is typing
    std::optional<std::string> handover;  // waiting: the start of its latest note (a transfer's handover note)
    bool operator==(const Entry&) const = default;
};

struct Message {
    std::int64_t id;
    std::string session;  // public id
    std::string from;     // "visitor", "agent" or "system"
    std::string text;
    std::int64_t at;
    std::string kind;     // system messages only; "note" for an internal note
    std::string author;   // an operator's message or note: display name, else username; else empty
};

struct UnitDuty {
    std::string code;
    std::vector<std::string> on_duty;  // who is on duty now, by the names colleagues see
    bool operator==(const UnitDuty&) const = default;
};

struct Snapshot {
    std::int64_t cursor = 0;        // the latest pulse of this snapshot
    std::vector<Entry> queue;       // held ones first, then a page of the others
    std::int64_t waiting_total = 0; // waiting sessions, listed or not
    std::vector<UnitDuty> units;    // the operator's units, on duty or not
    bool away = false;              // the operator's own presence
    std::vector<std::string> erased;// held sessions the person erased, lately
    std::vector<Message> messages;  // ordered by id
    bool truncated = false;         // older messages left out (limits::kMaxEventMessages)
    bool changed = false;           // a pulse of these units or sessions came after the client's cursor
    std::vector<std::int64_t> held; // ids of the sessions the operator holds
};

// Reads everything in one read transaction. `after` absent (or unknown,
// e.g. a cursor of another database): the whole history of every held
// session, and changed is true.
Snapshot read(store::Db& db, std::int64_t agent_id, std::optional<std::int64_t> after, std::int64_t now,
              const visitor::Ttl& ttl);

// Whether `b` shows nothing new to a client that has `a`: no message, the
// same queue.
bool same_view(const Snapshot& a, const Snapshot& b);

nlohmann::json to_json(const Snapshot& snapshot, std::int64_t now);

}  // namespace abri::queue

// Every endpoint's declared inputs (STYLE.md rule 2): the body fields and
// query keys the programs' route tables name (lib/route.hpp), each with
// its validator's bounds and error code. The fuzz targets
// (tests/fuzz/body.cpp, query.cpp, params.cpp) read these same tables,
// through kBodies and kQueries: a route whose lists are not there does not
// compile (route::well_formed), so the fuzzers never miss one nor fuzz a
// stale copy. An endpoint that declares nothing names the empty list.
#pragma once
#include "input.hpp"
#include "limits.hpp"

#include <span>

namespace abri::fields {

// POST /api/session
inline constexpr input::Field kOpenSession[] = {
    {"postcode", input::Kind::String, true, limits::kMaxWordBytes, "invalid_postcode"},
    {"role", input::Kind::String, true, limits::kMaxWordBytes, "invalid_role"},
    {"lang", input::Kind::String, false, limits::kMaxWordBytes, "invalid_lang"},
    {"work_challenge", input::Kind::String, false, limits::kWorkChallengeChars, "invalid_work"},
    {"work_nonce", input::Kind::String, false, limits::kMaxWorkNonceBytes, "invalid_work"},
};
// GET /api/agent/events: the operators' long-poll.
inline constexpr input::QueryKey kEvents[] = {
    {"after", 0, limits::kMaxId, "invalid_after"},
    {"wait", 0, limits::kMaxWaitSeconds, "invalid_wait"},
};
// GET /api/messages: the person's long-poll, which also says whether the
// page shows the team typing.
inline constexpr input::QueryKey kPoll[] = {
    kEvents[0],
    kEvents[1],
    {"typing", 0, 1, "invalid_typing"},
};
// POST /api/messages and an operator's reply.
inline constexpr input::Field kSend[] = {
    {"text", input::Kind::String, true, limits::kMaxBodyBytes, "invalid_text"},
    {"client_id", input::Kind::String, false, limits::kMaxClientIdBytes, "invalid_client_id"},
};
// POST /api/session/leave
inline constexpr input::Field kLeave[] = {
    {"quick", input::Kind::Bool, false, 0, "invalid_body"},
};
// POST /api/agent/login
inline constexpr input::Field kLogin[] = {
    {"username", input::Kind::String, true, limits::kMaxUsernameBytes, "invalid_credentials"},
    {"password", input::Kind::String, true, limits::kMaxPasswordBytes, "invalid_credentials"},
};
// An operator's presence.
inline constexpr input::Field kPresence[] = {
    {"status", input::Kind::String, true, limits::kMaxWordBytes, "invalid_status"},
};
// A transfer to another unit.
inline constexpr input::Field kTransfer[] = {
    {"unit", input::Kind::String, true, limits::kMaxUnitCodeBytes, "unknown_unit"},
    {"note", input::Kind::String, false, limits::kMaxBodyBytes, "invalid_text"},
};
// An operator's internal note.
inline constexpr input::Field kNote[] = {
    {"text", input::Kind::String, true, limits::kMaxBodyBytes, "invalid_text"},
};
// A conversation's export.
inline constexpr input::QueryKey kExport[] = {
    {"tz_offset", limits::kMinTzOffsetMinutes, limits::kMaxTzOffsetMinutes, "invalid_tz_offset"},
};

// Every list above, and the empty one: the fuzz targets read these, the
// route tables may name no other.
inline constexpr std::span<const input::Field> kBodies[] = {
    kOpenSession, kSend, kLeave, kLogin, kPresence, kTransfer, kNote, {},
};
inline constexpr std::span<const input::QueryKey> kQueries[] = {kPoll, kEvents, kExport, {}};

}  // namespace abri::fields

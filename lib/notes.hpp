// Internal notes on a conversation: written by its unit's operators (a
// handover note goes with a transfer), read by the operators who open it,
// never by the person. A note is a row of the session's messages (sender
// 'system', kind 'note', with its author): it shares their ids, so the
// operators' cursor covers it, it goes with the session (erase, purge), and
// every visitor answer leaves it out as it leaves out the operators' other
// system messages (messages::for_visitor).
#pragma once
#include "messages.hpp"
#include "store.hpp"
#include <cstdint>
#include <string_view>

namespace abri::notes {

inline constexpr std::string_view kKind = "note";

// Inside the writer; the caller has checked who may write it and the text
// (messages::validate_text). Wakes the console of the session's holder.
messages::Sent add(store::Db& db, std::int64_t session_id, std::int64_t agent_id, std::string_view text,
                   std::int64_t now);

}  // namespace abri::notes

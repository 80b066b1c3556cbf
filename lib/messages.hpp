// The messages of a session. Each insert also records a pulse, so that the
// other side's long-poll wakes in whatever process it waits, and keeps the
// session's counters (unread, totals, latest message of the person) so that
// the queue reads them instead of counting messages.
#pragma once
#include "input.hpp"
#include "store.hpp"
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace abri::messages {

struct Message {
    std::int64_t id;
    std::string from;  // "visitor", "agent" or "system"
    std::string text;
    std::int64_t at;
    std::string kind;  // system messages: claimed, released, left, ...; else empty
    std::string author;  // an operator's display name, when their unit signs with names; else empty
};

// A message typed by a person (visitor or agent). Its pulse wakes the
// session's polls and, unless `unit_id` is 0, the consoles of that unit
// (whose queue shows the change). `client_id` is stored with it: the
// caller asks find_sent() first, so that a resend stores nothing (and,
// for a visitor, counts nothing against the send rate).
struct Sent {
    std::int64_t id;
    std::int64_t at;
};
Sent add(store::Db& db, std::int64_t session_id, std::int64_t unit_id, std::string_view from,
         std::string_view text, std::int64_t now, const std::optional<std::string>& client_id = std::nullopt);
// The message the session sent with `client_id` already, if any.
bool find_sent(store::Db& db, std::int64_t session_id, const std::string& client_id, Sent& sent);
// A system message; `kind` is the stable word pages rely on.
std::int64_t add_system(store::Db& db, std::int64_t session_id, std::int64_t unit_id, std::string_view kind,
                        std::string_view text, std::int64_t now);

// The messages after `after_id` that the person's page may see (theirs,
// the team's, and the system messages that concern them: an operator
// answers, goes, passes the chat on, closes it, the danger they reported),
// oldest first, up to limits::kMaxAnswerBytes of text (at least one) and
// limits::kMaxPageMessages messages: `more` is set when some may be left
// for the next call.
struct Page {
    std::vector<Message> list;
    bool more = false;
};
Page for_visitor(store::Db& db, std::int64_t session_id, std::int64_t after_id);

nlohmann::json to_json(const Message& m);
nlohmann::json to_json(const std::vector<Message>& list);

// The page's id of a typed message in `body`, if any: 400
// invalid_client_id unless 1 to limits::kMaxClientIdBytes of A-Z, a-z,
// 0-9, '-', '_'.
std::optional<std::string> client_id_of(const input::Body& body);

// Validates a message typed by a person (the contract's text rule): valid
// UTF-8 without control characters, bidirectional overrides or isolates,
// 1 to limits::kMaxTextChars characters as sent, not only white space.
// Throws 400 invalid_text.
void validate_text(std::string_view text);

}  // namespace abri::messages

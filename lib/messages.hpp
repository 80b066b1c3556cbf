// The messages of a session. Each insert also records a pulse, so that the
// other side's long-poll wakes in whatever process it waits.
#pragma once
#include "store.hpp"
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace abri::messages {

struct Message {
    std::int64_t id;
    std::string from;  // "visitor", "agent" or "system"
    std::string text;
    std::int64_t at;
};

std::int64_t add(store::Db& db, std::int64_t session_id, std::int64_t unit_id, std::string_view from,
                 std::string_view text, std::int64_t now);
std::vector<Message> after(store::Db& db, std::int64_t session_id, std::int64_t after_id);
nlohmann::json to_json(const std::vector<Message>& list);

// Validates a message typed by a person: valid UTF-8, no control
// characters, 1 to limits::kMaxTextChars characters once trimmed.
// Throws 400 invalid_text.
void validate_text(std::string_view text);

}  // namespace abri::messages

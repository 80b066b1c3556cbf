// Canned replies and referral cards: texts a unit's operators pick from
// the reply box and may edit before sending. Kept per unit in the
// database, written by the admin (abrictl reply), read by the console.
#pragma once
#include "store.hpp"
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace abri::replies {

struct Reply {
    std::int64_t id;
    std::string unit;   // the unit's code
    std::string title;  // what the operator picks it by
    std::string text;   // what is put in the reply box: a message's rules apply
};

// Inside a write transaction; throw std::runtime_error for the admin (no
// such unit, a title or text that could not be sent). Returns the id.
std::int64_t add(store::Db& db, std::string_view unit_code, std::string_view title, std::string_view text);
void remove(store::Db& db, std::int64_t id);

// Every reply, or those of one unit, by unit then title. Reader.
std::vector<Reply> list(store::Db& db, const std::optional<std::string>& unit_code = std::nullopt);
// The replies of the operator's units, at most limits::kMaxRepliesListed. Reader.
std::vector<Reply> for_agent(store::Db& db, std::int64_t agent_id);

}  // namespace abri::replies

#include "notes.hpp"
#include "pulse.hpp"

namespace abri::notes {

namespace {
constexpr const char* kInsert =
    "INSERT INTO messages (session_id, sender, text, at, kind, author_id) VALUES (?, 'system', ?, ?, ?, ?)";
}  // namespace

messages::Sent add(store::Db& db, std::int64_t session_id, std::int64_t agent_id, std::string_view text,
                   std::int64_t now) {
    store::Query(db, kInsert, session_id, text, now, kKind, agent_id).run();
    const std::int64_t id = store::last_insert_id(db);
    pulse::record(db, session_id, 0, now);
    return {id, now};
}

}  // namespace abri::notes

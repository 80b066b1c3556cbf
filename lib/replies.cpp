#include "replies.hpp"
#include "input.hpp"
#include "limits.hpp"
#include "messages.hpp"
#include "routing.hpp"

#include <stdexcept>

namespace abri::replies {

namespace {

constexpr const char* kInsert = "INSERT INTO replies (unit_id, title, text) VALUES (?, ?, ?)";
constexpr const char* kDelete = "DELETE FROM replies WHERE id = ?";
// ?1 a unit code, or NULL for all.
constexpr const char* kList =
    "SELECT r.id, u.code, r.title, r.text FROM replies r JOIN units u ON u.id = r.unit_id "
    "WHERE ?1 IS NULL OR u.code = ?1 ORDER BY u.code, r.title, r.id";
constexpr const char* kForAgent =
    "SELECT r.id, u.code, r.title, r.text FROM replies r JOIN units u ON u.id = r.unit_id "
    "WHERE r.unit_id IN (SELECT unit_id FROM agent_units WHERE agent_id = ?1) ORDER BY u.code, r.title, r.id "
    "LIMIT ?2";

std::vector<Reply> read(store::Query& query) {
    std::vector<Reply> out;
    while (query.next()) out.push_back({query.integer(0), query.text(1), query.text(2), query.text(3)});
    return out;
}

}  // namespace

std::int64_t add(store::Db& db, std::string_view unit_code, std::string_view title, std::string_view text) {
    const auto unit = routing::find_unit(db, unit_code);
    if (!unit) throw std::runtime_error("no unit " + std::string(unit_code) + " (see: abrictl unit list)");
    if (title.size() > limits::kMaxReplyTitleBytes || !input::is_clean_utf8(title) || input::is_blank(title) ||
        title.find_first_of("\t\n") != std::string_view::npos) {
        throw std::runtime_error("a title is 1 to " + std::to_string(limits::kMaxReplyTitleBytes) +
                                 " bytes of text, on one line");
    }
    try {
        messages::validate_text(text);  // the operator sends it as a message
    } catch (const std::exception& e) {
        throw std::runtime_error("the text could not be sent as a message: " + std::string(e.what()));
    }
    store::Query(db, kInsert, unit->id, title, text).run();
    return store::last_insert_id(db);
}

void remove(store::Db& db, std::int64_t id) {
    store::Query(db, kDelete, id).run();
    if (store::changes(db) == 0) {
        throw std::runtime_error("no reply " + std::to_string(id) + " (see: abrictl reply list)");
    }
}

std::vector<Reply> list(store::Db& db, const std::optional<std::string>& unit_code) {
    store::Query query(db, kList, unit_code);
    return read(query);
}

std::vector<Reply> for_agent(store::Db& db, std::int64_t agent_id) {
    store::Query query(db, kForAgent, agent_id, static_cast<std::int64_t>(limits::kMaxRepliesListed));
    return read(query);
}

}  // namespace abri::replies

#include "messages.hpp"
#include "http.hpp"
#include "input.hpp"
#include "limits.hpp"
#include "pulse.hpp"

namespace abri::messages {

namespace {
constexpr const char* kInsert = "INSERT INTO messages (session_id, sender, text, at) VALUES (?, ?, ?, ?)";
constexpr const char* kAfter =
    "SELECT id, sender, text, at FROM messages WHERE session_id = ? AND id > ? ORDER BY id LIMIT 500";
}  // namespace

std::int64_t add(store::Db& db, std::int64_t session_id, std::int64_t unit_id, std::string_view from,
                 std::string_view text, std::int64_t now) {
    store::Query(db, kInsert, session_id, from, text, now).run();
    const std::int64_t id = store::last_insert_id(db);
    pulse::record(db, session_id, unit_id, now);
    return id;
}

std::vector<Message> after(store::Db& db, std::int64_t session_id, std::int64_t after_id) {
    std::vector<Message> list;
    store::Query query(db, kAfter, session_id, after_id);
    while (query.next()) list.push_back({query.integer(0), query.text(1), query.text(2), query.integer(3)});
    return list;
}

nlohmann::json to_json(const std::vector<Message>& list) {
    auto out = nlohmann::json::array();
    for (const auto& m : list) out.push_back({{"id", m.id}, {"from", m.from}, {"text", m.text}, {"at", m.at}});
    return out;
}

void validate_text(std::string_view text) {
    if (!input::is_clean_utf8(text)) {
        throw http::Error{400, "invalid_text", "Le message contient des caractères non valides."};
    }
    const auto length = input::trimmed_length(text);
    if (length == 0) throw http::Error{400, "invalid_text", "Le message est vide."};
    if (length > limits::kMaxTextChars) {
        throw http::Error{400, "invalid_text",
                          "Le message est trop long (" + std::to_string(limits::kMaxTextChars) +
                              " caractères au plus). Vous pouvez l'envoyer en plusieurs fois."};
    }
}

}  // namespace abri::messages

#include "messages.hpp"
#include "http.hpp"
#include "input.hpp"
#include "limits.hpp"
#include "pulse.hpp"
#include "stats.hpp"

namespace abri::messages {

namespace {
constexpr const char* kInsert =
    "INSERT INTO messages (session_id, sender, text, at, kind, client_id) VALUES (?, ?, ?, ?, ?, ?)";
constexpr const char* kByClientId = "SELECT id, at FROM messages WHERE session_id = ? AND client_id = ?";
// A message also ends its side's "typing": the draft is sent.
constexpr const char* kCountVisitor =
    "UPDATE sessions SET unread = unread + 1, visitor_messages = visitor_messages + 1, "
    "visitor_bytes = visitor_bytes + ?, last_visitor_message = ?, visitor_typing_at = 0 WHERE id = ?";
constexpr const char* kCountAgent =
    "UPDATE sessions SET unread = 0, answered_at = coalesce(answered_at, ?), agent_typing_at = 0 WHERE id = ?";
// What the person's page may see, at most limits::kMaxPageMessages (the
// byte budget often ends a page sooner): their messages and the team's,
// and of the system messages only these kinds; never the operators' own
// (left, quick_exit, expired, erased, internal notes). Filtered here, not
// after the limit: a thousand notes must not hide the next reply. The
// author's display name only on a signed message, never the username.
constexpr const char* kAfter =
    "SELECT m.id, m.sender, m.text, m.at, coalesce(m.kind, ''), "
    "CASE WHEN m.signed THEN coalesce(a.display_name, '') ELSE '' END "
    "FROM messages m LEFT JOIN agents a ON a.id = m.author_id WHERE m.session_id = ? AND m.id > ? "
    "AND (m.sender <> 'system' OR m.kind IN ('claimed', 'released', 'transferred', 'escalated', 'closed', 'danger')) "
    "ORDER BY m.id LIMIT ?";

std::int64_t insert(store::Db& db, std::int64_t session_id, std::string_view from, std::string_view text,
                    std::int64_t now, std::string_view kind, const std::optional<std::string>& client_id) {
    const std::optional<std::string> kind_column = kind.empty() ? std::nullopt : std::optional(std::string(kind));
    store::Query(db, kInsert, session_id, from, text, now, kind_column, client_id).run();
    return store::last_insert_id(db);
}

}  // namespace


bool find_sent(store::Db& db, std::int64_t session_id, const std::string& client_id, Sent& sent) {
    store::Query seen(db, kByClientId, session_id, client_id);
    if (!seen.next()) return false;
    sent = {seen.integer(0), seen.integer(1)};
    return true;
}

Sent add(store::Db& db, std::int64_t session_id, std::int64_t unit_id, std::string_view from,
         std::string_view text, std::int64_t now, const std::optional<std::string>& client_id) {
    const std::int64_t id = insert(db, session_id, from, text, now, {}, client_id);
    if (from == "visitor") {
        store::Query(db, kCountVisitor, static_cast<std::int64_t>(text.size()), id, session_id).run();
    } else {
        stats::answered(db, session_id, now);  // before answered_at is set: counts the first only
        store::Query(db, kCountAgent, now, session_id).run();
    }
    pulse::record(db, session_id, unit_id, now);
    return {id, now};
}

std::int64_t add_system(store::Db& db, std::int64_t session_id, std::int64_t unit_id, std::string_view kind,
                        std::string_view text, std::int64_t now) {
    const std::int64_t id = insert(db, session_id, "system", text, now, kind, std::nullopt);
    pulse::record(db, session_id, unit_id, now);
    return id;
}

Page for_visitor(store::Db& db, std::int64_t session_id, std::int64_t after_id) {
    Page page;
    std::size_t bytes = 0;
    store::Query query(db, kAfter, session_id, after_id, limits::kMaxPageMessages);
    while (query.next()) {
        Message m{query.integer(0), query.text(1), query.text(2), query.integer(3), query.text(4), query.text(5)};
        bytes += m.text.size();
        if (!page.list.empty() && bytes > limits::kMaxAnswerBytes) {
            page.more = true;
            break;
        }
        page.list.push_back(std::move(m));
    }
    // A page full to the limit: there may be more after it.
    if (std::ssize(page.list) == limits::kMaxPageMessages) page.more = true;
    return page;
}

nlohmann::json to_json(const Message& m) {
    nlohmann::json out = {{"id", m.id}, {"from", m.from}, {"text", m.text}, {"at", m.at}};
    if (!m.kind.empty()) out["kind"] = m.kind;
    if (!m.author.empty()) out["author"] = m.author;
    return out;
}

nlohmann::json to_json(const std::vector<Message>& list) {
    auto out = nlohmann::json::array();
    for (const auto& m : list) out.push_back(to_json(m));
    return out;
}

void validate_text(std::string_view text) {
    if (!input::is_clean_utf8(text)) {
        throw http::Error{400, "invalid_text", "Le message contient des caractères non valides."};
    }
    if (input::is_blank(text)) throw http::Error{400, "invalid_text", "Le message est vide."};
    if (input::code_points(text) > limits::kMaxTextChars) {
        throw http::Error{400, "invalid_text",
                          "Le message est trop long (" + std::to_string(limits::kMaxTextChars) +
                              " caractères au plus). Vous pouvez l'envoyer en plusieurs fois."};
    }
}

std::optional<std::string> client_id_of(const input::Body& body) {
    if (!body.has("client_id")) return std::nullopt;
    std::string client_id = body.text("client_id");
    if (!input::is_token_word(client_id, limits::kMaxClientIdBytes)) {
        throw http::Error{400, "invalid_client_id", "L'identifiant du message n'a pas la bonne forme."};
    }
    return client_id;
}

}  // namespace abri::messages

// abri messages: the visitor's conversation, once the session is open.
//   GET    /api/messages?after=ID&wait=S     -> 200 {messages, state, unit, on_duty, ...}
//                                                (the long-poll: parked until a
//                                                change or the wait runs out)
//   POST   /api/messages {"text", "client_id"?} -> 201 {id, at}
//   POST   /api/session/danger               -> 200 {danger}
//   POST   /api/session/typing               -> 204 (a signal, never the text)
//   POST   /api/session/leave {"quick"}      -> 204, the token dies
//   DELETE /api/session                      -> 204, everything erased now
// Every call needs `Authorization: Bearer <token>` (the table at the end
// says what each reads and answers); every call with a live token keeps
// the session alive. A page that reloads goes on with the same token:
// only leave, erase, the operator's close and expiry end it.
#include "../lib/app.hpp"
#include "../lib/duty.hpp"
#include "../lib/errors.hpp"
#include "../lib/fields.hpp"
#include "../lib/limits.hpp"
#include "../lib/messages.hpp"
#include "../lib/retention.hpp"
#include "../lib/route.hpp"
#include "../lib/routing.hpp"
#include "../lib/typing.hpp"
#include "../lib/visitor.hpp"

using namespace abri;

namespace {

// The team's "typing" as the page shows it, from the team's last signal:
// in an active conversation only.
bool team_typing(const visitor::Session& session, std::int64_t signalled_at, std::int64_t now) {
    return session.state == "active" && typing::is_typing(signalled_at, now);
}

// The poll's answer: the page's messages and where the conversation stands
// now (its unit changes after a transfer or an escalation).
http::Response conversation(store::Db& db, const visitor::Session& session, const messages::Page& page,
                            std::int64_t team_signalled_at, std::int64_t now) {
    const auto unit = routing::find_unit_by_id(db, session.unit_id);
    nlohmann::json out = {{"messages", messages::to_json(page.list)},
                          {"state", session.state},
                          {"unit", {{"name", unit ? unit->name : ""}, {"kind", unit ? unit->kind : ""}}},
                          {"on_duty", duty::on_duty(db, session.unit_id, now)},
                          {"danger", session.danger},
                          {"typing", team_typing(session, team_signalled_at, now)},
                          {"role", session.role},
                          {"lang", session.lang},
                          {"expires_at", session.expires_at}};
    if (page.more) out["more"] = true;
    return http::json(200, out);
}

// Keeps the session alive: at most one write every few seconds. Best
// effort: when the database takes no write (disk full, read-only, locked)
// the visitor still reads what is there, and the next call tries again.
void keep_alive(app::App& app, const visitor::Session& session, std::int64_t now) {
    if (!visitor::needs_touch(session, now)) return;
    app.write_on_the_side("a session could not be kept alive",
                          [&](store::Db& db) { visitor::touch(db, session.id, now); });
}

// Answers at once when there is something after `after`, or when the
// team's typing is not what the page says it shows (`typing`: a signal
// written between two polls would otherwise park unseen); else parks
// until a message, a new typing signal or the end of `wait`.
server::Outcome poll(const route::Call& call) {
    auto& app = call.app;
    const std::int64_t after = call.query_or("after", 0);
    const auto wait = static_cast<int>(call.query_or("wait", limits::kDefaultWaitSeconds));
    const auto session = call.visitor(app.reader());
    keep_alive(app, session, call.now);
    // A sweep that moved conversations may have moved this one (released,
    // escalated): then its state and unit are read again.
    const auto current = app.sweep_duty(call.now)
                             ? visitor::find_by_id(app.reader(), session.id, call.now, app.ttl).value_or(session)
                             : session;
    const auto page = messages::for_visitor(app.reader(), session.id, after);
    const auto signalled_then = typing::signalled_at(app.reader(), session.id, typing::Side::Team);
    const bool typing_now = team_typing(current, signalled_then, call.now);
    const bool typing_shown = call.query_or("typing", typing_now) == 1;
    if (!page.list.empty() || wait == 0 || typing_shown != typing_now) {
        return conversation(app.reader(), current, page, signalled_then, call.now);
    }

    longpoll::Wait parked;
    parked.sessions = {session.id};
    parked.deadline = longpoll::Clock::now() + std::chrono::seconds(wait);
    parked.resume = [&app, id = session.id, after, signalled_then](bool timed_out) -> std::optional<http::Response> {
        auto& db = app.reader();
        const auto at = server::now();
        const auto found = visitor::find_by_id(db, id, at, app.ttl);
        if (!found) return server::answer_failure(std::make_exception_ptr(errors::session_expired()));
        const auto fresh = messages::for_visitor(db, id, after);
        // The team started or goes on typing: the page learns it now, not
        // at the next message.
        const auto signalled_at = typing::signalled_at(db, id, typing::Side::Team);
        if (fresh.list.empty() && signalled_at == signalled_then && !timed_out) return std::nullopt;
        return conversation(db, *found, fresh, signalled_at, at);
    };
    return parked;
}

// A closed conversation takes no message (409 session_closed); a client_id
// seen before answers the first send again and stores nothing.
server::Outcome send(const route::Call& call) {
    const std::string text = call.body.text("text");
    messages::validate_text(text);
    const auto client_id = messages::client_id_of(call.body);
    messages::Sent sent{};
    call.app.writer.run([&](store::Db& db) {
        const auto session = call.visitor(db);
        if (session.state == "closed") {
            throw http::Error{409, "session_closed", "La conversation a été close par l'équipe qui vous répondait."};
        }
        if (client_id && messages::find_sent(db, session.id, *client_id, sent)) return;
        visitor::admit_send(db, session, text.size(), call.app.config.send_burst, call.now);
        // A held chat changes only its operator's view; a waiting one, its
        // unit's queue (the preview, the unread count).
        const std::int64_t queue_unit = session.state == "active" ? 0 : session.unit_id;
        sent = messages::add(db, session.id, queue_unit, "visitor", text, call.now, client_id);
        visitor::touch(db, session.id, call.now);
    });
    return http::json(201, {{"id", sent.id}, {"at", sent.at}});
}

server::Outcome danger(const route::Call& call) {
    call.app.writer.run([&](store::Db& db) { visitor::flag_danger(db, call.visitor(db), call.now); });
    return http::json(200, {{"danger", true}});
}

// 204 also when the signal is dropped: one every few seconds at most, in
// a conversation an operator holds only.
server::Outcome visitor_typing(const route::Call& call) {
    auto& app = call.app;
    const auto session = call.visitor(app.reader());
    if (!typing::needs_signal(app.reader(), session.id, typing::Side::Visitor, call.now)) return http::no_content();
    app.writer.run([&](store::Db& db) { typing::signal(db, session.id, typing::Side::Visitor, call.now); });
    return http::no_content();
}

server::Outcome leave(const route::Call& call) {
    const bool quick = call.body.flag("quick").value_or(false);
    call.app.writer.run([&](store::Db& db) { visitor::leave(db, call.visitor(db), quick, call.now); });
    return http::no_content();
}

// 204 once no file of the database holds the conversation any more: the
// rows are deleted, and the write-ahead log checkpointed and truncated.
// 503 erase_pending when a reader kept the log busy: the rows are gone,
// and the scrub goes on in the background until done.
server::Outcome erase(const route::Call& call) {
    auto& app = call.app;
    app.writer.run([&](store::Db& db) { visitor::erase(db, call.visitor(db), call.now); });
    if (!retention::scrub(app.db)) {
        app.scrubber.request();
        throw http::Error{503, "erase_pending",
                          "La conversation est effacée et plus personne ne peut la lire ; ses dernières traces "
                          "sur le serveur seront nettoyées dans quelques instants."};
    }
    return http::no_content();
}

using enum route::Body;
using enum route::Caller;

// Every row is a Visitor's: the handlers that write look the token up in
// their transaction (lib/route.hpp).
constexpr route::Route kRoutes[] = {
    {.method = "GET", .path = "/api/messages", .caller = Visitor, .query = fields::kPoll, .handler = poll,
     .statuses = "200 400 401"},
    {.method = "POST", .path = "/api/messages", .caller = Visitor, .body = Required, .fields = fields::kSend,
     .handler = send, .statuses = "201 400 401 409 413 415 429"},
    {.method = "POST", .path = "/api/session/danger", .caller = Visitor, .body = Optional, .handler = danger,
     .statuses = "200 400 401 413 415"},
    {.method = "POST", .path = "/api/session/typing", .caller = Visitor, .body = Optional, .handler = visitor_typing,
     .statuses = "204 400 401 413 415"},
    {.method = "POST", .path = "/api/session/leave", .caller = Visitor, .body = Optional, .fields = fields::kLeave,
     .handler = leave, .statuses = "204 400 401 413 415"},
    {.method = "DELETE", .path = "/api/session", .caller = Visitor, .handler = erase, .statuses = "204 400 401 503"},
};
static_assert(route::well_formed(kRoutes));

}  // namespace

int main(int argc, char** argv) { return route::main(argc, argv, "abri-messages", kRoutes); }

// abri messages: the visitor's conversation, once the session is open.
//   GET    /api/messages?after=ID&wait=S     -> 200 {messages, state, unit, on_duty, ...}
//                                                (the long-poll: parked until a
//                                                change or the wait runs out)
//   POST   /api/messages {"text", "client_id"?} -> 201 {id, at}
//   POST   /api/session/danger               -> 200 {danger}
//   POST   /api/session/typing               -> 204 (a signal, never the text)
//   POST   /api/session/leave {"quick"}      -> 204, the token dies
//   DELETE /api/session                      -> 204, everything erased now
// Every call needs `Authorization: Bearer <token>`; every call with a live
// token keeps the session alive. A page that reloads goes on with the
// same token: only leave, erase, the operator's close and expiry end it.
#include "../lib/app.hpp"
#include "../lib/duty.hpp"
#include "../lib/errors.hpp"
#include "../lib/fields.hpp"
#include "../lib/input.hpp"
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

// 200 now when there is something after `after`, or when the team's
// typing is not what the page says it shows (`typing`: a signal written
// between two polls would otherwise park unseen), else parked until a
// message or a new typing signal or the end of `wait`; 400 invalid_after,
// invalid_wait, invalid_typing, invalid_query; 401 session_expired.
server::Outcome poll(app::App& app, const http::Request& request) {
    const auto query = input::parse_query(request.query, fields::kPoll);
    const std::int64_t after = query.count("after") ? query.at("after") : 0;
    const int wait = query.count("wait") ? static_cast<int>(query.at("wait")) : limits::kDefaultWaitSeconds;
    const auto now = server::now();
    const auto session = visitor::require(app.reader(), request, now, app.ttl);
    keep_alive(app, session, now);
    // A sweep that moved conversations may have moved this one (released,
    // escalated): then its state and unit are read again.
    const auto current =
        app.sweep_duty(now) ? visitor::find_by_id(app.reader(), session.id, now, app.ttl).value_or(session) : session;
    const auto page = messages::for_visitor(app.reader(), session.id, after);
    const auto signalled_then = typing::signalled_at(app.reader(), session.id, typing::Side::Team);
    const bool typing_now = team_typing(current, signalled_then, now);
    const bool typing_shown = query.count("typing") ? query.at("typing") == 1 : typing_now;
    if (!page.list.empty() || wait == 0 || typing_shown != typing_now) {
        return conversation(app.reader(), current, page, signalled_then, now);
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

// 201; 400 invalid_text, invalid_client_id, invalid_body; 401
// session_expired; 409 session_closed when the operator has closed the
// conversation; 429 too_many_messages (rate or totals). A client_id seen
// before answers the first send again and stores nothing.
http::Response send(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    const auto body = input::parse_body(request, fields::kSend);
    const std::string text = body.text("text");
    messages::validate_text(text);
    const auto client_id = messages::client_id_of(body);
    const auto now = server::now();
    messages::Sent sent{};
    app.writer.run([&](store::Db& db) {
        const auto session = visitor::require(db, request, now, app.ttl);
        if (session.state == "closed") {
            throw http::Error{409, "session_closed", "La conversation a été close par l'équipe qui vous répondait."};
        }
        if (client_id && messages::find_sent(db, session.id, *client_id, sent)) return;
        visitor::admit_send(db, session, text.size(), app.config.send_burst, now);
        // A held chat changes only its operator's view; a waiting one, its
        // unit's queue (the preview, the unread count).
        const std::int64_t queue_unit = session.state == "active" ? 0 : session.unit_id;
        sent = messages::add(db, session.id, queue_unit, "visitor", text, now, client_id);
        visitor::touch(db, session.id, now);
    });
    return http::json(201, {{"id", sent.id}, {"at", sent.at}});
}

// 200; 400 invalid_body; 401 session_expired.
http::Response danger(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    input::parse_body(request, {}, true);
    const auto now = server::now();
    app.writer.run([&](store::Db& db) { visitor::flag_danger(db, visitor::require(db, request, now, app.ttl), now); });
    return http::json(200, {{"danger", true}});
}

// 204, also when the signal is dropped (one every few seconds at most, in
// a conversation an operator holds only); 400 invalid_body; 401
// session_expired.
http::Response visitor_typing(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    input::parse_body(request, {}, true);
    const auto now = server::now();
    const auto session = visitor::require(app.reader(), request, now, app.ttl);
    if (!typing::needs_signal(app.reader(), session.id, typing::Side::Visitor, now)) return http::no_content();
    app.writer.run([&](store::Db& db) { typing::signal(db, session.id, typing::Side::Visitor, now); });
    return http::no_content();
}

// 204; 400 invalid_body; 401 session_expired.
http::Response leave(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    const auto body = input::parse_body(request, fields::kLeave, true);
    const bool quick = body.flag("quick").value_or(false);
    const auto now = server::now();
    app.writer.run([&](store::Db& db) {
        visitor::leave(db, visitor::require(db, request, now, app.ttl), quick, now);
    });
    return http::no_content();
}

// 204 once no file of the database holds the conversation any more: the
// rows are deleted, and the write-ahead log checkpointed and truncated.
// 401 session_expired; 503 erase_pending when a reader kept the log busy:
// the rows are gone, and the scrub goes on in the background until done.
http::Response erase(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    const auto now = server::now();
    app.writer.run([&](store::Db& db) { visitor::erase(db, visitor::require(db, request, now, app.ttl), now); });
    if (!retention::scrub(app.db)) {
        app.scrubber.request();
        throw http::Error{503, "erase_pending",
                          "La conversation est effacée et plus personne ne peut la lire ; ses dernières traces "
                          "sur le serveur seront nettoyées dans quelques instants."};
    }
    return http::no_content();
}

constexpr route::Route kRoutes[] = {
    {"GET", "/api/messages", route::plain<poll>},
    {"POST", "/api/messages", route::plain<send>},
    {"POST", "/api/session/danger", route::plain<danger>},
    {"POST", "/api/session/typing", route::plain<visitor_typing>},
    {"POST", "/api/session/leave", route::plain<leave>},
    {"DELETE", "/api/session", route::plain<erase>},
};

}  // namespace

int main(int argc, char** argv) { return route::main(argc, argv, "abri-messages", kRoutes); }

// abri agent: the operators' console API.
//   POST /api/agent/login {"username", "password"} -> 200 {agent, csrf} + cookie
//   POST /api/agent/logout                         -> 204, cookie cleared
//   GET  /api/agent/me                             -> 200 {agent, csrf} (a reloaded console)
//   GET  /api/agent/units                          -> 200 {units} (where a chat can be transferred)
//   GET  /api/agent/events?after=CURSOR&wait=S     -> 200 {cursor, queue, messages}
//                                                     (the operator's one long-poll)
//   POST /api/agent/sessions/{session}/claim       -> 200
//   POST /api/agent/sessions/{session}/messages {"text"} -> 201 {id, at}
//   POST /api/agent/sessions/{session}/transfer {"unit", "note"?} -> 200
//   POST /api/agent/sessions/{session}/release     -> 200 (back to the unit's queue)
//   POST /api/agent/sessions/{session}/close       -> 200
//   GET  /api/agent/sessions/{session}/export?tz_offset=MINUTES -> 200 text/plain
//   POST /api/agent/sessions/{session}/notes {"text"} -> 201 {id, at} (never shown to the person)
//   POST /api/agent/sessions/{session}/typing      -> 204 (the holder; no text)
//   GET  /api/agent/replies                        -> 200 {replies} (the units' canned replies)
//   PUT  /api/agent/presence {"status"}            -> 200 {status}
// Every call but login needs the cookie (401 login_required); every POST
// and PUT but login needs X-Abri-CSRF (403 invalid_csrf). A session of a
// unit the operator does not belong to is 404 on every endpoint. Logout
// gives every conversation the operator held back to its queue.
#include "../lib/app.hpp"
#include "../lib/auth.hpp"
#include "../lib/desk.hpp"
#include "../lib/duty.hpp"
#include "../lib/errors.hpp"
#include "../lib/fields.hpp"
#include "../lib/input.hpp"
#include "../lib/limits.hpp"
#include "../lib/messages.hpp"
#include "../lib/notes.hpp"
#include "../lib/queue.hpp"
#include "../lib/route.hpp"
#include "../lib/replies.hpp"
#include "../lib/token.hpp"
#include "../lib/typing.hpp"

using namespace abri;

namespace {

auth::Gate& gate() {
    static auth::Gate instance;
    return instance;
}

nlohmann::json unit_json(const routing::Unit& unit) {
    return {{"code", unit.code}, {"name", unit.name}, {"kind", unit.kind}};
}

nlohmann::json agent_json(app::App& app, const auth::Agent& agent) {
    auto units = nlohmann::json::array();
    for (const auto& unit : auth::units_of(app.reader(), agent.id)) units.push_back(unit_json(unit));
    return {{"agent", {{"username", agent.username}, {"units", units}}}, {"csrf", agent.csrf}};
}

// The operator of a state-changing call: logged in, with the CSRF header.
auth::Agent require_writer(app::App& app, const http::Request& request, std::int64_t now) {
    auto agent = auth::require(app.reader(), request, now);
    auth::require_csrf(agent, request);
    return agent;
}

// 200 + cookie; 400 invalid_credentials, invalid_body; 401
// invalid_credentials; 413; 415; 429 too_many_attempts; 503.
http::Response login(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    const auto body = input::parse_body(request, fields::kLogin);
    const auto now = server::now();
    const auto done =
        gate().login(app.writer, {body.text("username"), body.text("password"), auth::device_of(request)}, now);
    auto response = http::json(200, agent_json(app, done.agent));
    response.headers.emplace_back("Set-Cookie", auth::set_device_cookie(done.device, request.https));
    response.headers.emplace_back("Set-Cookie", auth::set_cookie(done.cookie, request.https));
    return response;
}

// 204; 401 login_required; 403 invalid_csrf.
http::Response logout(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    input::parse_body(request, {}, true);
    const auto now = server::now();
    const auto agent = require_writer(app, request, now);
    app.writer.run([&](store::Db& db) {
        auth::logout(db, agent);
        duty::sign_off(db, agent.id, now);
    });
    auto response = http::no_content();
    response.headers.emplace_back("Set-Cookie", auth::clear_cookie(request.https));
    return response;
}

// 200; 401 login_required.
http::Response me(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    return http::json(200, agent_json(app, auth::require(app.reader(), request, server::now())));
}

// 200; 401 login_required.
http::Response units(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    auth::require(app.reader(), request, server::now());
    auto list = nlohmann::json::array();
    for (const auto& unit : desk::all_units(app.reader())) list.push_back(unit_json(unit));
    return http::json(200, {{"units", list}});
}

// 200 at once without `after`, or when something changed after it; else
// parked until a change to the operator's units or held sessions, or the
// end of `wait`. 400 invalid_after, invalid_wait, invalid_query; 401
// login_required (also when the login ends while parked).
server::Outcome events(app::App& app, const http::Request& request) {
    const auto query = input::parse_query(request.query, fields::kEvents);
    std::optional<std::int64_t> after;
    if (query.count("after")) after = query.at("after");
    const int wait = query.count("wait") ? static_cast<int>(query.at("wait")) : limits::kDefaultWaitSeconds;
    const auto now = server::now();
    auto& db = app.reader();
    const auto agent = auth::require(db, request, now);
    // Best effort, as a visitor's keep-alive: during a disk or lock fault
    // the operator still reads the chats, the expired one shown as it was.
    if (desk::has_expired_held(db, agent.id, now, app.ttl)) {
        app.write_on_the_side("expired chats could not be marked as left",
                              [&](store::Db& w) { desk::expire_held(w, agent.id, now, app.ttl); });
    }
    // This console is connected: the operator's units are on duty.
    if (duty::needs_poll_record(db, agent.id, now, app.duty)) {
        app.write_on_the_side("an operator's presence could not be recorded",
                              [&](store::Db& w) { duty::record_poll(w, agent.id, now); });
    }
    app.sweep_duty(now);
    auto snapshot = queue::read(db, agent.id, after, now, app.ttl);
    if (snapshot.changed || !snapshot.messages.empty() || wait == 0) {
        return http::json(200, queue::to_json(snapshot, now));
    }

    longpoll::Wait parked;
    parked.units = auth::unit_ids(auth::units_of(db, agent.id));
    parked.sessions = snapshot.held;
    parked.deadline = longpoll::Clock::now() + std::chrono::seconds(wait);
    parked.resume = [&app, login = agent.login_hash, id = agent.id, after,
                     seen = std::move(snapshot)](bool timed_out) -> std::optional<http::Response> {
        auto& reader = app.reader();
        const auto at = server::now();
        if (!auth::find(reader, login, at)) {
            return server::answer_failure(std::make_exception_ptr(auth::login_required()));
        }
        auto fresh = queue::read(reader, id, after, at, app.ttl);
        if (!timed_out && queue::same_view(seen, fresh)) return std::nullopt;
        return http::json(200, queue::to_json(fresh, at));
    };
    return parked;
}

// The session of the path, for a state-changing call: runs `act` in the
// writer with the session looked up there, so that the check and the
// change see the same row.
template <typename Act>
void act_on(app::App& app, const auth::Agent& agent, const std::string& session, std::int64_t now, Act act) {
    app.writer.run([&](store::Db& db) { act(db, desk::find(db, agent.id, session, now, app.ttl)); });
}

// 200; 401; 403 invalid_csrf; 404 not_found; 409 already_claimed, session_ended.
http::Response claim(app::App& app, const http::Request& request, const std::string& session) {
    input::parse_query(request.query, {});
    input::parse_body(request, {}, true);
    const auto now = server::now();
    const auto agent = require_writer(app, request, now);
    act_on(app, agent, session, now, [&](store::Db& db, const desk::Case& c) { desk::claim(db, agent.id, c, now); });
    return http::json(200, {{"session", session}, {"state", "active"}});
}

// 201; 400 invalid_text, invalid_body; 401; 403 invalid_csrf, not_yours;
// 404; 409 not_claimed, session_ended; 413; 415.
http::Response reply(app::App& app, const http::Request& request, const std::string& session) {
    input::parse_query(request.query, {});
    const auto body = input::parse_body(request, fields::kSend);
    const std::string text = body.text("text");
    messages::validate_text(text);
    const auto now = server::now();
    const auto agent = require_writer(app, request, now);
    const auto client_id = messages::client_id_of(body);
    messages::Sent sent{};
    act_on(app, agent, session, now,
           [&](store::Db& db, const desk::Case& c) { sent = desk::reply(db, agent.id, c, text, now, client_id); });
    return http::json(201, {{"id", sent.id}, {"at", sent.at}});
}

// 200; 401; 403 invalid_csrf, not_yours; 404; 409 not_claimed, session_ended.
http::Response release(app::App& app, const http::Request& request, const std::string& session) {
    input::parse_query(request.query, {});
    input::parse_body(request, {}, true);
    const auto now = server::now();
    const auto agent = require_writer(app, request, now);
    act_on(app, agent, session, now,
           [&](store::Db& db, const desk::Case& c) { desk::release(db, agent.id, c, now); });
    return http::json(200, {{"session", session}, {"state", "waiting"}});
}

// 200; 400 invalid_status, invalid_body; 401; 403 invalid_csrf; 413; 415.
http::Response presence(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    const auto body = input::parse_body(request, fields::kPresence);
    const std::string status = body.text("status");
    if (status != "available" && status != "away") {
        throw http::Error{400, "invalid_status", "La présence est « available » ou « away »."};
    }
    const auto now = server::now();
    const auto agent = require_writer(app, request, now);
    app.writer.run([&](store::Db& db) {
        duty::set_away(db, agent.id, status == "away", now);
        duty::record_poll(db, agent.id, now);
    });
    return http::json(200, {{"status", status}});
}

// 200; 400 unknown_unit, invalid_text (the note), invalid_body; 401; 403
// invalid_csrf, not_yours; 404; 409 session_ended; 413; 415.
http::Response transfer(app::App& app, const http::Request& request, const std::string& session) {
    input::parse_query(request.query, {});
    const auto body = input::parse_body(request, fields::kTransfer);
    const std::string unit = body.text("unit");
    const auto note = body.has("note") ? std::optional(body.text("note")) : std::nullopt;
    if (note) messages::validate_text(*note);
    const auto now = server::now();
    const auto agent = require_writer(app, request, now);
    act_on(app, agent, session, now,
           [&](store::Db& db, const desk::Case& c) { desk::transfer(db, agent.id, c, unit, now, note); });
    return http::json(200, {{"session", session}, {"state", "waiting"}, {"unit", unit}});
}

// 200; 401; 403 invalid_csrf, not_yours; 404; 409 not_claimed.
http::Response close(app::App& app, const http::Request& request, const std::string& session) {
    input::parse_query(request.query, {});
    input::parse_body(request, {}, true);
    const auto now = server::now();
    const auto agent = require_writer(app, request, now);
    act_on(app, agent, session, now, [&](store::Db& db, const desk::Case& c) { desk::close(db, agent.id, c, now); });
    return http::json(200, {{"session", session}, {"state", "closed"}});
}

// 200 text/plain; 400 invalid_tz_offset, invalid_query; 401; 403 not_yours; 404.
http::Response export_text(app::App& app, const http::Request& request, const std::string& session) {
    const auto query = input::parse_query(request.query, fields::kExport);
    const int tz_offset = query.count("tz_offset") ? static_cast<int>(query.at("tz_offset")) : 0;
    const auto now = server::now();
    auto& db = app.reader();
    const auto agent = auth::require(db, request, now);
    const auto c = desk::find(db, agent.id, session, now, app.ttl);
    desk::require_holder(agent.id, c);
    http::Response response{200, desk::transcript(db, c, agent.username, now, tz_offset), "text/plain; charset=utf-8",
                            {}};
    response.headers.emplace_back("Content-Disposition", "attachment; filename=\"abri-" + c.public_id + ".txt\"");
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return response;
}

// 201; 400 invalid_text, invalid_body; 401; 403 invalid_csrf; 404; 413;
// 415. Any operator of the unit who may see the conversation (its holder,
// a colleague, before or after a claim) writes notes on it.
http::Response note(app::App& app, const http::Request& request, const std::string& session) {
    input::parse_query(request.query, {});
    const auto body = input::parse_body(request, fields::kNote);
    const std::string text = body.text("text");
    messages::validate_text(text);
    const auto now = server::now();
    const auto agent = require_writer(app, request, now);
    messages::Sent sent{};
    act_on(app, agent, session, now,
           [&](store::Db& db, const desk::Case& c) { sent = notes::add(db, c.id, agent.id, text, now); });
    return http::json(201, {{"id", sent.id}, {"at", sent.at}});
}

// 204, also when the signal is dropped (one every few seconds at most, in
// an active conversation only); 401; 403 invalid_csrf, not_yours; 404.
http::Response team_typing(app::App& app, const http::Request& request, const std::string& session) {
    input::parse_query(request.query, {});
    input::parse_body(request, {}, true);
    const auto now = server::now();
    const auto agent = require_writer(app, request, now);
    const auto c = desk::find(app.reader(), agent.id, session, now, app.ttl);
    desk::require_holder(agent.id, c);
    if (!typing::needs_signal(app.reader(), c.id, typing::Side::Team, now)) return http::no_content();
    app.writer.run([&](store::Db& db) { typing::signal(db, c.id, typing::Side::Team, now); });
    return http::no_content();
}

// 200; 401 login_required.
http::Response canned_replies(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    auto& db = app.reader();
    const auto agent = auth::require(db, request, server::now());
    auto list = nlohmann::json::array();
    for (const auto& r : replies::for_agent(db, agent.id)) {
        list.push_back({{"id", r.id}, {"unit", r.unit}, {"title", r.title}, {"text", r.text}});
    }
    return http::json(200, {{"replies", list}});
}

// The route table (lib/route.hpp).
constexpr route::Route kRoutes[] = {
    {"POST", "/api/agent/login", route::plain<login>},
    {"POST", "/api/agent/logout", route::plain<logout>},
    {"GET", "/api/agent/me", route::plain<me>},
    {"GET", "/api/agent/units", route::plain<units>},
    {"GET", "/api/agent/events", route::plain<events>},
    {"PUT", "/api/agent/presence", route::plain<presence>},
    {"GET", "/api/agent/replies", route::plain<canned_replies>},
    {"POST", "/api/agent/sessions/{s}/claim", route::of_session<claim>},
    {"POST", "/api/agent/sessions/{s}/messages", route::of_session<reply>},
    {"POST", "/api/agent/sessions/{s}/transfer", route::of_session<transfer>},
    {"POST", "/api/agent/sessions/{s}/release", route::of_session<release>},
    {"POST", "/api/agent/sessions/{s}/close", route::of_session<close>},
    {"GET", "/api/agent/sessions/{s}/export", route::of_session<export_text>},
    {"POST", "/api/agent/sessions/{s}/notes", route::of_session<note>},
    {"POST", "/api/agent/sessions/{s}/typing", route::of_session<team_typing>},
};

}  // namespace

int main(int argc, char** argv) { return route::main(argc, argv, "abri-agent", kRoutes); }

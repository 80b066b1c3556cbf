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
// and PUT but login needs X-Abri-CSRF (403 invalid_csrf): the table at the
// end says who may call each, what it reads and answers. Logout gives
// every conversation the operator held back to its queue.
#include "../lib/app.hpp"
#include "../lib/auth.hpp"
#include "../lib/desk.hpp"
#include "../lib/duty.hpp"
#include "../lib/fields.hpp"
#include "../lib/limits.hpp"
#include "../lib/messages.hpp"
#include "../lib/notes.hpp"
#include "../lib/queue.hpp"
#include "../lib/route.hpp"
#include "../lib/replies.hpp"
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
    return {{"agent", {{"username", agent.username}, {"shown_as", agent.shown_as}, {"units", units}}},
            {"csrf", agent.csrf}};
}

// Counted, slowed and limited by auth::Gate.
server::Outcome login(const route::Call& call) {
    const auto& request = call.request;
    const auto done = gate().login(
        call.app.writer, {call.body.text("username"), call.body.text("password"), auth::device_of(request)}, call.now);
    auto response = http::json(200, agent_json(call.app, done.agent));
    response.headers.emplace_back("Set-Cookie", auth::set_device_cookie(done.device, request.https));
    response.headers.emplace_back("Set-Cookie", auth::set_cookie(done.cookie, request.https));
    return response;
}

server::Outcome logout(const route::Call& call) {
    call.app.writer.run([&](store::Db& db) {
        auth::logout(db, *call.agent);
        duty::sign_off(db, call.agent->id, call.now);
    });
    auto response = http::no_content();
    response.headers.emplace_back("Set-Cookie", auth::clear_cookie(call.request.https));
    return response;
}

server::Outcome me(const route::Call& call) { return http::json(200, agent_json(call.app, *call.agent)); }

server::Outcome units(const route::Call& call) {
    auto list = nlohmann::json::array();
    for (const auto& unit : desk::all_units(call.app.reader())) list.push_back(unit_json(unit));
    return http::json(200, {{"units", list}});
}

// At once without `after`, or when something changed after it; else
// parked until a change to the operator's units or held sessions, or the
// end of `wait`. 401 login_required also when the login ends while parked.
server::Outcome events(const route::Call& call) {
    auto& app = call.app;
    const auto& agent = *call.agent;
    const auto now = call.now;
    std::optional<std::int64_t> after;
    if (call.query.count("after")) after = call.query.at("after");
    const auto wait = static_cast<int>(call.query_or("wait", limits::kDefaultWaitSeconds));
    auto& db = app.reader();
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

// Runs `act` in the writer with the path's session looked up there, so
// that the check and the change see the same row.
template <typename Act>
void act_on(const route::Call& call, Act act) {
    call.app.writer.run(
        [&](store::Db& db) { act(db, desk::find(db, call.agent->id, call.session, call.now, call.app.ttl)); });
}

server::Outcome claim(const route::Call& call) {
    act_on(call, [&](store::Db& db, const desk::Case& c) { desk::claim(db, call.agent->id, c, call.now); });
    return http::json(200, {{"session", call.session}, {"state", "active"}});
}

server::Outcome reply(const route::Call& call) {
    const std::string text = call.body.text("text");
    messages::validate_text(text);
    const auto client_id = messages::client_id_of(call.body);
    messages::Sent sent{};
    act_on(call, [&](store::Db& db, const desk::Case& c) {
        sent = desk::reply(db, call.agent->id, c, text, call.now, client_id);
    });
    return http::json(201, {{"id", sent.id}, {"at", sent.at}});
}

server::Outcome release(const route::Call& call) {
    act_on(call, [&](store::Db& db, const desk::Case& c) { desk::release(db, call.agent->id, c, call.now); });
    return http::json(200, {{"session", call.session}, {"state", "waiting"}});
}

server::Outcome presence(const route::Call& call) {
    const std::string status = call.body.text("status");
    if (status != "available" && status != "away") {
        throw http::Error{400, "invalid_status", "La présence est « available » ou « away »."};
    }
    call.app.writer.run([&](store::Db& db) {
        duty::set_away(db, call.agent->id, status == "away", call.now);
        duty::record_poll(db, call.agent->id, call.now);
    });
    return http::json(200, {{"status", status}});
}

server::Outcome transfer(const route::Call& call) {
    const std::string unit = call.body.text("unit");
    const auto note = call.body.has("note") ? std::optional(call.body.text("note")) : std::nullopt;
    if (note) messages::validate_text(*note);
    act_on(call, [&](store::Db& db, const desk::Case& c) {
        desk::transfer(db, call.agent->id, c, unit, call.now, note);
    });
    return http::json(200, {{"session", call.session}, {"state", "waiting"}, {"unit", unit}});
}

server::Outcome close(const route::Call& call) {
    act_on(call, [&](store::Db& db, const desk::Case& c) { desk::close(db, call.agent->id, c, call.now); });
    return http::json(200, {{"session", call.session}, {"state", "closed"}});
}

server::Outcome export_text(const route::Call& call) {
    const auto tz_offset = static_cast<int>(call.query_or("tz_offset", 0));
    auto& db = call.app.reader();
    const auto& agent = *call.agent;
    const auto c = desk::find(db, agent.id, call.session, call.now, call.app.ttl);
    desk::require_holder(agent.id, c);
    http::Response response{200, desk::transcript(db, c, agent.username, call.now, tz_offset),
                            "text/plain; charset=utf-8", {}};
    response.headers.emplace_back("Content-Disposition", "attachment; filename=\"abri-" + c.public_id + ".txt\"");
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return response;
}

// Any operator of the unit who may see the conversation (its holder, a
// colleague, before or after a claim) writes notes on it.
server::Outcome note(const route::Call& call) {
    const std::string text = call.body.text("text");
    messages::validate_text(text);
    messages::Sent sent{};
    act_on(call,
           [&](store::Db& db, const desk::Case& c) { sent = notes::add(db, c.id, call.agent->id, text, call.now); });
    return http::json(201, {{"id", sent.id}, {"at", sent.at}});
}

// 204 also when the signal is dropped (one every few seconds at most, in
// an active conversation only).
server::Outcome team_typing(const route::Call& call) {
    auto& db = call.app.reader();
    const auto c = desk::find(db, call.agent->id, call.session, call.now, call.app.ttl);
    desk::require_holder(call.agent->id, c);
    if (!typing::needs_signal(db, c.id, typing::Side::Team, call.now)) return http::no_content();
    call.app.writer.run([&](store::Db& w) { typing::signal(w, c.id, typing::Side::Team, call.now); });
    return http::no_content();
}

server::Outcome canned_replies(const route::Call& call) {
    auto list = nlohmann::json::array();
    for (const auto& r : replies::for_agent(call.app.reader(), call.agent->id)) {
        list.push_back({{"id", r.id}, {"unit", r.unit}, {"title", r.title}, {"text", r.text}});
    }
    return http::json(200, {{"replies", list}});
}

using enum route::Body;
using enum route::Caller;

// The route table (lib/route.hpp). A session of a unit the operator does
// not belong to is 404 on every "{s}" row.
constexpr route::Route kRoutes[] = {
    {.method = "POST", .path = "/api/agent/login", .body = Required, .fields = fields::kLogin, .handler = login,
     .statuses = "200 400 401 413 415 429 503"},
    {.method = "POST", .path = "/api/agent/logout", .caller = OperatorWriting, .body = Optional, .handler = logout,
     .statuses = "204 400 401 403 413 415"},
    {.method = "GET", .path = "/api/agent/me", .caller = Operator, .handler = me, .statuses = "200 400 401"},
    {.method = "GET", .path = "/api/agent/units", .caller = Operator, .handler = units, .statuses = "200 400 401"},
    {.method = "GET", .path = "/api/agent/events", .caller = Operator, .query = fields::kEvents, .handler = events,
     .statuses = "200 400 401"},
    {.method = "PUT", .path = "/api/agent/presence", .caller = OperatorWriting, .body = Required,
     .fields = fields::kPresence, .handler = presence, .statuses = "200 400 401 403 413 415"},
    {.method = "GET", .path = "/api/agent/replies", .caller = Operator, .handler = canned_replies,
     .statuses = "200 400 401"},
    {.method = "POST", .path = "/api/agent/sessions/{s}/claim", .caller = OperatorWriting, .body = Optional,
     .handler = claim, .statuses = "200 400 401 403 404 409 413 415"},
    {.method = "POST", .path = "/api/agent/sessions/{s}/messages", .caller = OperatorWriting, .body = Required,
     .fields = fields::kSend, .handler = reply, .statuses = "201 400 401 403 404 409 413 415"},
    {.method = "POST", .path = "/api/agent/sessions/{s}/transfer", .caller = OperatorWriting, .body = Required,
     .fields = fields::kTransfer, .handler = transfer, .statuses = "200 400 401 403 404 409 413 415"},
    {.method = "POST", .path = "/api/agent/sessions/{s}/release", .caller = OperatorWriting, .body = Optional,
     .handler = release, .statuses = "200 400 401 403 404 409 413 415"},
    {.method = "POST", .path = "/api/agent/sessions/{s}/close", .caller = OperatorWriting, .body = Optional,
     .handler = close, .statuses = "200 400 401 403 404 409 413 415"},
    {.method = "GET", .path = "/api/agent/sessions/{s}/export", .caller = Operator, .query = fields::kExport,
     .handler = export_text, .statuses = "200 400 401 403 404"},
    {.method = "POST", .path = "/api/agent/sessions/{s}/notes", .caller = OperatorWriting, .body = Required,
     .fields = fields::kNote, .handler = note, .statuses = "201 400 401 403 404 413 415"},
    {.method = "POST", .path = "/api/agent/sessions/{s}/typing", .caller = OperatorWriting, .body = Optional,
     .handler = team_typing, .statuses = "204 400 401 403 404 413 415"},
};
static_assert(route::well_formed(kRoutes));

}  // namespace

int main(int argc, char** argv) { return route::main(argc, argv, "abri-agent", kRoutes); }

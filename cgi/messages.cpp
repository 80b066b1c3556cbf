// abri messages: the visitor's conversation, once the session is open.
//   GET    /api/messages?after=ID&wait=S -> 200 {messages, state, expires_at}
//                                            (the long-poll: parked until a
//                                            change or the wait runs out)
//   POST   /api/messages {"text"}        -> 201 {id, at}
//   POST   /api/session/leave {"quick"}  -> 204, the token dies
//   DELETE /api/session                  -> 204, everything erased now
// Every call needs `Authorization: Bearer <token>`; every call with a live
// token keeps the session alive.
#include "../lib/app.hpp"
#include "../lib/errors.hpp"
#include "../lib/input.hpp"
#include "../lib/limits.hpp"
#include "../lib/messages.hpp"
#include "../lib/retention.hpp"
#include "../lib/visitor.hpp"

using namespace abri;

namespace {

constexpr input::QueryKey kPollKeys[] = {
    {"after", 0, 9007199254740991L, "invalid_after"},
    {"wait", 0, limits::kMaxWaitSeconds, "invalid_wait"},
};
constexpr input::Field kSendFields[] = {
    {"text", input::Kind::String, true, limits::kMaxBodyBytes, "invalid_text"},
};
constexpr input::Field kLeaveFields[] = {
    {"quick", input::Kind::Bool, false, 0, "invalid_body"},
};

http::Response conversation(const visitor::Session& session, const std::vector<messages::Message>& list) {
    return http::json(200, {{"messages", messages::to_json(list)},
                            {"state", session.state},
                            {"expires_at", session.expires_at}});
}

// Keeps the session alive: at most one write every few seconds. Best
// effort: when the database takes no write (disk full, read-only, locked)
// the visitor still reads what is there, and the next call tries again.
void keep_alive(app::App& app, const visitor::Session& session, std::int64_t now) {
    if (!visitor::needs_touch(session, now)) return;
    app.write_on_the_side("a session could not be kept alive",
                          [&](store::Db& db) { visitor::touch(db, session.id, now); });
}

// 200 now when there is something after `after`, else parked until a
// change to the session or the end of `wait`; 400 invalid_after,
// invalid_wait, invalid_query; 401 session_expired.
server::Outcome poll(app::App& app, const http::Request& request) {
    const auto query = input::parse_query(request.query, kPollKeys);
    const std::int64_t after = query.count("after") ? query.at("after") : 0;
    const int wait = query.count("wait") ? static_cast<int>(query.at("wait")) : limits::kDefaultWaitSeconds;
    const auto now = server::now();
    const auto session = visitor::require(app.reader(), request, now, app.ttl);
    keep_alive(app, session, now);
    const auto list = messages::after(app.reader(), session.id, after);
    if (!list.empty() || wait == 0) return conversation(session, list);

    longpoll::Wait parked;
    parked.sessions = {session.id};
    parked.deadline = longpoll::Clock::now() + std::chrono::seconds(wait);
    parked.resume = [&app, id = session.id, after](bool timed_out) -> std::optional<http::Response> {
        auto& db = app.reader();
        const auto current = visitor::find_by_id(db, id, server::now(), app.ttl);
        if (!current) return server::answer_failure(std::make_exception_ptr(errors::session_expired()));
        const auto fresh = messages::after(db, id, after);
        if (fresh.empty() && !timed_out) return std::nullopt;
        return conversation(*current, fresh);
    };
    return parked;
}

// 201; 400 invalid_text, invalid_body; 401 session_expired; 409
// session_closed when the operator has closed the conversation.
http::Response send(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    const auto body = input::parse_body(request, kSendFields);
    const std::string text = body.text("text");
    messages::validate_text(text);
    const auto now = server::now();
    std::int64_t id = 0;
    app.writer.run([&](store::Db& db) {
        const auto session = visitor::require(db, request, now, app.ttl);
        if (session.state == "closed") {
            throw http::Error{409, "session_closed", "La conversation a été close par l'équipe qui vous répondait."};
        }
        id = messages::add(db, session.id, session.unit_id, "visitor", text, now);
        visitor::touch(db, session.id, now);
    });
    return http::json(201, {{"id", id}, {"at", now}});
}

// 204; 400 invalid_body; 401 session_expired.
http::Response leave(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    const auto body = input::parse_body(request, kLeaveFields, true);
    const bool quick = body.flag("quick").value_or(false);
    const auto now = server::now();
    app.writer.run([&](store::Db& db) {
        visitor::leave(db, visitor::require(db, request, now, app.ttl), quick, now);
    });
    return http::no_content();
}

// 204; 401 session_expired. The rows are gone, and so are their bytes:
// the write-ahead log is checkpointed and truncated before answering.
http::Response erase(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    const auto now = server::now();
    app.writer.run([&](store::Db& db) { visitor::erase(db, visitor::require(db, request, now, app.ttl), now); });
    retention::scrub(app.db);
    return http::no_content();
}

server::Outcome dispatch(app::App& app, const http::Request& request) {
    if (request.path == "/api/messages") {
        if (request.method == "GET") return poll(app, request);
        if (request.method == "POST") return send(app, request);
        throw errors::method_not_allowed();
    }
    if (request.path == "/api/session/leave") {
        if (request.method != "POST") throw errors::method_not_allowed();
        return leave(app, request);
    }
    if (request.path == "/api/session") {
        if (request.method != "DELETE") throw errors::method_not_allowed();
        return erase(app, request);
    }
    throw errors::not_found();
}

}  // namespace

int main(int argc, char** argv) { return app::main(argc, argv, "abri-messages", dispatch); }

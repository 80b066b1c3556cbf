// abri session: the door. A postcode and a role open a session with the
// one unit that answers that postcode. Also answers the health check.
//   POST /api/session   {"postcode", "role"}  -> 201 {token, session, unit, expires_at}
//   GET  /api/health                          -> 200 {ok, ...}
// It deliberately keeps nothing of the request but the postcode's route:
// the postcode itself is not stored.
#include "../lib/app.hpp"
#include "../lib/errors.hpp"
#include "../lib/input.hpp"
#include "../lib/limits.hpp"
#include "../lib/routing.hpp"
#include "../lib/server.hpp"
#include "../lib/visitor.hpp"
#include "../lib/work.hpp"

using namespace abri;

namespace {

constexpr input::Field kOpenFields[] = {
    {"postcode", input::Kind::String, true, 16, "invalid_postcode"},
    {"role", input::Kind::String, true, 16, "invalid_role"},
    {"work_challenge", input::Kind::String, false, limits::kWorkChallengeChars, "invalid_work"},
    {"work_nonce", input::Kind::String, false, limits::kMaxWorkNonceBytes, "invalid_work"},
};

// This process's gate: the session program is the only creator of sessions.
work::Gate& gate(const app::App& app) {
    static work::Gate gate(app.config.work_after);
    return gate;
}

// 201; 400 invalid_postcode, invalid_role, invalid_work, invalid_body,
// invalid_query; 413; 415; 429 work_required during a flood (lib/work.hpp);
// 503 when no unit is configured, the database is busy or past the ceiling.
http::Response open_session(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    const auto body = input::parse_body(request, kOpenFields);
    const std::string postcode = body.text("postcode");
    const std::string role = body.text("role");
    if (!routing::is_valid_postcode(postcode)) {
        throw http::Error{400, "invalid_postcode",
                          "Ce code postal n'est pas valide : il faut 5 chiffres, par exemple 75011."};
    }
    if (role != "victim" && role != "witness") {
        throw http::Error{400, "invalid_role", "Indiquez si vous êtes victime ou témoin."};
    }
    const auto now = server::now();
    if (auto asked = gate(app).admit(body.text("work_challenge"), body.text("work_nonce"), now)) {
        return work::required(*asked);
    }
    std::optional<visitor::Created> created;
    std::optional<routing::Unit> unit;
    app.writer.run([&](store::Db& db) {
        unit = routing::route(db, postcode);
        if (!unit) {
            throw http::Error{503, "no_unit",
                              "Aucune équipe n'est disponible pour le moment. En cas de danger, appelez le 17."};
        }
        created = visitor::create(db, *unit, role, now, app.ttl);
    });
    return http::json(201, {{"token", created->token},
                            {"session", created->session.public_id},
                            {"unit", {{"name", unit->name}, {"kind", unit->kind}}},
                            {"expires_at", created->session.expires_at}});
}

// 200 when the database answers; 503 otherwise.
http::Response health(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    return http::json(200, {{"ok", true}, {"schema", store::database_version(app.reader())}});
}

server::Outcome dispatch(app::App& app, const http::Request& request) {
    if (request.path == "/api/session") {
        if (request.method != "POST") throw errors::method_not_allowed();
        return open_session(app, request);
    }
    if (request.path == "/api/health") {
        if (request.method != "GET") throw errors::method_not_allowed();
        return health(app, request);
    }
    throw errors::not_found();
}

}  // namespace

int main(int argc, char** argv) { return app::main(argc, argv, "abri-session", dispatch); }

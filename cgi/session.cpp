// abri session: the door. A postcode and a role open a session with the
// one unit that answers that postcode, or the first on duty along its
// fallbacks. Also answers the health check.
//   POST /api/session   {"postcode", "role", "lang"?}
//                       -> 201 {token, session, role, unit, on_duty, expires_at}
//   GET  /api/health                          -> 200 {ok, ...}
// It deliberately keeps nothing of the request but the postcode's route:
// the postcode itself is not stored.
#include "../lib/app.hpp"
#include "../lib/duty.hpp"
#include "../lib/errors.hpp"
#include "../lib/fields.hpp"
#include "../lib/input.hpp"
#include "../lib/route.hpp"
#include "../lib/limits.hpp"
#include "../lib/routing.hpp"
#include "../lib/server.hpp"
#include "../lib/visitor.hpp"
#include "../lib/work.hpp"

using namespace abri;

namespace {

// This process's gate: the session program is the only creator of sessions.
work::Gate& gate(const app::App& app) {
    static work::Gate gate(app.config.work_after);
    return gate;
}

// Each wrong postcode says what is wrong; `reason` lets the page say it in
// its own language.
void require_postcode(const std::string& postcode) {
    switch (routing::postcode_problem(postcode)) {
    case routing::PostcodeProblem::None:
        return;
    case routing::PostcodeProblem::Format:
        throw http::Error{400, "invalid_postcode",
                          "Un code postal a 5 chiffres, sans espace ni lettre, par exemple 75011.",
                          {{"reason", "format"}}};
    case routing::PostcodeProblem::Department:
        throw http::Error{400, "invalid_postcode",
                          "Ce code postal ne correspond à aucun département français. Vérifiez les deux premiers "
                          "chiffres, par exemple 75011 pour Paris.",
                          {{"reason", "department"}}};
    case routing::PostcodeProblem::Monaco:
        throw http::Error{400, "invalid_postcode",
                          "Ce code postal est celui de Monaco, qui a ses propres secours : appelez la Sûreté "
                          "publique au 17 ou au 112 (ou le +377 93 15 30 15).",
                          {{"reason", "monaco"}}};
    }
}

// 201; 400 invalid_postcode (with its reason), invalid_role, invalid_lang,
// invalid_work, invalid_body, invalid_query; 413; 415; 429 work_required
// during a flood (lib/work.hpp); 503 when no unit is configured, the
// database is busy or new sessions are past the ceiling.
http::Response open_session(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    const auto body = input::parse_body(request, fields::kOpenSession);
    const std::string postcode = body.text("postcode");
    const std::string role = body.text("role");
    const std::string lang = body.has("lang") ? body.text("lang") : "fr";
    require_postcode(postcode);
    if (role != "victim" && role != "witness") {
        throw http::Error{400, "invalid_role", "Indiquez si vous êtes victime ou témoin."};
    }
    if (!visitor::is_known_lang(lang)) {
        throw http::Error{400, "invalid_lang", "Cette langue n'est pas proposée."};
    }
    const auto now = server::now();
    if (auto asked = gate(app).admit(body.text("work_challenge"), body.text("work_nonce"), now)) {
        throw work::required(*asked);
    }
    std::optional<visitor::Created> created;
    std::optional<routing::Unit> unit;
    bool on_duty = false;
    app.writer.run([&](store::Db& db) {
        const auto routed = routing::route(db, postcode);
        if (!routed) {
            throw http::Error{503, "no_unit",
                              "Aucune équipe n'est disponible pour le moment. En cas de danger, appelez le 17."};
        }
        unit = duty::first_on_duty(db, *routed, now);
        on_duty = duty::on_duty(db, unit->id, now);
        created = visitor::create(db, *unit, role, lang, now, app.ttl);
    });
    return http::json(201, {{"token", created->token},
                            {"session", created->session.public_id},
                            {"role", role},
                            {"lang", lang},
                            {"unit", {{"name", unit->name}, {"kind", unit->kind}}},
                            {"on_duty", on_duty},
                            {"expires_at", created->session.expires_at}});
}

// 200 when the database answers; 503 otherwise.
http::Response health(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    return http::json(200, {{"ok", true}, {"schema", store::database_version(app.reader())}});
}

constexpr route::Route kRoutes[] = {
    {"POST", "/api/session", route::plain<open_session>},
    {"GET", "/api/health", route::plain<health>},
};

}  // namespace

int main(int argc, char** argv) { return route::main(argc, argv, "abri-session", kRoutes); }

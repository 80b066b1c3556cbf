// abri session: the door. A postcode and a role open a session with the
// one unit that answers that postcode, or the first on duty along its
// fallbacks. Also answers the health check.
//   POST /api/session   {"postcode", "role", "lang"?}
//                       -> 201 {token, session, role, unit, on_duty, expires_at}
//   GET  /api/health    -> 200 {ok, schema}
// Who may call each, what it reads and answers: the table at the end.
// It deliberately keeps nothing of the request but the postcode's route:
// the postcode itself is not stored.
#include "../lib/app.hpp"
#include "../lib/duty.hpp"
#include "../lib/fields.hpp"
#include "../lib/route.hpp"
#include "../lib/routing.hpp"
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

// During a flood a session costs a proof of work (lib/work.hpp).
server::Outcome open_session(const route::Call& call) {
    const std::string postcode = call.body.text("postcode");
    const std::string role = call.body.text("role");
    const std::string lang = call.body.has("lang") ? call.body.text("lang") : "fr";
    require_postcode(postcode);
    if (role != "victim" && role != "witness") {
        throw http::Error{400, "invalid_role", "Indiquez si vous êtes victime ou témoin."};
    }
    if (!visitor::is_known_lang(lang)) {
        throw http::Error{400, "invalid_lang", "Cette langue n'est pas proposée."};
    }
    if (auto asked = gate(call.app).admit(call.body.text("work_challenge"), call.body.text("work_nonce"), call.now)) {
        throw work::required(*asked);
    }
    std::optional<visitor::Created> created;
    std::optional<routing::Unit> unit;
    bool on_duty = false;
    call.app.writer.run([&](store::Db& db) {
        const auto routed = routing::route(db, postcode);
        if (!routed) {
            throw http::Error{503, "no_unit",
                              "Aucune équipe n'est disponible pour le moment. En cas de danger, appelez le 17."};
        }
        unit = duty::first_on_duty(db, *routed, call.now);
        on_duty = duty::on_duty(db, unit->id, call.now);
        created = visitor::create(db, *unit, role, lang, call.now, call.app.ttl);
    });
    return http::json(201, {{"token", created->token},
                            {"session", created->session.public_id},
                            {"role", role},
                            {"lang", lang},
                            {"unit", {{"name", unit->name}, {"kind", unit->kind}}},
                            {"on_duty", on_duty},
                            {"expires_at", created->session.expires_at}});
}

server::Outcome health(const route::Call& call) {
    return http::json(200, {{"ok", true}, {"schema", store::database_version(call.app.reader())}});
}

using enum route::Body;

constexpr route::Route kRoutes[] = {
    {.method = "POST", .path = "/api/session", .body = Required, .fields = fields::kOpenSession,
     .handler = open_session, .statuses = "201 400 413 415 429 503"},
    {.method = "GET", .path = "/api/health", .handler = health, .statuses = "200 400 503"},
};
static_assert(route::well_formed(kRoutes));

}  // namespace

int main(int argc, char** argv) { return route::main(argc, argv, "abri-session", kRoutes); }

// The administrators' FastCGI endpoints, served only on the
// administrator's unix socket, never on the public server
// (deploy/nginx/abri-http.conf.in):
//   POST /api/admin/purge     the purge bin/purge runs from cron, on demand
//                             -> 200 {sessions, messages, seconds, scrubbed}
//   GET  /api/admin/metrics   the live gauges and daily figures in the
//                             Prometheus text format (aggregates only: no
//                             session, no text)
// What the purge erases and why: lib/retention.hpp.
#include "admin.hpp"
#include "input.hpp"
#include "retention.hpp"
#include "route.hpp"
#include "stats.hpp"

using namespace abri;

namespace {

// 200; 405; 503 when the database is busy or read-only.
http::Response purge_now(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    const auto result = retention::purge(app.db, server::now(), app.ttl);
    return http::json(200, {{"sessions", result.sessions},
                            {"messages", result.messages},
                            {"seconds", result.seconds},
                            {"scrubbed", result.scrubbed}});
}

// 200 text/plain; 503 when the database is busy.
http::Response metrics(app::App& app, const http::Request& request) {
    input::parse_query(request.query, {});
    return {200, stats::metrics(app.reader(), server::now(), app.ttl), "text/plain; version=0.0.4; charset=utf-8", {}};
}

constexpr route::Route kRoutes[] = {
    {"POST", "/api/admin/purge", route::plain<purge_now>},
    {"GET", "/api/admin/metrics", route::plain<metrics>},
};

}  // namespace

int admin::serve(int argc, char** argv) { return route::main(argc, argv, "abri-admin", kRoutes); }

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
#include "retention.hpp"
#include "route.hpp"
#include "stats.hpp"

using namespace abri;

namespace {

server::Outcome purge_now(const route::Call& call) {
    const auto result = retention::purge(call.app.db, call.now, call.app.ttl);
    return http::json(200, {{"sessions", result.sessions},
                            {"messages", result.messages},
                            {"seconds", result.seconds},
                            {"scrubbed", result.scrubbed}});
}

// The Prometheus text format, not JSON.
server::Outcome metrics(const route::Call& call) {
    return http::Response{200, stats::metrics(call.app.reader(), call.now, call.app.ttl),
                          "text/plain; version=0.0.4; charset=utf-8", {}};
}

// Anyone who reaches the administrator's socket may call: nginx serves
// these paths on that socket only and answers 404 on the public server.
constexpr route::Route kRoutes[] = {
    {.method = "POST", .path = "/api/admin/purge", .handler = purge_now, .statuses = "200 400"},
    {.method = "GET", .path = "/api/admin/metrics", .handler = metrics, .statuses = "200 400"},
};
static_assert(route::well_formed(kRoutes));

}  // namespace

int admin::serve(int argc, char** argv) { return route::main(argc, argv, "abri-admin", kRoutes); }

// abri purge: erases for good every chat that has ended.
//   purge [--db PATH]         from cron: prints one line, exits 0; on error
//                             says what went wrong and exits 1
//   POST /api/admin/purge     the same, under FastCGI, for admins: nginx
//                             serves it only on the admin socket, never on
//                             the public server -> 200 {sessions, messages,
//                             seconds, scrubbed}
//   GET  /api/admin/metrics   the live gauges and daily figures in the
//                             Prometheus text format, on the admin socket
//                             too (aggregates only: no session, no text)
// What it erases and why: lib/retention.hpp. It deliberately takes no
// parameter: what ended is decided by the same settings as the programs'.
#include "../lib/app.hpp"
#include "../lib/errors.hpp"
#include "../lib/input.hpp"
#include "../lib/retention.hpp"
#include "../lib/route.hpp"
#include "../lib/stats.hpp"

#include <fcgiapp.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

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

int purge_from_the_command_line(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    try {
        const Config config = Config::load(args);
        if (!args.empty()) throw std::runtime_error("unknown argument '" + args.front() + "' (accepted: --db PATH)");
        const store::Options options{config.db_path, config.synchronous_full};
        store::require_current_database(options);
        const auto result = retention::purge(options, server::now(), {config.idle_ttl, config.max_ttl});
        std::printf("purge: erased %lld sessions and %lld messages in %.2f s; write-ahead log %s\n",
                    static_cast<long long>(result.sessions), static_cast<long long>(result.messages), result.seconds,
                    result.scrubbed ? "truncated" : "NOT truncated (readers kept it busy)");
        if (!result.scrubbed) {
            std::fprintf(stderr, "purge: erased rows may survive in %s-wal until the next purge\n",
                         config.db_path.c_str());
            return 1;
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "purge: %s\n", e.what());
        return 1;
    }
}

bool started_by_a_web_server(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]).rfind("--socket", 0) == 0) return true;
    }
    return !FCGX_IsCGI() || std::getenv("GATEWAY_INTERFACE") != nullptr;
}

}  // namespace

int main(int argc, char** argv) {
    if (!started_by_a_web_server(argc, argv) && !route::asks_for_routes(argc, argv)) {
        return purge_from_the_command_line(argc, argv);
    }
    return route::main(argc, argv, "abri-purge", kRoutes);
}

// abri purge: erases for good every chat that has ended, run from cron or
// the systemd timer (deploy/cron/abri.in, deploy/systemd/abri-purge.*).
//   purge [--db PATH]   prints one line, exits 0; on error says what went
//                       wrong and exits 1
// Administrators may also purge on demand: POST /api/admin/purge, served
// by the admin program (lib/admin.hpp), which this program becomes when
// started under FastCGI, as the contract says. What it erases and why:
// lib/retention.hpp. It deliberately takes no other parameter: what ended
// is decided by the same settings as the programs'.
#include "../lib/admin.hpp"
#include "../lib/config.hpp"
#include "../lib/retention.hpp"
#include "../lib/server.hpp"

#include <cstdio>

using namespace abri;

int main(int argc, char** argv) {
    if (server::started_under_fastcgi()) return admin::serve(argc, argv);
    try {
        const Config config = Config::load(argc, argv, false);
        store::require_current_database(config.database());
        const auto result = retention::purge(config.database(), server::now(), {config.idle_ttl, config.max_ttl});
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

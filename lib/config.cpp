#include "config.hpp"
#include "limits.hpp"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#ifndef ABRI_DEFAULT_DB
#define ABRI_DEFAULT_DB "var/db/abri.db"
#endif

namespace abri {

int env_int(const char* name, int fallback, int min, int max) {
    const char* raw = std::getenv(name);
    if (raw == nullptr || *raw == '\0') return fallback;
    char* end = nullptr;
    const long value = std::strtol(raw, &end, 10);
    if (*end != '\0' || value < min || value > max) {
        throw std::runtime_error(std::string(name) + " must be a whole number from " + std::to_string(min) +
                                 " to " + std::to_string(max) + ", not '" + raw + "'");
    }
    return static_cast<int>(value);
}

Config Config::load(std::vector<std::string>& args) {
    Config config;
    const char* db = std::getenv("ABRI_DB");
    config.db_path = db && *db ? db : ABRI_DEFAULT_DB;
    config.idle_ttl = env_int("ABRI_IDLE_TTL", limits::kDefaultIdleTtl, 1, 7 * 24 * 3600);
    config.max_ttl = env_int("ABRI_MAX_TTL", limits::kDefaultMaxTtl, 1, 30 * 24 * 3600);
    config.threads = env_int("ABRI_THREADS", limits::kDefaultThreads, 1, 256);
    config.agent_gone_after = env_int("ABRI_AGENT_GONE_AFTER", limits::kDefaultAgentGoneAfter, 1, 24 * 3600);
    config.escalate_after = env_int("ABRI_ESCALATE_AFTER", limits::kDefaultEscalateAfter, 1, 24 * 3600);
    config.send_burst = env_int("ABRI_SEND_BURST", limits::kSendBurst, 1, 1000000);
    const char* sync = std::getenv("ABRI_SYNCHRONOUS");
    if (sync == nullptr || *sync == '\0' || std::strcmp(sync, "FULL") == 0) {
        config.synchronous_full = true;
    } else if (std::strcmp(sync, "NORMAL") == 0) {
        config.synchronous_full = false;
    } else {
        throw std::runtime_error(std::string("ABRI_SYNCHRONOUS must be FULL or NORMAL, not '") + sync + "'");
    }
    std::vector<std::string> rest;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if ((arg == "--db" || arg == "--socket") && i + 1 < args.size()) {
            (arg == "--db" ? config.db_path : config.socket_path) = args[++i];
        } else if (arg.rfind("--db=", 0) == 0) {
            config.db_path = arg.substr(5);
        } else if (arg.rfind("--socket=", 0) == 0) {
            config.socket_path = arg.substr(9);
        } else {
            rest.push_back(arg);
        }
    }
    args = std::move(rest);
    return config;
}

}  // namespace abri

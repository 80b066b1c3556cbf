#include "config.hpp"
#include "limits.hpp"

#include <getopt.h>

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

std::vector<std::string> parse_command_line(int argc, char** argv, std::span<const Option> options,
                                            const std::function<void(std::string_view, const char*)>& on_option) {
    constexpr int kFirst = 256;  // getopt_long's value for options[i] is kFirst + i: no short option clashes
    std::vector<option> long_options;
    for (std::size_t i = 0; i < options.size(); ++i) {
        long_options.push_back({options[i].name, options[i].has_value ? required_argument : no_argument, nullptr,
                                kFirst + static_cast<int>(i)});
    }
    long_options.push_back({nullptr, 0, nullptr, 0});
    opterr = 0;  // the messages are ours
    optind = 0;  // from argv[1], with getopt's state reset
    for (;;) {
        const int found = getopt_long(argc, argv, ":", long_options.data(), nullptr);
        if (found == -1) break;
        if (found == ':') throw std::invalid_argument(std::string(argv[optind - 1]) + " needs a value");
        if (found < kFirst) throw std::invalid_argument(std::string("unknown option '") + argv[optind - 1] + "'");
        on_option(options[static_cast<std::size_t>(found - kFirst)].name, optarg);
    }
    return {argv + optind, argv + argc};
}

Config Config::from_environment() {
    Config config;
    const char* db = std::getenv("ABRI_DB");
    config.db_path = db && *db ? db : ABRI_DEFAULT_DB;
    config.idle_ttl = env_int("ABRI_IDLE_TTL", limits::kDefaultIdleTtl, 1, 7 * 24 * 3600);
    config.max_ttl = env_int("ABRI_MAX_TTL", limits::kDefaultMaxTtl, 1, 30 * 24 * 3600);
    config.threads = env_int("ABRI_THREADS", limits::kDefaultThreads, 1, 256);
    config.worker_idle = env_int("ABRI_WORKER_IDLE", limits::kDefaultWorkerIdle, 1, 3600);
    config.agent_gone_after = env_int("ABRI_AGENT_GONE_AFTER", limits::kDefaultAgentGoneAfter, 1, 24 * 3600);
    config.escalate_after = env_int("ABRI_ESCALATE_AFTER", limits::kDefaultEscalateAfter, 1, 24 * 3600);
    config.send_burst = env_int("ABRI_SEND_BURST", limits::kSendBurst, 1, 1000000);
    config.work_after = env_int("ABRI_WORK_AFTER", limits::kDefaultWorkAfter, 1, limits::kMaxWorkAfter);
    const char* sync = std::getenv("ABRI_SYNCHRONOUS");
    if (sync == nullptr || *sync == '\0' || std::strcmp(sync, "FULL") == 0) {
        config.synchronous_full = true;
    } else if (std::strcmp(sync, "NORMAL") == 0) {
        config.synchronous_full = false;
    } else {
        throw std::runtime_error(std::string("ABRI_SYNCHRONOUS must be FULL or NORMAL, not '") + sync + "'");
    }
    return config;
}

Config Config::load(int argc, char** argv, bool takes_socket) {
    Config config = from_environment();
    static constexpr Option kServer[] = {{"db", true}, {"socket", true}};
    const std::span<const Option> options(kServer, takes_socket ? 2 : 1);
    const auto operands = parse_command_line(argc, argv, options, [&](std::string_view name, const char* value) {
        (name == "db" ? config.db_path : config.socket_path) = value;
    });
    if (!operands.empty()) {
        throw std::invalid_argument("unknown argument '" + operands.front() + "' (accepted: --db PATH" +
                                    (takes_socket ? ", --socket PATH)" : ")"));
    }
    return config;
}

}  // namespace abri

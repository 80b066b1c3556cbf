// Settings of a program, from its command line and environment, read once
// at start-up. A bad value stops the program with a message (rule: at
// start-up, fail loudly).
#pragma once
#include "store.hpp"

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace abri {

struct Config {
    std::string db_path;        // --db or ABRI_DB
    std::string socket_path;    // --socket: listen there instead of on fd 0
    int idle_ttl;               // ABRI_IDLE_TTL: seconds without the visitor before expiry
    int max_ttl;                // ABRI_MAX_TTL: seconds after the start before expiry
    bool synchronous_full;      // ABRI_SYNCHRONOUS=FULL (default) or NORMAL
    int threads;                // ABRI_THREADS: workers per FastCGI program
    int worker_idle;            // ABRI_WORKER_IDLE: seconds a worker waits for a job before it leaves
    int agent_gone_after;       // ABRI_AGENT_GONE_AFTER: seconds without a console before its chats are released
    int escalate_after;         // ABRI_ESCALATE_AFTER: seconds a waiting chat goes unseen before escalation
    int send_burst;             // ABRI_SEND_BURST: a session's sends in a row before one a second
    int work_after;             // ABRI_WORK_AFTER: new sessions per minute before they cost work (lib/work.hpp)

    // The ABRI_* settings of the environment, checked.
    static Config from_environment();
    // The environment, then the command line: --db PATH and, for a
    // FastCGI program (`takes_socket`), --socket PATH; anything else
    // throws.
    static Config load(int argc, char** argv, bool takes_socket);

    // How every program opens the database: the one place that turns the
    // settings into store options.
    store::Options database() const { return {db_path, synchronous_full}; }
};

// A command-line option: `--name VALUE` (or `--name=VALUE`) when it
// has_value, else a bare `--name`.
struct Option {
    const char* name;
    bool has_value;
};

// Reads argv with getopt_long: `on_option(name, value)` for each option in
// order (value is null for a flag; an option may come more than once), and
// returns the operands, in order. Options may come anywhere among the
// operands; "--" ends them. An unknown option, or one without its value,
// throws std::invalid_argument.
std::vector<std::string> parse_command_line(int argc, char** argv, std::span<const Option> options,
                                            const std::function<void(std::string_view name, const char* value)>& on_option);

// Integer from the environment within [min, max], or fallback when unset.
int env_int(const char* name, int fallback, int min, int max);

}  // namespace abri

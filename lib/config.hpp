// Settings of a program, from its command line and environment, read once
// at start-up. A bad value stops the program with a message (rule: at
// start-up, fail loudly).
#pragma once
#include <string>
#include <vector>

namespace abri {

struct Config {
    std::string db_path;        // --db or ABRI_DB
    std::string socket_path;    // --socket: listen there instead of on fd 0
    int idle_ttl;               // ABRI_IDLE_TTL: seconds without the visitor before expiry
    int max_ttl;                // ABRI_MAX_TTL: seconds after the start before expiry
    bool synchronous_full;      // ABRI_SYNCHRONOUS=FULL (default) or NORMAL
    int threads;                // ABRI_THREADS: workers per FastCGI program
    int agent_gone_after;       // ABRI_AGENT_GONE_AFTER: seconds without a console before its chats are released
    int escalate_after;         // ABRI_ESCALATE_AFTER: seconds a waiting chat goes unseen before escalation
    int send_burst;             // ABRI_SEND_BURST: a session's sends in a row before one a second

    // Reads the environment, then takes --db and --socket out of `args`;
    // what remains is the caller's (abrictl's command, or an error).
    static Config load(std::vector<std::string>& args);
};

// Integer from the environment within [min, max], or fallback when unset.
int env_int(const char* name, int fallback, int min, int max);

}  // namespace abri

// What every FastCGI program of abri shares: its settings, its database
// connections (a read connection per thread, one group-commit writer) and
// the same main().
#pragma once
#include "config.hpp"
#include "duty.hpp"
#include "retention.hpp"
#include "server.hpp"
#include "store.hpp"
#include "visitor.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace abri::app {

struct App {
    Config config;
    store::Options db;
    visitor::Ttl ttl;
    duty::Settings duty;
    store::Writer writer;
    retention::Scrubber scrubber;  // finishes an erase that readers held up

    // This worker thread's read connection.
    store::Db& reader() { return store::thread_db(db); }

    // A write a reading call makes on the side (a session kept alive, a
    // held chat marked as expired). Best effort: when the database takes
    // no write (disk full, read-only, locked past the busy timeout) it
    // logs `what` and returns false, the caller answers with what it
    // reads, and its next call tries again.
    bool write_on_the_side(const char* what, const std::function<void(store::Db&)>& work);

    // Releases the conversations of operators who are gone and escalates
    // the unseen waiting ones (duty::sweep), at most every
    // limits::kSweepEverySeconds in this process; called from the polls.
    // Returns whether it moved any conversation.
    bool sweep_duty(std::int64_t now);
    std::atomic<std::int64_t> last_sweep{0};  // sweep_duty's last run
};

using Dispatch = std::function<server::Outcome(App& app, const http::Request& request)>;

// Parses the command line and environment, opens the database and serves
// `dispatch` (FastCGI or CGI). Returns the exit status.
int main(int argc, char** argv, const std::string& program, const Dispatch& dispatch);

}  // namespace abri::app

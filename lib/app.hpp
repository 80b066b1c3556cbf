// What every FastCGI program of abri shares: its settings, its database
// connections (a read connection per thread, one group-commit writer) and
// the same main().
#pragma once
#include "config.hpp"
#include "server.hpp"
#include "store.hpp"
#include "visitor.hpp"

#include <functional>
#include <string>

namespace abri::app {

struct App {
    Config config;
    store::Options db;
    visitor::Ttl ttl;
    store::Writer writer;

    // This worker thread's read connection.
    store::Db& reader() { return store::thread_db(db); }

    // A write a reading call makes on the side (a session kept alive, a
    // held chat marked as expired). Best effort: when the database takes
    // no write (disk full, read-only, locked past the busy timeout) it
    // logs `what` and returns false, the caller answers with what it
    // reads, and its next call tries again.
    bool write_on_the_side(const char* what, const std::function<void(store::Db&)>& work);
};

using Dispatch = std::function<server::Outcome(App& app, const http::Request& request)>;

// Parses the command line and environment, opens the database and serves
// `dispatch` (FastCGI or CGI). Returns the exit status.
int main(int argc, char** argv, const std::string& program, const Dispatch& dispatch);

}  // namespace abri::app

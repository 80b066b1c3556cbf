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
};

using Dispatch = std::function<server::Outcome(App& app, const http::Request& request)>;

// Parses the command line and environment, opens the database and serves
// `dispatch` (FastCGI or CGI). Returns the exit status.
int main(int argc, char** argv, const std::string& program, const Dispatch& dispatch);

}  // namespace abri::app

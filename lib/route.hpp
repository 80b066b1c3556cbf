// One route table per program (STYLE.md rule 1, after kcgi): each row is a
// method, a path and the handler. "{s}" in a path stands for a session's
// public id: anything else there is 404 before a handler runs. A path
// routed with another method is 405; no path at all, 404. `--routes`
// prints a program's table, so that a test holds docs/api.md to it.
#pragma once
#include "app.hpp"

#include <span>
#include <string>
#include <string_view>

namespace abri::route {

using Handler = server::Outcome (*)(app::App&, const http::Request&, const std::string& session);

struct Route {
    std::string_view method;
    std::string_view path;
    Handler handler;
};

// Adapters, so that a handler takes only what it uses.
template <auto Plain>
server::Outcome plain(app::App& app, const http::Request& request, const std::string&) {
    return Plain(app, request);
}
template <auto OfSession>
server::Outcome of_session(app::App& app, const http::Request& request, const std::string& session) {
    return OfSession(app, request, session);
}

// Whether `path` matches `pattern`; the public id in place of "{s}" goes
// to `session`.
bool matches(std::string_view pattern, std::string_view path, std::string& session);

server::Outcome dispatch(std::span<const Route> routes, app::App& app, const http::Request& request);

// Whether the command line is `--routes`.
bool asks_for_routes(int argc, char** argv);
// The program's main(): `--routes` prints the table ("METHOD PATH" lines),
// anything else serves it (app::main).
int main(int argc, char** argv, const std::string& program, std::span<const Route> routes);

}  // namespace abri::route

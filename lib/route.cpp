#include "route.hpp"
#include "errors.hpp"
#include "token.hpp"

#include <cstring>
#include <iostream>

namespace abri::route {

bool matches(std::string_view pattern, std::string_view path, std::string& session) {
    const auto hole = pattern.find("{s}");
    if (hole == std::string_view::npos) return pattern == path;
    const auto prefix = pattern.substr(0, hole);
    const auto suffix = pattern.substr(hole + 3);
    if (path.size() < prefix.size() + suffix.size() || path.substr(0, prefix.size()) != prefix ||
        path.substr(path.size() - suffix.size()) != suffix) {
        return false;
    }
    const auto id = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
    if (!token::is_public_id(id)) return false;
    session = std::string(id);
    return true;
}

server::Outcome dispatch(std::span<const Route> routes, app::App& app, const http::Request& request) {
    bool path_known = false;
    std::string session;
    for (const auto& route : routes) {
        if (!matches(route.path, request.path, session)) continue;
        if (route.method == request.method) return route.handler(app, request, session);
        path_known = true;
    }
    if (path_known) throw errors::method_not_allowed();
    throw errors::not_found();
}

bool asks_for_routes(int argc, char** argv) { return argc == 2 && std::strcmp(argv[1], "--routes") == 0; }

int main(int argc, char** argv, const std::string& program, std::span<const Route> routes) {
    if (asks_for_routes(argc, argv)) {
        for (const auto& route : routes) std::cout << route.method << " " << route.path << "\n";
        return 0;
    }
    return app::main(argc, argv, program,
                     [routes](app::App& app, const http::Request& request) { return dispatch(routes, app, request); });
}

}  // namespace abri::route

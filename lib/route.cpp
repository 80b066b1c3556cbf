#include "route.hpp"
#include "errors.hpp"
#include "token.hpp"

#include <cstring>
#include <iostream>

namespace abri::route {

namespace {

const Route& find_route(std::span<const Route> routes, const http::Request& request, std::string& session) {
    bool path_known = false;
    for (const auto& route : routes) {
        if (!matches(route.path, request.path, session)) continue;
        if (route.method == request.method) return route;
        path_known = true;
    }
    if (path_known) throw errors::method_not_allowed();
    throw errors::not_found();
}

input::Body read_body(const Route& route, const http::Request& request) {
    if (route.body == Body::Ignored) return {};
    return input::parse_body(request, route.fields, route.body == Body::Optional);
}

// The operator a row asks for, if any.
std::optional<auth::Agent> check_caller(const Route& route, app::App& app, const http::Request& request,
                                        std::int64_t now) {
    switch (route.caller) {
    case Caller::Anyone:
        return std::nullopt;
    case Caller::Visitor:
        if (!token::from_bearer(request.authorization)) throw errors::session_expired();
        return std::nullopt;
    case Caller::Operator:
        return auth::require(app.reader(), request, now);
    case Caller::OperatorWriting: {
        auto agent = auth::require(app.reader(), request, now);
        auth::require_csrf(agent, request);
        return agent;
    }
    }
    return std::nullopt;
}

const char* caller_name(Caller caller) {
    switch (caller) {
    case Caller::Anyone:
        return "anyone";
    case Caller::Visitor:
        return "visitor";
    case Caller::Operator:
        return "operator";
    case Caller::OperatorWriting:
        return "operator+csrf";
    }
    return "?";
}

std::string body_of(const Route& route) {
    if (route.body == Body::Ignored) return "-";
    std::string out;
    for (const auto& field : route.fields) {
        if (!out.empty()) out += ' ';
        out.append(field.name).append(field.required ? "" : "?");
    }
    if (out.empty()) out = "{}";
    return route.body == Body::Optional ? out + " or none" : out;
}

std::string keys_of(const Route& route) {
    std::string out;
    for (const auto& key : route.query) {
        if (!out.empty()) out += ' ';
        out += key.name;
    }
    return out.empty() ? "-" : out;
}

}  // namespace

long Call::query_or(std::string_view key, long fallback) const {
    const auto found = query.find(key);
    return found == query.end() ? fallback : found->second;
}

visitor::Session Call::visitor(store::Db& db) const {
    const auto token = token::from_bearer(request.authorization);
    auto found = token ? visitor::find(db, *token, now, app.ttl) : std::nullopt;
    if (!found) throw errors::session_expired();
    return *found;
}

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
    std::string session;
    const Route& route = find_route(routes, request, session);
    auto query = input::parse_query(request.query, route.query);
    auto body = read_body(route, request);
    const auto now = server::now();
    auto agent = check_caller(route, app, request, now);
    return route.handler(Call{app, request, std::move(session), std::move(query), std::move(body), std::move(agent), now});
}

std::string describe(const Route& route) {
    return std::string(route.method) + '\t' + std::string(route.path) + '\t' + caller_name(route.caller) + '\t' +
           keys_of(route) + '\t' + body_of(route) + '\t' + std::string(route.statuses);
}

int main(int argc, char** argv, const std::string& program, std::span<const Route> routes) {
    if (argc == 2 && std::strcmp(argv[1], "--routes") == 0) {
        for (const auto& route : routes) std::cout << describe(route) << "\n";
        return 0;
    }
    return app::main(argc, argv, program,
                     [routes](app::App& app, const http::Request& request) { return dispatch(routes, app, request); });
}

}  // namespace abri::route

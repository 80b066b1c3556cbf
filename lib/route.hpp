// One route table per program (STYLE.md rules 1 and 2, after kcgi's
// `struct kvalid`): each row says everything about an endpoint — method,
// path, who may call, the query keys and body fields it accepts
// (lib/fields.hpp, which the fuzz targets read too), its handler and the
// statuses it answers — and dispatch() does the checks once, for every
// row, in this order:
//
//   1. the path, then the method: 404 not_found, 405 method_not_allowed.
//      "{s}" in a path stands for a session's public id: anything else
//      there is 404.
//   2. the query string against the row's keys (400; none declared, none
//      accepted), then the body against its fields (413, 415, 400).
//   3. the caller (401, 403).
//   4. the handler: its own rules beyond the fields (the text rule, a
//      role, a state), then it acts and answers.
//
// Input before caller, as kcgi validates before a page runs: the shape of
// a request is checked without the database, so that garbage costs no
// lookup, and the answer to a malformed request is the same with or
// without credentials.
//
// A Visitor row's check at step 3 is only that a well-formed bearer token
// is there (401 session_expired otherwise). The handler looks the token
// up itself, with Call::visitor, on the connection it acts on: inside
// app.writer.run when it writes (send, leave, erase, danger), so that the
// check and the change see the same row, and no session ends between
// them; on its reader when it only reads. An operator's login is looked
// up by dispatch, on the reader: a login that ends while a call runs
// counts from the next call (a parked poll looks it up again when it
// resumes).
//
// `--routes` prints each row (method, path, caller, query keys, body
// fields, statuses), so that tests/integration/test_docs.py holds
// docs/api.md to the tables.
#pragma once
#include "app.hpp"
#include "auth.hpp"
#include "fields.hpp"
#include "input.hpp"
#include "visitor.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace abri::route {

// Who may call a route, checked before its handler runs.
enum class Caller {
    Anyone,           // no credential: the door, the health check, the login, the admin socket's routes
    Visitor,          // a well-formed bearer token (401 session_expired), looked up by the handler
    Operator,         // an operator's login cookie (401 login_required)
    OperatorWriting,  // the login cookie and X-Abri-CSRF (403 invalid_csrf): every state-changing operator call
};

// Whether a route reads a body.
enum class Body {
    Ignored,   // not read (GET, DELETE, the admin's purge)
    Optional,  // JSON of the declared fields, or no body at all, read as {} (keepalive beacons)
    Required,  // JSON of the declared fields
};

// What a handler receives: the request, already checked against its row.
struct Call {
    app::App& app;
    const http::Request& request;
    std::string session;                             // the public id in place of "{s}", else empty
    std::map<std::string, long, std::less<>> query;  // only the row's keys, each in its range
    input::Body body;                                // only the row's fields, each of its type
    std::optional<auth::Agent> agent;                // the operator, on Operator and OperatorWriting rows
    std::int64_t now;                                // server::now() when the request was dispatched

    // The value of a query key, or `fallback` when the query left it out.
    long query_or(std::string_view key, long fallback) const;
    // The session of the bearer token (Visitor rows), looked up in `db`:
    // the writer's transaction when the handler writes. 401
    // session_expired when it is unknown, ended or expired.
    visitor::Session visitor(store::Db& db) const;
};

using Handler = server::Outcome (*)(const Call& call);

struct Route {
    std::string_view method;
    std::string_view path;
    Caller caller = Caller::Anyone;
    std::span<const input::QueryKey> query = {};  // empty: no query key accepted
    Body body = Body::Ignored;
    std::span<const input::Field> fields = {};    // of the body
    Handler handler = nullptr;
    // Every status the route answers, in increasing order ("201 400 401
    // 409 429"). 503 (the database busy, full or read-only; the server
    // full) may come from any route: it is listed only where the handler
    // answers it for a reason of its own. 405 is the path's, not a row's.
    std::string_view statuses;
};

// Whether the row lists `status` among its statuses.
constexpr bool answers(const Route& route, std::string_view status) {
    for (auto rest = route.statuses; !rest.empty();) {
        const auto space = rest.find(' ');
        if (rest.substr(0, space) == status) return true;
        rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    }
    return false;
}

// Whether `list` is one of `lists`, field by field. (Not by address: GCC
// does not compare the addresses of two arrays at compile time when
// sanitizers are on.)
template <typename T, std::size_t N>
constexpr bool one_of(std::span<const T> list, const std::span<const T> (&lists)[N]) {
    for (const auto& known : lists) {
        if (std::ranges::equal(known, list)) return true;
    }
    return false;
}

// Whether a row lists the statuses its own checks answer, reads a body
// when it declares fields, and declares the fields and keys of one of the
// lists the fuzz targets read (fields::kBodies, fields::kQueries). Each
// program's table is checked at compile time:
// static_assert(route::well_formed(kRoutes)).
constexpr bool well_formed(const Route& route) {
    const bool reads_body = route.body != Body::Ignored;
    return route.handler != nullptr && answers(route, "400") && (reads_body || route.fields.empty()) &&
           one_of(route.fields, fields::kBodies) && one_of(route.query, fields::kQueries) &&
           (!reads_body || (answers(route, "413") && answers(route, "415"))) &&
           (route.caller == Caller::Anyone || answers(route, "401")) &&
           (route.caller != Caller::OperatorWriting || answers(route, "403")) &&
           (route.path.find("{s}") == std::string_view::npos || answers(route, "404"));
}
constexpr bool well_formed(std::span<const Route> routes) {
    for (const auto& route : routes) {
        if (!well_formed(route)) return false;
    }
    return true;
}

// Whether `path` matches `pattern`; the public id in place of "{s}" goes
// to `session`.
bool matches(std::string_view pattern, std::string_view path, std::string& session);

// The row of the request's path and method, its checks in the order above,
// then its handler.
server::Outcome dispatch(std::span<const Route> routes, app::App& app, const http::Request& request);

// One line of `--routes`: method, path, caller, query keys, body fields
// (an optional one ends with "?"), statuses, separated by tabs.
std::string describe(const Route& route);

// The program's main(): `--routes` prints the table, one describe() line a
// row; anything else serves it (app::main).
int main(int argc, char** argv, const std::string& program, std::span<const Route> routes);

}  // namespace abri::route

// lib/route: dispatch through a table — 404 and 405, the "{s}" hole, the
// declared query keys, the caller's checks in the order lib/route.hpp
// gives, and a handler that runs only when every check passed.
#include "agents.hpp"
#include "auth.hpp"
#include "fields.hpp"
#include "route.hpp"
#include "routing.hpp"
#include "temp_db.hpp"
#include "token.hpp"

#include <boost/test/unit_test.hpp>

using namespace abri;

namespace {

constexpr const char* kPassword = "correct horse battery";

// What the handler saw, or nothing when it was not called.
std::optional<std::string> handled;

server::Outcome record(const route::Call& call) {
    handled = call.session + "|" + std::to_string(call.query_or("after", -1)) + "|" +
              (call.agent ? call.agent->username : "");
    return http::no_content();
}

constexpr route::Route kTable[] = {
    {.method = "GET", .path = "/t/open", .query = fields::kEvents, .handler = record, .statuses = "204 400"},
    {.method = "GET", .path = "/t/s/{s}/x", .handler = record, .statuses = "204 400 404"},
    {.method = "GET", .path = "/t/mine", .caller = route::Caller::Operator, .handler = record,
     .statuses = "204 400 401"},
    {.method = "POST", .path = "/t/mine", .caller = route::Caller::OperatorWriting, .body = route::Body::Optional,
     .handler = record, .statuses = "204 400 401 403 413 415"},
    {.method = "GET", .path = "/t/visitor", .caller = route::Caller::Visitor, .handler = record,
     .statuses = "204 400 401"},
};
static_assert(route::well_formed(kTable));

http::Request make(const std::string& method, const std::string& path, const std::string& query = "") {
    http::Request request;
    request.method = method;
    request.path = path;
    request.query = query;
    return request;
}

struct Fixture {
    testing::TempDb temp;
    app::App app{Config{}, temp.options, {1800, 43200}, {300, 120, 1800, 43200}, store::Writer(temp.options),
                 retention::Scrubber(temp.options)};
    // app.reader() is this thread's connection: it must be to this
    // fixture's database, not to one an earlier test removed.
    Fixture() {
        handled.reset();
        store::close_thread_db();
    }
    ~Fixture() { store::close_thread_db(); }

    // "STATUS code" of what dispatch threw, "handled" when it did not; a
    // handler that ran before a refusal shows in the answer.
    std::string dispatch(const http::Request& request) {
        try {
            route::dispatch(kTable, app, request);
            return "handled";
        } catch (const http::Error& e) {
            return (handled ? "handler called, then " : "") + std::to_string(e.status) + " " + e.code;
        }
    }

    // An operator logged in now: the request carries the cookie.
    http::Request logged_in(const std::string& method, std::string* csrf) {
        store::Db db(temp.options);
        routing::add_unit(db, "U", "Unit", "police");
        agents::add(db, "alice", agents::hash_password(kPassword), {"U"});
        auth::Gate gate;
        const auto login = gate.login(app.writer, {"alice", kPassword, std::nullopt}, server::now());
        *csrf = login.agent.csrf;
        auto request = make(method, "/t/mine");
        request.cookie = auth::cookie_name(false) + "=" + login.cookie;
        return request;
    }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(route_tests, Fixture)

BOOST_AUTO_TEST_CASE(an_unknown_path_is_404_and_calls_nothing) {
    BOOST_TEST(dispatch(make("GET", "/t/nowhere")) == "404 not_found");
}

BOOST_AUTO_TEST_CASE(a_known_path_with_another_method_is_405) {
    BOOST_TEST(dispatch(make("DELETE", "/t/open")) == "405 method_not_allowed");
}

BOOST_AUTO_TEST_CASE(a_malformed_public_id_is_404) {
    BOOST_TEST(dispatch(make("GET", "/t/s/not-an-id/x")) == "404 not_found");
    BOOST_TEST(dispatch(make("GET", "/t/s//x")) == "404 not_found");
}

BOOST_AUTO_TEST_CASE(a_public_id_reaches_the_handler) {
    const auto id = token::public_id(1000);
    BOOST_TEST(dispatch(make("GET", "/t/s/" + id + "/x")) == "handled");
    BOOST_TEST(handled.value_or("not called") == id + "|-1|");
}

BOOST_AUTO_TEST_CASE(declared_query_keys_reach_the_handler) {
    BOOST_TEST(dispatch(make("GET", "/t/open", "after=7")) == "handled");
    BOOST_TEST(handled.value_or("not called") == "|7|");
}

BOOST_AUTO_TEST_CASE(a_query_key_not_declared_is_400) {
    BOOST_TEST(dispatch(make("GET", "/t/open", "after=1&token=x")) == "400 invalid_query");
    BOOST_TEST(dispatch(make("GET", "/t/s/" + token::public_id(1000) + "/x", "after=1")) == "400 invalid_query");
}

BOOST_AUTO_TEST_CASE(a_missing_login_is_401) {
    BOOST_TEST(dispatch(make("GET", "/t/mine")) == "401 login_required");
    BOOST_TEST(dispatch(make("POST", "/t/mine")) == "401 login_required");
}

BOOST_AUTO_TEST_CASE(the_input_is_checked_before_the_caller) {
    BOOST_TEST(dispatch(make("GET", "/t/mine", "after=1")) == "400 invalid_query");
    auto request = make("POST", "/t/mine");
    request.body = "{}";
    request.content_type = "text/plain";
    BOOST_TEST(dispatch(request) == "415 unsupported_media_type");
}

BOOST_AUTO_TEST_CASE(a_missing_bearer_token_is_401_before_the_handler) {
    BOOST_TEST(dispatch(make("GET", "/t/visitor")) == "401 session_expired");
    auto request = make("GET", "/t/visitor");
    request.authorization = "Bearer not-a-token";
    BOOST_TEST(dispatch(request) == "401 session_expired");
}

BOOST_AUTO_TEST_CASE(a_login_reaches_the_handler_as_its_operator) {
    std::string csrf;
    const auto request = logged_in("GET", &csrf);
    BOOST_TEST(dispatch(request) == "handled");
    BOOST_TEST(handled.value_or("not called") == "|-1|alice");
}

BOOST_AUTO_TEST_CASE(a_state_change_without_csrf_is_403) {
    std::string csrf;
    auto request = logged_in("POST", &csrf);
    BOOST_TEST(dispatch(request) == "403 invalid_csrf");
    request.csrf = csrf;
    request.csrf.front() = csrf.front() == 'x' ? 'y' : 'x';  // another value, of the same length
    BOOST_TEST(dispatch(request) == "403 invalid_csrf");
    request.csrf = csrf;
    BOOST_TEST(dispatch(request) == "handled");
}

BOOST_AUTO_TEST_CASE(a_row_describes_itself_for_the_docs_test) {
    BOOST_TEST(route::describe(kTable[0]) == "GET\t/t/open\tanyone\tafter wait\t-\t204 400");
    BOOST_TEST(route::describe(kTable[3]) == "POST\t/t/mine\toperator+csrf\t-\t{} or none\t204 400 401 403 413 415");
}

BOOST_AUTO_TEST_CASE(a_row_that_forgets_a_status_of_its_checks_is_not_well_formed) {
    constexpr route::Route forgets_401{
        .method = "GET", .path = "/x", .caller = route::Caller::Operator, .handler = record, .statuses = "200 400"};
    constexpr route::Route forgets_413{.method = "POST", .path = "/x", .body = route::Body::Required,
                                       .handler = record, .statuses = "200 400 415"};
    constexpr route::Route fields_unread{
        .method = "GET", .path = "/x", .fields = fields::kNote, .handler = record, .statuses = "200 400"};
    static_assert(!route::well_formed(forgets_401));
    static_assert(!route::well_formed(forgets_413));
    static_assert(!route::well_formed(fields_unread));
    BOOST_TEST(route::well_formed(kTable[3]));
}

// The fuzz targets read fields::kBodies and kQueries: a row with a list of
// its own (kNote with another size here) would be checked by dispatch but
// never fuzzed.
constexpr input::Field kNotFuzzed[] = {{"text", input::Kind::String, true, 10, "invalid_text"}};

BOOST_AUTO_TEST_CASE(a_row_whose_fields_the_fuzzers_do_not_read_is_not_well_formed) {
    constexpr route::Route not_fuzzed{.method = "POST", .path = "/x", .body = route::Body::Required,
                                      .fields = kNotFuzzed, .handler = record, .statuses = "200 400 413 415"};
    constexpr route::Route fuzzed{.method = "POST", .path = "/x", .body = route::Body::Required,
                                  .fields = fields::kNote, .handler = record, .statuses = "200 400 413 415"};
    static_assert(!route::well_formed(not_fuzzed));
    static_assert(route::well_formed(fuzzed));
    BOOST_TEST(!route::well_formed(not_fuzzed));
}

BOOST_AUTO_TEST_SUITE_END()

// lib/auth: operators' logins, cookies, CSRF and the throttling of wrong
// passwords.
#include "agents.hpp"
#include "auth.hpp"
#include "limits.hpp"
#include "routing.hpp"
#include "temp_db.hpp"
#include "token.hpp"

#include <boost/test/unit_test.hpp>

using namespace abri;

namespace {

constexpr const char* kPassword = "correct horse battery";

struct Fixture {
    testing::TempDb temp;
    store::Db db{temp.options};
    store::Writer writer{temp.options};
    Fixture() {
        routing::add_unit(db, "U", "Unit", "police");
        agents::add(db, "alice", agents::hash_password(kPassword), {"U"});
    }
    // The status of one login attempt (200 for a success).
    int attempt(auth::Gate& gate, const std::string& username, const std::string& password, std::int64_t now) {
        try {
            gate.login(db, writer, username, password, now);
            return 200;
        } catch (const http::Error& e) {
            return e.status;
        }
    }
};

// Shared by the cases: building a Gate hashes its dummy password once.
auth::Gate& shared_gate() {
    static auth::Gate gate;
    return gate;
}

http::Request with_cookie(const std::string& header, bool https = false) {
    http::Request request;
    request.cookie = header;
    request.https = https;
    return request;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(agents_auth)

BOOST_AUTO_TEST_CASE(no_lock_before_the_free_failures) {
    for (int n = 0; n <= limits::kLoginFreeFailures; ++n) BOOST_TEST(auth::lock_seconds(n) == 0);
}

BOOST_AUTO_TEST_CASE(lock_doubles_at_each_failure_then_stops_at_the_maximum) {
    const int first = limits::kLoginFreeFailures + 1;
    BOOST_TEST(auth::lock_seconds(first) == limits::kLoginLockSeconds);
    BOOST_TEST(auth::lock_seconds(first + 1) == 2 * limits::kLoginLockSeconds);
    BOOST_TEST(auth::lock_seconds(first + 50) == limits::kLoginLockMaxSeconds);
    BOOST_TEST(auth::lock_seconds(1000000) == limits::kLoginLockMaxSeconds);
}

BOOST_AUTO_TEST_CASE(dummy_hash_has_the_parameters_of_real_hashes) {
    const std::string real = agents::hash_password("un mot de passe quelconque");
    const std::string_view dummy = auth::dummy_hash();
    const auto parameters = [](std::string_view hash) { return hash.substr(0, hash.rfind('$', hash.rfind('$') - 1)); };
    BOOST_TEST(parameters(dummy) == parameters(real));
    BOOST_TEST(!agents::verify_password(std::string(dummy), ""));
}

BOOST_FIXTURE_TEST_CASE(right_password_gives_a_login_stored_by_hash, Fixture) {
    const auto login = shared_gate().login(db, writer, "alice", kPassword, 1000);
    BOOST_TEST(login.agent.username == "alice");
    BOOST_TEST(token::is_well_formed(login.cookie));
    store::Query stored(db, "SELECT cookie_hash, expires_at FROM agent_logins");
    BOOST_REQUIRE(stored.next());
    BOOST_TEST(stored.text(0) == token::hash(login.cookie));
    BOOST_TEST(stored.integer(1) == 1000 + limits::kLoginSeconds);
}

BOOST_FIXTURE_TEST_CASE(wrong_password_is_401_invalid_credentials, Fixture) {
    try {
        shared_gate().login(db, writer, "alice", "wrong password", 1000);
        BOOST_FAIL("no error");
    } catch (const http::Error& e) {
        BOOST_TEST(e.status == 401);
        BOOST_TEST(e.code == "invalid_credentials");
    }
}

BOOST_FIXTURE_TEST_CASE(locked_account_is_429_even_with_the_right_password, Fixture) {
    auto& gate = shared_gate();
    for (int n = 0; n <= limits::kLoginFreeFailures; ++n) BOOST_TEST(attempt(gate, "alice", "wrong password", 1000) == 401);
    BOOST_TEST(attempt(gate, "alice", kPassword, 1001) == 429);
    BOOST_TEST(attempt(gate, "alice", kPassword, 1000 + limits::kLoginLockSeconds) == 200);
}

BOOST_FIXTURE_TEST_CASE(success_resets_the_failure_count, Fixture) {
    auto& gate = shared_gate();
    for (int n = 0; n < limits::kLoginFreeFailures; ++n) attempt(gate, "alice", "wrong password", 1000);
    BOOST_TEST(attempt(gate, "alice", kPassword, 1000) == 200);
    BOOST_TEST(attempt(gate, "alice", "wrong password", 1000) == 401);
    BOOST_TEST(attempt(gate, "alice", kPassword, 1000) == 200);
}

BOOST_FIXTURE_TEST_CASE(unknown_and_real_accounts_answer_the_same_sequence, Fixture) {
    auth::Gate gate;
    std::vector<int> real, unknown;
    for (int n = 0; n < limits::kLoginFreeFailures + 3; ++n) {
        real.push_back(attempt(gate, "alice", "wrong password", 1000));
        unknown.push_back(attempt(gate, "nobody", "wrong password", 1000));
    }
    BOOST_TEST(real == unknown);
    BOOST_TEST(real.back() == 429);
}

BOOST_FIXTURE_TEST_CASE(unknown_name_is_locked_after_the_free_failures, Fixture) {
    auto& gate = shared_gate();
    for (int n = 0; n <= limits::kLoginFreeFailures; ++n) BOOST_TEST(attempt(gate, "nobody", "x", 1000) == 401);
    BOOST_TEST(attempt(gate, "nobody", "x", 1001) == 429);
    BOOST_TEST(attempt(gate, "somebody", "x", 1001) == 401);
    BOOST_TEST(attempt(gate, "nobody", "x", 1000 + limits::kLoginLockSeconds) == 401);
}

BOOST_FIXTURE_TEST_CASE(unknown_name_failures_are_forgotten_after_a_while, Fixture) {
    auto& gate = shared_gate();
    for (int n = 0; n < limits::kLoginFreeFailures; ++n) attempt(gate, "nobody", "x", 1000);
    // Much later, one more failure is the first again: no lock.
    const std::int64_t later = 1000 + limits::kLoginFailuresKept;
    BOOST_TEST(attempt(gate, "nobody", "x", later) == 401);
    BOOST_TEST(attempt(gate, "nobody", "x", later) == 401);
}

BOOST_FIXTURE_TEST_CASE(unknown_names_are_kept_only_as_hashes, Fixture) {
    attempt(shared_gate(), "secret-name", "x", 1000);
    store::Query stored(db, "SELECT name_hash FROM login_failures");
    BOOST_REQUIRE(stored.next());
    BOOST_TEST(stored.text(0) == token::hash("secret-name"));
}

BOOST_FIXTURE_TEST_CASE(disabled_account_cannot_log_in, Fixture) {
    agents::disable(db, "alice", 1000);
    BOOST_TEST(attempt(shared_gate(), "alice", kPassword, 1000) == 401);
}

BOOST_FIXTURE_TEST_CASE(disabling_ends_the_logins, Fixture) {
    const auto login = shared_gate().login(db, writer, "alice", kPassword, 1000);
    BOOST_TEST(auth::find(db, login.agent.login_hash, 1001).has_value());
    agents::disable(db, "alice", 1000);
    BOOST_TEST(!auth::find(db, login.agent.login_hash, 1001).has_value());
}

BOOST_FIXTURE_TEST_CASE(login_expires_after_twelve_hours, Fixture) {
    const auto login = shared_gate().login(db, writer, "alice", kPassword, 1000);
    BOOST_TEST(auth::find(db, login.agent.login_hash, 1000 + limits::kLoginSeconds - 1).has_value());
    BOOST_TEST(!auth::find(db, login.agent.login_hash, 1000 + limits::kLoginSeconds).has_value());
}

BOOST_FIXTURE_TEST_CASE(logout_ends_the_login, Fixture) {
    const auto login = shared_gate().login(db, writer, "alice", kPassword, 1000);
    auth::logout(db, login.agent);
    BOOST_TEST(!auth::find(db, login.agent.login_hash, 1001).has_value());
}

BOOST_FIXTURE_TEST_CASE(require_finds_the_agent_from_the_cookie_header, Fixture) {
    const auto login = shared_gate().login(db, writer, "alice", kPassword, 1000);
    const auto agent = auth::require(db, with_cookie("x=1; abri_agent=" + login.cookie + "; y=2"), 1001);
    BOOST_TEST(agent.id == login.agent.id);
    BOOST_TEST(agent.csrf == login.agent.csrf);
}

BOOST_AUTO_TEST_CASE(missing_or_malformed_cookie_is_401_login_required) {
    testing::TempDb temp;
    store::Db db(temp.options);
    for (const std::string& header : std::vector<std::string>{"", "abri_agent=", "abri_agent=short", "other=" + token::generate()}) {
        try {
            auth::require(db, with_cookie(header), 1000);
            BOOST_FAIL("no error for '" + header + "'");
        } catch (const http::Error& e) {
            BOOST_TEST(e.status == 401);
            BOOST_TEST(e.code == "login_required");
        }
    }
}

BOOST_AUTO_TEST_CASE(https_cookie_has_the_host_prefix_and_secure) {
    const auto cookie = token::generate();
    const auto https = auth::set_cookie(cookie, true);
    BOOST_TEST(https.rfind("__Host-abri_agent=" + cookie + ";", 0) == 0);
    BOOST_TEST(https.find("; Secure") != std::string::npos);
    BOOST_TEST(https.find("; Path=/") != std::string::npos);
    BOOST_TEST(https.find("; HttpOnly") != std::string::npos);
    BOOST_TEST(https.find("; SameSite=Strict") != std::string::npos);
    BOOST_TEST(auth::cookie_of(with_cookie("__Host-abri_agent=" + cookie, true)).value() == cookie);
    BOOST_TEST(!auth::cookie_of(with_cookie("abri_agent=" + cookie, true)).has_value());
}

BOOST_AUTO_TEST_CASE(plain_http_cookie_drops_the_prefix_and_secure) {
    const auto plain = auth::set_cookie(token::generate(), false);
    BOOST_TEST(plain.rfind("abri_agent=", 0) == 0);
    BOOST_TEST(plain.find("Secure") == std::string::npos);
    BOOST_TEST(auth::clear_cookie(false).find("Max-Age=0") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(csrf_must_match_the_login) {
    const auth::Agent agent{1, "alice", "h", token::generate()};
    http::Request request;
    BOOST_CHECK_THROW(auth::require_csrf(agent, request), http::Error);
    request.csrf = token::generate();
    BOOST_CHECK_THROW(auth::require_csrf(agent, request), http::Error);
    request.csrf = agent.csrf;
    BOOST_CHECK_NO_THROW(auth::require_csrf(agent, request));
}

BOOST_AUTO_TEST_SUITE_END()

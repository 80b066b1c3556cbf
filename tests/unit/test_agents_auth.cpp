// lib/auth: operators' logins, cookies, CSRF, the counting of attempts,
// device cookies and the queue of verifications.
#include "agents.hpp"
#include "auth.hpp"
#include "limits.hpp"
#include "routing.hpp"
#include "temp_db.hpp"
#include "token.hpp"

#include <boost/test/unit_test.hpp>
#include <atomic>
#include <thread>

using namespace abri;

namespace {

constexpr const char* kPassword = "correct horse battery";

auth::Gate& shared_gate() {
    static auth::Gate gate;
    return gate;
}

struct Fixture {
    testing::TempDb temp;
    store::Db db{temp.options};
    store::Writer writer{temp.options};
    Fixture() {
        routing::add_unit(db, "U", "Unit", "police");
        agents::add(db, "alice", agents::hash_password(kPassword), {"U"});
    }
    // The status of one login attempt (200 for a success).
    int attempt(auth::Gate& gate, const std::string& username, const std::string& password, std::int64_t now,
                const std::optional<std::string>& device = std::nullopt) {
        try {
            gate.login(writer, {username, password, device}, now);
            return 200;
        } catch (const http::Error& e) {
            return e.status;
        }
    }
    auth::Login log_in(const std::string& username = "alice", std::int64_t now = 1000) {
        return shared_gate().login(writer, {username, kPassword, std::nullopt}, now);
    }
    // Locks alice's account for browsers without her device cookie.
    void lock_alice(std::int64_t now) {
        for (int n = 0; n <= limits::kLoginFreeFailures; ++n) attempt(shared_gate(), "alice", "wrong password", now);
        BOOST_REQUIRE(attempt(shared_gate(), "alice", kPassword, now) == 429);
    }
};

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
    const auto login = log_in();
    BOOST_TEST(login.agent.username == "alice");
    BOOST_TEST(token::is_well_formed(login.cookie));
    store::Query stored(db, "SELECT cookie_hash, expires_at FROM agent_logins");
    BOOST_REQUIRE(stored.next());
    BOOST_TEST(stored.text(0) == token::hash(login.cookie));
    BOOST_TEST(stored.integer(1) == 1000 + limits::kLoginSeconds);
}

BOOST_FIXTURE_TEST_CASE(wrong_password_is_401_invalid_credentials, Fixture) {
    try {
        shared_gate().login(writer, {"alice", "wrong password", std::nullopt}, 1000);
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

BOOST_FIXTURE_TEST_CASE(unknown_names_are_kept_only_as_keyed_hashes, Fixture) {
    attempt(shared_gate(), "secret-name", "x", 1000);
    store::Query stored(db, "SELECT name_hash FROM login_failures");
    BOOST_REQUIRE(stored.next());
    const std::string kept = stored.text(0);
    BOOST_TEST(kept.size() == 64u);
    BOOST_TEST(kept.find("secret") == std::string::npos);
    BOOST_TEST(kept != token::hash("secret-name"));  // not the plain BLAKE2b anyone can recompute
    BOOST_TEST(!stored.next());
}

BOOST_FIXTURE_TEST_CASE(the_same_unknown_name_is_counted_in_one_row, Fixture) {
    attempt(shared_gate(), "secret-name", "x", 1000);
    attempt(shared_gate(), "secret-name", "x", 1000);
    store::Query stored(db, "SELECT count(*), max(failed_logins) FROM login_failures");
    BOOST_REQUIRE(stored.next());
    BOOST_TEST(stored.integer(0) == 1);
    BOOST_TEST(stored.integer(1) == 2);
}

BOOST_FIXTURE_TEST_CASE(the_secret_is_made_once_and_kept, Fixture) {
    log_in();
    const auto secret = [&] {
        store::Query query(db, "SELECT secret FROM login_secret");
        BOOST_REQUIRE(query.next());
        return query.text(0);
    };
    const std::string first = secret();
    BOOST_TEST(first.size() == 64u);
    attempt(shared_gate(), "nobody", "x", 1000);
    log_in();
    BOOST_TEST(secret() == first);
}

// -- counted before verification ---------------------------------------------------

BOOST_FIXTURE_TEST_CASE(parallel_wrong_passwords_verify_at_most_the_free_failures_and_one, Fixture) {
    // Every attempt is counted before its verification, in the writer:
    // however many arrive at once, only those counted before the lock are
    // verified (401); the others are refused unverified (429).
    constexpr int kAttempts = 25;
    std::atomic<int> verified{0}, refused{0};
    std::vector<std::thread> threads;
    for (int n = 0; n < kAttempts; ++n) {
        threads.emplace_back([&] {
            const int status = attempt(shared_gate(), "alice", "wrong password", 1000);
            if (status == 401) ++verified;
            if (status == 429) ++refused;
        });
    }
    for (auto& thread : threads) thread.join();
    BOOST_TEST(verified.load() == limits::kLoginFreeFailures + 1);
    BOOST_TEST(refused.load() == kAttempts - limits::kLoginFreeFailures - 1);
    store::Query count(db, "SELECT failed_logins FROM agents WHERE username = 'alice'");
    BOOST_REQUIRE(count.next());
    BOOST_TEST(count.integer(0) == limits::kLoginFreeFailures + 1);
}

BOOST_FIXTURE_TEST_CASE(a_right_password_is_counted_until_it_succeeds, Fixture) {
    // The success resets the count that its own attempt raised.
    for (int n = 0; n < limits::kLoginFreeFailures; ++n) attempt(shared_gate(), "alice", "wrong password", 1000);
    BOOST_TEST(attempt(shared_gate(), "alice", kPassword, 1000) == 200);
    store::Query count(db, "SELECT failed_logins, locked_until FROM agents WHERE username = 'alice'");
    BOOST_REQUIRE(count.next());
    BOOST_TEST(count.integer(0) == 0);
    BOOST_TEST(count.integer(1) == 0);
}

// -- device cookies ----------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(a_login_gives_a_new_device_cookie_each_time, Fixture) {
    const auto first = log_in();
    const auto second = log_in();
    BOOST_TEST(auth::device_of(with_cookie("abri_device=" + first.device)).value() == first.device);
    BOOST_TEST(first.device != second.device);
    BOOST_TEST(first.device.find("alice") == std::string::npos);  // it names no one
}

BOOST_FIXTURE_TEST_CASE(known_browser_logs_in_while_others_locked_the_account, Fixture) {
    const auto device = log_in().device;
    lock_alice(1000);
    BOOST_TEST(attempt(shared_gate(), "alice", kPassword, 1001, device) == 200);
    BOOST_TEST(attempt(shared_gate(), "alice", kPassword, 1001) == 429);  // still locked for the others
}

BOOST_FIXTURE_TEST_CASE(known_browser_is_locked_by_its_own_failures_only, Fixture) {
    const auto device = log_in().device;
    for (int n = 0; n <= limits::kLoginFreeFailures; ++n) {
        BOOST_TEST(attempt(shared_gate(), "alice", "wrong password", 1000, device) == 401);
    }
    BOOST_TEST(attempt(shared_gate(), "alice", kPassword, 1001, device) == 429);
    BOOST_TEST(attempt(shared_gate(), "alice", kPassword, 1001) == 200);  // the account was not counted
    store::Query rows(db, "SELECT nonce_hash FROM device_failures");
    BOOST_REQUIRE(rows.next());
    BOOST_TEST(rows.text(0) == token::hash(device.substr(0, device.find('.'))));
}

BOOST_FIXTURE_TEST_CASE(device_cookie_of_another_username_is_ignored, Fixture) {
    agents::add(db, "bruno", agents::hash_password(kPassword), {"U"});
    const auto device = log_in("bruno").device;
    lock_alice(1000);
    BOOST_TEST(attempt(shared_gate(), "alice", kPassword, 1001, device) == 429);
}

BOOST_FIXTURE_TEST_CASE(tampered_device_cookie_is_ignored, Fixture) {
    auto device = log_in().device;
    lock_alice(1000);
    device.back() = device.back() == 'A' ? 'B' : 'A';
    BOOST_TEST(attempt(shared_gate(), "alice", kPassword, 1001, device) == 429);
    const auto forged = token::generate() + "." + token::generate();
    BOOST_TEST(attempt(shared_gate(), "alice", kPassword, 1001, forged) == 429);
}

BOOST_FIXTURE_TEST_CASE(a_new_secret_forgets_every_device_cookie, Fixture) {
    const auto device = log_in().device;
    lock_alice(1000);
    store::Query(db, "DELETE FROM login_secret").run();
    BOOST_TEST(attempt(shared_gate(), "alice", kPassword, 1001, device) == 429);
}

BOOST_AUTO_TEST_CASE(device_cookie_is_sent_to_the_login_only_and_long_lived) {
    const std::string device = token::generate() + "." + token::generate();
    const auto plain = auth::set_device_cookie(device, false);
    BOOST_TEST(plain.rfind("abri_device=" + device + ";", 0) == 0);
    BOOST_TEST(plain.find("; Path=/api/agent/login;") != std::string::npos);
    BOOST_TEST(plain.find("; Max-Age=" + std::to_string(limits::kDeviceCookieSeconds)) != std::string::npos);
    BOOST_TEST(plain.find("; HttpOnly") != std::string::npos);
    BOOST_TEST(plain.find("; SameSite=Strict") != std::string::npos);
    BOOST_TEST(plain.find("Secure") == std::string::npos);
    const auto https = auth::set_device_cookie(device, true);
    BOOST_TEST(https.rfind("__Secure-abri_device=" + device + ";", 0) == 0);
    BOOST_TEST(https.find("; Secure") != std::string::npos);
    BOOST_TEST(auth::device_of(with_cookie("__Secure-abri_device=" + device, true)).value() == device);
    BOOST_TEST(!auth::device_of(with_cookie("abri_device=" + device, true)).has_value());
}

BOOST_AUTO_TEST_CASE(malformed_device_cookie_is_not_read) {
    const std::string half = token::generate();
    for (const std::string& value : {half, half + "." + half + "x", half + "-" + half, half + "." + half.substr(1) + "!"}) {
        BOOST_TEST(!auth::device_of(with_cookie("abri_device=" + value)).has_value(), value);
    }
}

// -- the queue of verifications ------------------------------------------------------

BOOST_AUTO_TEST_CASE(slots_serve_waiters_in_the_order_they_came) {
    auth::FairSlots slots(1);
    BOOST_REQUIRE(slots.acquire(std::chrono::milliseconds(0)));
    std::vector<int> served;
    std::mutex served_mutex;
    std::vector<std::thread> waiters;
    for (int n = 0; n < 5; ++n) {
        waiters.emplace_back([&, n] {
            if (!slots.acquire(std::chrono::seconds(30))) return;
            {
                std::lock_guard lock(served_mutex);
                served.push_back(n);
            }
            slots.release();
        });
        // The next one comes only once this one waits in line.
        while (slots.waiting() != static_cast<std::size_t>(n + 1)) std::this_thread::yield();
    }
    slots.release();
    for (auto& waiter : waiters) waiter.join();
    BOOST_TEST(served == (std::vector<int>{0, 1, 2, 3, 4}));
}

BOOST_AUTO_TEST_CASE(a_waiter_that_times_out_does_not_hold_up_the_next) {
    auth::FairSlots slots(1);
    BOOST_REQUIRE(slots.acquire(std::chrono::milliseconds(0)));
    std::atomic<bool> first_gave_up{false}, second_served{false};
    const auto start = std::chrono::steady_clock::now();
    std::thread first([&] {
        BOOST_TEST(!slots.acquire(std::chrono::milliseconds(300)));
        first_gave_up = true;
    });
    while (slots.waiting() != 1) std::this_thread::yield();
    std::thread second([&] { second_served = slots.acquire(std::chrono::seconds(30)); });
    bool second_behind_first = false;
    while (!first_gave_up && !second_behind_first) second_behind_first = slots.waiting() == 2;
    first.join();
    BOOST_TEST((std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(300)));
    BOOST_TEST(second_behind_first);
    slots.release();
    second.join();
    BOOST_TEST(second_served.load());
}

BOOST_FIXTURE_TEST_CASE(disabled_account_cannot_log_in, Fixture) {
    agents::disable(db, "alice", 1000);
    BOOST_TEST(attempt(shared_gate(), "alice", kPassword, 1000) == 401);
}

BOOST_FIXTURE_TEST_CASE(disabling_ends_the_logins, Fixture) {
    const auto login = log_in();
    BOOST_TEST(auth::find(db, login.agent.login_hash, 1001).has_value());
    agents::disable(db, "alice", 1000);
    BOOST_TEST(!auth::find(db, login.agent.login_hash, 1001).has_value());
}

BOOST_FIXTURE_TEST_CASE(login_expires_after_twelve_hours, Fixture) {
    const auto login = log_in();
    BOOST_TEST(auth::find(db, login.agent.login_hash, 1000 + limits::kLoginSeconds - 1).has_value());
    BOOST_TEST(!auth::find(db, login.agent.login_hash, 1000 + limits::kLoginSeconds).has_value());
}

BOOST_FIXTURE_TEST_CASE(logout_ends_the_login, Fixture) {
    const auto login = log_in();
    auth::logout(db, login.agent);
    BOOST_TEST(!auth::find(db, login.agent.login_hash, 1001).has_value());
}

BOOST_FIXTURE_TEST_CASE(require_finds_the_agent_from_the_cookie_header, Fixture) {
    const auto login = log_in();
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
    const auth::Agent agent{
        .id = 1, .username = "alice", .shown_as = "alice", .login_hash = "h", .csrf = token::generate()};
    http::Request request;
    BOOST_CHECK_THROW(auth::require_csrf(agent, request), http::Error);
    request.csrf = token::generate();
    BOOST_CHECK_THROW(auth::require_csrf(agent, request), http::Error);
    request.csrf = agent.csrf;
    BOOST_CHECK_NO_THROW(auth::require_csrf(agent, request));
}

BOOST_AUTO_TEST_SUITE_END()

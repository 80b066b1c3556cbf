// Operators' logins: the password check (slowed and limited per account,
// the same answer and the same time whether the account exists or not),
// the session cookie (only its hash is stored, 12 hours at most), the
// CSRF value every state-changing call carries, and logout.
#pragma once
#include "http.hpp"
#include "routing.hpp"
#include "store.hpp"

#include <cstdint>
#include <optional>
#include <semaphore>
#include <string>
#include <string_view>
#include <vector>

namespace abri::auth {

// A logged-in operator, as every operator endpoint sees it.
struct Agent {
    std::int64_t id;
    std::string username;
    std::string login_hash;  // hash of the cookie: a resumed long-poll checks the login again
    std::string csrf;        // what X-Abri-CSRF must carry
};

// What a successful login hands to the browser, once.
struct Login {
    Agent agent;
    std::string cookie;  // the secret; the database keeps token::hash(cookie)
};

// Seconds an account stays locked after its `failures`-th wrong password
// in a row: none for the first limits::kLoginFreeFailures, then
// limits::kLoginLockSeconds doubled at each one, limits::kLoginLockMaxSeconds
// at most.
int lock_seconds(int failures);

// The hash unknown usernames are checked against, so that they take as
// long as real ones: a real Argon2id hash, with the parameters of
// agents::hash_password, of a password nobody knows.
std::string_view dummy_hash();

// One per process: the cap on concurrent Argon2 verifications.
class Gate {
public:
    Gate();
    // The login, or http::Error 401 invalid_credentials (wrong password,
    // unknown or disabled account: one answer), 429 too_many_attempts (the
    // account is locked, whether it exists or not), 503 when every
    // verification slot stays busy.
    Login login(store::Db& reader, store::Writer& writer, std::string_view username, std::string_view password,
                std::int64_t now);

private:
    bool verify(const std::string& hash, std::string_view password);
    std::counting_semaphore<64> slots_;
};

// Set-Cookie values: `__Host-abri_agent` with Secure over HTTPS, else
// `abri_agent` (plain-HTTP loopback in development).
std::string cookie_name(bool https);
std::string set_cookie(const std::string& cookie, bool https);
std::string clear_cookie(bool https);
// The well-formed value of our cookie in a Cookie header, if any.
std::optional<std::string> cookie_of(const http::Request& request);

// The operator logged in with this cookie hash: login not expired, account
// not disabled.
std::optional<Agent> find(store::Db& db, const std::string& login_hash, std::int64_t now);
// The operator of the request, or 401 login_required.
Agent require(store::Db& db, const http::Request& request, std::int64_t now);
// 403 invalid_csrf unless X-Abri-CSRF carries the login's value.
void require_csrf(const Agent& agent, const http::Request& request);
http::Error login_required();

// Inside a write transaction.
void logout(store::Db& db, const Agent& agent);

// The units an operator belongs to, by code.
std::vector<routing::Unit> units_of(store::Db& db, std::int64_t agent_id);
std::vector<std::int64_t> unit_ids(const std::vector<routing::Unit>& units);

}  // namespace abri::auth

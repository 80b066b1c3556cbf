// Operators' logins: the password check (slowed and limited, the same
// answer and the same time whether the account exists or not), the
// session cookie (only its hash is stored, 12 hours at most), the device
// cookie that keeps a known browser out of locks caused by others, the
// CSRF value every state-changing call carries, and logout.
#pragma once
#include "http.hpp"
#include "routing.hpp"
#include "store.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace abri::auth {

// A logged-in operator, as every operator endpoint sees it.
struct Agent {
    std::int64_t id;
    std::string username;
    std::string shown_as;    // how colleagues and the export name the operator: the display name, else the username
    std::string login_hash;  // hash of the cookie: a resumed long-poll checks the login again
    std::string csrf;        // what X-Abri-CSRF must carry
};

// One login attempt, as the browser sent it.
struct Credentials {
    std::string_view username;
    std::string_view password;
    std::optional<std::string> device;  // the device cookie it presented (device_of), if any
};

// What a successful login hands to the browser, once.
struct Login {
    Agent agent;
    std::string cookie;  // the secret; the database keeps token::hash(cookie)
    std::string device;  // a new device cookie for this browser and this username
};

// Seconds a count (an account's, a name's, a browser's) stays locked
// after its `failures`-th attempt without a success: none for the first
// limits::kLoginFreeFailures, then limits::kLoginLockSeconds doubled at
// each one, limits::kLoginLockMaxSeconds at most.
int lock_seconds(int failures);

// The hash unknown usernames are checked against, so that they take as
// long as real ones: a real Argon2id hash, with the parameters of
// agents::hash_password, of a password nobody knows.
std::string_view dummy_hash();

// A counting semaphore that serves its waiters in the order they came
// (tickets), each waiting at most its own timeout. std::counting_semaphore
// promises no order: under a burst, late comers took the freed slots
// while early ones ran out of time.
class FairSlots {
public:
    explicit FairSlots(int slots);
    // True once the caller holds a slot; false after `wait` without one.
    // A waiter that gives up holds up no one behind it.
    bool acquire(std::chrono::milliseconds wait);
    void release();
    std::size_t waiting();  // callers in acquire() now

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::list<std::uint64_t> queue_;  // tickets of the waiters, first come first
    std::uint64_t next_ticket_ = 0;
    int free_;                        // slots nobody holds
};

// One per process: counts each attempt before its password is verified,
// and caps concurrent Argon2 verifications.
//
// An attempt is counted, in one write transaction, against the browser's
// device cookie when it presents a valid one for this username, else
// against the username (account or not). It is verified only when that
// count is not locked: at most limits::kLoginFreeFailures + 1 attempts in
// a row are verified before a lock, however many arrive at once and in
// however many processes. A success resets that count and gives the
// browser a new device cookie; an attempt that found no verification slot
// is given back, so that a crowd cannot lock an operator out through her
// own 503s.
class Gate {
public:
    Gate();
    // The login, or http::Error 401 invalid_credentials (wrong password,
    // unknown or disabled account: one answer), 429 too_many_attempts (the
    // count is locked, whether the account exists or not), 503 when no
    // verification slot frees up within limits::kVerificationWaitMs.
    Login login(store::Writer& writer, const Credentials& credentials, std::int64_t now);

private:
    bool verify(const std::string& hash, std::string_view password);
    FairSlots slots_;
};

// Set-Cookie values: `__Host-abri_agent` with Secure over HTTPS, else
// `abri_agent` (plain-HTTP loopback in development).
std::string cookie_name(bool https);
std::string set_cookie(const std::string& cookie, bool https);
std::string clear_cookie(bool https);
// The well-formed value of our cookie in a Cookie header, if any.
std::optional<std::string> cookie_of(const http::Request& request);

// The device cookie: `__Secure-abri_device` with Secure over HTTPS
// (`__Host-` requires Path=/, and this one is sent to the login only),
// else `abri_device`. A nonce and its MAC; it names no one.
std::string device_cookie_name(bool https);
std::string set_device_cookie(const std::string& device, bool https);
// The well-formed value of the device cookie in a Cookie header, if any
// (its MAC is checked by Gate::login).
std::optional<std::string> device_of(const http::Request& request);

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

// Makes the server's login secret (device cookies, unknown names' keyed
// hashes) when there is none yet: `abrictl init` calls it, so that the
// secret exists before the first login. Inside a write transaction.
void make_secret(store::Db& db);

// The units an operator belongs to, by code.
std::vector<routing::Unit> units_of(store::Db& db, std::int64_t agent_id);
std::vector<std::int64_t> unit_ids(const std::vector<routing::Unit>& units);

}  // namespace abri::auth

#include "auth.hpp"
#include "agents.hpp"
#include "limits.hpp"
#include "token.hpp"

#include <algorithm>
#include <chrono>

namespace abri::auth {

namespace {

constexpr const char* kAccount =
    "SELECT id, password_hash, disabled, failed_logins, locked_until FROM agents WHERE username = ?";
constexpr const char* kFailures = "SELECT failed_logins, locked_until FROM agents WHERE id = ?";
constexpr const char* kSetFailures = "UPDATE agents SET failed_logins = ?, locked_until = ? WHERE id = ?";
constexpr const char* kClearFailures =
    "UPDATE agents SET failed_logins = 0, locked_until = 0 WHERE id = ? AND disabled = 0";
constexpr const char* kUnknown = "SELECT failed_logins, locked_until FROM login_failures WHERE name_hash = ?";
constexpr const char* kSetUnknown =
    "INSERT INTO login_failures (name_hash, failed_logins, locked_until) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (name_hash) DO UPDATE SET failed_logins = ?2, locked_until = ?3";
constexpr const char* kForgetUnknown = "DELETE FROM login_failures WHERE locked_until <= ?";
constexpr const char* kCountUnknown = "SELECT count(*) FROM login_failures";
constexpr const char* kDropExpired = "DELETE FROM agent_logins WHERE expires_at <= ?";
constexpr const char* kInsertLogin =
    "INSERT INTO agent_logins (cookie_hash, agent_id, csrf, expires_at) VALUES (?, ?, ?, ?)";
constexpr const char* kByCookie =
    "SELECT a.id, a.username, l.csrf FROM agent_logins l JOIN agents a ON a.id = l.agent_id "
    "WHERE l.cookie_hash = ? AND l.expires_at > ? AND a.disabled = 0";
constexpr const char* kLogout = "DELETE FROM agent_logins WHERE cookie_hash = ?";
constexpr const char* kUnits =
    "SELECT u.id, u.code, u.name, u.kind FROM units u JOIN agent_units au ON au.unit_id = u.id "
    "WHERE au.agent_id = ? ORDER BY u.code";

constexpr std::string_view kCookieName = "abri_agent";
constexpr std::string_view kHostCookieName = "__Host-abri_agent";

http::Error invalid_credentials() {
    return {401, "invalid_credentials", "Identifiant ou mot de passe incorrect."};
}

http::Error too_many_attempts(std::int64_t locked_until, std::int64_t now) {
    const std::int64_t minutes = std::max<std::int64_t>(1, (locked_until - now + 59) / 60);
    return {429, "too_many_attempts",
            "Trop de tentatives de connexion pour cet identifiant. Réessayez dans " + std::to_string(minutes) +
                (minutes == 1 ? " minute." : " minutes.")};
}

// The count after one more failure: failures long past are forgotten.
// `locked_until` is the end of the last lock, or the time of the last
// failure when it did not lock.
int next_failure_count(int failures, std::int64_t locked_until, std::int64_t now) {
    if (now - locked_until >= limits::kLoginFailuresKept) return 1;
    return std::min(failures, 1000) + 1;
}

struct Account {
    std::int64_t id;
    std::string password_hash;
    bool disabled;
    std::int64_t locked_until;
};

std::optional<Account> read_account(store::Db& db, std::string_view username) {
    store::Query query(db, kAccount, username);
    if (!query.next()) return std::nullopt;
    return Account{query.integer(0), query.text(1), query.integer(2) != 0, query.integer(4)};
}

// Records one more wrong password for the account, inside the writer.
void record_failure(store::Db& db, std::int64_t id, std::int64_t now) {
    store::Query current(db, kFailures, id);
    if (!current.next()) return;
    const int failures = next_failure_count(static_cast<int>(current.integer(0)), current.integer(1), now);
    store::Query(db, kSetFailures, failures, now + lock_seconds(failures), id).run();
}

// The end of the lock of a name without an account, or 0.
std::int64_t unknown_locked_until(store::Db& db, const std::string& name_hash) {
    store::Query query(db, kUnknown, name_hash);
    return query.next() ? query.integer(1) : 0;
}

// The same for a name without an account, inside the writer. The table
// stays small: old rows go first, and when it is still full of fresh ones
// (a flood of invented names) the new name is not counted.
void record_unknown_failure(store::Db& db, const std::string& name_hash, std::int64_t now) {
    int failures = 1;
    {
        store::Query current(db, kUnknown, name_hash);
        if (current.next()) {
            failures = next_failure_count(static_cast<int>(current.integer(0)), current.integer(1), now);
        } else {
            store::Query(db, kForgetUnknown, now - limits::kLoginFailuresKept).run();
            store::Query count(db, kCountUnknown);
            if (count.next() && count.integer(0) >= static_cast<std::int64_t>(limits::kMaxUnknownLogins)) return;
        }
    }
    store::Query(db, kSetUnknown, name_hash, failures, now + lock_seconds(failures)).run();
}

}  // namespace

int lock_seconds(int failures) {
    if (failures <= limits::kLoginFreeFailures) return 0;
    const int doublings = std::min(failures - limits::kLoginFreeFailures - 1, 20);
    return static_cast<int>(
        std::min<long>(static_cast<long>(limits::kLoginLockSeconds) << doublings, limits::kLoginLockMaxSeconds));
}

std::string_view dummy_hash() {
    // Made once with agents::hash_password; tests/unit check that its
    // parameters still match.
    return "$argon2id$v=19$m=32768,t=3,p=1$FrnWQRW6BifrrXRJtv0w9Q$a+5+1xVWSKs9OZBchg8CEgno7NdUtSo0n0gODTz6K/s";
}

Gate::Gate() : slots_(limits::kMaxConcurrentVerifications) {}

bool Gate::verify(const std::string& hash, std::string_view password) {
    // Each verification holds its memory (32 MiB): a few at once at most.
    if (!slots_.try_acquire_for(std::chrono::milliseconds(limits::kVerificationWaitMs))) {
        throw http::Error{503, "unavailable", "Trop de connexions en même temps. Réessayez dans un instant."};
    }
    const bool ok = agents::verify_password(hash, password);
    slots_.release();
    return ok;
}

Login Gate::login(store::Db& reader, store::Writer& writer, std::string_view username, std::string_view password,
                  std::int64_t now) {
    const std::string name(username);
    const auto account = agents::is_valid_username(username) ? read_account(reader, username) : std::nullopt;
    const std::string name_hash = account ? std::string{} : token::hash(name);

    // A locked name is refused before any verification, account or not.
    const std::int64_t locked = account ? account->locked_until : unknown_locked_until(reader, name_hash);
    if (locked > now) throw too_many_attempts(locked, now);

    const bool password_ok = verify(account ? account->password_hash : std::string(dummy_hash()), password);
    if (!account) {
        writer.run([&](store::Db& db) { record_unknown_failure(db, name_hash, now); });
        throw invalid_credentials();
    }
    if (!password_ok || account->disabled) {
        writer.run([&](store::Db& db) { record_failure(db, account->id, now); });
        throw invalid_credentials();
    }

    Login login{{account->id, name, "", token::generate()}, token::generate()};
    login.agent.login_hash = token::hash(login.cookie);
    bool still_enabled = false;
    writer.run([&](store::Db& db) {
        store::Query(db, kClearFailures, account->id).run();
        still_enabled = store::changes(db) == 1;  // not disabled since we read it
        if (!still_enabled) return;
        store::Query(db, kDropExpired, now).run();
        store::Query(db, kInsertLogin, login.agent.login_hash, account->id, login.agent.csrf,
                     now + limits::kLoginSeconds)
            .run();
    });
    if (!still_enabled) throw invalid_credentials();
    return login;
}

std::string cookie_name(bool https) { return std::string(https ? kHostCookieName : kCookieName); }

std::string set_cookie(const std::string& cookie, bool https) {
    return cookie_name(https) + "=" + cookie + "; Path=/; Max-Age=" + std::to_string(limits::kLoginSeconds) +
           "; HttpOnly; SameSite=Strict" + (https ? "; Secure" : "");
}

std::string clear_cookie(bool https) {
    return cookie_name(https) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" + (https ? "; Secure" : "");
}

std::optional<std::string> cookie_of(const http::Request& request) {
    const std::string wanted = cookie_name(request.https);
    std::string_view rest = request.cookie;
    while (!rest.empty()) {
        const auto semicolon = rest.find(';');
        std::string_view pair = rest.substr(0, semicolon);
        rest = semicolon == std::string_view::npos ? std::string_view{} : rest.substr(semicolon + 1);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos || pair.substr(0, eq) != wanted) continue;
        const std::string_view value = pair.substr(eq + 1);
        if (token::is_well_formed(value)) return std::string(value);
    }
    return std::nullopt;
}

std::optional<Agent> find(store::Db& db, const std::string& login_hash, std::int64_t now) {
    store::Query query(db, kByCookie, login_hash, now);
    if (!query.next()) return std::nullopt;
    return Agent{query.integer(0), query.text(1), login_hash, query.text(2)};
}

http::Error login_required() {
    return {401, "login_required", "Vous n'êtes pas connecté·e, ou votre session a expiré. Reconnectez-vous."};
}

Agent require(store::Db& db, const http::Request& request, std::int64_t now) {
    const auto cookie = cookie_of(request);
    if (!cookie) throw login_required();
    auto agent = find(db, token::hash(*cookie), now);
    if (!agent) throw login_required();
    return *agent;
}

void require_csrf(const Agent& agent, const http::Request& request) {
    if (request.csrf.empty() || !token::equal(request.csrf, agent.csrf)) {
        throw http::Error{403, "invalid_csrf", "Cette action a été refusée : rechargez la page et réessayez."};
    }
}

void logout(store::Db& db, const Agent& agent) { store::Query(db, kLogout, agent.login_hash).run(); }

std::vector<routing::Unit> units_of(store::Db& db, std::int64_t agent_id) {
    std::vector<routing::Unit> units;
    store::Query query(db, kUnits, agent_id);
    while (query.next()) units.push_back({query.integer(0), query.text(1), query.text(2), query.text(3)});
    return units;
}

std::vector<std::int64_t> unit_ids(const std::vector<routing::Unit>& units) {
    std::vector<std::int64_t> ids;
    for (const auto& unit : units) ids.push_back(unit.id);
    return ids;
}

}  // namespace abri::auth

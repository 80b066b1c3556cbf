#include "auth.hpp"
#include "agents.hpp"
#include "limits.hpp"
#include "token.hpp"

#include <sodium.h>
#include <algorithm>
#include <array>
#include <stdexcept>

namespace abri::auth {

namespace {

constexpr const char* kAccount =
    "SELECT id, password_hash, disabled, coalesce(display_name, username) FROM agents WHERE username = ?";
constexpr const char* kEnabled = "SELECT 1 FROM agents WHERE id = ? AND disabled = 0";
constexpr const char* kSecret = "SELECT secret FROM login_secret WHERE id = 1";
constexpr const char* kMakeSecret = "INSERT OR IGNORE INTO login_secret (id, secret) VALUES (1, ?)";
constexpr const char* kDropExpired = "DELETE FROM agent_logins WHERE expires_at <= ?";
constexpr const char* kInsertLogin =
    "INSERT INTO agent_logins (cookie_hash, agent_id, csrf, expires_at) VALUES (?, ?, ?, ?)";
constexpr const char* kByCookie =
    "SELECT a.id, a.username, l.csrf, coalesce(a.display_name, a.username) "
    "FROM agent_logins l JOIN agents a ON a.id = l.agent_id "
    "WHERE l.cookie_hash = ? AND l.expires_at > ? AND a.disabled = 0";
constexpr const char* kLogout = "DELETE FROM agent_logins WHERE cookie_hash = ?";
constexpr const char* kUnits =
    "SELECT u.id, u.code, u.name, u.kind FROM units u JOIN agent_units au ON au.unit_id = u.id "
    "WHERE au.agent_id = ? ORDER BY u.code";

// Where attempts are counted: one table per kind of key, each row a count
// and the end of its lock (or the time of its last attempt when it did
// not lock).
struct Counter {
    const char* read;       // failed_logins, locked_until of the key ?1
    const char* write;      // sets them to ?2, ?3 for the key ?1
    const char* forget;     // drops the rows whose last attempt is before ?1; nullptr: rows stay
    const char* size;       // rows kept
    std::size_t max_rows;   // when full of fresh rows, a new key goes uncounted
};

// Real accounts, by username.
constexpr Counter kAccounts{
    "SELECT failed_logins, locked_until FROM agents WHERE username = ?",
    "UPDATE agents SET failed_logins = ?2, locked_until = ?3 WHERE username = ?1", nullptr, nullptr, 0};
// Names without an account, by their keyed hash (Keys::name_hash): a
// password typed in the name field cannot be found offline.
constexpr Counter kUnknownNames{
    "SELECT failed_logins, locked_until FROM login_failures WHERE name_hash = ?",
    "INSERT INTO login_failures (name_hash, failed_logins, locked_until) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (name_hash) DO UPDATE SET failed_logins = ?2, locked_until = ?3",
    "DELETE FROM login_failures WHERE locked_until <= ?", "SELECT count(*) FROM login_failures",
    limits::kMaxUnknownLogins};
// Browsers with a valid device cookie, by the hash of its nonce.
constexpr Counter kDevices{
    "SELECT failed_logins, locked_until FROM device_failures WHERE nonce_hash = ?",
    "INSERT INTO device_failures (nonce_hash, failed_logins, locked_until) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (nonce_hash) DO UPDATE SET failed_logins = ?2, locked_until = ?3",
    "DELETE FROM device_failures WHERE locked_until <= ?", "SELECT count(*) FROM device_failures",
    limits::kMaxDeviceCounts};

constexpr std::string_view kCookieName = "abri_agent";
constexpr std::string_view kHostCookieName = "__Host-abri_agent";
constexpr std::string_view kDeviceCookieName = "abri_device";
constexpr std::string_view kSecureDeviceCookieName = "__Secure-abri_device";
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "abrilogn";
constexpr std::uint64_t kDeviceKeyId = 1;
constexpr std::uint64_t kNameKeyId = 2;
constexpr std::size_t kSecretBytes = crypto_kdf_KEYBYTES;
constexpr std::size_t kMacBytes = crypto_auth_BYTES;

http::Error invalid_credentials() {
    return {401, "invalid_credentials", "Identifiant ou mot de passe incorrect."};
}

http::Error too_many_attempts(std::int64_t locked_until, std::int64_t now) {
    const std::int64_t minutes = std::max<std::int64_t>(1, (locked_until - now + 59) / 60);
    return {429, "too_many_attempts",
            "Trop de tentatives de connexion pour cet identifiant. Réessayez dans " + std::to_string(minutes) +
                (minutes == 1 ? " minute." : " minutes.")};
}

std::string base64url(const unsigned char* bytes, std::size_t size) {
    std::string out(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    out.pop_back();
    return out;
}

// A device cookie is "NONCE.MAC": two halves shaped like token::generate().
constexpr std::size_t kHalf = 43;  // the length of token::generate()
std::string_view nonce_of(std::string_view device) { return device.substr(0, kHalf); }
std::string_view mac_of(std::string_view device) { return device.substr(kHalf + 1); }
bool is_device_shaped(std::string_view device) {
    return device.size() == 2 * kHalf + 1 && device[kHalf] == '.' && token::is_well_formed(nonce_of(device)) &&
           token::is_well_formed(mac_of(device));
}

// The value of the first cookie called `name` in a Cookie header that
// has the shape `is_valid` wants (a browser may send two of one name,
// set with different paths).
std::optional<std::string> cookie_value(std::string_view header, std::string_view name,
                                        bool (*is_valid)(std::string_view)) {
    while (!header.empty()) {
        const auto semicolon = header.find(';');
        std::string_view pair = header.substr(0, semicolon);
        header = semicolon == std::string_view::npos ? std::string_view{} : header.substr(semicolon + 1);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
        const std::string_view value = pair.substr(eq + 1);
        if (is_valid(value)) return std::string(value);
    }
    return std::nullopt;
}

// The keys derived from the server's login secret, for one transaction.
// The secret is made on first use, here rather than by the migration:
// randombytes_buf is the OS's CSPRNG, as for every token (SQLite's
// randomblob() was RC4 before 3.40); inside the write transaction, the
// first of several processes makes it and every other one reads that same
// secret. It is never logged and never leaves the database; copies in
// memory are wiped.
class Keys {
public:
    explicit Keys(store::Db& db) {
        if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
        std::array<unsigned char, kSecretBytes> secret{};
        read_or_make(db, secret);
        crypto_kdf_derive_from_key(device_.data(), device_.size(), kDeviceKeyId, kKdfContext, secret.data());
        crypto_kdf_derive_from_key(names_.data(), names_.size(), kNameKeyId, kKdfContext, secret.data());
        sodium_memzero(secret.data(), secret.size());
    }
    ~Keys() {
        sodium_memzero(device_.data(), device_.size());
        sodium_memzero(names_.data(), names_.size());
    }
    Keys(const Keys&) = delete;
    Keys& operator=(const Keys&) = delete;

    // Hex BLAKE2b of a username keyed with the secret.
    std::string name_hash(std::string_view username) const {
        std::array<unsigned char, crypto_generichash_BYTES> digest{};
        crypto_generichash(digest.data(), digest.size(), bytes(username), username.size(), names_.data(),
                           names_.size());
        std::string hex(digest.size() * 2 + 1, '\0');
        sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
        hex.pop_back();
        return hex;
    }

    // A new device cookie for this username.
    std::string device_cookie(std::string_view username) const {
        const std::string nonce = token::generate();
        const auto mac = sign(nonce, username);
        return nonce + "." + base64url(mac.data(), mac.size());
    }

    // Whether `device` is a cookie device_cookie() made for this username.
    bool signs(std::string_view device, std::string_view username) const {
        if (!is_device_shaped(device)) return false;
        std::array<unsigned char, kMacBytes> mac{};
        std::size_t size = 0;
        const auto encoded = mac_of(device);
        if (sodium_base642bin(mac.data(), mac.size(), encoded.data(), encoded.size(), nullptr, &size, nullptr,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
            size != mac.size()) {
            return false;
        }
        const std::string message = signed_message(nonce_of(device), username);
        return crypto_auth_verify(mac.data(), bytes(message), message.size(), device_.data()) == 0;
    }

private:
    static const unsigned char* bytes(std::string_view text) {
        return reinterpret_cast<const unsigned char*>(text.data());
    }
    // The nonce has a fixed length: nonce + username is unambiguous.
    static std::string signed_message(std::string_view nonce, std::string_view username) {
        return std::string(nonce) + std::string(username);
    }
    std::array<unsigned char, kMacBytes> sign(std::string_view nonce, std::string_view username) const {
        std::array<unsigned char, kMacBytes> mac{};
        const std::string message = signed_message(nonce, username);
        crypto_auth(mac.data(), bytes(message), message.size(), device_.data());
        return mac;
    }
    static void read_or_make(store::Db& db, std::array<unsigned char, kSecretBytes>& secret) {
        {
            store::Query existing(db, kSecret);
            if (existing.next()) return decode(existing.text(0), secret);
        }
        randombytes_buf(secret.data(), secret.size());
        std::string hex(secret.size() * 2 + 1, '\0');
        sodium_bin2hex(hex.data(), hex.size(), secret.data(), secret.size());
        hex.pop_back();
        store::Query(db, kMakeSecret, hex).run();
        sodium_memzero(hex.data(), hex.size());
    }
    static void decode(std::string hex, std::array<unsigned char, kSecretBytes>& secret) {
        std::size_t size = 0;
        const int rc = sodium_hex2bin(secret.data(), secret.size(), hex.data(), hex.size(), nullptr, &size, nullptr);
        sodium_memzero(hex.data(), hex.size());
        if (rc != 0 || size != secret.size()) throw std::runtime_error("login_secret is not 32 bytes in hex");
    }
    std::array<unsigned char, crypto_auth_KEYBYTES> device_{};
    std::array<unsigned char, crypto_generichash_KEYBYTES> names_{};
};

// The count after one more attempt: attempts long past are forgotten.
int next_failure_count(int failures, std::int64_t locked_until, std::int64_t now) {
    if (now - locked_until >= limits::kLoginFailuresKept) return 1;
    return std::min(failures, 1000) + 1;
}

// Whether a new key may be counted: old rows go first, and when the table
// is still full of fresh ones (a flood of invented names) it may not.
bool has_room(store::Db& db, const Counter& counter, std::int64_t now) {
    if (!counter.forget) return true;
    store::Query(db, counter.forget, now - limits::kLoginFailuresKept).run();
    store::Query count(db, counter.size);
    return count.next() && count.integer(0) < static_cast<std::int64_t>(counter.max_rows);
}

// Counts one attempt against `key`, inside the writer, before its password
// is verified. Returns the end of the lock that refuses it, or 0 when it
// may be verified. A refused attempt is not counted: the lock does not
// grow while it holds.
std::int64_t count_attempt(store::Db& db, const Counter& counter, const std::string& key, std::int64_t now) {
    int failures = 1;
    {
        store::Query current(db, counter.read, key);
        if (current.next()) {
            if (current.integer(1) > now) return current.integer(1);
            failures = next_failure_count(static_cast<int>(current.integer(0)), current.integer(1), now);
        } else if (!has_room(db, counter, now)) {
            return 0;
        }
    }
    store::Query(db, counter.write, key, failures, now + lock_seconds(failures)).run();
    return 0;
}

// Takes back an attempt that was counted but never verified (no slot freed
// up): the count and its lock become what one attempt fewer would have
// made, so that a crowd of others' logins cannot lock an operator out
// through her own 503s.
void give_back(store::Db& db, const Counter& counter, const std::string& key, std::int64_t now) {
    int failures = 0;
    std::int64_t locked_until = 0;
    {
        store::Query current(db, counter.read, key);
        if (!current.next() || current.integer(0) == 0) return;
        failures = static_cast<int>(current.integer(0)) - 1;
        locked_until = std::min(current.integer(1), now + lock_seconds(failures));
    }
    store::Query(db, counter.write, key, failures, locked_until).run();
}

struct Account {
    std::int64_t id;
    std::string password_hash;
    bool disabled;
    std::string shown_as;
};

std::optional<Account> read_account(store::Db& db, std::string_view username) {
    if (!agents::is_valid_username(username)) return std::nullopt;
    store::Query query(db, kAccount, username);
    if (!query.next()) return std::nullopt;
    return Account{query.integer(0), query.text(1), query.integer(2) != 0, query.text(3)};
}

// One attempt as the counting transaction saw it.
struct Counted {
    std::optional<Account> account;  // of the username, if there is one
    const Counter* counter = nullptr;  // where the attempt was counted
    std::string key;                   // under which key
    std::int64_t locked_until = 0;     // > now: refused, not verified
};

// Inside the writer: the browser's own count when its device cookie is
// valid for this username, else the username's (account or not).
Counted count(store::Db& db, const Credentials& credentials, std::int64_t now) {
    const Keys keys(db);
    Counted counted{read_account(db, credentials.username), &kAccounts, std::string(credentials.username), 0};
    if (credentials.device && keys.signs(*credentials.device, credentials.username)) {
        counted.counter = &kDevices;
        counted.key = token::hash(nonce_of(*credentials.device));
    } else if (!counted.account) {
        counted.counter = &kUnknownNames;
        counted.key = keys.name_hash(credentials.username);
    }
    counted.locked_until = count_attempt(db, *counted.counter, counted.key, now);
    return counted;
}

// Releases a slot of FairSlots on every way out.
class Held {
public:
    explicit Held(FairSlots& slots) : slots_(slots) {}
    ~Held() { slots_.release(); }
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;

private:
    FairSlots& slots_;
};

struct NoSlot {};  // verify() found no slot in time

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

FairSlots::FairSlots(int slots) : free_(slots) {}

bool FairSlots::acquire(std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    std::unique_lock lock(mutex_);
    const auto mine = queue_.insert(queue_.end(), next_ticket_++);
    const bool served =
        changed_.wait_until(lock, deadline, [&] { return free_ > 0 && queue_.begin() == mine; });
    queue_.erase(mine);
    if (served) --free_;
    changed_.notify_all();  // the next in line may be first now
    return served;
}

void FairSlots::release() {
    {
        std::lock_guard lock(mutex_);
        ++free_;
    }
    changed_.notify_all();
}

std::size_t FairSlots::waiting() {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

Gate::Gate() : slots_(static_cast<int>(limits::kMaxConcurrentVerifications)) {}

bool Gate::verify(const std::string& hash, std::string_view password) {
    // Each verification holds its memory (32 MiB): a few at once at most.
    if (!slots_.acquire(std::chrono::milliseconds(limits::kVerificationWaitMs))) throw NoSlot{};
    const Held held(slots_);
    return agents::verify_password(hash, password);
}

Login Gate::login(store::Writer& writer, const Credentials& credentials, std::int64_t now) {
    Counted counted;
    writer.run([&](store::Db& db) { counted = count(db, credentials, now); });
    if (counted.locked_until > now) throw too_many_attempts(counted.locked_until, now);

    const auto& account = counted.account;
    bool password_ok = false;
    try {
        password_ok = verify(account ? account->password_hash : std::string(dummy_hash()), credentials.password);
    } catch (const NoSlot&) {
        writer.run([&](store::Db& db) { give_back(db, *counted.counter, counted.key, now); });
        throw http::Error{503, "unavailable", "Trop de connexions en même temps. Réessayez dans un instant."};
    }
    if (!account || !password_ok || account->disabled) throw invalid_credentials();

    Login login{{.id = account->id,
                 .username = std::string(credentials.username),
                 .shown_as = account->shown_as,
                 .login_hash = "",
                 .csrf = token::generate()},
                token::generate(),
                ""};
    login.agent.login_hash = token::hash(login.cookie);
    bool still_enabled = false;
    writer.run([&](store::Db& db) {
        still_enabled = store::Query(db, kEnabled, account->id).next();  // not disabled since we read it
        if (!still_enabled) return;
        store::Query(db, counted.counter->write, counted.key, 0, 0).run();
        store::Query(db, kDropExpired, now).run();
        store::Query(db, kInsertLogin, login.agent.login_hash, account->id, login.agent.csrf,
                     now + limits::kLoginSeconds)
            .run();
        login.device = Keys(db).device_cookie(credentials.username);
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
    return cookie_value(request.cookie, cookie_name(request.https), token::is_well_formed);
}

std::string device_cookie_name(bool https) {
    return std::string(https ? kSecureDeviceCookieName : kDeviceCookieName);
}

std::string set_device_cookie(const std::string& device, bool https) {
    return device_cookie_name(https) + "=" + device + "; Path=/api/agent/login; Max-Age=" +
           std::to_string(limits::kDeviceCookieSeconds) + "; HttpOnly; SameSite=Strict" + (https ? "; Secure" : "");
}

std::optional<std::string> device_of(const http::Request& request) {
    return cookie_value(request.cookie, device_cookie_name(request.https), is_device_shaped);
}

std::optional<Agent> find(store::Db& db, const std::string& login_hash, std::int64_t now) {
    store::Query query(db, kByCookie, login_hash, now);
    if (!query.next()) return std::nullopt;
    return Agent{.id = query.integer(0),
                 .username = query.text(1),
                 .shown_as = query.text(3),
                 .login_hash = login_hash,
                 .csrf = query.text(2)};
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

void make_secret(store::Db& db) { Keys made_or_read(db); }

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

#include "agents.hpp"
#include "duty.hpp"
#include "input.hpp"
#include "limits.hpp"
#include "routing.hpp"

#include <sodium.h>
#include <algorithm>
#include <stdexcept>

namespace abri::agents {

namespace {

constexpr unsigned long long kOpsLimit = 3;
constexpr std::size_t kMemLimit = 32UL * 1024 * 1024;
constexpr std::size_t kMinPasswordBytes = 10;

constexpr const char* kInsert = "INSERT INTO agents (username, password_hash, display_name) VALUES (?, ?, ?)";
constexpr const char* kByName = "SELECT id, disabled FROM agents WHERE username = ?";
constexpr const char* kEnable = "UPDATE agents SET disabled = 0, failed_logins = 0, locked_until = 0 WHERE username = ?";
constexpr const char* kSetPassword = "UPDATE agents SET password_hash = ? WHERE username = ?";
constexpr const char* kList =
    "SELECT a.username, a.disabled, a.last_poll, a.away_at, coalesce(group_concat(u.code, ' '), ''), "
    "coalesce(a.display_name, '') "
    "FROM agents a LEFT JOIN agent_units au ON au.agent_id = a.id LEFT JOIN units u ON u.id = au.unit_id "
    "GROUP BY a.id ORDER BY a.username";
constexpr const char* kAddUnit = "INSERT OR IGNORE INTO agent_units (agent_id, unit_id) VALUES (?, ?)";
constexpr const char* kDisable = "UPDATE agents SET disabled = 1 WHERE username = ?";
constexpr const char* kRename = "UPDATE agents SET display_name = ? WHERE username = ?";
constexpr const char* kDelete = "DELETE FROM agents WHERE id = ?";
constexpr const char* kLogoutAll = "DELETE FROM agent_logins WHERE agent_id = (SELECT id FROM agents WHERE username = ?)";

}  // namespace

std::string hash_password(std::string_view password) {
    if (password.size() < kMinPasswordBytes || password.size() > limits::kMaxPasswordBytes) {
        throw std::runtime_error("a password is " + std::to_string(kMinPasswordBytes) + " to " +
                                 std::to_string(limits::kMaxPasswordBytes) + " bytes");
    }
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(hash, password.data(), password.size(), kOpsLimit, kMemLimit) != 0) {
        throw std::runtime_error("out of memory while hashing the password");
    }
    return hash;
}

bool verify_password(const std::string& hash, std::string_view password) {
    return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

bool is_valid_username(std::string_view username) {
    return !username.empty() && username.size() <= limits::kMaxUsernameBytes &&
           std::all_of(username.begin(), username.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
           });
}

bool is_valid_display_name(std::string_view name) {
    return name.size() <= limits::kMaxDisplayNameBytes && input::is_clean_utf8(name) && !input::is_blank(name) &&
           name.find_first_of("\t\n") == std::string_view::npos;
}

namespace {
// NULL for none; else checked.
std::optional<std::string> display_column(std::string_view display_name) {
    if (display_name.empty()) return std::nullopt;
    if (!is_valid_display_name(display_name)) {
        throw std::runtime_error("a display name is one line of 1 to " +
                                 std::to_string(limits::kMaxDisplayNameBytes) + " bytes");
    }
    return std::string(display_name);
}
}  // namespace

void add(store::Db& db, std::string_view username, const std::string& password_hash,
         const std::vector<std::string>& unit_codes, std::string_view display_name) {
    if (!is_valid_username(username)) {
        throw std::runtime_error("a username is 1 to 64 of a-z, 0-9, '.', '-', '_'");
    }
    const auto display = display_column(display_name);
    if (store::Query existing(db, kByName, username); existing.next()) {
        if (existing.integer(1) != 0) {
            throw std::runtime_error("operator " + std::string(username) +
                                     " exists and is disabled: use `abrictl agent enable " + std::string(username) +
                                     "` (and `agent passwd` for a new password)");
        }
        throw std::runtime_error("operator " + std::string(username) + " exists already");
    }
    store::Query(db, kInsert, username, password_hash, display).run();
    const std::int64_t id = store::last_insert_id(db);
    for (const auto& code : unit_codes) {
        const auto unit = routing::find_unit(db, code);
        if (!unit) throw std::runtime_error("no unit " + code + " (add it with: abrictl unit add)");
        store::Query(db, kAddUnit, id, unit->id).run();
    }
}

namespace {
std::int64_t require_id(store::Db& db, std::string_view username) {
    store::Query query(db, kByName, username);
    if (!query.next()) throw std::runtime_error("no operator " + std::string(username) + " (see: abrictl agent list)");
    return query.integer(0);
}
}  // namespace

int disable(store::Db& db, std::string_view username, std::int64_t now) {
    const std::int64_t id = require_id(db, username);
    store::Query(db, kDisable, username).run();
    store::Query(db, kLogoutAll, username).run();
    return duty::sign_off(db, id, now);
}

void enable(store::Db& db, std::string_view username) {
    require_id(db, username);
    store::Query(db, kEnable, username).run();
}

void set_password(store::Db& db, std::string_view username, const std::string& password_hash) {
    require_id(db, username);
    store::Query(db, kSetPassword, password_hash, username).run();
    store::Query(db, kLogoutAll, username).run();
}

void rename(store::Db& db, std::string_view username, std::string_view display_name) {
    const auto display = display_column(display_name);
    require_id(db, username);
    store::Query(db, kRename, display, username).run();
}

int remove(store::Db& db, std::string_view username, std::int64_t now) {
    const std::int64_t id = require_id(db, username);
    const int released = duty::sign_off(db, id, now);
    store::Query(db, kDelete, id).run();
    return released;
}

std::vector<Listing> list(store::Db& db) {
    std::vector<Listing> out;
    store::Query query(db, kList);
    while (query.next()) {
        Listing agent{.username = query.text(0),
                      .display_name = query.text(5),
                      .disabled = query.integer(1) != 0,
                      .unit_codes = {},
                      .last_poll = query.integer(2),
                      .away = query.integer(3) != 0};
        const std::string codes = query.text(4);
        for (std::size_t start = 0; start < codes.size();) {
            const auto space = codes.find(' ', start);
            const auto end = space == std::string::npos ? codes.size() : space;
            agent.unit_codes.push_back(codes.substr(start, end - start));
            start = end + 1;
        }
        out.push_back(std::move(agent));
    }
    return out;
}

}  // namespace abri::agents

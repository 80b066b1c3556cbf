#include "agents.hpp"
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

constexpr const char* kInsert = "INSERT INTO agents (username, password_hash) VALUES (?, ?)";
constexpr const char* kByName = "SELECT id FROM agents WHERE username = ?";
constexpr const char* kAddUnit = "INSERT OR IGNORE INTO agent_units (agent_id, unit_id) VALUES (?, ?)";
constexpr const char* kDisable = "UPDATE agents SET disabled = 1 WHERE username = ?";
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

void add(store::Db& db, std::string_view username, const std::string& password_hash,
         const std::vector<std::string>& unit_codes) {
    if (!is_valid_username(username)) {
        throw std::runtime_error("a username is 1 to 64 of a-z, 0-9, '.', '-', '_'");
    }
    if (store::Query(db, kByName, username).next()) {
        throw std::runtime_error("operator " + std::string(username) + " exists already");
    }
    store::Query(db, kInsert, username, password_hash).run();
    const std::int64_t id = store::last_insert_id(db);
    for (const auto& code : unit_codes) {
        const auto unit = routing::find_unit(db, code);
        if (!unit) throw std::runtime_error("no unit " + code + " (add it with: abrictl unit add)");
        store::Query(db, kAddUnit, id, unit->id).run();
    }
}

void disable(store::Db& db, std::string_view username) {
    store::Query(db, kDisable, username).run();
    if (store::changes(db) == 0) throw std::runtime_error("no operator " + std::string(username));
    store::Query(db, kLogoutAll, username).run();
}

}  // namespace abri::agents

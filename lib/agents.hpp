// Operators' accounts: who they are, which units they belong to, their
// password hashes (Argon2id). Logins and cookies are in auth.hpp.
#pragma once
#include "store.hpp"
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace abri::agents {

// Argon2id with limits fit for a modest server: 32 MiB, 3 passes.
std::string hash_password(std::string_view password);
bool verify_password(const std::string& hash, std::string_view password);

bool is_valid_username(std::string_view username);

// Inside a write transaction; throw std::runtime_error for the admin.
void add(store::Db& db, std::string_view username, const std::string& password_hash,
         const std::vector<std::string>& unit_codes);
// Logged out everywhere; every conversation held goes back to its queue.
// Returns how many.
int disable(store::Db& db, std::string_view username, std::int64_t now);
void enable(store::Db& db, std::string_view username);
// A new password; every login of the account ends.
void set_password(store::Db& db, std::string_view username, const std::string& password_hash);

struct Listing {
    std::string username;
    bool disabled;
    std::vector<std::string> unit_codes;
    std::int64_t last_poll;  // the console's last events poll, 0: never
    bool away;
};
std::vector<Listing> list(store::Db& db);

}  // namespace abri::agents

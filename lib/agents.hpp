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
void disable(store::Db& db, std::string_view username);

}  // namespace abri::agents

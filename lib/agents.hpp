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
// A name shown to colleagues: one line of 1 to limits::kMaxDisplayNameBytes
// of text, as a message's rules allow.
bool is_valid_display_name(std::string_view name);

// Inside a write transaction; throw std::runtime_error for the admin.
// `display_name` empty: colleagues see the username.
void add(store::Db& db, std::string_view username, const std::string& password_hash,
         const std::vector<std::string>& unit_codes, std::string_view display_name = {});
// Logged out everywhere; every conversation held goes back to its queue.
// Returns how many.
int disable(store::Db& db, std::string_view username, std::int64_t now);
void enable(store::Db& db, std::string_view username);
// A new password; every login of the account ends.
void set_password(store::Db& db, std::string_view username, const std::string& password_hash);
// A new display name; empty: the username again.
void rename(store::Db& db, std::string_view username, std::string_view display_name);
// The account goes, after its conversations went back to their queues
// (duty::sign_off); its messages stay, their author forgotten. Returns
// how many conversations went back.
int remove(store::Db& db, std::string_view username, std::int64_t now);

struct Listing {
    std::string username;
    std::string display_name;  // empty: none
    bool disabled;
    std::vector<std::string> unit_codes;
    std::int64_t last_poll;  // the console's last events poll, 0: never
    bool away;
};
std::vector<Listing> list(store::Db& db);

}  // namespace abri::agents

// Secrets handed to browsers (victims' bearer tokens, operators' cookies
// and CSRF values) and the public ids operators see. Only hashes of the
// secrets are stored.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace abri::token {

// 256 bits from the OS CSPRNG (libsodium), base64url without padding.
std::string generate();
// Hex BLAKE2b-256 of a secret: what the database keeps.
std::string hash(std::string_view secret);
// A secret as generate() makes them: the right length and alphabet.
bool is_well_formed(std::string_view secret);

// A visitor's bearer token: 8 hex digits of the time it was made (Unix
// seconds), then generate(). The time leads so that the database's index
// of these keys keeps the chats of one hour side by side: a purge of
// thousands of chats then rewrites a few hundred index pages instead of
// every one (docs/performance.md). It tells whoever holds the token
// nothing they do not know.
std::string session_token(std::int64_t now);
bool is_session_token(std::string_view token);
// What sessions.token_hash keeps of a session token: its time digits,
// then hash(token).
std::string session_key(std::string_view token);
// The session token of an `Authorization: Bearer <token>` header, if well
// formed.
std::optional<std::string> from_bearer(std::string_view authorization);

// 10 characters of Crockford base32, easy to read aloud: 4 of the time
// (in 64-second steps, for the same reason as session_token) and 6 random
// (30 bits, unique within those 64 seconds but for a rare collision that
// the database's UNIQUE index catches).
std::string public_id(std::int64_t now);
bool is_public_id(std::string_view id);
// Constant-time comparison of two secrets.
bool equal(std::string_view a, std::string_view b);

}  // namespace abri::token

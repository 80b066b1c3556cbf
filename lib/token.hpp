// Secrets handed to browsers (victims' bearer tokens, operators' cookies
// and CSRF values) and the public ids operators see. Only hashes of the
// secrets are stored.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace abri::token {

// 256 bits from the OS CSPRNG (libsodium), base64url without padding.
std::string generate();
// Hex BLAKE2b-256 of a secret: what the database keeps.
std::string hash(std::string_view secret);
// A token as generate() makes them: the right length and alphabet.
bool is_well_formed(std::string_view secret);
// The token of an `Authorization: Bearer <token>` header, if well formed.
std::optional<std::string> from_bearer(std::string_view authorization);
// 10 characters of Crockford base32 (50 bits), easy to read aloud.
std::string public_id();
bool is_public_id(std::string_view id);
// Constant-time comparison of two secrets.
bool equal(std::string_view a, std::string_view b);

}  // namespace abri::token

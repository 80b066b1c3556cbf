// Declared inputs: each endpoint lists the fields and query keys it takes,
// with their type, size and the error code a bad value answers. Anything
// not declared is refused before a handler sees it.
#pragma once
#include "http.hpp"
#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace abri::input {

enum class Kind { String, Bool };

struct Field {
    std::string_view name;
    Kind kind;
    bool required;
    std::size_t max_bytes;     // for strings
    std::string_view error;    // code answered when this field is bad
    constexpr bool operator==(const Field&) const = default;
};

// A validated JSON body: only declared fields, each of its declared type.
class Body {
public:
    std::string text(std::string_view name) const;              // required string
    std::optional<bool> flag(std::string_view name) const;      // optional bool
    bool has(std::string_view name) const;
    std::map<std::string, nlohmann::json, std::less<>> fields;
};

// Checks content type (415), size (413), JSON shape and depth (400) and the
// fields. `empty_ok`: an absent body counts as {} (keepalive beacons).
Body parse_body(const http::Request& request, std::span<const Field> spec, bool empty_ok = false);

struct QueryKey {
    std::string_view name;
    long min;
    long max;
    std::string_view error;
    constexpr bool operator==(const QueryKey&) const = default;
};

// Parses a query string of decimal integers. Unknown or repeated keys,
// non-digits and out-of-range values are 400; a leading minus sign is
// accepted only for a key whose minimum is negative.
std::map<std::string, long, std::less<>> parse_query(std::string_view query, std::span<const QueryKey> spec);

// True when `text` is valid UTF-8 without what the contract refuses in a
// message: C0 controls but tab and line feed, DEL, C1 controls,
// bidirectional overrides and isolates, line and paragraph separators.
bool is_clean_utf8(std::string_view text);

// Number of code points of valid UTF-8, as sent.
std::size_t code_points(std::string_view text);

// True when every character is white space (Unicode's spaces included), or
// there is none.
bool is_blank(std::string_view text);

// 1 to `max_bytes` of A-Z, a-z, 0-9, '-' and '_': a page's own id.
bool is_token_word(std::string_view text, std::size_t max_bytes);

}  // namespace abri::input

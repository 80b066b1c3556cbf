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
};

// Parses a query string of decimal integers. Unknown or repeated keys,
// non-digits and out-of-range values are 400.
std::map<std::string, long, std::less<>> parse_query(std::string_view query, std::span<const QueryKey> spec);

// True when `text` is valid UTF-8 without NUL or other C0 controls except
// tab, newline and carriage return.
bool is_clean_utf8(std::string_view text);

// Number of code points once leading and trailing white space is removed.
std::size_t trimmed_length(std::string_view text);

}  // namespace abri::input

// From a postcode to the one unit that answers it.
#pragma once
#include "store.hpp"
#include <optional>
#include <string>
#include <string_view>

namespace abri::routing {

// Five digits naming a French department: 01-95 (20 for Corsica),
// 971-976 or 98x. Anything else is refused.
bool is_valid_postcode(std::string_view postcode);
// A route key: a valid postcode or its first 2 to 4 digits, 2A or 2B.
bool is_valid_key(std::string_view key);
// "2A" or "2B" for a Corsican postcode of the reference list, else empty.
std::string_view corsican_department(std::string_view postcode);

struct Unit {
    std::int64_t id;
    std::string code;
    std::string name;
    std::string kind;  // "police" or "gendarmerie"
};

// The most specific route: the postcode, its first 4, 3 digits, the
// Corsican department, its first 2 digits, then the default. Empty only
// when no default is configured.
std::optional<Unit> route(store::Db& db, std::string_view postcode);

std::optional<Unit> find_unit(store::Db& db, std::string_view code);

// Admin changes, inside a write transaction; they throw std::runtime_error
// with a message for the admin when refused.
void add_unit(store::Db& db, std::string_view code, std::string_view name, std::string_view kind);
// Adds KEY, or moves it to `unit_code` when it exists. KEY "*" is the default.
void set_route(store::Db& db, std::string_view key, std::string_view unit_code);

}  // namespace abri::routing

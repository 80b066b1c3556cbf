// From a postcode to the one unit that answers it.
#pragma once
#include "store.hpp"
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace abri::routing {

// Five digits naming a French department: 01-95 (20 for Corsica),
// 971-976 or 984-989. Anything else is refused, and says why: not five
// digits, no such department, or Monaco (980xx), which has its own
// emergency services.
enum class PostcodeProblem { None, Format, Department, Monaco };
PostcodeProblem postcode_problem(std::string_view postcode);
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
std::optional<Unit> find_unit_by_id(store::Db& db, std::int64_t id);

// For the admin: every unit with its fallback's code (empty: none), and
// every route as (KEY, unit code), the default "*" last.
struct UnitListing {
    Unit unit;
    std::string fallback_code;
    bool signs_names;
};
std::vector<UnitListing> list_units(store::Db& db);
std::vector<std::pair<std::string, std::string>> list_routes(store::Db& db);

// Admin changes, inside a write transaction; they throw std::runtime_error
// with a message for the admin when refused.
void add_unit(store::Db& db, std::string_view code, std::string_view name, std::string_view kind);
void rename_unit(store::Db& db, std::string_view code, std::string_view name);
// Refused, saying what uses it, while routes, operators, conversations (live
// or waiting for the purge) or other units' fallbacks name the unit.
void remove_unit(store::Db& db, std::string_view code);
// Adds KEY, or moves it to `unit_code` when it exists. KEY "*" is the default.
void set_route(store::Db& db, std::string_view key, std::string_view unit_code);
void remove_route(store::Db& db, std::string_view key);
// FALLBACK_CODE "none" removes the fallback.
void set_fallback(store::Db& db, std::string_view unit_code, std::string_view fallback_code);
// Whether the person sees the unit's operators' display names on their
// next messages (else the unit's kind). Throws when there is no such unit.
void set_signs_names(store::Db& db, std::string_view unit_code, bool on);

}  // namespace abri::routing

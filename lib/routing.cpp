#include "routing.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>
#include <vector>

namespace abri::routing::generated {
// build/gen/corsica.cpp, from sql/fr-postcodes.csv, sorted by postcode.
extern const std::pair<const char*, const char*> kCorsica[];
extern const std::size_t kCorsicaCount;
}  // namespace abri::routing::generated

namespace abri::routing {

namespace {

bool all_digits(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Whether the first digits can begin a valid postcode.
bool is_valid_department_prefix(std::string_view digits) {
    if (digits.size() < 2 || !all_digits(digits)) return false;
    const int two = (digits[0] - '0') * 10 + (digits[1] - '0');
    if (two >= 1 && two <= 95) return true;
    if (two == 97) return digits.size() == 2 || (digits[2] >= '1' && digits[2] <= '6');
    return two == 98;
}

constexpr const char* kUnitById = "SELECT id, code, name, kind FROM units WHERE id = ?";
constexpr const char* kUnitByCode = "SELECT id, code, name, kind FROM units WHERE code = ?";
constexpr const char* kRouteByKey = "SELECT unit_id FROM routes WHERE key = ?";
constexpr const char* kInsertUnit = "INSERT INTO units (code, name, kind) VALUES (?, ?, ?)";
constexpr const char* kUpsertRoute =
    "INSERT INTO routes (key, unit_id) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET unit_id = excluded.unit_id";

std::optional<Unit> read_unit(store::Query& query) {
    if (!query.next()) return std::nullopt;
    return Unit{query.integer(0), query.text(1), query.text(2), query.text(3)};
}

}  // namespace

bool is_valid_postcode(std::string_view postcode) {
    return postcode.size() == 5 && is_valid_department_prefix(postcode);
}

bool is_valid_key(std::string_view key) {
    if (key == "2A" || key == "2B") return true;
    if (key.size() == 5) return is_valid_postcode(key);
    return key.size() >= 2 && key.size() <= 4 && is_valid_department_prefix(key);
}

std::string_view corsican_department(std::string_view postcode) {
    const auto* begin = generated::kCorsica;
    const auto* end = generated::kCorsica + generated::kCorsicaCount;
    const auto* found = std::lower_bound(begin, end, postcode,
                                         [](const auto& entry, std::string_view key) { return entry.first < key; });
    return found != end && found->first == postcode ? std::string_view(found->second) : std::string_view{};
}

std::optional<Unit> route(store::Db& db, std::string_view postcode) {
    std::vector<std::string_view> keys = {postcode, postcode.substr(0, 4), postcode.substr(0, 3)};
    if (const auto department = corsican_department(postcode); !department.empty()) keys.push_back(department);
    keys.push_back(postcode.substr(0, 2));
    keys.push_back("*");
    for (const auto key : keys) {
        store::Query lookup(db, kRouteByKey, key);
        if (lookup.next()) {
            store::Query unit(db, kUnitById, lookup.integer(0));
            return read_unit(unit);
        }
    }
    return std::nullopt;
}

std::optional<Unit> find_unit(store::Db& db, std::string_view code) {
    store::Query unit(db, kUnitByCode, code);
    return read_unit(unit);
}


void add_unit(store::Db& db, std::string_view code, std::string_view name, std::string_view kind) {
    const bool code_ok = !code.empty() && code.size() <= 32 &&
                         std::all_of(code.begin(), code.end(), [](char c) {
                             return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
                         });
    if (!code_ok) throw std::runtime_error("a unit code is 1 to 32 capital letters, digits, '-' or '_'");
    if (name.empty() || name.size() > 120) throw std::runtime_error("a unit name is 1 to 120 bytes");
    if (kind != "police" && kind != "gendarmerie") throw std::runtime_error("--kind is police or gendarmerie");
    if (find_unit(db, code)) throw std::runtime_error("unit " + std::string(code) + " exists already");
    store::Query(db, kInsertUnit, code, name, kind).run();
}

void set_route(store::Db& db, std::string_view key, std::string_view unit_code) {
    if (key != "*" && !is_valid_key(key)) {
        throw std::runtime_error("'" + std::string(key) +
                                 "' is not a route key: a postcode or its first digits (13, 130, 13001, 974), or 2A, 2B");
    }
    const auto unit = find_unit(db, unit_code);
    if (!unit) throw std::runtime_error("no unit " + std::string(unit_code) + " (add it with: abrictl unit add)");
    store::Query(db, kUpsertRoute, key, unit->id).run();
}

}  // namespace abri::routing

#include "routing.hpp"
#include "limits.hpp"

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
    if (two == 98) return digits.size() == 2 || (digits[2] >= '4' && digits[2] <= '9');
    return false;
}

constexpr const char* kUnitById = "SELECT id, code, name, kind FROM units WHERE id = ?";
constexpr const char* kUnitByCode = "SELECT id, code, name, kind FROM units WHERE code = ?";
constexpr const char* kRouteByKey = "SELECT unit_id FROM routes WHERE key = ?";
constexpr const char* kInsertUnit = "INSERT INTO units (code, name, kind) VALUES (?, ?, ?)";
constexpr const char* kRenameUnit = "UPDATE units SET name = ? WHERE id = ?";
constexpr const char* kDeleteUnit = "DELETE FROM units WHERE id = ?";
// What still names a unit: routes, operators, conversations (live or not
// yet purged), units falling back to it.
constexpr const char* kUnitUsers =
    "SELECT (SELECT count(*) FROM routes WHERE unit_id = ?1), (SELECT count(*) FROM agent_units WHERE unit_id = ?1), "
    "(SELECT count(*) FROM sessions WHERE unit_id = ?1), (SELECT count(*) FROM units WHERE fallback_id = ?1)";
constexpr const char* kListUnits =
    "SELECT u.id, u.code, u.name, u.kind, coalesce(f.code, ''), u.signs_names "
    "FROM units u LEFT JOIN units f ON f.id = u.fallback_id "
    "ORDER BY u.code";
constexpr const char* kListRoutes =
    "SELECT r.key, u.code FROM routes r JOIN units u ON u.id = r.unit_id ORDER BY r.key = '*', r.key";
constexpr const char* kDeleteRoute = "DELETE FROM routes WHERE key = ?";
constexpr const char* kSetFallback = "UPDATE units SET fallback_id = ?2 WHERE id = ?1";
constexpr const char* kSetSignsNames = "UPDATE units SET signs_names = ?2 WHERE code = ?1";
constexpr const char* kUpsertRoute =
    "INSERT INTO routes (key, unit_id) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET unit_id = excluded.unit_id";

std::optional<Unit> read_unit(store::Query& query) {
    if (!query.next()) return std::nullopt;
    return Unit{query.integer(0), query.text(1), query.text(2), query.text(3)};
}

}  // namespace

PostcodeProblem postcode_problem(std::string_view postcode) {
    if (postcode.size() != 5 || !all_digits(postcode)) return PostcodeProblem::Format;
    if (postcode.substr(0, 3) == "980") return PostcodeProblem::Monaco;
    if (!is_valid_department_prefix(postcode)) return PostcodeProblem::Department;
    return PostcodeProblem::None;
}

bool is_valid_postcode(std::string_view postcode) { return postcode_problem(postcode) == PostcodeProblem::None; }

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

std::optional<Unit> find_unit_by_id(store::Db& db, std::int64_t id) {
    store::Query unit(db, kUnitById, id);
    return read_unit(unit);
}

std::vector<UnitListing> list_units(store::Db& db) {
    std::vector<UnitListing> units;
    store::Query query(db, kListUnits);
    while (query.next()) {
        units.push_back({.unit = {query.integer(0), query.text(1), query.text(2), query.text(3)},
                         .fallback_code = query.text(4),
                         .signs_names = query.integer(5) != 0});
    }
    return units;
}

std::vector<std::pair<std::string, std::string>> list_routes(store::Db& db) {
    std::vector<std::pair<std::string, std::string>> routes;
    store::Query query(db, kListRoutes);
    while (query.next()) routes.emplace_back(query.text(0), query.text(1));
    return routes;
}


namespace {
void check_unit_name(std::string_view name) {
    if (name.empty() || name.size() > limits::kMaxUnitNameBytes) {
        throw std::runtime_error("a unit name is 1 to " + std::to_string(limits::kMaxUnitNameBytes) + " bytes");
    }
}

Unit require_unit(store::Db& db, std::string_view code) {
    auto unit = find_unit(db, code);
    if (!unit) throw std::runtime_error("no unit " + std::string(code) + " (see: abrictl unit list)");
    return *unit;
}
}  // namespace

void add_unit(store::Db& db, std::string_view code, std::string_view name, std::string_view kind) {
    const bool code_ok = !code.empty() && code.size() <= limits::kMaxUnitCodeBytes &&
                         std::all_of(code.begin(), code.end(), [](char c) {
                             return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
                         });
    if (!code_ok) throw std::runtime_error("a unit code is 1 to 32 capital letters, digits, '-' or '_'");
    check_unit_name(name);
    if (kind != "police" && kind != "gendarmerie") throw std::runtime_error("--kind is police or gendarmerie");
    if (find_unit(db, code)) throw std::runtime_error("unit " + std::string(code) + " exists already");
    store::Query(db, kInsertUnit, code, name, kind).run();
}

void rename_unit(store::Db& db, std::string_view code, std::string_view name) {
    check_unit_name(name);
    store::Query(db, kRenameUnit, name, require_unit(db, code).id).run();
}

void remove_unit(store::Db& db, std::string_view code) {
    const Unit unit = require_unit(db, code);
    store::Query users(db, kUnitUsers, unit.id);
    users.next();
    std::string uses;
    const auto use = [&](int column, const char* what, const char* how) {
        if (users.integer(column) == 0) return;
        uses += "\n  " + std::to_string(users.integer(column)) + " " + what + " (" + how + ")";
    };
    use(0, "route(s)", "abrictl route list, route remove or route add KEY OTHER_UNIT");
    use(1, "operator(s)", "abrictl agent list, agent remove");
    use(2, "conversation(s), live or not yet purged", "wait for them to end and for the purge");
    use(3, "unit(s) falling back to it", "abrictl unit fallback CODE none");
    if (!uses.empty()) throw std::runtime_error("unit " + unit.code + " is still in use, nothing removed:" + uses);
    store::Query(db, kDeleteUnit, unit.id).run();  // its canned replies with it
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

void remove_route(store::Db& db, std::string_view key) {
    store::Query(db, kDeleteRoute, key).run();
    if (store::changes(db) == 0) throw std::runtime_error("no route " + std::string(key) + " (see: abrictl route list)");
}

void set_fallback(store::Db& db, std::string_view unit_code, std::string_view fallback_code) {
    const auto unit = find_unit(db, unit_code);
    if (!unit) throw std::runtime_error("no unit " + std::string(unit_code) + " (see: abrictl unit list)");
    if (fallback_code == "none") {
        store::Query(db, kSetFallback, unit->id, nullptr).run();
        return;
    }
    const auto fallback = find_unit(db, fallback_code);
    if (!fallback) throw std::runtime_error("no unit " + std::string(fallback_code) + " (see: abrictl unit list)");
    if (fallback->id == unit->id) throw std::runtime_error("a unit cannot be its own fallback");
    store::Query(db, kSetFallback, unit->id, fallback->id).run();
}

void set_signs_names(store::Db& db, std::string_view unit_code, bool on) {
    store::Query(db, kSetSignsNames, unit_code, static_cast<std::int64_t>(on)).run();
    if (store::changes(db) == 0) throw std::runtime_error("no unit " + std::string(unit_code) + " (see: abrictl unit list)");
}

}  // namespace abri::routing

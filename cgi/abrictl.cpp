// abrictl: the admin's command line, run on the server next to the
// database. Every command prints what it did and exits 0, or a clear
// message and 1; a command line it does not know is a usage error: the
// message, the usage, and 2.
//
// The commands are one table, kCommands (at the end, after the functions
// its rows name), as lib/route.hpp's tables are for the HTTP programs: a
// row says the command's words, how many operands it takes, its options,
// its line of the usage and the function that does the work. dispatch()
// finds the row and checks the operands and options, once for every row;
// `abrictl help` prints the usage from the rows, so that no command goes
// undocumented, and `abrictl --commands` the rows themselves, tab-separated
// (tests/integration/test_abrictl.py holds the two together). Every list
// (and stats) prints a table for people, or JSON with --json.
#include "../lib/agents.hpp"
#include "../lib/auth.hpp"
#include "../lib/config.hpp"
#include "../lib/limits.hpp"
#include "../lib/replies.hpp"
#include "../lib/routing.hpp"
#include "../lib/stats.hpp"
#include "../lib/store.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <ctime>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using namespace abri;

namespace {

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Every option of every command, read at once by getopt_long; each row of
// kCommands then says which it takes (Args::only). --commands prints the
// table.
constexpr Option kOptions[] = {{"db", true},      {"name", true},  {"kind", true}, {"unit", true},
                               {"display", true}, {"title", true}, {"json", false}, {"help", false},
                               {"commands", false}};

// A command line once read: the words and each option's values, in order.
struct Args {
    // The command, its subcommand word, then its operands; dispatch()
    // leaves only the operands for the row's function.
    std::vector<std::string> words;
    std::map<std::string, std::vector<std::string>, std::less<>> options;

    const std::string& operator[](std::size_t i) const { return words.at(i); }
    std::size_t size() const { return words.size(); }
    bool has(std::string_view name) const { return options.find(name) != options.end(); }

    // Refuses an option the command does not take.
    void only(std::span<const std::string_view> taken) const {
        for (const auto& [name, values] : options) {
            if (std::ranges::find(taken, name) == taken.end()) {
                throw UsageError("--" + name + " does not go with this command");
            }
        }
    }
    std::vector<std::string> all(const std::string& name) const {
        const auto found = options.find(name);
        return found == options.end() ? std::vector<std::string>{} : found->second;
    }
    std::string one(const std::string& name) const {
        const auto values = all(name);
        if (values.size() != 1) throw UsageError("--" + name + " is needed once");
        return values.front();
    }
};

// Reads the command line into `args`, and --db into `config`.
Args read_command_line(int argc, char** argv, Config& config) {
    Args args;
    try {
        args.words = parse_command_line(argc, argv, kOptions, [&](std::string_view name, const char* value) {
            if (name == "db") {
                config.db_path = value;
            } else {
                args.options[std::string(name)].push_back(value ? value : "");
            }
        });
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    return args;
}

// A list for people: columns padded to their widest cell (in bytes: unit
// names may hold accents and be a little off, never cut).
using Row = std::vector<std::string>;
void print_table(const Row& header, const std::vector<Row>& rows) {
    std::vector<std::size_t> widths(header.size());
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    }
    for (std::size_t i = 0; i < header.size(); ++i) widths[i] = std::max(widths[i], header[i].size());
    const auto line = [&](const Row& row) {
        std::string out;
        for (std::size_t i = 0; i < row.size(); ++i) {
            out += row[i];
            if (i + 1 < row.size()) out += std::string(widths[i] - row[i].size() + 2, ' ');
        }
        std::cout << out << "\n";
    };
    line(header);
    for (const auto& row : rows) line(row);
}

void print_json(const nlohmann::json& value) { std::cout << value.dump(2) << "\n"; }

// A list as the command line asks: a JSON array of to_json(item) with
// --json, for scripts; else a table of to_row(item) under `header`, for
// people.
template <typename Item, typename ToJson, typename ToRow>
int print_list(const Args& args, const std::vector<Item>& items, const Row& header, ToJson to_json, ToRow to_row) {
    if (args.has("json")) {
        auto out = nlohmann::json::array();
        for (const auto& item : items) out.push_back(to_json(item));
        print_json(out);
    } else {
        std::vector<Row> rows;
        for (const auto& item : items) rows.push_back(to_row(item));
        print_table(header, rows);
    }
    return 0;
}

// JSON null for an empty text: "none" for scripts.
nlohmann::json or_null(const std::string& text) { return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text); }

// "-" for an empty cell: "none" for people.
std::string or_dash(const std::string& text) { return text.empty() ? "-" : text; }

std::int64_t now_seconds() { return static_cast<std::int64_t>(std::time(nullptr)); }

// Every command but init needs the database to exist already: a wrong or
// unset path stops here, before SQLite would create an empty file there.
std::unique_ptr<store::Db> open_current(const Config& config) {
    store::require_current_database(config.database());
    return std::make_unique<store::Db>(config.database());
}

void write(const Config& config, const std::function<void(store::Db&)>& change) {
    auto owned = open_current(config);
    store::Db& db = *owned;
    store::WriteTransaction transaction(db);
    change(db);
    transaction.commit();
}

int init(const Config& config, const Args&) {
    umask(0077);  // the database and its -wal/-shm: readable by the service only
    store::Db db(config.database());
    const int from = store::migrate(db);
    {
        store::WriteTransaction transaction(db);
        auth::make_secret(db);
        transaction.commit();
    }
    const int to = store::schema_version();
    if (from == 0) {
        std::cout << config.db_path << ": created, schema version " << to << "\n";
    } else if (from == to) {
        std::cout << config.db_path << ": already at schema version " << to << ", nothing to do\n";
    } else {
        std::cout << config.db_path << ": migrated from schema version " << from << " to " << to << "\n";
    }
    return 0;
}

int unit_add(const Config& config, const Args& args) {
    const std::string name = args.one("name");
    const std::string kind = args.one("kind");
    write(config, [&](store::Db& db) { routing::add_unit(db, args[0], name, kind); });
    std::cout << "unit " << args[0] << " added: " << name << " (" << kind << ")\n";
    return 0;
}

int unit_list(const Config& config, const Args& args) {
    auto db = open_current(config);
    return print_list(
        args, routing::list_units(*db), {"CODE", "KIND", "FALLBACK", "SIGNED", "NAME"},
        [](const routing::UnitListing& l) -> nlohmann::json {
            return {{"code", l.unit.code},
                    {"name", l.unit.name},
                    {"kind", l.unit.kind},
                    {"fallback", or_null(l.fallback_code)},
                    {"signs_names", l.signs_names}};
        },
        [](const routing::UnitListing& l) -> Row {
            return {l.unit.code, l.unit.kind, or_dash(l.fallback_code), l.signs_names ? "names" : "kind", l.unit.name};
        });
}

int unit_fallback(const Config& config, const Args& args) {
    write(config, [&](store::Db& db) { routing::set_fallback(db, args[0], args[1]); });
    if (args[1] == "none") {
        std::cout << "unit " << args[0] << " has no fallback now\n";
    } else {
        std::cout << "when nobody of " << args[0] << " is on duty, " << args[1] << " takes over\n";
    }
    return 0;
}

int unit_rename(const Config& config, const Args& args) {
    const std::string name = args.one("name");
    write(config, [&](store::Db& db) { routing::rename_unit(db, args[0], name); });
    std::cout << "unit " << args[0] << " is now called: " << name << "\n";
    return 0;
}

int unit_remove(const Config& config, const Args& args) {
    write(config, [&](store::Db& db) { routing::remove_unit(db, args[0]); });
    std::cout << "unit " << args[0] << " removed, with its canned replies\n";
    return 0;
}

int unit_names(const Config& config, const Args& args) {
    if (args[1] != "on" && args[1] != "off") throw UsageError("unit names takes on or off, not '" + args[1] + "'");
    const bool on = args[1] == "on";
    write(config, [&](store::Db& db) { routing::set_signs_names(db, args[0], on); });
    std::cout << "from now on, the person sees " << (on ? "the display names of " : "the kind of unit for ")
              << args[0] << "'s operators\n";
    return 0;
}

int route_add(const Config& config, const Args& args) {
    write(config, [&](store::Db& db) { routing::set_route(db, args[0], args[1]); });
    std::cout << "route " << args[0] << " -> " << args[1] << "\n";
    return 0;
}

int route_default(const Config& config, const Args& args) {
    write(config, [&](store::Db& db) { routing::set_route(db, "*", args[0]); });
    std::cout << "every postcode without a route now goes to " << args[0] << "\n";
    return 0;
}

int route_list(const Config& config, const Args& args) {
    auto db = open_current(config);
    // The default route is the key "*" in the database.
    const auto shown = [](const std::string& key) { return key == "*" ? std::string("default") : key; };
    return print_list(
        args, routing::list_routes(*db), {"KEY", "UNIT"},
        [&](const auto& route) -> nlohmann::json { return {{"key", shown(route.first)}, {"unit", route.second}}; },
        [&](const auto& route) -> Row { return {shown(route.first), route.second}; });
}

int route_remove(const Config& config, const Args& args) {
    write(config, [&](store::Db& db) { routing::remove_route(db, args[0] == "default" ? "*" : args[0]); });
    std::cout << "route " << args[0] << " removed\n";
    return 0;
}

std::string read_password() {
    std::string password;
    std::getline(std::cin, password);
    // Hashing takes memory and time: done before taking the write lock.
    return agents::hash_password(password);
}

std::string agent_status(const agents::Listing& a) { return a.disabled ? "disabled" : a.away ? "away" : "enabled"; }

int agent_add(const Config& config, const Args& args) {
    const auto units = args.all("unit");
    const auto display = args.all("display");
    if (display.size() > 1) throw UsageError("--display is given once at most");
    if (units.empty()) throw UsageError("agent add needs at least one --unit CODE");
    const std::string hash = read_password();
    write(config, [&](store::Db& db) { agents::add(db, args[0], hash, units, display.empty() ? "" : display[0]); });
    std::cout << "operator " << args[0] << " added to";
    for (const auto& code : units) std::cout << " " << code;
    std::cout << "\n";
    return 0;
}

// Disabling and removing an operator both hand its chats back to their
// queues: `ended` is the one or the other, `done` says which in the output.
int end_operator(const Config& config, const Args& args,
                 int (*ended)(store::Db&, std::string_view username, std::int64_t now), std::string_view done) {
    int released = 0;
    write(config, [&](store::Db& db) { released = ended(db, args[0], now_seconds()); });
    std::cout << "operator " << args[0] << " " << done << "; " << released
              << " conversation(s) back in their unit's queue\n";
    return 0;
}

int agent_disable(const Config& config, const Args& args) {
    return end_operator(config, args, agents::disable, "disabled and logged out");
}

int agent_enable(const Config& config, const Args& args) {
    write(config, [&](store::Db& db) { agents::enable(db, args[0]); });
    std::cout << "operator " << args[0] << " enabled\n";
    return 0;
}

int agent_passwd(const Config& config, const Args& args) {
    const std::string hash = read_password();
    write(config, [&](store::Db& db) { agents::set_password(db, args[0], hash); });
    std::cout << "operator " << args[0] << ": new password set, every login ended\n";
    return 0;
}

int agent_rename(const Config& config, const Args& args) {
    const std::string display = args.one("display");
    write(config, [&](store::Db& db) { agents::rename(db, args[0], display); });
    if (display.empty()) {
        std::cout << "operator " << args[0] << " has no display name now\n";
    } else {
        std::cout << "operator " << args[0] << " is shown as: " << display << "\n";
    }
    return 0;
}

int agent_remove(const Config& config, const Args& args) {
    return end_operator(config, args, agents::remove, "removed");
}

int agent_list(const Config& config, const Args& args) {
    auto db = open_current(config);
    return print_list(
        args, agents::list(*db), {"USERNAME", "STATUS", "UNITS", "DISPLAY"},
        [](const agents::Listing& a) -> nlohmann::json {
            return {{"username", a.username},
                    {"display", or_null(a.display_name)},
                    {"status", agent_status(a)},
                    {"units", a.unit_codes},
                    {"last_poll", a.last_poll}};
        },
        [](const agents::Listing& a) -> Row {
            std::string units;
            for (const auto& code : a.unit_codes) units += (units.empty() ? "" : " ") + code;
            return {a.username, agent_status(a), or_dash(units), or_dash(a.display_name)};
        });
}

// The reply's text: standard input, one final line break dropped, read up
// to a little more than a message may hold so that a wrong file stops here.
std::string read_reply_text() {
    std::string text;
    std::istreambuf_iterator<char> in(std::cin), end;
    while (in != end && text.size() <= limits::kMaxBodyBytes) text += *in++;
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (!text.empty() && text.back() == '\r') text.pop_back();
    return text;
}

int reply_add(const Config& config, const Args& args) {
    const std::string title = args.one("title");
    const std::string text = read_reply_text();
    std::int64_t id = 0;
    write(config, [&](store::Db& db) { id = replies::add(db, args[0], title, text); });
    std::cout << "reply " << id << " added to " << args[0] << ": " << title << "\n";
    return 0;
}

int reply_list(const Config& config, const Args& args) {
    auto db = open_current(config);
    return print_list(
        args, replies::list(*db, args.size() == 1 ? std::optional(args[0]) : std::nullopt),
        {"ID", "UNIT", "TITLE", "TEXT"},
        [](const replies::Reply& r) -> nlohmann::json {
            return {{"id", r.id}, {"unit", r.unit}, {"title", r.title}, {"text", r.text}};
        },
        [](const replies::Reply& r) -> Row {
            // The text's first line, and "..." when there is more.
            const auto first_line = r.text.substr(0, r.text.find('\n'));
            const bool more = first_line.size() < r.text.size();
            return {std::to_string(r.id), r.unit, r.title, more ? first_line + " ..." : first_line};
        });
}

int reply_remove(const Config& config, const Args& args) {
    std::int64_t id = 0;
    try {
        std::size_t used = 0;
        id = std::stoll(args[0], &used);
        if (used != args[0].size()) throw std::invalid_argument("");
    } catch (const std::exception&) {
        throw UsageError("a reply is removed by its id (see: abrictl reply list)");
    }
    write(config, [&](store::Db& db) { replies::remove(db, id); });
    std::cout << "reply " << id << " removed\n";
    return 0;
}

int print_stats(const Config& config, const Args& args) {
    const bool json = args.has("json");
    auto db = open_current(config);
    const auto counts = stats::read(*db, now_seconds(), {config.idle_ttl, config.max_ttl});
    const auto days = stats::daily(*db);
    if (json) {
        auto out_days = nlohmann::json::array();
        for (const auto& d : days) {
            out_days.push_back({{"day", d.day},
                                {"unit", d.unit},
                                {"started", d.started},
                                {"answered", d.answered},
                                {"first_answer_median", d.first_answer_median},
                                {"first_answer_p90", d.first_answer_p90},
                                {"left_unanswered", d.left_unanswered},
                                {"quick_exits", d.quick_exits},
                                {"escalations", d.escalations}});
        }
        print_json({{"waiting", counts.waiting},
                    {"active", counts.active},
                    {"messages", counts.messages},
                    {"oldest_waiting_seconds", counts.oldest_waiting},
                    {"days", out_days}});
        return 0;
    }
    std::cout << "waiting: " << counts.waiting << "\n"
              << "active: " << counts.active << "\n"
              << "messages: " << counts.messages << "\n"
              << "oldest_waiting_seconds: " << counts.oldest_waiting << "\n\n";
    std::vector<Row> rows;
    for (const auto& d : days) {
        const auto seconds = [&](std::int64_t s) { return d.answered == 0 ? std::string("-") : std::to_string(s); };
        rows.push_back({d.day, d.unit, std::to_string(d.started), std::to_string(d.answered),
                        seconds(d.first_answer_median), seconds(d.first_answer_p90), std::to_string(d.left_unanswered),
                        std::to_string(d.quick_exits), std::to_string(d.escalations)});
    }
    print_table({"DAY (UTC)", "UNIT", "STARTED", "ANSWERED", "FIRST_ANSWER_MEDIAN_S", "FIRST_ANSWER_P90_S",
                 "LEFT_UNANSWERED", "QUICK_EXITS", "ESCALATIONS"},
                rows);
    return 0;
}

int print_metrics(const Config& config, const Args&) {
    auto db = open_current(config);
    std::cout << stats::metrics(*db, now_seconds(), {config.idle_ttl, config.max_ttl});
    return 0;
}

// A row of the command table.
struct Command {
    std::string_view word;                    // "unit"
    std::string_view sub;                     // "add"; empty for a command without subcommands
    std::size_t min_operands;                 // the operands after the words: at least,
    std::size_t max_operands;                 // and at most
    std::array<std::string_view, 2> options;  // the options it takes (--db and --help: every command)
    std::string_view arguments;               // its operands and options, as the usage shows them
    std::string_view what;                    // what it does, for the usage ("\n": a further line)
    int (*run)(const Config& config, const Args& operands);
};

// The usage prints the rows in this order.
constexpr Command kCommands[] = {
    {"init", "", 0, 0, {}, "", "create or migrate the database", init},
    {"unit", "add", 1, 1, {"name", "kind"}, "CODE --name NAME --kind police|gendarmerie", "", unit_add},
    {"unit", "list", 0, 0, {"json"}, "[--json]", "units, with their fallbacks", unit_list},
    {"unit", "fallback", 2, 2, {}, "CODE FALLBACK_CODE|none", "who takes over when nobody of CODE is on duty",
     unit_fallback},
    {"unit", "rename", 1, 1, {"name"}, "CODE --name NAME", "the name people see", unit_rename},
    {"unit", "remove", 1, 1, {}, "CODE", "refused while routes, operators or chats use it", unit_remove},
    {"unit", "names", 2, 2, {}, "CODE on|off",
     "the person sees operators' display names (else the unit's kind)", unit_names},
    {"route", "add", 2, 2, {}, "KEY UNIT_CODE", "KEY: 13, 130, 13001, 974, 2A, 2B", route_add},
    {"route", "default", 1, 1, {}, "UNIT_CODE", "the unit for every other postcode", route_default},
    {"route", "list", 0, 0, {"json"}, "[--json]", "KEY and unit, the default last", route_list},
    {"route", "remove", 1, 1, {}, "KEY", "KEY, or default", route_remove},
    {"agent", "add", 1, 1, {"unit", "display"}, "USERNAME --unit CODE [--unit CODE ...] [--display NAME]",
     "password read from standard input", agent_add},
    {"agent", "disable", 1, 1, {}, "USERNAME", "logged out; held chats back to their queues", agent_disable},
    {"agent", "enable", 1, 1, {}, "USERNAME", "", agent_enable},
    {"agent", "passwd", 1, 1, {}, "USERNAME", "new password read from standard input", agent_passwd},
    {"agent", "rename", 1, 1, {"display"}, "USERNAME --display NAME",
     "the name colleagues and exports show (\"\": none)", agent_rename},
    {"agent", "remove", 1, 1, {}, "USERNAME", "held chats back to their queues, then the account goes",
     agent_remove},
    {"agent", "list", 0, 0, {"json"}, "[--json]", "name, enabled / away / disabled, units", agent_list},
    {"reply", "add", 1, 1, {"title"}, "UNIT --title TITLE", "a canned reply, its text read from standard input",
     reply_add},
    {"reply", "list", 0, 1, {"json"}, "[UNIT] [--json]", "id, unit, title, the first line of the text", reply_list},
    {"reply", "remove", 1, 1, {}, "ID", "by its id, as reply list shows it", reply_remove},
    {"stats", "", 0, 0, {"json"}, "[--json]",
     "live counts, then per unit and UTC day: started,\n"
     "answered, first answer, left unanswered, quick exits,\n"
     "escalations (kept 400 days)",
     print_stats},
    {"metrics", "", 0, 0, {}, "", "the same in the Prometheus text format", print_metrics},
};

// Whether the usage line shows `--option`.
constexpr bool shows(std::string_view arguments, std::string_view option) {
    for (auto at = arguments.find(option); at != std::string_view::npos; at = arguments.find(option, at + 1)) {
        if (at >= 2 && arguments.substr(at - 2, 2) == "--") return true;
    }
    return false;
}

// Whether every row has a function, a range of operands, and shows each
// option it takes in its usage line; and whether each pair of words names
// one row only (a second would never run), a command with subcommands no
// row without one.
constexpr bool well_formed(std::span<const Command> commands) {
    for (std::size_t i = 0; i < commands.size(); ++i) {
        const Command& row = commands[i];
        if (row.run == nullptr || row.min_operands > row.max_operands) return false;
        for (const auto& option : row.options) {
            if (!option.empty() && !shows(row.arguments, option)) return false;
        }
        for (std::size_t j = 0; j < i; ++j) {
            const Command& earlier = commands[j];
            if (earlier.word == row.word && (earlier.sub == row.sub || earlier.sub.empty() || row.sub.empty())) {
                return false;
            }
        }
    }
    return true;
}
static_assert(well_formed(kCommands));

// The words that name a row: "unit add", "stats".
std::string words(const Command& command) {
    return std::string(command.word) + (command.sub.empty() ? "" : " " + std::string(command.sub));
}

// The row's line of the usage, up to what it does.
std::string synopsis(const Command& command) {
    return words(command) + (command.arguments.empty() ? "" : " " + std::string(command.arguments));
}

// The usage, a line a row: its synopsis, then what it does from column
// kWhatColumn (or three spaces further when the synopsis is longer).
void print_usage(std::ostream& out) {
    constexpr std::size_t kWhatColumn = 45;
    out << "usage: abrictl [--db PATH] COMMAND\n";
    for (const auto& command : kCommands) {
        std::string line = "  " + synopsis(command);
        std::string_view what = command.what;
        while (!what.empty()) {
            const auto end = what.find('\n');
            line.resize(std::max(kWhatColumn, line.size() + 3), ' ');
            line += what.substr(0, end);
            out << line << "\n";
            line.clear();
            what = end == std::string_view::npos ? std::string_view{} : what.substr(end + 1);
        }
        if (!line.empty()) out << line << "\n";
    }
    out << "The database is --db PATH, else $ABRI_DB; only init creates it.\n"
        << "--commands prints this table for scripts, a row a line, tab-separated.\n";
}

// `--commands`: a row a line, tab-separated: the command, its subcommand
// ("-": none), the least and most operands, its options ("-": none), its
// synopsis as the usage shows it.
void print_commands() {
    for (const auto& command : kCommands) {
        std::string options;
        for (const auto& option : command.options) {
            if (!option.empty()) options += (options.empty() ? "--" : " --") + std::string(option);
        }
        std::cout << command.word << "\t" << (command.sub.empty() ? "-" : command.sub) << "\t"
                  << command.min_operands << "\t" << command.max_operands << "\t"
                  << (options.empty() ? "-" : options) << "\t" << synopsis(command) << "\n";
    }
}

// The row that the command line's first words name; those words are taken
// off `args`, leaving the operands.
const Command& find_command(Args& args) {
    const std::string word = args[0];
    const auto named = std::ranges::find(kCommands, std::string_view(word), &Command::word);
    if (named == std::end(kCommands)) throw UsageError("unknown command '" + word + "'");
    if (named->sub.empty()) {
        args.words.erase(args.words.begin());
        return *named;
    }
    if (args.size() < 2) throw UsageError(word + " needs a subcommand");
    const auto found = std::ranges::find_if(
        kCommands, [&](const Command& command) { return command.word == word && command.sub == args[1]; });
    if (found == std::end(kCommands)) throw UsageError("unknown " + word + " command '" + args[1] + "'");
    args.words.erase(args.words.begin(), args.words.begin() + 2);
    return *found;
}

void expect_count(const Command& command, const Args& operands) {
    if (operands.size() < command.min_operands || operands.size() > command.max_operands) {
        throw UsageError("wrong number of arguments for " + words(command));
    }
}

// Runs the row the command line names, once its operands and options are
// checked against it.
int dispatch(const Config& config, Args args) {
    const Command& command = find_command(args);
    args.only(command.options);
    expect_count(command, args);
    return command.run(config, args);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        Config config = Config::from_environment();
        const Args args = read_command_line(argc, argv, config);
        if (args.has("commands")) {
            print_commands();
            return 0;
        }
        if (args.words.empty() || args.has("help") || args[0] == "help") {
            print_usage(std::cout);
            return args.words.empty() && !args.has("help") ? 2 : 0;
        }
        return dispatch(config, args);
    } catch (const UsageError& e) {
        std::cerr << "abrictl: " << e.what() << "\n";
        print_usage(std::cerr);
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "abrictl: " << e.what() << "\n";
        return 1;
    }
}

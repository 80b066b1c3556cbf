// abrictl: the admin's command line, run on the server next to the
// database. Every command prints what it did, or a clear message and a
// non-zero exit status.
//   abrictl [--db PATH] init
//   abrictl [--db PATH] unit add CODE --name "..." --kind police|gendarmerie
//   abrictl [--db PATH] unit list | unit fallback CODE FALLBACK_CODE|none
//   abrictl [--db PATH] unit rename CODE --name "..." | unit remove CODE
//   abrictl [--db PATH] unit names CODE on|off
//   abrictl [--db PATH] route add KEY UNIT_CODE | route default UNIT_CODE
//   abrictl [--db PATH] route list | route remove KEY
//   abrictl [--db PATH] agent add USERNAME --unit CODE [--unit CODE...] [--display "..."]  (password on stdin)
//   abrictl [--db PATH] agent disable|enable|remove USERNAME | agent passwd USERNAME (stdin)
//   abrictl [--db PATH] agent rename USERNAME --display "..." | agent list
//   abrictl [--db PATH] reply add UNIT --title "..." (text on stdin) | reply list [UNIT] | reply remove ID
//   abrictl [--db PATH] stats | metrics
// Every list (and stats) prints a table for people, or JSON with --json.
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
#include <ctime>
#include <functional>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace abri;

namespace {

const char* const kUsage =
    "usage: abrictl [--db PATH] COMMAND\n"
    "  init                                       create or migrate the database\n"
    "  unit add CODE --name NAME --kind police|gendarmerie\n"
    "  unit list [--json]                         units, with their fallbacks\n"
    "  unit fallback CODE FALLBACK_CODE|none      who takes over when nobody of CODE is on duty\n"
    "  unit rename CODE --name NAME               the name people see\n"
    "  unit remove CODE                           refused while routes, operators or chats use it\n"
    "  unit names CODE on|off                     the person sees operators' display names (else the unit's kind)\n"
    "  route add KEY UNIT_CODE                    KEY: 13, 130, 13001, 974, 2A, 2B\n"
    "  route default UNIT_CODE                    the unit for every other postcode\n"
    "  route list [--json] | route remove KEY\n"
    "  agent add USERNAME --unit CODE [--unit CODE ...] [--display NAME]   password read from standard input\n"
    "  agent disable USERNAME                     logged out; held chats back to their queues\n"
    "  agent enable USERNAME\n"
    "  agent passwd USERNAME                      new password read from standard input\n"
    "  agent rename USERNAME --display NAME       the name colleagues and exports show (\"\": none)\n"
    "  agent remove USERNAME                      held chats back to their queues, then the account goes\n"
    "  agent list [--json]\n"
    "  reply add UNIT --title TITLE               a canned reply, its text read from standard input\n"
    "  reply list [UNIT] [--json] | reply remove ID\n"
    "  stats [--json]                             live counts, then per unit and UTC day: started,\n"
    "                                             answered, first answer, left unanswered, quick exits,\n"
    "                                             escalations (kept 400 days)\n"
    "  metrics                                    the same in the Prometheus text format\n"
    "The database is --db PATH, else $ABRI_DB; only init creates it.\n";

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Every option of every command, read at once by getopt_long; each command
// then says which it takes (Args::only).
constexpr Option kOptions[] = {{"db", true},      {"name", true},  {"kind", true}, {"unit", true},
                               {"display", true}, {"title", true}, {"json", false}, {"help", false}};

// A command line once read: the words (the command, then its operands)
// and each option's values, in order.
struct Args {
    std::vector<std::string> words;
    std::map<std::string, std::vector<std::string>, std::less<>> options;

    // The operands after the command and its subcommand word.
    const std::string& operator[](std::size_t i) const { return words.at(i); }
    std::size_t size() const { return words.size(); }
    bool has(std::string_view name) const { return options.find(name) != options.end(); }

    // Refuses an option the command does not take.
    void only(std::initializer_list<std::string_view> taken) const {
        for (const auto& [name, values] : options) {
            if (std::find(taken.begin(), taken.end(), name) == taken.end()) {
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

[[noreturn]] void refuse(const std::string& command, const Args& args) {
    if (args.size() == 0) throw UsageError(command + " needs a subcommand");
    throw UsageError("unknown " + command + " command '" + args[0] + "', or wrong arguments for it");
}

void expect_count(const Args& args, std::size_t count) {
    if (args.size() != count) throw UsageError("wrong number of arguments");
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

int init(const Config& config, const Args& args) {
    args.only({});
    expect_count(args, 0);
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

int unit(const Config& config, const Args& args) {
    if (args.size() == 1 && args[0] == "list") {
        args.only({"json"});
        const bool json = args.has("json");
        auto db = open_current(config);
        const auto units = routing::list_units(*db);
        if (json) {
            auto out = nlohmann::json::array();
            for (const auto& l : units) {
                out.push_back({{"code", l.unit.code},
                               {"name", l.unit.name},
                               {"kind", l.unit.kind},
                               {"fallback", or_null(l.fallback_code)},
                               {"signs_names", l.signs_names}});
            }
            print_json(out);
            return 0;
        }
        std::vector<Row> rows;
        for (const auto& l : units) {
            rows.push_back({l.unit.code, l.unit.kind, or_dash(l.fallback_code), l.signs_names ? "names" : "kind",
                            l.unit.name});
        }
        print_table({"CODE", "KIND", "FALLBACK", "SIGNED", "NAME"}, rows);
        return 0;
    }
    if (args.size() == 2 && args[0] == "remove") {
        args.only({});
        write(config, [&](store::Db& db) { routing::remove_unit(db, args[1]); });
        std::cout << "unit " << args[1] << " removed, with its canned replies\n";
        return 0;
    }
    if (args.size() == 2 && args[0] == "rename") {
        args.only({"name"});
        const std::string name = args.one("name");
        write(config, [&](store::Db& db) { routing::rename_unit(db, args[1], name); });
        std::cout << "unit " << args[1] << " is now called: " << name << "\n";
        return 0;
    }
    if (args.size() == 3 && args[0] == "names" && (args[2] == "on" || args[2] == "off")) {
        args.only({});
        const bool on = args[2] == "on";
        write(config, [&](store::Db& db) { routing::set_signs_names(db, args[1], on); });
        std::cout << "from now on, the person sees " << (on ? "the display names of " : "the kind of unit for ")
                  << args[1] << "'s operators\n";
        return 0;
    }
    if (args.size() == 3 && args[0] == "fallback") {
        args.only({});
        write(config, [&](store::Db& db) { routing::set_fallback(db, args[1], args[2]); });
        if (args[2] == "none") {
            std::cout << "unit " << args[1] << " has no fallback now\n";
        } else {
            std::cout << "when nobody of " << args[1] << " is on duty, " << args[2] << " takes over\n";
        }
        return 0;
    }
    if (args.size() == 0 || args[0] != "add") refuse("unit", args);
    args.only({"name", "kind"});
    const std::string name = args.one("name");
    const std::string kind = args.one("kind");
    expect_count(args, 2);
    write(config, [&](store::Db& db) { routing::add_unit(db, args[1], name, kind); });
    std::cout << "unit " << args[1] << " added: " << name << " (" << kind << ")\n";
    return 0;
}

int route(const Config& config, const Args& args) {
    if (args.size() == 1 && args[0] == "list") {
        args.only({"json"});
        const bool json = args.has("json");
        auto db = open_current(config);
        auto out = nlohmann::json::array();
        std::vector<Row> rows;
        for (const auto& [key, unit] : routing::list_routes(*db)) {
            const std::string shown = key == "*" ? "default" : key;
            out.push_back({{"key", shown}, {"unit", unit}});
            rows.push_back({shown, unit});
        }
        if (json) {
            print_json(out);
        } else {
            print_table({"KEY", "UNIT"}, rows);
        }
        return 0;
    }
    args.only({});
    if (args.size() == 2 && args[0] == "remove") {
        write(config, [&](store::Db& db) { routing::remove_route(db, args[1] == "default" ? "*" : args[1]); });
        std::cout << "route " << args[1] << " removed\n";
        return 0;
    }
    if (args.size() == 2 && args[0] == "default") {
        write(config, [&](store::Db& db) { routing::set_route(db, "*", args[1]); });
        std::cout << "every postcode without a route now goes to " << args[1] << "\n";
        return 0;
    }
    if (args.size() == 0 || args[0] != "add") refuse("route", args);
    expect_count(args, 3);
    write(config, [&](store::Db& db) { routing::set_route(db, args[1], args[2]); });
    std::cout << "route " << args[1] << " -> " << args[2] << "\n";
    return 0;
}

std::string read_password() {
    std::string password;
    std::getline(std::cin, password);
    // Hashing takes memory and time: done before taking the write lock.
    return agents::hash_password(password);
}

std::string agent_status(const agents::Listing& a) { return a.disabled ? "disabled" : a.away ? "away" : "enabled"; }

void print_agents(const Config& config, bool json) {
    auto db = open_current(config);
    const auto list = agents::list(*db);
    if (json) {
        auto out = nlohmann::json::array();
        for (const auto& a : list) {
            out.push_back({{"username", a.username},
                           {"display", or_null(a.display_name)},
                           {"status", agent_status(a)},
                           {"units", a.unit_codes},
                           {"last_poll", a.last_poll}});
        }
        print_json(out);
        return;
    }
    std::vector<Row> rows;
    for (const auto& a : list) {
        std::string units;
        for (const auto& code : a.unit_codes) units += (units.empty() ? "" : " ") + code;
        rows.push_back({a.username, agent_status(a), or_dash(units), or_dash(a.display_name)});
    }
    print_table({"USERNAME", "STATUS", "UNITS", "DISPLAY"}, rows);
}

int agent(const Config& config, const Args& args) {
    if (args.size() == 1 && args[0] == "list") {
        args.only({"json"});
        print_agents(config, args.has("json"));
        return 0;
    }
    if (args.size() == 2 && args[0] == "remove") {
        args.only({});
        int released = 0;
        write(config, [&](store::Db& db) { released = agents::remove(db, args[1], now_seconds()); });
        std::cout << "operator " << args[1] << " removed; " << released
                  << " conversation(s) back in their unit's queue\n";
        return 0;
    }
    if (args.size() == 2 && args[0] == "rename") {
        args.only({"display"});
        const std::string display = args.one("display");
        write(config, [&](store::Db& db) { agents::rename(db, args[1], display); });
        if (display.empty()) {
            std::cout << "operator " << args[1] << " has no display name now\n";
        } else {
            std::cout << "operator " << args[1] << " is shown as: " << display << "\n";
        }
        return 0;
    }
    if (args.size() == 2 && args[0] == "disable") {
        args.only({});
        int released = 0;
        write(config, [&](store::Db& db) { released = agents::disable(db, args[1], now_seconds()); });
        std::cout << "operator " << args[1] << " disabled and logged out; " << released
                  << " conversation(s) back in their unit's queue\n";
        return 0;
    }
    if (args.size() == 2 && args[0] == "enable") {
        args.only({});
        write(config, [&](store::Db& db) { agents::enable(db, args[1]); });
        std::cout << "operator " << args[1] << " enabled\n";
        return 0;
    }
    if (args.size() == 2 && args[0] == "passwd") {
        args.only({});
        const std::string hash = read_password();
        write(config, [&](store::Db& db) { agents::set_password(db, args[1], hash); });
        std::cout << "operator " << args[1] << ": new password set, every login ended\n";
        return 0;
    }
    if (args.size() == 0 || args[0] != "add") refuse("agent", args);
    args.only({"unit", "display"});
    const auto units = args.all("unit");
    const auto display = args.all("display");
    if (display.size() > 1) throw UsageError("--display is given once at most");
    expect_count(args, 2);
    if (units.empty()) throw UsageError("agent add needs at least one --unit CODE");
    const std::string hash = read_password();
    write(config, [&](store::Db& db) { agents::add(db, args[1], hash, units, display.empty() ? "" : display[0]); });
    std::cout << "operator " << args[1] << " added to";
    for (const auto& code : units) std::cout << " " << code;
    std::cout << "\n";
    return 0;
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

int reply(const Config& config, const Args& args) {
    if ((args.size() == 1 || args.size() == 2) && args[0] == "list") {
        args.only({"json"});
        const bool json = args.has("json");
        auto db = open_current(config);
        const auto list = replies::list(*db, args.size() == 2 ? std::optional(args[1]) : std::nullopt);
        if (json) {
            auto out = nlohmann::json::array();
            for (const auto& r : list) {
                out.push_back({{"id", r.id}, {"unit", r.unit}, {"title", r.title}, {"text", r.text}});
            }
            print_json(out);
            return 0;
        }
        std::vector<Row> rows;
        for (const auto& r : list) {
            const auto first_line = r.text.substr(0, r.text.find('\n'));
            const bool more = first_line.size() < r.text.size();
            rows.push_back({std::to_string(r.id), r.unit, r.title, more ? first_line + " ..." : first_line});
        }
        print_table({"ID", "UNIT", "TITLE", "TEXT"}, rows);
        return 0;
    }
    if (args.size() == 2 && args[0] == "remove") {
        args.only({});
        std::int64_t id = 0;
        try {
            std::size_t used = 0;
            id = std::stoll(args[1], &used);
            if (used != args[1].size()) throw std::invalid_argument("");
        } catch (const std::exception&) {
            throw UsageError("a reply is removed by its id (see: abrictl reply list)");
        }
        write(config, [&](store::Db& db) { replies::remove(db, id); });
        std::cout << "reply " << id << " removed\n";
        return 0;
    }
    if (args.size() == 0 || args[0] != "add") refuse("reply", args);
    args.only({"title"});
    const std::string title = args.one("title");
    expect_count(args, 2);
    const std::string text = read_reply_text();
    std::int64_t id = 0;
    write(config, [&](store::Db& db) { id = replies::add(db, args[1], title, text); });
    std::cout << "reply " << id << " added to " << args[1] << ": " << title << "\n";
    return 0;
}

int print_stats(const Config& config, const Args& args) {
    args.only({"json"});
    const bool json = args.has("json");
    expect_count(args, 0);
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

int print_metrics(const Config& config, const Args& args) {
    args.only({});
    expect_count(args, 0);
    auto db = open_current(config);
    std::cout << stats::metrics(*db, now_seconds(), {config.idle_ttl, config.max_ttl});
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        Config config = Config::from_environment();
        Args args = read_command_line(argc, argv, config);
        if (args.words.empty() || args.has("help") || args[0] == "help") {
            std::cout << kUsage;
            return args.words.empty() && !args.has("help") ? 2 : 0;
        }
        const std::map<std::string, std::function<int(const Config&, const Args&)>> commands = {
            {"init", init},   {"unit", unit},         {"route", route},          {"agent", agent},
            {"reply", reply}, {"stats", print_stats}, {"metrics", print_metrics}};
        const auto command = commands.find(args[0]);
        if (command == commands.end()) throw UsageError("unknown command '" + args[0] + "'");
        args.words.erase(args.words.begin());
        return command->second(config, args);
    } catch (const UsageError& e) {
        std::cerr << "abrictl: " << e.what() << "\n" << kUsage;
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "abrictl: " << e.what() << "\n";
        return 1;
    }
}

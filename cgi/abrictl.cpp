// abrictl: the admin's command line, run on the server next to the
// database. Every command prints what it did, or a clear message and a
// non-zero exit status.
//   abrictl [--db PATH] init
//   abrictl [--db PATH] unit add CODE --name "..." --kind police|gendarmerie
//   abrictl [--db PATH] unit list | unit fallback CODE FALLBACK_CODE|none
//   abrictl [--db PATH] route add KEY UNIT_CODE | route default UNIT_CODE
//   abrictl [--db PATH] route list | route remove KEY
//   abrictl [--db PATH] agent add USERNAME --unit CODE [--unit CODE...]   (password on stdin)
//   abrictl [--db PATH] agent disable|enable USERNAME | agent passwd USERNAME (stdin)
//   abrictl [--db PATH] agent list
//   abrictl [--db PATH] stats
#include "../lib/agents.hpp"
#include "../lib/config.hpp"
#include "../lib/routing.hpp"
#include "../lib/stats.hpp"
#include "../lib/store.hpp"

#include <sys/stat.h>

#include <ctime>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace abri;

namespace {

using Args = std::vector<std::string>;

const char* const kUsage =
    "usage: abrictl [--db PATH] COMMAND\n"
    "  init                                       create or migrate the database\n"
    "  unit add CODE --name NAME --kind police|gendarmerie\n"
    "  unit list                                  units, with their fallbacks\n"
    "  unit fallback CODE FALLBACK_CODE|none      who takes over when nobody of CODE is on duty\n"
    "  route add KEY UNIT_CODE                    KEY: 13, 130, 13001, 974, 2A, 2B\n"
    "  route default UNIT_CODE                    the unit for every other postcode\n"
    "  route list | route remove KEY\n"
    "  agent add USERNAME --unit CODE [--unit CODE ...]   password read from standard input\n"
    "  agent disable USERNAME                     logged out; held chats back to their queues\n"
    "  agent enable USERNAME\n"
    "  agent passwd USERNAME                      new password read from standard input\n"
    "  agent list\n"
    "  stats                                      sessions waiting and active, messages\n"
    "The database is --db PATH, else $ABRI_DB; only init creates it.\n";

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Takes "--NAME VALUE" pairs out of `args`; returns every VALUE of NAME.
std::vector<std::string> take_option(Args& args, const std::string& name) {
    std::vector<std::string> values;
    for (std::size_t i = 0; i < args.size();) {
        if (args[i] == name) {
            if (i + 1 >= args.size()) throw UsageError(name + " needs a value");
            values.push_back(args[i + 1]);
            args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
        } else {
            ++i;
        }
    }
    return values;
}

std::string one_option(Args& args, const std::string& name) {
    const auto values = take_option(args, name);
    if (values.size() != 1) throw UsageError(name + " is needed once");
    return values.front();
}

void expect_count(const Args& args, std::size_t count) {
    if (args.size() != count) throw UsageError("wrong number of arguments");
}

// Every command but init needs the database to exist already: a wrong or
// unset path stops here, before SQLite would create an empty file there.
std::unique_ptr<store::Db> open_current(const Config& config) {
    const store::Options options{config.db_path, config.synchronous_full};
    store::require_current_database(options);
    return std::make_unique<store::Db>(options);
}

void write(const Config& config, const std::function<void(store::Db&)>& change) {
    auto owned = open_current(config);
    store::Db& db = *owned;
    store::WriteTransaction transaction(db);
    change(db);
    transaction.commit();
}

int init(const Config& config, Args& args) {
    expect_count(args, 0);
    umask(0077);  // the database and its -wal/-shm: readable by the service only
    store::Db db({config.db_path, config.synchronous_full});
    const int from = store::migrate(db);
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

int unit(const Config& config, Args& args) {
    if (args.size() == 1 && args[0] == "list") {
        auto db = open_current(config);
        for (const auto& listing : routing::list_units(*db)) {
            std::cout << listing.unit.code << "\t" << listing.unit.kind << "\t" << listing.unit.name;
            if (!listing.fallback_code.empty()) std::cout << "\tfallback " << listing.fallback_code;
            std::cout << "\n";
        }
        return 0;
    }
    if (args.size() == 3 && args[0] == "fallback") {
        write(config, [&](store::Db& db) { routing::set_fallback(db, args[1], args[2]); });
        if (args[2] == "none") {
            std::cout << "unit " << args[1] << " has no fallback now\n";
        } else {
            std::cout << "when nobody of " << args[1] << " is on duty, " << args[2] << " takes over\n";
        }
        return 0;
    }
    const std::string name = one_option(args, "--name");
    const std::string kind = one_option(args, "--kind");
    expect_count(args, 2);
    if (args[0] != "add") throw UsageError("unknown unit command '" + args[0] + "'");
    write(config, [&](store::Db& db) { routing::add_unit(db, args[1], name, kind); });
    std::cout << "unit " << args[1] << " added: " << name << " (" << kind << ")\n";
    return 0;
}

int route(const Config& config, Args& args) {
    if (args.size() == 1 && args[0] == "list") {
        auto db = open_current(config);
        for (const auto& [key, unit] : routing::list_routes(*db)) {
            std::cout << (key == "*" ? "default" : key) << "\t" << unit << "\n";
        }
        return 0;
    }
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
    expect_count(args, 3);
    if (args[0] != "add") throw UsageError("unknown route command '" + args[0] + "'");
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

int agent(const Config& config, Args& args) {
    if (args.size() == 1 && args[0] == "list") {
        auto db = open_current(config);
        for (const auto& a : agents::list(*db)) {
            std::cout << a.username << "\t" << (a.disabled ? "disabled" : a.away ? "away" : "enabled") << "\t";
            for (std::size_t i = 0; i < a.unit_codes.size(); ++i) std::cout << (i ? " " : "") << a.unit_codes[i];
            std::cout << "\n";
        }
        return 0;
    }
    if (args.size() == 2 && args[0] == "disable") {
        int released = 0;
        const auto now = static_cast<std::int64_t>(std::time(nullptr));
        write(config, [&](store::Db& db) { released = agents::disable(db, args[1], now); });
        std::cout << "operator " << args[1] << " disabled and logged out; " << released
                  << " conversation(s) back in their unit's queue\n";
        return 0;
    }
    if (args.size() == 2 && args[0] == "enable") {
        write(config, [&](store::Db& db) { agents::enable(db, args[1]); });
        std::cout << "operator " << args[1] << " enabled\n";
        return 0;
    }
    if (args.size() == 2 && args[0] == "passwd") {
        const std::string hash = read_password();
        write(config, [&](store::Db& db) { agents::set_password(db, args[1], hash); });
        std::cout << "operator " << args[1] << ": new password set, every login ended\n";
        return 0;
    }
    const auto units = take_option(args, "--unit");
    expect_count(args, 2);
    if (args[0] != "add") throw UsageError("unknown agent command '" + args[0] + "'");
    if (units.empty()) throw UsageError("agent add needs at least one --unit CODE");
    const std::string hash = read_password();
    write(config, [&](store::Db& db) { agents::add(db, args[1], hash, units); });
    std::cout << "operator " << args[1] << " added to";
    for (const auto& code : units) std::cout << " " << code;
    std::cout << "\n";
    return 0;
}

int print_stats(const Config& config, Args& args) {
    expect_count(args, 0);
    auto db = open_current(config);
    const auto counts = stats::read(*db, static_cast<std::int64_t>(std::time(nullptr)), {config.idle_ttl, config.max_ttl});
    std::cout << "waiting: " << counts.waiting << "\n"
              << "active: " << counts.active << "\n"
              << "messages: " << counts.messages << "\n"
              << "oldest_waiting_seconds: " << counts.oldest_waiting << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Args args(argv + 1, argv + argc);
    try {
        const Config config = Config::load(args);
        if (args.empty() || args[0] == "--help" || args[0] == "help") {
            std::cout << kUsage;
            return args.empty() ? 2 : 0;
        }
        const std::map<std::string, std::function<int(const Config&, Args&)>> commands = {
            {"init", init}, {"unit", unit}, {"route", route}, {"agent", agent}, {"stats", print_stats}};
        const auto command = commands.find(args[0]);
        if (command == commands.end()) throw UsageError("unknown command '" + args[0] + "'");
        args.erase(args.begin());
        return command->second(config, args);
    } catch (const UsageError& e) {
        std::cerr << "abrictl: " << e.what() << "\n" << kUsage;
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "abrictl: " << e.what() << "\n";
        return 1;
    }
}

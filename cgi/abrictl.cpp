// abrictl: the admin's command line, run on the server next to the
// database. Every command prints what it did, or a clear message and a
// non-zero exit status.
//   abrictl [--db PATH] init
//   abrictl [--db PATH] unit add CODE --name "..." --kind police|gendarmerie
//   abrictl [--db PATH] route add KEY UNIT_CODE
//   abrictl [--db PATH] route default UNIT_CODE
//   abrictl [--db PATH] agent add USERNAME --unit CODE [--unit CODE...]   (password on stdin)
//   abrictl [--db PATH] agent disable USERNAME
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
    "  route add KEY UNIT_CODE                    KEY: 13, 130, 13001, 974, 2A, 2B\n"
    "  route default UNIT_CODE                    the unit for every other postcode\n"
    "  agent add USERNAME --unit CODE [--unit CODE ...]   password read from standard input\n"
    "  agent disable USERNAME\n"
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
    const std::string name = one_option(args, "--name");
    const std::string kind = one_option(args, "--kind");
    expect_count(args, 2);
    if (args[0] != "add") throw UsageError("unknown unit command '" + args[0] + "'");
    write(config, [&](store::Db& db) { routing::add_unit(db, args[1], name, kind); });
    std::cout << "unit " << args[1] << " added: " << name << " (" << kind << ")\n";
    return 0;
}

int route(const Config& config, Args& args) {
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

int agent(const Config& config, Args& args) {
    if (args.size() == 2 && args[0] == "disable") {
        write(config, [&](store::Db& db) { agents::disable(db, args[1]); });
        std::cout << "operator " << args[1] << " disabled and logged out\n";
        return 0;
    }
    const auto units = take_option(args, "--unit");
    expect_count(args, 2);
    if (args[0] != "add") throw UsageError("unknown agent command '" + args[0] + "'");
    if (units.empty()) throw UsageError("agent add needs at least one --unit CODE");
    std::string password;
    std::getline(std::cin, password);
    // Hashing takes memory and time: do it before taking the write lock.
    const std::string hash = agents::hash_password(password);
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

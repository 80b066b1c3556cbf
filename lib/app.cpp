#include "app.hpp"
#include "limits.hpp"
#include "log.hpp"

#include <iostream>
#include <memory>
#include <stdexcept>

namespace abri::app {

bool App::write_on_the_side(const char* what, const std::function<void(store::Db&)>& work) {
    try {
        writer.run(work);
        return true;
    } catch (const store::Error& e) {
        if (!e.is_unavailable()) throw;
        log::line(std::string("database: ") + what + ": " + e.what());
        return false;
    }
}

bool App::sweep_duty(std::int64_t now) {
    std::int64_t last = last_sweep.load();
    if (now - last < limits::kSweepEverySeconds || !last_sweep.compare_exchange_strong(last, now)) return false;
    if (duty::plan(reader(), now, duty).empty()) return false;
    int moved = 0;
    write_on_the_side("conversations of absent operators could not be released",
                      [&](store::Db& w) { moved = duty::sweep(w, now, duty); });
    return moved > 0;
}

int main(int argc, char** argv, const std::string& program, const Dispatch& dispatch) {
    try {
        const Config config = Config::load(argc, argv, true);
        std::unique_ptr<App> app;
        return server::serve(program, config, [&]() -> server::Handler {
            const store::Options db = config.database();
            const duty::Settings duty{config.agent_gone_after, config.escalate_after, config.idle_ttl, config.max_ttl};
            app.reset(new App{config, db, {config.idle_ttl, config.max_ttl}, duty, store::Writer(db),
                              retention::Scrubber(db)});
            return [&app, &dispatch](const http::Request& request) { return dispatch(*app, request); };
        });
    } catch (const std::exception& e) {
        std::cerr << program << ": " << e.what() << "\n";
        return 1;
    }
}

}  // namespace abri::app

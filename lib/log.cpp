#include "log.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

namespace abri::log {

namespace {
std::mutex mutex;
std::string program = "abri";
long current_minute = -1;
int lines_this_minute = 0;
}  // namespace

void set_program(std::string_view name) {
    std::lock_guard lock(mutex);
    program = name;
}

void line(std::string_view what) {
    const long minute = std::chrono::duration_cast<std::chrono::minutes>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    std::lock_guard lock(mutex);
    if (minute != current_minute) {
        if (lines_this_minute > kMaxPerMinute) {
            std::fprintf(stderr, "%s: %d more lines were not written\n", program.c_str(),
                         lines_this_minute - kMaxPerMinute);
        }
        current_minute = minute;
        lines_this_minute = 0;
    }
    if (++lines_this_minute > kMaxPerMinute) return;
    std::fprintf(stderr, "%s: %.*s\n", program.c_str(), static_cast<int>(what.size()), what.data());
}

}  // namespace abri::log

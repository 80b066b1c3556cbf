#include "retention.hpp"
#include "log.hpp"

#include <chrono>
#include <thread>

namespace abri::retention {

namespace {
constexpr int kScrubAttempts = 20;
constexpr auto kScrubPause = std::chrono::milliseconds(5);
}  // namespace

bool scrub(const store::Options& options) {
    store::Db db(options);
    for (int attempt = 0; attempt < kScrubAttempts; ++attempt) {
        // Columns: busy, frames in the log, frames checkpointed: 0|0|0 is
        // an empty, truncated log.
        store::Query checkpoint(db, "PRAGMA wal_checkpoint(TRUNCATE)");
        if (checkpoint.next() && checkpoint.integer(0) == 0 && checkpoint.integer(1) == 0) return true;
        std::this_thread::sleep_for(kScrubPause);  // a reader is finishing: bounded retries, not a poll loop
    }
    log::line("the write-ahead log could not be truncated: readers kept it busy; the next purge retries");
    return false;
}

}  // namespace abri::retention

// How long chats live, and making sure that what is erased is gone from
// every file of the database, not only from its tables.
#pragma once
#include "store.hpp"
#include "visitor.hpp"

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace abri::retention {

// Moves every page out of the write-ahead log into the main file and
// truncates the log to zero bytes, so that no old frame still holds erased
// text (deleted pages are zeroed by secure_delete). Retries while readers
// keep old frames in use; returns false if the log could not be emptied.
bool scrub(const store::Options& options);

// Retries the scrub in the background until it succeeds: an erase whose
// log a reader kept busy is finished as soon as the reader lets go, not
// at the next purge.
class Scrubber {
public:
    explicit Scrubber(store::Options options);
    ~Scrubber();
    Scrubber(const Scrubber&) = delete;
    Scrubber& operator=(const Scrubber&) = delete;
    void request();

private:
    void loop();
    store::Options options_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool pending_ = false;
    bool stopping_ = false;
    std::thread thread_;
};

struct PurgeResult {
    std::int64_t sessions = 0;   // erased, with all their messages
    std::int64_t messages = 0;
    double seconds = 0;
    bool scrubbed = false;       // the write-ahead log was emptied afterwards
};

// Erases every session that expired, was closed by its operator, or was
// left by its visitor more than limits::kLeftKeptSeconds ago, with its
// messages; then old pulses and expired operator logins; then scrubs.
// Works in short transactions (limits::kPurgeSliceMs of work each, with
// the lock left free limits::kPurgeGapMs in between) so that a send
// never waits long behind it; two purges at once are harmless.
PurgeResult purge(const store::Options& options, std::int64_t now, const visitor::Ttl& ttl);

}  // namespace abri::retention

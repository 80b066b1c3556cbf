#include "retention.hpp"
#include "limits.hpp"
#include "log.hpp"
#include "pulse.hpp"
#include "stats.hpp"

#include <chrono>
#include <utility>
#include <vector>
#include <thread>

namespace abri::retention {

namespace {
constexpr int kScrubAttempts = 200;
constexpr auto kScrubPause = std::chrono::milliseconds(5);
// A pending TRUNCATE checkpoint blocks new writers while it waits for
// readers: wait briefly, let the senders through, try again.
constexpr int kScrubBusyMs = 20;
constexpr int kBusyRetries = 5;
constexpr auto kScrubRetry = std::chrono::seconds(1);  // busy timeouts in a row before the purge gives up

// ?1 = now - left kept, ?2 = now - idle ttl, ?3 = now - max ttl, ?5 = the
// last session id a batch of this run looked at: each batch goes on from
// there instead of reading again the live sessions before it.
constexpr const char* kPurgeable =
    "SELECT id, unit_id FROM sessions WHERE id > ?5 AND (state = 'closed' OR (state = 'left' AND ended_at <= ?1) "
    "OR (state IN ('waiting', 'active') AND (last_seen <= ?2 OR created_at <= ?3))) ORDER BY id LIMIT ?4";
constexpr const char* kDeleteMessages = "DELETE FROM messages WHERE session_id = ?";
constexpr const char* kDeleteSession = "DELETE FROM sessions WHERE id = ?";
constexpr const char* kDeleteSessionPulses = "DELETE FROM pulses WHERE session_id = ?";
constexpr const char* kDeleteOldPulses = "DELETE FROM pulses WHERE at < ?";
constexpr const char* kDeleteOldLogins = "DELETE FROM agent_logins WHERE expires_at <= ?";
constexpr const char* kDeleteOldErased = "DELETE FROM erased WHERE at <= ?";

// One transaction of at most limits::kPurgeBatch sessions after `cursor`,
// ended after limits::kPurgeSliceMs of work so that sends waiting for the
// lock wait little. Moves `cursor` to the last session erased; returns
// whether purgeable sessions may remain after it.
bool purge_batch(store::Db& db, std::int64_t now, const visitor::Ttl& ttl, std::int64_t& cursor,
                 PurgeResult& result) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limits::kPurgeSliceMs);
    store::WriteTransaction transaction(db);
    std::vector<std::pair<std::int64_t, std::int64_t>> batch;
    {
        store::Query select(db, kPurgeable, now - limits::kLeftKeptSeconds, now - ttl.idle, now - ttl.max,
                            static_cast<std::int64_t>(limits::kPurgeBatch), cursor);
        while (select.next()) batch.emplace_back(select.integer(0), select.integer(1));
    }
    std::int64_t sessions = 0;
    std::int64_t messages = 0;
    for (const auto& [session, unit] : batch) {
        store::Query(db, kDeleteMessages, session).run();
        messages += store::changes(db);
        store::Query(db, kDeleteSession, session).run();
        // Its pulses name it and its unit: they go with it. Operators'
        // consoles of the unit drop the conversation at once.
        store::Query(db, kDeleteSessionPulses, session).run();
        pulse::record(db, 0, unit, now);
        ++sessions;
        if (std::chrono::steady_clock::now() >= deadline) break;
    }
    transaction.commit();
    if (sessions > 0) cursor = batch[static_cast<std::size_t>(sessions) - 1].first;
    result.messages += messages;
    result.sessions += sessions;
    return batch.size() == limits::kPurgeBatch || sessions < static_cast<std::int64_t>(batch.size());
}
}  // namespace

bool scrub(const store::Options& options) {
    store::Db db(options);
    db.set_busy_timeout(kScrubBusyMs);
    // Copies the log into the database beside the writers; the TRUNCATE
    // below, which holds them back while it works, then has little left.
    try {
        store::Query(db, "PRAGMA wal_checkpoint(PASSIVE)").next();
    } catch (const store::Error& e) {
        if (!e.is_unavailable()) throw;  // another one is checkpointing: the loop below waits
    }
    for (int attempt = 0; attempt < kScrubAttempts; ++attempt) {
        // Columns: busy, frames in the log, frames checkpointed: 0|0|0 is
        // an empty, truncated log.
        try {
            store::Query checkpoint(db, "PRAGMA wal_checkpoint(TRUNCATE)");
            if (checkpoint.next() && checkpoint.integer(0) == 0 && checkpoint.integer(1) == 0) return true;
        } catch (const store::Error& e) {
            // Another connection is checkpointing (a second purge, an
            // erase): SQLite says busy instead of waiting. Try again.
            if (!e.is_unavailable()) throw;
        }
        std::this_thread::sleep_for(kScrubPause);  // a reader is finishing: bounded retries, not a poll loop
    }
    log::line("the write-ahead log could not be truncated: readers kept it busy; the next purge retries");
    return false;
}

PurgeResult purge(const store::Options& options, std::int64_t now, const visitor::Ttl& ttl) {
    const auto start = std::chrono::steady_clock::now();
    PurgeResult result;
    {
        store::Db db(options);
        // The default 64 KiB made it re-read the index pages it had just
        // written: 12.6 s instead of 2.8 s for a million messages.
        db.set_cache_size(limits::kWriteCacheKib);
        // Another purge, or a long checkpoint, may hold the write lock past
        // the busy timeout: a batch that found it busy is simply tried again.
        int busy = 0;
        std::int64_t cursor = 0;
        for (;;) {
            try {
                if (!purge_batch(db, now, ttl, cursor, result)) break;
                busy = 0;
                // The lock left free a moment: the other processes'
                // writers, retrying every millisecond, get their turn
                // between two batches instead of after the whole run.
                std::this_thread::sleep_for(std::chrono::milliseconds(limits::kPurgeGapMs));
            } catch (const store::Error& e) {
                if (!e.is_unavailable() || ++busy >= kBusyRetries) throw;
            }
        }
        store::WriteTransaction transaction(db);
        store::Query(db, kDeleteOldPulses, now - limits::kPulsesKeptSeconds).run();
        store::Query(db, kDeleteOldLogins, now).run();
        store::Query(db, kDeleteOldErased, now - limits::kErasedKeptSeconds).run();
        stats::forget_old(db, now);
        transaction.commit();
    }
    result.scrubbed = scrub(options);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

Scrubber::Scrubber(store::Options options) : options_(std::move(options)), thread_([this] { loop(); }) {}

Scrubber::~Scrubber() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

void Scrubber::request() {
    {
        std::lock_guard lock(mutex_);
        pending_ = true;
    }
    wake_.notify_one();
}

void Scrubber::loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || pending_; });
        if (stopping_) return;
        // A reader holding old frames lets go within seconds (a backup, a
        // long poll's read): try again each second until the log is empty.
        if (wake_.wait_for(lock, kScrubRetry, [this] { return stopping_; })) return;
        lock.unlock();
        bool done = false;
        try {
            done = scrub(options_);
        } catch (const std::exception& e) {
            log::line(std::string("scrub after an erase: ") + e.what());
        }
        lock.lock();
        if (done) pending_ = false;
    }
}

}  // namespace abri::retention

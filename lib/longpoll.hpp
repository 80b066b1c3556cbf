// Parked long-polls. A request that has nothing to answer yet is parked
// here without a thread: its connection is watched for a hang-up, its
// deadline kept, and one watcher thread per process follows the
// database's change feed (inotify on the writers' wake file, then the pulses
// after the last one seen) and hands back to the workers exactly the
// requests whose session or unit changed.
#pragma once
#include "http.hpp"
#include "store.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace abri::longpoll {

using Clock = std::chrono::steady_clock;

// One request in flight, whatever the transport (FastCGI or CGI).
class Exchange {
public:
    virtual ~Exchange() = default;
    virtual void respond(const http::Response& response) = 0;
    // A descriptor that reports the client going away, or -1.
    virtual int hangup_fd() const { return -1; }
    http::Request request;
};

// What a handler asks for when there is nothing to answer yet.
struct Wait {
    std::vector<std::int64_t> sessions;  // wake on a change to any of these sessions
    std::vector<std::int64_t> units;     // or to any session of these units
    Clock::time_point deadline;
    // Called by a worker after a change, or with timed_out at the deadline
    // (it must then answer). Nothing means: keep waiting.
    std::function<std::optional<http::Response>(bool timed_out)> resume;
};

struct Job {
    std::unique_ptr<Exchange> exchange;
    std::optional<Wait> wait;  // set when the job is a parked request coming back
    bool timed_out = false;
};

class Waiters {
public:
    // `ready` receives the jobs to run again; it is called from the watcher
    // thread and from park().
    Waiters(const store::Options& options, std::function<void(Job)> ready);
    ~Waiters();
    Waiters(const Waiters&) = delete;
    Waiters& operator=(const Waiters&) = delete;

    // The last pulse handed out. A worker reads it before it looks at the
    // database and parks with it, so a change that lands in between is
    // never missed.
    std::int64_t cursor() const;
    // False when full (the caller answers 503).
    bool park(Job job, std::int64_t cursor);
    // Hands every parked request back as timed out and ends the watcher.
    void stop();
    std::size_t parked() const;

private:
    struct Parked {
        Job job;
        std::uint64_t ticket;
        std::multimap<Clock::time_point, std::uint64_t>::iterator by_deadline;
    };

    void loop();
    void watch_wake_file();
    bool drain_inotify();
    void dispatch_changes();
    bool pass_when_nobody_waits();
    void release_expired();
    void drop_hung_up(std::uint64_t ticket);
    // Removes a parked request from every index; the caller holds mutex_.
    Job take(std::uint64_t ticket);

    store::Db db_;
    std::string wake_path_;  // store::wake_path(): written by every Writer after each commit
    std::string wake_name_;  // its name within the watched directory
    int directory_watch_ = -1;
    int wake_watch_ = -1;    // -1 while the wake file does not exist
    std::function<void(Job)> ready_;
    int epoll_fd_ = -1;
    int inotify_fd_ = -1;
    int stop_fd_ = -1;

    mutable std::mutex mutex_;
    std::int64_t cursor_ = 0;
    bool stopped_ = false;  // parking after stop() answers at once
    std::uint64_t next_ticket_ = 1;
    std::unordered_map<std::uint64_t, Parked> parked_;
    std::unordered_multimap<std::int64_t, std::uint64_t> by_session_;
    std::unordered_multimap<std::int64_t, std::uint64_t> by_unit_;
    std::multimap<Clock::time_point, std::uint64_t> by_deadline_;
    std::thread thread_;
};

}  // namespace abri::longpoll

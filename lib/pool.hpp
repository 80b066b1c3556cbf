// The queue between the acceptor, the watcher and the workers, and the
// workers themselves. A worker is started when a job finds none idle, up
// to `max_workers` (ABRI_THREADS): a send blocks its worker until its group
// commit, so one commit (one fsync) carries at most as many sends as there
// are workers. A worker idle for `idle` (ABRI_WORKER_IDLE) leaves (one
// always stays), closing its read connection and handing freed memory back
// to the system, so that what a burst took returns. A leaving worker moves
// its own std::thread to a list that the next push, or close(), joins: a
// thread cannot join itself.
#pragma once
#include "longpoll.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

namespace abri::pool {

struct Settings {
    std::size_t max_workers;         // ABRI_THREADS
    std::size_t max_queued;          // limits::kMaxQueued: jobs waiting for a worker before try_push refuses
    std::chrono::milliseconds idle;  // ABRI_WORKER_IDLE: how long a worker waits for a job before it leaves
};

class Jobs {
public:
    using Run = std::function<void(longpoll::Job)>;
    Jobs(Run run, Settings settings);
    // close() first: ends the workers if the caller did not.
    ~Jobs();
    Jobs(const Jobs&) = delete;
    Jobs& operator=(const Jobs&) = delete;

    // Queues a job; starts a worker when none is idle and there is room.
    void push(longpoll::Job job);
    // The same, unless max_queued jobs already wait: the job then comes
    // back, for a 503 (a new request is refused when the workers are that
    // far behind; a parked poll coming back is never refused: push()).
    std::optional<longpoll::Job> try_push(longpoll::Job job);
    // Runs what is queued, then waits for every worker to leave.
    void close();

    // Workers started and not yet left.
    std::size_t workers() const;

private:
    void wake_or_start();
    void work(std::list<std::thread>::iterator self);

    Run run_;
    Settings settings_;
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::condition_variable gone_;
    std::deque<longpoll::Job> queue_;
    std::size_t workers_ = 0;          // started and not yet left
    std::size_t idle_ = 0;             // of which waiting for a job
    std::list<std::thread> threads_;   // the workers'
    std::list<std::thread> finished_;  // of workers that left, to join
    bool closed_ = false;
};

}  // namespace abri::pool

// The worker pool (lib/pool.hpp): workers started on demand up to the
// maximum, leaving when idle but for the last, new work refused when the
// queue is full, and a shutdown that answers the parked polls.
#include "pool.hpp"
#include "temp_db.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace abri;
using namespace std::chrono_literals;

namespace {

// Jobs that hold their worker until the gate opens, counted as they run.
struct Gate {
    std::mutex mutex;
    std::condition_variable changed;
    bool open = false;
    int running = 0;  // jobs inside run(), now
    int most = 0;     // the most ever inside run() at once
    int done = 0;

    void run() {
        std::unique_lock lock(mutex);
        most = std::max(most, ++running);
        changed.notify_all();
        changed.wait(lock, [this] { return open; });
        --running;
        ++done;
        changed.notify_all();
    }
    void let_through() {
        std::lock_guard lock(mutex);
        open = true;
        changed.notify_all();
    }
    // Whether `count` jobs are inside run() within 5 s.
    bool running_reaches(int count) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, 5s, [&] { return running == count; });
    }
    bool done_reaches(int count) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, 5s, [&] { return done == count; });
    }
};

// A request that counts the answers it gets.
struct Counted : longpoll::Exchange {
    explicit Counted(std::atomic<int>& answers) : answers_(answers) {}
    void respond(const http::Response& response) override {
        if (response.status == 200) ++answers_;
    }
    std::atomic<int>& answers_;
};

longpoll::Job job_for(std::atomic<int>& answers) { return longpoll::Job{std::make_unique<Counted>(answers), {}, false}; }

// Whether `condition` holds within `deadline`, looked at every millisecond.
template <typename Condition>
bool within(std::chrono::milliseconds deadline, Condition condition) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

pool::Settings settings(std::size_t max_workers, std::size_t max_queued, std::chrono::milliseconds idle) {
    return {max_workers, max_queued, idle};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pool_tests)

BOOST_AUTO_TEST_CASE(a_worker_starts_for_each_job_that_finds_none_idle_up_to_the_maximum) {
    Gate gate;
    std::atomic<int> answers = 0;
    pool::Jobs jobs([&](longpoll::Job) { gate.run(); }, settings(3, 100, 60s));
    BOOST_TEST(jobs.workers() == 0u);
    for (int i = 0; i < 5; ++i) jobs.push(job_for(answers));
    BOOST_TEST(gate.running_reaches(3));
    BOOST_TEST(jobs.workers() == 3u);
    gate.let_through();
    BOOST_TEST(gate.done_reaches(5));
    BOOST_TEST(gate.most == 3);
    jobs.close();
    BOOST_TEST(jobs.workers() == 0u);
}

BOOST_AUTO_TEST_CASE(idle_workers_leave_but_the_last_stays) {
    Gate gate;
    std::atomic<int> answers = 0;
    pool::Jobs jobs([&](longpoll::Job) { gate.run(); }, settings(4, 100, 20ms));
    for (int i = 0; i < 4; ++i) jobs.push(job_for(answers));
    BOOST_TEST(gate.running_reaches(4));
    gate.let_through();
    BOOST_TEST(within(5s, [&] { return jobs.workers() == 1; }));
    // Twenty idle times later the last one is still there.
    BOOST_TEST(!within(400ms, [&] { return jobs.workers() != 1; }));
    // And a burst after the quiet starts workers again (the ones that left
    // were joined: no thread is left behind).
    jobs.push(job_for(answers));
    BOOST_TEST(gate.done_reaches(5));
}

BOOST_AUTO_TEST_CASE(a_new_job_is_refused_when_the_queue_is_full_but_a_parked_poll_coming_back_is_not) {
    Gate gate;
    std::atomic<int> answers = 0;
    pool::Jobs jobs([&](longpoll::Job) { gate.run(); }, settings(1, 2, 60s));
    jobs.push(job_for(answers));
    BOOST_TEST(gate.running_reaches(1));
    BOOST_TEST(!jobs.try_push(job_for(answers)).has_value());
    BOOST_TEST(!jobs.try_push(job_for(answers)).has_value());
    const auto refused = jobs.try_push(job_for(answers));
    BOOST_TEST(refused.has_value());
    BOOST_TEST((refused && refused->exchange) != false);  // handed back whole, for its 503
    jobs.push(job_for(answers));                         // push() never refuses
    gate.let_through();
    BOOST_TEST(gate.done_reaches(4));
    BOOST_TEST(gate.most == 1);
}

BOOST_AUTO_TEST_CASE(shutting_down_answers_every_parked_poll_and_runs_what_is_queued) {
    testing::TempDb temp;
    std::atomic<int> answers = 0;
    std::atomic<int> refused = 0;  // counted here, checked on the test's thread (Boost.Test is not thread-safe)
    std::unique_ptr<longpoll::Waiters> waiters;
    // A poll parks until its deadline, far away; at the deadline it answers 200.
    pool::Jobs jobs(
        [&](longpoll::Job job) {
            if (job.wait) {
                job.exchange->respond(*job.wait->resume(job.timed_out));
                return;
            }
            const auto at_deadline = [](bool timed_out) {
                return timed_out ? std::optional<http::Response>(http::Response{}) : std::nullopt;
            };
            job.wait = longpoll::Wait{{1}, {}, longpoll::Clock::now() + 600s, at_deadline};
            const auto cursor = waiters->cursor();
            if (!waiters->park(std::move(job), cursor)) ++refused;
        },
        settings(2, 100, 60s));
    waiters = std::make_unique<longpoll::Waiters>(temp.options, [&](longpoll::Job job) { jobs.push(std::move(job)); });
    for (int i = 0; i < 10; ++i) jobs.push(job_for(answers));
    BOOST_TEST(within(5s, [&] { return waiters->parked() == 10; }));
    BOOST_TEST(answers == 0);
    waiters->stop();
    jobs.close();
    BOOST_TEST(answers == 10);
    BOOST_TEST(refused == 0);
    BOOST_TEST(jobs.workers() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

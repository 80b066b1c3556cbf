// The long-poll watcher on a real database: pulses committed by a Writer
// reach it through the wake file, as they do across processes.
#include "longpoll.hpp"
#include "pulse.hpp"
#include "temp_db.hpp"

#include <boost/test/unit_test.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

using namespace abri;
using namespace std::chrono_literals;

namespace {

// What the watcher hands back, as the server's worker queue would receive it.
struct Handed {
    std::mutex mutex;
    std::condition_variable arrived;
    std::deque<longpoll::Job> jobs;

    void push(longpoll::Job job) {
        {
            std::lock_guard lock(mutex);
            jobs.push_back(std::move(job));
        }
        arrived.notify_all();
    }
    // The next job handed back, if one comes within `within`.
    std::optional<longpoll::Job> next(std::chrono::milliseconds within) {
        std::unique_lock lock(mutex);
        if (!arrived.wait_for(lock, within, [this] { return !jobs.empty(); })) return std::nullopt;
        auto job = std::move(jobs.front());
        jobs.pop_front();
        return job;
    }
};

// A request whose answer the tests do not need.
struct Unanswered : longpoll::Exchange {
    void respond(const http::Response&) override {}
};

longpoll::Job waiting_for_session(std::int64_t session) {
    longpoll::Job job;
    job.exchange = std::make_unique<Unanswered>();
    job.wait = longpoll::Wait{{session}, {}, longpoll::Clock::now() + 60s, nullptr};
    return job;
}

// A database, a process's Writer and its watcher (stopped first: declared
// last).
struct Watched {
    testing::TempDb temp;
    store::Writer writer{temp.options};
    Handed handed;
    longpoll::Waiters waiters{temp.options, [this](longpoll::Job job) { handed.push(std::move(job)); }};

    void pulse_for(std::int64_t session) {
        writer.run([session](store::Db& db) { pulse::record(db, session, 1, 0); });
    }
    // The watcher follows the feed on its own thread: wait (bounded) until
    // it has read up to the database's latest pulse.
    bool caught_up() {
        store::Db db(temp.options);
        const auto latest = pulse::latest(db);
        for (int i = 0; i < 5000 && waiters.cursor() < latest; ++i) std::this_thread::sleep_for(1ms);
        return waiters.cursor() == latest;
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(longpoll_tests)

BOOST_FIXTURE_TEST_CASE(with_nobody_waiting_the_cursor_moves_past_the_pulses, Watched) {
    const auto before = waiters.cursor();
    for (int i = 0; i < 50; ++i) pulse_for(100 + i);
    BOOST_TEST(caught_up());
    BOOST_TEST(waiters.cursor() > before);
    BOOST_TEST(!handed.next(0ms));
}

BOOST_FIXTURE_TEST_CASE(a_poll_parking_with_a_cursor_already_passed_looks_again_at_once, Watched) {
    // The worker read the cursor, then looked at the database; the change
    // it did not see landed, and the watcher moved on, before it parked.
    const auto seen = waiters.cursor();
    pulse_for(7);
    BOOST_TEST(caught_up());
    BOOST_TEST(waiters.park(waiting_for_session(7), seen));
    const auto back = handed.next(0ms);
    BOOST_TEST(back.has_value());
    BOOST_TEST(!back->timed_out);
    BOOST_TEST(waiters.parked() == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_parked_poll_is_woken_by_its_session_only, Watched) {
    BOOST_TEST(waiters.park(waiting_for_session(7), waiters.cursor()));
    pulse_for(8);
    BOOST_TEST(caught_up());
    BOOST_TEST(!handed.next(0ms));
    BOOST_TEST(waiters.parked() == 1u);
    pulse_for(7);
    const auto back = handed.next(5000ms);
    BOOST_TEST(back.has_value());
    BOOST_TEST(!back->timed_out);
    BOOST_TEST(waiters.parked() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

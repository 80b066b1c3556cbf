#include "limits.hpp"
#include "work.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace abri;

namespace {

constexpr std::int64_t kNow = 1'780'000'000;
constexpr int kAfter = 10;

// What the page does (www/js/work.js): counts up until the hash fits.
std::string solve(const work::Challenge& c) {
    for (long nonce = 0;; ++nonce) {
        if (work::solves(c.challenge, std::to_string(nonce), c.bits)) return std::to_string(nonce);
    }
}

// A gate that has already let `kAfter` free sessions through at kNow.
struct FloodedGate {
    work::Gate gate{kAfter};
    FloodedGate() {
        for (int i = 0; i < kAfter; ++i) BOOST_REQUIRE(!gate.admit("", "", kNow));
    }
    work::Challenge ask(std::int64_t now = kNow) {
        auto asked = gate.admit("", "", now);
        BOOST_REQUIRE(asked);
        return *asked;
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(work_tests)

BOOST_AUTO_TEST_CASE(sessions_under_the_threshold_cost_nothing) {
    work::Gate gate(kAfter);
    for (int i = 0; i < kAfter; ++i) BOOST_TEST(!gate.admit("", "", kNow + i));
}

BOOST_AUTO_TEST_CASE(past_the_threshold_a_session_without_work_is_asked_for_it) {
    FloodedGate flooded;
    const auto asked = flooded.ask();
    BOOST_TEST(asked.bits == limits::kWorkBits);
    BOOST_TEST(asked.challenge.size() == limits::kWorkChallengeChars);
    BOOST_TEST(flooded.ask().challenge != asked.challenge);
}

BOOST_AUTO_TEST_CASE(valid_work_opens_a_session_once) {
    FloodedGate flooded;
    const auto asked = flooded.ask();
    const auto nonce = solve(asked);
    BOOST_TEST(!flooded.gate.admit(asked.challenge, nonce, kNow + 1));
    BOOST_TEST(flooded.gate.admit(asked.challenge, nonce, kNow + 2).has_value());  // replayed
}

BOOST_AUTO_TEST_CASE(a_wrong_nonce_is_refused) {
    FloodedGate flooded;
    const auto asked = flooded.ask();
    const auto nonce = solve(asked);
    BOOST_TEST(flooded.gate.admit(asked.challenge, nonce + "0", kNow).has_value());
    BOOST_TEST(flooded.gate.admit(asked.challenge, "", kNow).has_value());
}

BOOST_AUTO_TEST_CASE(a_challenge_of_another_process_or_altered_is_refused) {
    FloodedGate flooded;
    FloodedGate other;  // another secret: a restart, or a forger's own gate
    const auto theirs = other.ask();
    BOOST_TEST(flooded.gate.admit(theirs.challenge, solve(theirs), kNow).has_value());
    auto altered = flooded.ask();
    altered.challenge[0] = altered.challenge[0] == 'A' ? 'B' : 'A';  // another issue time
    BOOST_TEST(flooded.gate.admit(altered.challenge, solve(altered), kNow).has_value());
}

BOOST_AUTO_TEST_CASE(a_challenge_expires) {
    FloodedGate flooded;
    const auto asked = flooded.ask();
    const auto nonce = solve(asked);
    const auto late = kNow + limits::kWorkChallengeSeconds + 1;
    for (int i = 0; i < kAfter; ++i) BOOST_REQUIRE(!flooded.gate.admit("", "", late));  // still flooded then
    BOOST_TEST(flooded.gate.admit(asked.challenge, nonce, late).has_value());
}

BOOST_AUTO_TEST_CASE(the_count_is_of_the_last_minute_only) {
    FloodedGate flooded;
    BOOST_TEST(!flooded.gate.admit("", "", kNow + 60));
}

BOOST_AUTO_TEST_CASE(work_grows_a_bit_each_time_the_rate_doubles_then_503_past_the_ceiling) {
    work::Gate gate(1);
    BOOST_REQUIRE(!gate.admit("", "", kNow));
    // Extra bits asked once 1, 2, ... sessions are in: +1 at twice the
    // threshold, +2 (the most) at four times.
    const int extra[] = {0, 0, 1, 1, 2, 2, 2, 2, 2, 2};
    static_assert(limits::kWorkMaxExtraBits == 2 && limits::kSessionCeilingTimes == 10);
    for (int sessions = 1; sessions < 10; ++sessions) {
        const auto asked = gate.admit("", "", kNow);
        BOOST_REQUIRE(asked);
        BOOST_TEST(asked->bits == limits::kWorkBits + extra[sessions]);
        BOOST_REQUIRE(!gate.admit(asked->challenge, solve(*asked), kNow));
    }
    try {
        (void)gate.admit("", "", kNow);
        BOOST_FAIL("admitted past the ceiling");
    } catch (const http::Error& e) {
        BOOST_TEST(e.status == 503);
    }
}

// What a wrong answer costs the server is measured by `make bench` (the
// flood's refused requests per second), never timed here.
BOOST_AUTO_TEST_CASE(wrong_answers_are_each_refused_and_do_not_use_up_the_challenge) {
    FloodedGate flooded;
    const auto asked = flooded.ask();
    for (int i = 0; i < 1000; ++i) BOOST_REQUIRE(flooded.gate.admit(asked.challenge, "x", kNow));
    BOOST_TEST(!flooded.gate.admit(asked.challenge, solve(asked), kNow));
}

BOOST_AUTO_TEST_CASE(the_429_carries_the_work_beside_code_and_message) {
    const auto response = http::error_response(work::required({"abc", 18}));
    BOOST_TEST(response.status == 429);
    const auto body = nlohmann::json::parse(response.body);
    BOOST_TEST(body["error"]["code"] == "work_required");
    BOOST_TEST(body["error"]["work"]["challenge"] == "abc");
    BOOST_TEST(body["error"]["work"]["bits"] == 18);
}

BOOST_AUTO_TEST_SUITE_END()

// lib/desk and lib/queue: what operators do to sessions and what their
// long-poll shows them.
#include "agents.hpp"
#include "desk.hpp"
#include "limits.hpp"
#include "messages.hpp"
#include "pulse.hpp"
#include "queue.hpp"
#include "routing.hpp"
#include "two_units.hpp"
#include "visitor.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <set>

using namespace abri;

namespace {

struct Fixture : testing::TwoUnits {
    Fixture() : TwoUnits(1000) {}
    void claim(std::int64_t agent, const visitor::Session& s, std::int64_t now = 1010) {
        desk::claim(db, agent, find(agent, s, now), now);
    }
    std::string state(const visitor::Session& s) {
        store::Query q(db, "SELECT state FROM sessions WHERE id = ?", s.id);
        return q.next() ? q.text(0) : "";
    }
    queue::Snapshot read(std::int64_t agent, std::optional<std::int64_t> after = std::nullopt,
                         std::int64_t now = 1010) {
        return queue::read(db, agent, after, now, ttl);
    }
};

// "STATUS code" of what an action throws, "none" when it does not.
template <typename F>
std::string failure(F f) {
    try {
        f();
    } catch (const http::Error& e) {
        return std::to_string(e.status) + " " + e.code;
    }
    return "none";
}

std::vector<std::string> texts(const std::vector<queue::Message>& list) {
    std::vector<std::string> out;
    for (const auto& m : list) out.push_back(m.text);
    return out;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(agents_desk, Fixture)

BOOST_AUTO_TEST_CASE(session_of_another_unit_is_404) {
    const auto s = open(a);
    BOOST_TEST(failure([&] { find(bob, s); }) == "404 not_found");
}

BOOST_AUTO_TEST_CASE(unknown_session_is_404_like_another_units) {
    BOOST_TEST(failure([&] { desk::find(db, alice, "0000000000", 1010, ttl); }) == "404 not_found");
}

BOOST_AUTO_TEST_CASE(first_claim_wins_the_second_is_409_already_claimed) {
    const auto s = open(a);
    const auto seen_by_anna = find(anna, s);
    claim(alice, s);
    BOOST_TEST(failure([&] { desk::claim(db, anna, seen_by_anna, 1011); }) == "409 already_claimed");
    BOOST_TEST(failure([&] { claim(anna, s); }) == "409 already_claimed");
}

BOOST_AUTO_TEST_CASE(claiming_ones_own_session_again_is_harmless) {
    const auto s = open(a);
    claim(alice, s);
    BOOST_CHECK_NO_THROW(claim(alice, s));
    BOOST_TEST(messages::for_visitor(db, s.id, 0).list.size() == 1u);
}

BOOST_AUTO_TEST_CASE(claim_tells_the_visitor_with_a_system_message) {
    const auto s = open(a);
    claim(alice, s);
    const auto list = messages::for_visitor(db, s.id, 0).list;
    BOOST_REQUIRE(list.size() == 1u);
    BOOST_TEST(list[0].from == "system");
    BOOST_TEST(list[0].text.find("Unité A") != std::string::npos);
    BOOST_TEST(state(s) == "active");
}

BOOST_AUTO_TEST_CASE(reply_needs_the_holder) {
    const auto s = open(a);
    BOOST_TEST(failure([&] { desk::reply(db, alice, find(alice, s), "x", 1010); }) == "409 not_claimed");
    claim(alice, s);
    BOOST_TEST(failure([&] { desk::reply(db, anna, find(anna, s), "x", 1010); }) ==
               "403 not_yours");
    BOOST_TEST(desk::reply(db, alice, find(alice, s), "Bonjour", 1011).id > 0);
}

BOOST_AUTO_TEST_CASE(reply_to_a_visitor_who_left_is_409_session_ended) {
    const auto s = open(a);
    claim(alice, s);
    visitor::leave(db, s, true, 1020);
    BOOST_TEST(failure([&] { desk::reply(db, alice, find(alice, s, 1030), "x", 1030); }) == "409 session_ended");
}

BOOST_AUTO_TEST_CASE(transfer_puts_it_back_waiting_in_the_other_unit_and_pulses_both) {
    const auto s = open(a);
    claim(alice, s);
    const auto before = pulse::latest(db);
    desk::transfer(db, alice, find(alice, s), "B", 1020);
    BOOST_TEST(state(s) == "waiting");
    std::set<std::int64_t> units;
    pulse::since(db, before, [&](const pulse::Pulse& p) { units.insert(p.unit_id); });
    BOOST_TEST((units == std::set<std::int64_t>{a.id, b.id}));
    BOOST_TEST(failure([&] { find(alice, s, 1021); }) == "404 not_found");
    BOOST_TEST(find(bob, s, 1021).state == "waiting");
    BOOST_TEST(messages::for_visitor(db, s.id, 0).list.back().text.find("Unité B") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(transfer_to_an_unknown_unit_is_400) {
    const auto s = open(a);
    BOOST_TEST(failure([&] { desk::transfer(db, alice, find(alice, s), "ZZ", 1020); }) ==
               "400 unknown_unit");
}

BOOST_AUTO_TEST_CASE(transfer_of_a_colleagues_session_is_403) {
    const auto s = open(a);
    claim(alice, s);
    BOOST_TEST(failure([&] { desk::transfer(db, anna, find(anna, s), "B", 1020); }) == "403 not_yours");
}

BOOST_AUTO_TEST_CASE(close_ends_it_for_the_visitor) {
    const auto s = open(a);
    claim(alice, s);
    desk::close(db, alice, find(alice, s), 1020);
    BOOST_TEST(state(s) == "closed");
    BOOST_TEST(messages::for_visitor(db, s.id, 0).list.back().from == "system");
    BOOST_TEST(failure([&] { find(alice, s, 1021); }) == "404 not_found");
}

BOOST_AUTO_TEST_CASE(close_of_a_left_session_lets_it_go_and_keeps_the_token_dead) {
    const auto s = open(a);
    claim(alice, s);
    visitor::leave(db, s, false, 1020);
    desk::close(db, alice, find(alice, s, 1021), 1021);
    BOOST_TEST(state(s) == "left");
    BOOST_TEST(failure([&] { find(alice, s, 1022); }) == "404 not_found");
}

BOOST_AUTO_TEST_CASE(left_session_stays_with_its_holder_for_an_hour_at_most) {
    const auto s = open(a);
    claim(alice, s);
    visitor::leave(db, s, true, 1020);
    BOOST_TEST(find(alice, s, 1020 + limits::kLeftKeptSeconds - 1).quick_exit);
    BOOST_TEST(failure([&] { find(anna, s, 1030); }) == "404 not_found");
    BOOST_TEST(failure([&] { find(alice, s, 1020 + limits::kLeftKeptSeconds); }) == "404 not_found");
}

BOOST_AUTO_TEST_CASE(expired_held_session_becomes_left_with_a_system_message) {
    const auto s = open(a);
    claim(alice, s);
    const std::int64_t later = 1000 + ttl.idle;
    BOOST_TEST(!desk::has_expired_held(db, alice, later - 1, ttl));
    BOOST_TEST(desk::has_expired_held(db, alice, later, ttl));
    BOOST_TEST(desk::expire_held(db, alice, later, ttl) == 1);
    BOOST_TEST(state(s) == "left");
    // Told to the operator, not to a page that cannot read it any more.
    BOOST_TEST(messages::for_visitor(db, s.id, 0).list.back().kind == "claimed");
    store::Query last(db, "SELECT kind, text FROM messages WHERE session_id = ? ORDER BY id DESC LIMIT 1", s.id);
    BOOST_TEST(last.next());
    BOOST_TEST(last.text(0) == "expired");
    BOOST_TEST(last.text(1).find("expiré") != std::string::npos);
    BOOST_TEST(find(alice, s, later + 1).state == "left");
}

BOOST_AUTO_TEST_CASE(transcript_has_times_speakers_and_every_line) {
    const auto s = open(a);
    messages::add(db, s.id, a.id, "visitor", "Bonjour\nà l'aide", 1001);
    claim(alice, s);
    desk::reply(db, alice, find(alice, s), "Nous sommes là", 1012);
    const auto text = desk::transcript(db, find(alice, s), "alice", 1013, 0);
    BOOST_TEST(text.find(s.public_id) != std::string::npos);
    BOOST_TEST(text.find("Personne : Bonjour\n    à l'aide\n") != std::string::npos);
    BOOST_TEST(text.find("Équipe (alice) : Nous sommes là\n") != std::string::npos);
    BOOST_TEST(text.find("Système : ") != std::string::npos);
    BOOST_TEST(text.find("par alice") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(queue_shows_the_longest_wait_first_and_only_own_units) {
    const auto later = open(a, 1005);
    const auto earlier = open(a, 1000);
    open(b, 1000);
    const auto snapshot = read(alice);
    BOOST_REQUIRE(snapshot.queue.size() == 2u);
    BOOST_TEST(snapshot.queue[0].session == earlier.public_id);
    BOOST_TEST(snapshot.queue[1].session == later.public_id);
    BOOST_TEST(snapshot.queue[0].role == "victim");
    BOOST_TEST(snapshot.queue[0].unit_code == "A");
}

BOOST_AUTO_TEST_CASE(queue_counts_visitor_messages_since_the_team_last_wrote) {
    const auto s = open(a);
    messages::add(db, s.id, a.id, "visitor", "un", 1001);
    messages::add(db, s.id, a.id, "visitor", "deux", 1002);
    BOOST_TEST(read(alice).queue.at(0).unread == 2);
    claim(alice, s);
    desk::reply(db, alice, find(alice, s), "réponse", 1011);
    messages::add(db, s.id, a.id, "visitor", "trois", 1012);
    BOOST_TEST(read(alice, std::nullopt, 1013).queue.at(0).unread == 1);
}

BOOST_AUTO_TEST_CASE(queue_says_whether_the_visitor_is_connected) {
    open(a, 1000);
    BOOST_TEST(read(alice, std::nullopt, 1000 + limits::kConnectedWithin).queue.at(0).connected);
    BOOST_TEST(!read(alice, std::nullopt, 1001 + limits::kConnectedWithin).queue.at(0).connected);
}

BOOST_AUTO_TEST_CASE(expired_waiting_session_leaves_the_queue) {
    open(a, 1000);
    BOOST_TEST(read(alice, std::nullopt, 1000 + ttl.idle).queue.empty());
}

BOOST_AUTO_TEST_CASE(colleagues_sessions_are_not_in_my_queue) {
    const auto s = open(a);
    claim(anna, s);
    BOOST_TEST(read(alice).queue.empty());
    BOOST_TEST(read(anna).queue.at(0).mine);
}

BOOST_AUTO_TEST_CASE(messages_come_only_for_held_sessions) {
    const auto s = open(a);
    messages::add(db, s.id, a.id, "visitor", "avant", 1001);
    BOOST_TEST(read(alice).messages.empty());
    claim(alice, s);
    BOOST_TEST(texts(read(alice).messages).at(0) == "avant");
    BOOST_TEST(read(anna).messages.empty());
    BOOST_TEST(read(bob).messages.empty());
}

BOOST_AUTO_TEST_CASE(cursor_gives_only_the_new_messages) {
    const auto s = open(a);
    claim(alice, s);
    messages::add(db, s.id, a.id, "visitor", "un", 1011);
    const auto first = read(alice);
    messages::add(db, s.id, a.id, "visitor", "deux", 1012);
    const auto second = read(alice, first.cursor);
    BOOST_TEST(second.changed);
    BOOST_TEST(texts(second.messages) == std::vector<std::string>{"deux"});
    const auto third = read(alice, second.cursor);
    BOOST_TEST(!third.changed);
    BOOST_TEST(third.messages.empty());
}

BOOST_AUTO_TEST_CASE(session_claimed_after_the_cursor_comes_with_its_whole_history) {
    const auto s = open(a);
    messages::add(db, s.id, a.id, "visitor", "avant", 1001);
    const auto first = read(alice);
    claim(alice, s);
    const auto second = read(alice, first.cursor);
    BOOST_TEST(texts(second.messages).at(0) == "avant");
    BOOST_TEST(second.messages.size() == 2u);
}

BOOST_AUTO_TEST_CASE(unknown_cursor_gives_everything) {
    const auto s = open(a);
    claim(alice, s);
    const auto snapshot = read(alice, 999999);
    BOOST_TEST(snapshot.changed);
    BOOST_TEST(snapshot.messages.size() == 1u);
}

BOOST_AUTO_TEST_CASE(changes_in_another_unit_do_not_count_as_changed) {
    open(a);
    const auto first = read(alice);
    open(b);
    BOOST_TEST(!read(alice, first.cursor).changed);
    open(a);
    BOOST_TEST(read(alice, first.cursor).changed);
}

BOOST_AUTO_TEST_CASE(cursor_zero_on_an_empty_database_waits) {
    const auto first = read(alice, 0);
    BOOST_TEST(first.cursor == 0);
    BOOST_TEST(!first.changed);
}

BOOST_AUTO_TEST_CASE(cursor_zero_after_the_feed_was_purged_does_not_resend_everything) {
    const auto s = open(a);
    claim(alice, s);
    const auto full = read(alice);
    store::Query(db, "DELETE FROM pulses").run();
    const auto emptied = read(alice, full.cursor);
    BOOST_TEST(emptied.cursor == 0);
    const auto next = read(alice, emptied.cursor);
    BOOST_TEST(!next.changed);
    BOOST_TEST(next.messages.empty());
}

BOOST_AUTO_TEST_CASE(same_view_ignores_nothing_that_matters) {
    const auto s = open(a);
    const auto first = read(alice);
    BOOST_TEST(queue::same_view(first, read(alice)));
    messages::add(db, s.id, a.id, "visitor", "un", 1011);
    BOOST_TEST(!queue::same_view(first, read(alice)));
}

BOOST_AUTO_TEST_SUITE_END()

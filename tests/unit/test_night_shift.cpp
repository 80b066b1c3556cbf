// The night shift's logic in lib/: statistics, canned replies, notes,
// typing, display names, unit removal, the export's time zone.
#include "agents.hpp"
#include "desk.hpp"
#include "input.hpp"
#include "messages.hpp"
#include "notes.hpp"
#include "queue.hpp"
#include "replies.hpp"
#include "routing.hpp"
#include "stats.hpp"
#include "two_units.hpp"
#include "typing.hpp"
#include "visitor.hpp"

#include <boost/test/unit_test.hpp>

#include <stdexcept>

using namespace abri;

namespace {

constexpr std::int64_t kNoon = 1'700'000'000;  // 2023-11-14 22:13:20 UTC

struct Fixture : testing::TwoUnits {
    Fixture() : TwoUnits(kNoon, "Alice D.") {}
    desk::Case claimed(std::int64_t agent, const visitor::Session& s, std::int64_t now = kNoon + 10) {
        desk::claim(db, agent, find(agent, s, now), now);
        return find(agent, s, now);
    }
    stats::Day day_of(const std::string& unit) {
        for (const auto& d : stats::daily(db)) {
            if (d.unit == unit) return d;
        }
        return {};
    }
};

template <typename F>
std::string admin_refusal(F f) {
    try {
        f();
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "none";
}

}  // namespace

BOOST_AUTO_TEST_CASE(percentile_is_the_nearest_rank) {
    BOOST_TEST(stats::percentile({}, 50) == 0);
    BOOST_TEST(stats::percentile({{7, 1}}, 90) == 7);
    const std::vector<std::pair<std::int64_t, std::int64_t>> histogram = {{10, 5}, {20, 4}, {600, 1}};
    BOOST_TEST(stats::percentile(histogram, 50) == 10);
    BOOST_TEST(stats::percentile(histogram, 90) == 20);
    BOOST_TEST(stats::percentile(histogram, 91) == 600);
}

BOOST_FIXTURE_TEST_SUITE(night_shift, Fixture)

BOOST_AUTO_TEST_CASE(stats_count_the_first_answer_only_with_its_delay) {
    const auto s = open(a);
    const auto c = claimed(alice, s);
    desk::reply(db, alice, c, "Bonjour", kNoon + 42);
    desk::reply(db, alice, c, "Encore", kNoon + 500);
    const auto day = day_of("A");
    BOOST_TEST(day.day == "2023-11-14");
    BOOST_TEST(day.started == 1);
    BOOST_TEST(day.answered == 1);
    BOOST_TEST(day.first_answer_median == 42);
    BOOST_TEST(day.first_answer_p90 == 42);
}

BOOST_AUTO_TEST_CASE(stats_count_leaving_before_an_answer_and_quick_exits) {
    visitor::leave(db, open(a), false, kNoon + 5);
    visitor::leave(db, open(a), true, kNoon + 5);
    const auto answered = open(a);
    desk::reply(db, alice, claimed(alice, answered), "Bonjour", kNoon + 20);
    visitor::leave(db, answered, true, kNoon + 30);
    const auto day = day_of("A");
    BOOST_TEST(day.started == 3);
    BOOST_TEST(day.left_unanswered == 2);
    BOOST_TEST(day.quick_exits == 2);
}

BOOST_AUTO_TEST_CASE(stats_outlive_the_unit_and_go_after_400_days) {
    stats::escalated(db, a.id, kNoon);
    BOOST_TEST(day_of("A").escalations == 1);
    stats::forget_old(db, kNoon + 399 * 86400);
    BOOST_TEST(day_of("A").escalations == 1);
    stats::forget_old(db, kNoon + 401 * 86400);
    BOOST_TEST(stats::daily(db).empty());
}

BOOST_AUTO_TEST_CASE(metrics_render_gauges_and_counters) {
    open(a);
    const auto text = stats::metrics(db, kNoon + 1, ttl);
    BOOST_TEST(text.find("abri_waiting{unit=\"A\"} 1\n") != std::string::npos);
    BOOST_TEST(text.find("abri_waiting{unit=\"B\"} 0\n") != std::string::npos);
    BOOST_TEST(text.find("abri_conversations_started_total{unit=\"A\"} 1\n") != std::string::npos);
    BOOST_TEST(text.find("# TYPE abri_operators_on_duty gauge\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(notes_reach_operators_never_the_visitor) {
    const auto s = open(a);
    const auto c = claimed(alice, s);
    notes::add(db, c.id, anna, "Ne pas rappeler ce numéro", kNoon + 20);
    for (const auto& m : messages::for_visitor(db, s.id, 0).list) BOOST_TEST(m.kind != "note");
    const auto snapshot = queue::read(db, alice, std::nullopt, kNoon + 21, ttl);
    const auto json = queue::to_json(snapshot, kNoon + 21);
    bool found = false;
    for (const auto& m : json["messages"]) {
        if (m["from"] == "note") {
            found = true;
            BOOST_TEST(m["text"] == "Ne pas rappeler ce numéro");
            BOOST_TEST(m["author"] == "anna");
        }
    }
    BOOST_TEST(found);
}

BOOST_AUTO_TEST_CASE(transcript_marks_notes_and_uses_the_console_offset) {
    const auto s = open(a);
    const auto c = claimed(alice, s);
    desk::reply(db, alice, c, "Bonjour", kNoon + 20);
    notes::add(db, c.id, alice, "Appel passé", kNoon + 30);
    const auto text = desk::transcript(db, c, "alice", kNoon + 40, 60);
    BOOST_TEST(text.find("Heures de la console (UTC+01:00)") != std::string::npos);
    BOOST_TEST(text.find("Début : 2023-11-14 23:13:20") != std::string::npos);
    BOOST_TEST(text.find("Équipe (Alice D.) : Bonjour") != std::string::npos);
    BOOST_TEST(text.find("Note interne (Alice D.) : Appel passé") != std::string::npos);
    BOOST_TEST(desk::transcript(db, c, "alice", kNoon + 40, -90).find("UTC-01:30") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_transfer_carries_its_handover_note) {
    const auto s = open(a);
    desk::transfer(db, alice, claimed(alice, s), "B", kNoon + 20, std::string("Voir la sœur"));
    store::Query last(db, "SELECT kind, text, author_id FROM messages WHERE session_id = ? ORDER BY id DESC LIMIT 1",
                      s.id);
    BOOST_TEST(last.next());
    BOOST_TEST(last.text(0) == "note");
    BOOST_TEST(last.text(1) == "Voir la sœur");
    BOOST_TEST(last.integer(2) == alice);
}

BOOST_AUTO_TEST_CASE(typing_is_throttled_and_shown_a_few_seconds) {
    const auto s = open(a);
    BOOST_TEST(!typing::needs_signal(db, s.id, typing::Side::Visitor, kNoon + 10));  // waiting: nobody to tell
    claimed(alice, s);
    BOOST_TEST(typing::needs_signal(db, s.id, typing::Side::Visitor, kNoon + 10));
    typing::signal(db, s.id, typing::Side::Visitor, kNoon + 10);
    BOOST_TEST(!typing::needs_signal(db, s.id, typing::Side::Visitor, kNoon + 11));
    BOOST_TEST(typing::needs_signal(db, s.id, typing::Side::Team, kNoon + 11));
    BOOST_TEST(typing::is_typing(db, s.id, typing::Side::Visitor, kNoon + 15));
    BOOST_TEST(!typing::is_typing(db, s.id, typing::Side::Visitor, kNoon + 16));
    BOOST_TEST(!typing::is_typing(db, s.id, typing::Side::Team, kNoon + 11));
}

BOOST_AUTO_TEST_CASE(replies_are_per_unit_and_checked_as_messages) {
    replies::add(db, "A", "3919", "Appelez le 3919.");
    replies::add(db, "B", "114", "SMS au 114.");
    const auto mine = replies::for_agent(db, alice);
    BOOST_TEST(mine.size() == 1u);
    BOOST_TEST(mine[0].title == "3919");
    BOOST_TEST(replies::list(db).size() == 2u);
    BOOST_TEST(admin_refusal([&] { replies::add(db, "A", "t", std::string(2001, 'x')); }).find("could not be sent") !=
               std::string::npos);
    BOOST_TEST(admin_refusal([&] { replies::add(db, "A", "deux\nlignes", "x"); }).find("title") != std::string::npos);
    BOOST_TEST(admin_refusal([&] { replies::remove(db, 999); }).find("no reply 999") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_unit_in_use_is_not_removed) {
    routing::set_route(db, "13", "B");
    BOOST_TEST(admin_refusal([&] { routing::remove_unit(db, "B"); }).find("1 route(s)") != std::string::npos);
    routing::remove_route(db, "13");
    BOOST_TEST(admin_refusal([&] { routing::remove_unit(db, "B"); }).find("1 operator(s)") != std::string::npos);
    agents::remove(db, "bob", kNoon);
    replies::add(db, "B", "t", "x");
    BOOST_TEST(admin_refusal([&] { routing::remove_unit(db, "B"); }) == "none");
    BOOST_TEST(!routing::find_unit(db, "B"));
    BOOST_TEST(replies::list(db).empty());
}

BOOST_AUTO_TEST_CASE(removing_an_operator_releases_its_chats_and_keeps_its_words) {
    const auto s = open(a);
    desk::reply(db, anna, claimed(anna, s), "Je suis là", kNoon + 20);
    BOOST_TEST(agents::remove(db, "anna", kNoon + 30) == 1);
    store::Query state(db, "SELECT state, agent_id IS NULL FROM sessions WHERE id = ?", s.id);
    BOOST_TEST(state.next());
    BOOST_TEST(state.text(0) == "waiting");
    store::Query kept(db, "SELECT count(*) FROM messages WHERE text = 'Je suis là' AND author_id IS NULL");
    BOOST_TEST(kept.next());
    BOOST_TEST(kept.integer(0) == 1);
}

BOOST_AUTO_TEST_CASE(display_names_are_one_line) {
    BOOST_TEST(agents::is_valid_display_name("Amélie (nuit)"));
    BOOST_TEST(!agents::is_valid_display_name("deux\nlignes"));
    BOOST_TEST(!agents::is_valid_display_name("   "));
    BOOST_TEST(!agents::is_valid_display_name(std::string(65, 'a')));
    agents::rename(db, "anna", "Anna");
    agents::rename(db, "anna", "");
    BOOST_TEST(agents::list(db)[1].display_name.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(a_query_key_takes_a_minus_sign_only_when_it_may_be_negative) {
    constexpr input::QueryKey keys[] = {{"tz", -720, 840, "invalid_tz"}, {"after", 0, 100, "invalid_after"}};
    BOOST_TEST(input::parse_query("tz=-330", keys).at("tz") == -330);
    BOOST_TEST(input::parse_query("tz=120", keys).at("tz") == 120);
    BOOST_CHECK_THROW(input::parse_query("tz=-", keys), http::Error);
    BOOST_CHECK_THROW(input::parse_query("tz=-800", keys), http::Error);
    BOOST_CHECK_THROW(input::parse_query("after=-1", keys), http::Error);
    BOOST_CHECK_THROW(input::parse_query("tz=--1", keys), http::Error);
}

#include "limits.hpp"
#include "messages.hpp"
#include "pulse.hpp"
#include "routing.hpp"
#include "temp_db.hpp"
#include "token.hpp"
#include "visitor.hpp"

#include <boost/test/unit_test.hpp>

using namespace abri;

namespace {
struct Fixture {
    testing::TempDb temp;
    store::Db db{temp.options};
    routing::Unit unit;
    visitor::Ttl ttl{1800, 43200};
    Fixture() {
        routing::add_unit(db, "U", "Unit", "police");
        unit = *routing::find_unit(db, "U");
    }
};
}  // namespace

BOOST_FIXTURE_TEST_SUITE(visitor_tests, Fixture)

BOOST_AUTO_TEST_CASE(a_created_session_is_found_by_its_token_only) {
    const auto created = visitor::create(db, unit, "victim", "fr", 1000, ttl);
    BOOST_TEST(visitor::find(db, created.token, 1001, ttl).value().id == created.session.id);
    BOOST_TEST(!visitor::find(db, token::generate(), 1001, ttl));
}

BOOST_AUTO_TEST_CASE(idle_session_expires_at_last_seen_plus_idle_ttl) {
    const auto created = visitor::create(db, unit, "victim", "fr", 1000, ttl);
    BOOST_TEST(created.session.expires_at == 2800);
    BOOST_TEST(visitor::find(db, created.token, 2799, ttl).has_value());
    BOOST_TEST(!visitor::find(db, created.token, 2800, ttl).has_value());
    visitor::touch(db, created.session.id, 2000);
    BOOST_TEST(visitor::find(db, created.token, 3799, ttl).has_value());
}

BOOST_AUTO_TEST_CASE(session_expires_at_its_maximum_life_however_active) {
    const auto created = visitor::create(db, unit, "witness", "fr", 1000, ttl);
    visitor::touch(db, created.session.id, 44000);
    BOOST_TEST(!visitor::find(db, created.token, 44200, ttl).has_value());
}

BOOST_AUTO_TEST_CASE(touch_is_spaced_out) {
    const auto created = visitor::create(db, unit, "victim", "fr", 1000, ttl);
    BOOST_TEST(!visitor::needs_touch(created.session, 1005));
    BOOST_TEST(visitor::needs_touch(created.session, 1010));
}

BOOST_AUTO_TEST_CASE(left_session_is_dead_and_leaves_a_system_message) {
    const auto created = visitor::create(db, unit, "victim", "fr", 1000, ttl);
    visitor::leave(db, created.session, true, 1001);
    BOOST_TEST(!visitor::find(db, created.token, 1002, ttl).has_value());
    // The operators' word: the page, whose token is dead, never reads it.
    BOOST_TEST(messages::for_visitor(db, created.session.id, 0).list.empty());
    store::Query last(db, "SELECT sender, kind, text FROM messages WHERE session_id = ?", created.session.id);
    BOOST_TEST(last.next());
    BOOST_TEST(last.text(0) == "system");
    BOOST_TEST(last.text(1) == "quick_exit");
    BOOST_TEST(last.text(2).find("sortie rapide") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(erase_removes_the_session_and_its_messages) {
    const auto created = visitor::create(db, unit, "victim", "fr", 1000, ttl);
    messages::add(db, created.session.id, unit.id, "visitor", "secret", 1001);
    visitor::erase(db, created.session, 1002);
    store::Query count(db, "SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM messages)");
    count.next();
    BOOST_TEST(count.integer(0) == 0);
}

BOOST_AUTO_TEST_CASE(every_change_records_a_pulse) {
    const auto before = pulse::latest(db);
    const auto created = visitor::create(db, unit, "victim", "fr", 1000, ttl);
    messages::add(db, created.session.id, unit.id, "visitor", "hi", 1001);
    std::vector<pulse::Pulse> seen;
    pulse::since(db, before, [&](const pulse::Pulse& p) { seen.push_back(p); });
    BOOST_TEST(seen.size() == 2u);
    for (const auto& p : seen) {
        BOOST_TEST(p.session_id == created.session.id);
        BOOST_TEST(p.unit_id == unit.id);
    }
}

BOOST_AUTO_TEST_CASE(an_erased_session_takes_its_pulses_and_still_wakes_its_unit) {
    const auto created = visitor::create(db, unit, "victim", "fr", 1000, ttl);
    messages::add(db, created.session.id, unit.id, "visitor", "hi", 1001);
    const auto before = pulse::latest(db);
    visitor::erase(db, created.session, 1002);
    std::vector<pulse::Pulse> left;
    pulse::since(db, 0, [&](const pulse::Pulse& p) { left.push_back(p); });
    BOOST_TEST(left.size() == 1u);  // the one that says "unit changed", naming no session
    BOOST_TEST(left.back().id > before);
    BOOST_TEST(left.back().session_id == 0);
    BOOST_TEST(left.back().unit_id == unit.id);
}

BOOST_AUTO_TEST_CASE(a_page_stops_at_its_message_count_and_says_there_is_more) {
    const auto created = visitor::create(db, unit, "victim", "fr", 1000, ttl);
    for (std::int64_t i = 0; i <= limits::kMaxPageMessages; ++i) {
        messages::add(db, created.session.id, unit.id, "visitor", "?", 1001, std::nullopt);
    }
    const auto first = messages::for_visitor(db, created.session.id, 0);
    BOOST_TEST(first.list.size() == static_cast<std::size_t>(limits::kMaxPageMessages));
    BOOST_TEST(first.more);
    const auto rest = messages::for_visitor(db, created.session.id, first.list.back().id);
    BOOST_TEST(rest.list.size() == 1u);
    BOOST_TEST(!rest.more);
}

BOOST_AUTO_TEST_CASE(the_operators_own_system_messages_never_fill_a_page) {
    const auto created = visitor::create(db, unit, "victim", "fr", 1000, ttl);
    for (std::int64_t i = 0; i < limits::kMaxPageMessages; ++i) {
        messages::add_system(db, created.session.id, unit.id, "note", "pour l'équipe", 1001);
    }
    const auto reply = messages::add(db, created.session.id, unit.id, "agent", "Nous sommes là.", 1002);
    const auto page = messages::for_visitor(db, created.session.id, 0);
    BOOST_REQUIRE(page.list.size() == 1u);
    BOOST_TEST(page.list.front().id == reply.id);
    BOOST_TEST(!page.more);
}

BOOST_AUTO_TEST_SUITE_END()

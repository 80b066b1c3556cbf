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
    const auto created = visitor::create(db, unit, "victim", 1000, ttl);
    BOOST_TEST(visitor::find(db, created.token, 1001, ttl).value().id == created.session.id);
    BOOST_TEST(!visitor::find(db, token::generate(), 1001, ttl));
}

BOOST_AUTO_TEST_CASE(idle_session_expires_at_last_seen_plus_idle_ttl) {
    const auto created = visitor::create(db, unit, "victim", 1000, ttl);
    BOOST_TEST(created.session.expires_at == 2800);
    BOOST_TEST(visitor::find(db, created.token, 2799, ttl).has_value());
    BOOST_TEST(!visitor::find(db, created.token, 2800, ttl).has_value());
    visitor::touch(db, created.session.id, 2000);
    BOOST_TEST(visitor::find(db, created.token, 3799, ttl).has_value());
}

BOOST_AUTO_TEST_CASE(session_expires_at_its_maximum_life_however_active) {
    const auto created = visitor::create(db, unit, "witness", 1000, ttl);
    visitor::touch(db, created.session.id, 44000);
    BOOST_TEST(!visitor::find(db, created.token, 44200, ttl).has_value());
}

BOOST_AUTO_TEST_CASE(touch_is_spaced_out) {
    const auto created = visitor::create(db, unit, "victim", 1000, ttl);
    BOOST_TEST(!visitor::needs_touch(created.session, 1005));
    BOOST_TEST(visitor::needs_touch(created.session, 1010));
}

BOOST_AUTO_TEST_CASE(left_session_is_dead_and_leaves_a_system_message) {
    const auto created = visitor::create(db, unit, "victim", 1000, ttl);
    visitor::leave(db, created.session, true, 1001);
    BOOST_TEST(!visitor::find(db, created.token, 1002, ttl).has_value());
    const auto list = messages::after(db, created.session.id, 0);
    BOOST_TEST(list.size() == 1u);
    BOOST_TEST(list.front().from == "system");
    BOOST_TEST(list.front().text.find("sortie rapide") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(erase_removes_the_session_and_its_messages) {
    const auto created = visitor::create(db, unit, "victim", 1000, ttl);
    messages::add(db, created.session.id, unit.id, "visitor", "secret", 1001);
    visitor::erase(db, created.session, 1002);
    store::Query count(db, "SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM messages)");
    count.next();
    BOOST_TEST(count.integer(0) == 0);
}

BOOST_AUTO_TEST_CASE(every_change_records_a_pulse) {
    const auto before = pulse::latest(db);
    const auto created = visitor::create(db, unit, "victim", 1000, ttl);
    messages::add(db, created.session.id, unit.id, "visitor", "hi", 1001);
    visitor::erase(db, created.session, 1002);
    std::vector<pulse::Pulse> seen;
    pulse::since(db, before, [&](const pulse::Pulse& p) { seen.push_back(p); });
    BOOST_TEST(seen.size() == 3u);
    for (const auto& p : seen) {
        BOOST_TEST(p.session_id == created.session.id);
        BOOST_TEST(p.unit_id == unit.id);
    }
}

BOOST_AUTO_TEST_SUITE_END()

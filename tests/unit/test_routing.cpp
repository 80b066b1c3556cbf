#include "routing.hpp"
#include "temp_db.hpp"

#include <boost/test/unit_test.hpp>

using namespace abri;

BOOST_AUTO_TEST_SUITE(routing_tests)

BOOST_AUTO_TEST_CASE(postcodes_of_every_department_are_valid) {
    for (const char* ok : {"01000", "75011", "20000", "95880", "97100", "97600", "98400", "98800"}) {
        BOOST_TEST_CONTEXT(ok) { BOOST_TEST(routing::is_valid_postcode(ok)); }
    }
}

BOOST_AUTO_TEST_CASE(each_wrong_postcode_says_what_is_wrong) {
    using P = routing::PostcodeProblem;
    for (const char* bad : {"7501", "750111", "7501a", "", " 7501", "75 11"}) {
        BOOST_TEST_CONTEXT(bad) { BOOST_TEST((routing::postcode_problem(bad) == P::Format)); }
    }
    for (const char* bad : {"00000", "99999", "96000", "97000", "97700", "98100"}) {
        BOOST_TEST_CONTEXT(bad) { BOOST_TEST((routing::postcode_problem(bad) == P::Department)); }
    }
    BOOST_TEST((routing::postcode_problem("98000") == P::Monaco));
    BOOST_TEST((routing::postcode_problem("98030") == P::Monaco));
}

BOOST_AUTO_TEST_CASE(malformed_postcodes_are_invalid) {
    for (const char* bad : {"00000", "99999", "96000", "97000", "97700", "7501", "750111", "7501a", "", " 7501"}) {
        BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!routing::is_valid_postcode(bad)); }
    }
}

BOOST_AUTO_TEST_CASE(route_keys_are_prefixes_or_corsican_departments) {
    for (const char* ok : {"13", "130", "1300", "13001", "974", "2A", "2B", "20"}) {
        BOOST_TEST_CONTEXT(ok) { BOOST_TEST(routing::is_valid_key(ok)); }
    }
    for (const char* bad : {"1", "00", "99", "977", "2C", "2a", "123456", "*"}) {
        BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!routing::is_valid_key(bad)); }
    }
}

BOOST_AUTO_TEST_CASE(corsican_postcodes_find_their_department) {
    BOOST_TEST(routing::corsican_department("20000") == "2A");
    BOOST_TEST(routing::corsican_department("20200") == "2B");
    BOOST_TEST(routing::corsican_department("20999").empty());
    BOOST_TEST(routing::corsican_department("75011").empty());
}

BOOST_AUTO_TEST_CASE(most_specific_route_wins) {
    testing::TempDb temp;
    store::Db db(temp.options);
    routing::add_unit(db, "DEF", "Default", "gendarmerie");
    routing::add_unit(db, "D13", "Dept 13", "police");
    routing::add_unit(db, "P130", "Prefix 130", "police");
    routing::add_unit(db, "PC", "Postcode", "police");
    routing::add_unit(db, "C2A", "Corse-du-Sud", "gendarmerie");
    routing::add_unit(db, "C20", "Corse", "police");
    routing::set_route(db, "*", "DEF");
    routing::set_route(db, "13", "D13");
    routing::set_route(db, "130", "P130");
    routing::set_route(db, "13001", "PC");
    routing::set_route(db, "2A", "C2A");
    routing::set_route(db, "20", "C20");
    BOOST_TEST(routing::route(db, "13001")->code == "PC");
    BOOST_TEST(routing::route(db, "13002")->code == "P130");
    BOOST_TEST(routing::route(db, "13200")->code == "D13");
    BOOST_TEST(routing::route(db, "20000")->code == "C2A");
    BOOST_TEST(routing::route(db, "20200")->code == "C20");
    BOOST_TEST(routing::route(db, "44000")->code == "DEF");
}

BOOST_AUTO_TEST_CASE(no_default_means_no_route) {
    testing::TempDb temp;
    store::Db db(temp.options);
    BOOST_TEST(!routing::route(db, "44000").has_value());
}

BOOST_AUTO_TEST_CASE(route_to_unknown_unit_is_refused) {
    testing::TempDb temp;
    store::Db db(temp.options);
    BOOST_CHECK_THROW(routing::set_route(db, "13", "NOPE"), std::runtime_error);
    BOOST_CHECK_THROW(routing::add_unit(db, "X", "X", "army"), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()

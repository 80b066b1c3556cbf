#include "token.hpp"

#include <boost/test/unit_test.hpp>
#include <set>

using namespace abri;

BOOST_AUTO_TEST_SUITE(token_tests)

BOOST_AUTO_TEST_CASE(tokens_are_256_bits_and_distinct) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) seen.insert(token::generate());
    BOOST_TEST(seen.size() == 1000u);
    BOOST_TEST(seen.begin()->size() == 43u);
    BOOST_TEST(token::is_well_formed(*seen.begin()));
}

BOOST_AUTO_TEST_CASE(hash_is_hex_blake2b_and_not_the_token) {
    const auto secret = token::generate();
    const auto hashed = token::hash(secret);
    BOOST_TEST(hashed.size() == 64u);
    BOOST_TEST(hashed.find(secret) == std::string::npos);
    BOOST_TEST(token::hash(secret) == hashed);
    BOOST_TEST(token::hash(token::generate()) != hashed);
}

BOOST_AUTO_TEST_CASE(bearer_header_must_be_exact) {
    const auto secret = token::generate();
    BOOST_TEST(token::from_bearer("Bearer " + secret).value() == secret);
    BOOST_TEST(!token::from_bearer("bearer " + secret));
    BOOST_TEST(!token::from_bearer("Bearer  " + secret));
    BOOST_TEST(!token::from_bearer("Bearer " + secret + "x"));
    BOOST_TEST(!token::from_bearer("Bearer " + secret.substr(1) + "="));
    BOOST_TEST(!token::from_bearer(""));
}

BOOST_AUTO_TEST_CASE(public_ids_use_the_unambiguous_alphabet) {
    const auto id = token::public_id();
    BOOST_TEST(token::is_public_id(id));
    BOOST_TEST(id.find_first_of("ILOU") == std::string::npos);
    BOOST_TEST(!token::is_public_id("ILOU123456"));
    BOOST_TEST(!token::is_public_id("ABC"));
}

BOOST_AUTO_TEST_SUITE_END()

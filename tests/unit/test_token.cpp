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
    const auto token = token::session_token(1'780'000'000);
    BOOST_TEST(token::from_bearer("Bearer " + token).value() == token);
    BOOST_TEST(!token::from_bearer("bearer " + token));
    BOOST_TEST(!token::from_bearer("Bearer  " + token));
    BOOST_TEST(!token::from_bearer("Bearer " + token + "x"));
    BOOST_TEST(!token::from_bearer("Bearer " + token.substr(1) + "="));
    BOOST_TEST(!token::from_bearer("Bearer " + token::generate()));  // a secret without its time
    BOOST_TEST(!token::from_bearer("Bearer 6A18F980" + token.substr(8)));  // upper-case time digits
    BOOST_TEST(!token::from_bearer(""));
}

BOOST_AUTO_TEST_CASE(session_tokens_lead_with_their_time_and_their_keys_keep_it) {
    const auto token = token::session_token(0x6a18f980);
    BOOST_TEST(token.size() == 8u + 43u);
    BOOST_TEST(token.substr(0, 8) == "6a18f980");
    BOOST_TEST(token::is_session_token(token));
    const auto key = token::session_key(token);
    BOOST_TEST(key == "6a18f980" + token::hash(token));
    BOOST_TEST(key.find(token.substr(8)) == std::string::npos);
    // Keys sort as their times do, whatever the random part: the index
    // keeps one hour's chats together.
    BOOST_TEST(token::session_key(token::session_token(0x6a18f97f)) < key);
    BOOST_TEST(token::session_key(token::session_token(0x6a18f981)) > key);
    BOOST_TEST(token::session_token(0x6a18f980) != token);
}

BOOST_AUTO_TEST_CASE(public_ids_use_the_unambiguous_alphabet) {
    const auto id = token::public_id(1'780'000'000);
    BOOST_TEST(token::is_public_id(id));
    BOOST_TEST(id.find_first_of("ILOU") == std::string::npos);
    BOOST_TEST(!token::is_public_id("ILOU123456"));
    BOOST_TEST(!token::is_public_id("ABC"));
}

BOOST_AUTO_TEST_CASE(public_ids_share_their_first_four_characters_within_64_seconds) {
    const std::int64_t start = 1'780'000'000 / 64 * 64;
    const auto first = token::public_id(start);
    std::set<std::string> seen{first};
    for (int s = 1; s < 64; ++s) {
        const auto id = token::public_id(start + s);
        BOOST_TEST(id.substr(0, 4) == first.substr(0, 4));
        seen.insert(id);
    }
    BOOST_TEST(seen.size() == 64u);  // 30 random bits: a repeat here would be a broken generator
    BOOST_TEST(token::public_id(start + 64).substr(0, 4) > first.substr(0, 4));
    BOOST_TEST(token::public_id(start - 1).substr(0, 4) < first.substr(0, 4));
}

BOOST_AUTO_TEST_SUITE_END()

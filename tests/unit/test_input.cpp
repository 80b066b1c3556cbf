#include "input.hpp"
#include "messages.hpp"

#include <boost/test/unit_test.hpp>

using namespace abri;

namespace {
constexpr input::Field kFields[] = {
    {"text", input::Kind::String, true, 10, "invalid_text"},
    {"quick", input::Kind::Bool, false, 0, "invalid_body"},
};
constexpr input::QueryKey kKeys[] = {{"after", 0, 100, "invalid_after"}, {"wait", 0, 30, "invalid_wait"}};

http::Request json_request(const std::string& body) {
    http::Request request;
    request.content_type = "application/json; charset=utf-8";
    request.body = body;
    return request;
}

int status_of(const std::function<void()>& call, std::string* code = nullptr) {
    try {
        call();
    } catch (const http::Error& e) {
        if (code) *code = e.code;
        return e.status;
    }
    return 0;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(input_tests)

BOOST_AUTO_TEST_CASE(declared_fields_are_read_with_their_types) {
    const auto body = input::parse_body(json_request(R"({"text":"abc","quick":true})"), kFields);
    BOOST_TEST(body.text("text") == "abc");
    BOOST_TEST(body.flag("quick").value() == true);
}

BOOST_AUTO_TEST_CASE(undeclared_field_is_400) {
    std::string code;
    BOOST_TEST(status_of([] { input::parse_body(json_request(R"({"text":"a","x":1})"), kFields); }, &code) == 400);
    BOOST_TEST(code == "invalid_body");
}

BOOST_AUTO_TEST_CASE(field_of_the_wrong_type_answers_its_own_code) {
    std::string code;
    BOOST_TEST(status_of([] { input::parse_body(json_request(R"({"text":5})"), kFields); }, &code) == 400);
    BOOST_TEST(code == "invalid_text");
}

BOOST_AUTO_TEST_CASE(missing_required_field_is_400) {
    std::string code;
    BOOST_TEST(status_of([] { input::parse_body(json_request(R"({"quick":false})"), kFields); }, &code) == 400);
    BOOST_TEST(code == "invalid_text");
}

BOOST_AUTO_TEST_CASE(string_over_its_limit_is_400) {
    BOOST_TEST(status_of([] { input::parse_body(json_request(R"({"text":"12345678901"})"), kFields); }) == 400);
}

BOOST_AUTO_TEST_CASE(non_json_content_type_is_415) {
    auto request = json_request(R"({"text":"a"})");
    request.content_type = "text/plain";
    BOOST_TEST(status_of([&] { input::parse_body(request, kFields); }) == 415);
}

BOOST_AUTO_TEST_CASE(deep_nesting_is_refused_before_a_tree_is_built) {
    const std::string deep = "{\"text\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
    auto request = json_request(deep);
    request.body.resize(std::min<std::size_t>(request.body.size(), 16000));
    BOOST_TEST(status_of([&] { input::parse_body(json_request(std::string(5000, '[')), kFields); }) == 400);
    BOOST_TEST(status_of([&] { input::parse_body(request, kFields); }) == 400);
}

BOOST_AUTO_TEST_CASE(empty_body_is_an_empty_object_only_when_allowed) {
    constexpr input::Field kOptional[] = {{"quick", input::Kind::Bool, false, 0, "invalid_body"}};
    http::Request request;
    BOOST_TEST(input::parse_body(request, kOptional, true).fields.empty());
    BOOST_TEST(status_of([&] { input::parse_body(request, kOptional); }) == 415);
}

// Found by tests/fuzz/body.cpp once it fuzzed every declared list both ways:
// an allowed empty body skipped the required fields, and a handler would
// have read a body without them.
BOOST_AUTO_TEST_CASE(an_allowed_empty_body_still_lacks_its_required_fields) {
    http::Request request;
    std::string code;
    BOOST_TEST(status_of([&] { input::parse_body(request, kFields, true); }, &code) == 400);
    BOOST_TEST(code == "invalid_text");
}

BOOST_AUTO_TEST_CASE(query_keys_are_bounded_integers) {
    const auto values = input::parse_query("after=12&wait=0", kKeys);
    BOOST_TEST(values.at("after") == 12);
    BOOST_TEST(values.at("wait") == 0);
    for (const char* bad : {"after=-1", "after=101", "after=1e2", "token=abc", "after=1&after=2", "wait=", "wait"}) {
        BOOST_TEST_CONTEXT(bad) { BOOST_TEST(status_of([&] { input::parse_query(bad, kKeys); }) == 400); }
    }
}

BOOST_AUTO_TEST_CASE(utf8_validation_rejects_overlongs_surrogates_and_controls) {
    BOOST_TEST(input::is_clean_utf8("café 🙂\n\tok"));
    BOOST_TEST(!input::is_clean_utf8("\xc0\xaf"));          // overlong '/'
    BOOST_TEST(!input::is_clean_utf8("\xed\xa0\x80"));      // surrogate
    BOOST_TEST(!input::is_clean_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    BOOST_TEST(!input::is_clean_utf8("abc\xe2\x82"));       // truncated
    BOOST_TEST(!input::is_clean_utf8(std::string("a\0b", 3)));
    BOOST_TEST(!input::is_clean_utf8("a\x1b[31m"));
    BOOST_TEST(!input::is_clean_utf8("a\r\nb"));           // CR: a C0 control the contract refuses
}

BOOST_AUTO_TEST_CASE(c1_controls_bidi_overrides_and_separators_are_refused) {
    BOOST_TEST(!input::is_clean_utf8("\xc2\x9b" "2J"));        // U+009B CSI
    BOOST_TEST(!input::is_clean_utf8("\xc2\x9d" "0;x\x07"));   // OSC
    BOOST_TEST(!input::is_clean_utf8("abc\xe2\x80\xae" "cba")); // U+202E RIGHT-TO-LEFT OVERRIDE
    BOOST_TEST(!input::is_clean_utf8("\xe2\x81\xa6" "x"));     // U+2066 LEFT-TO-RIGHT ISOLATE
    BOOST_TEST(!input::is_clean_utf8("a\xe2\x80\xa8" "b"));    // U+2028 LINE SEPARATOR
    BOOST_TEST(input::is_clean_utf8("مرحبا"));                  // right-to-left text itself is fine
    BOOST_TEST(status_of([] { messages::validate_text("\xc2\x9b" "2J"); }) == 400);
}

BOOST_AUTO_TEST_CASE(text_length_counts_code_points_as_sent) {
    BOOST_TEST(input::code_points("  héllo \n") == 9u);
    BOOST_TEST(input::is_blank(" \t\n"));
    BOOST_TEST(input::is_blank("\xc2\xa0\xe3\x80\x80"));      // no-break and ideographic spaces
    BOOST_TEST(!input::is_blank("  a "));
    // Padding counts: 2000 letters and 14000 spaces is not a 2000-character message.
    BOOST_TEST(status_of([] { messages::validate_text(std::string(2000, 'A') + std::string(14000, ' ')); }) == 400);
    BOOST_TEST(status_of([] { messages::validate_text(std::string(2000, 'a')); }) == 0);
    BOOST_TEST(status_of([] { messages::validate_text(std::string(2001, 'a')); }) == 400);
    std::string accents;
    for (int i = 0; i < 2000; ++i) accents += "é";
    BOOST_TEST(status_of([&] { messages::validate_text(accents); }) == 0);
    BOOST_TEST(status_of([] { messages::validate_text("   "); }) == 400);
}

BOOST_AUTO_TEST_SUITE_END()

// Fuzz target: the FastCGI parameters path of lib/server.cpp. The bytes are
// split at NUL into parameters as libfcgi hands them to the program
// ("NAME=VALUE" strings, looked up with libfcgi's own FCGX_GetParam); the
// first byte of each picks the name among those nginx sends
// (deploy/nginx/abri-fastcgi-params.conf) or one it never sends, the
// rest is the value. server::request_from_params builds the request,
// which then goes through the checks dispatch makes before a handler
// (lib/route.hpp): the query, a body, the bearer token, the cookie.
// libfcgi's own record parsing is not fuzzed here: it aborts on crafted
// lengths whatever abri does, which is why only nginx may reach the socket
// (docs/hostile.md).
#include "auth.hpp"
#include "fields.hpp"
#include "fuzz.hpp"
#include "input.hpp"
#include "limits.hpp"
#include "server.hpp"
#include "token.hpp"

#include <fcgiapp.h>

#include <array>
#include <vector>

using namespace abri;

namespace {

const std::array<const char*, 14> kNames = {
    "REQUEST_METHOD", "REQUEST_URI",  "DOCUMENT_URI",       "QUERY_STRING",     "CONTENT_TYPE",
    "CONTENT_LENGTH", "HTTPS",        "HTTP_AUTHORIZATION", "HTTP_COOKIE",      "HTTP_X_ABRI_CSRF",
    "REMOTE_ADDR",    "HTTP_USER_AGENT", "GATEWAY_INTERFACE", "",
};

void check_bounded(const std::string& value) {
    fuzz::require(value.size() <= limits::kMaxParamBytes, "a parameter over its bound was read");
}

template <typename Check>
void expect_400s(Check check) {
    try {
        check();
    } catch (const http::Error& e) {
        fuzz::require(e.status == 400 || e.status == 413 || e.status == 415, "an unexpected status");
        fuzz::answer(e);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> params;
    std::string body;
    std::size_t start = 0;
    while (start < bytes.size()) {
        const auto end = std::min(bytes.find('\0', start), bytes.size());
        const std::string_view entry = bytes.substr(start, end - start);
        start = end + 1;
        if (entry.empty()) continue;
        const auto pick = static_cast<unsigned char>(entry[0]);
        if (pick == 0xff) {
            body = entry.substr(1);  // what the program reads after the parameters
            continue;
        }
        params.push_back(std::string(kNames[pick % kNames.size()]) + "=" + std::string(entry.substr(1)));
    }
    std::vector<char*> envp;
    for (auto& p : params) envp.push_back(p.data());
    envp.push_back(nullptr);

    http::Request request = server::request_from_params(
        [&envp](const char* name) -> const char* { return FCGX_GetParam(name, envp.data()); });
    for (const auto* field : {&request.method, &request.path, &request.query, &request.content_type,
                              &request.authorization, &request.cookie, &request.csrf}) {
        check_bounded(*field);
    }
    fuzz::require(request.path.find('?') == std::string::npos, "a path that kept its query");
    request.body = std::move(body);

    expect_400s([&] { (void)input::parse_query(request.query, fields::kPoll); });
    expect_400s([&] { (void)input::parse_query(request.query, {}); });
    if (const auto secret = token::from_bearer(request.authorization)) {
        fuzz::require(token::is_well_formed(*secret), "a malformed bearer token was accepted");
    }
    if (const auto cookie = auth::cookie_of(request)) {
        fuzz::require(token::is_well_formed(*cookie), "a malformed cookie was accepted");
    }
    expect_400s([&] { (void)input::parse_body(request, fields::kSend); });
    return 0;
}

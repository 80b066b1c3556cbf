// One HTTP exchange as abri sees it: the validated parts of a request,
// the response, and the error every failure turns into.
#pragma once
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace abri::http {

// What a program reads of a request. Filled from FastCGI parameters or CGI
// environment, each bounded by limits::kMaxParamBytes; nothing identifying
// (address, user agent) is ever read.
struct Request {
    std::string method;
    std::string path;           // without the query string
    std::string query;          // raw QUERY_STRING
    std::string content_type;
    std::string authorization;  // Authorization header, victims' bearer token
    std::string cookie;         // Cookie header, operators' session
    std::string csrf;           // X-Abri-CSRF header
    std::string body;           // at most limits::kMaxBodyBytes
    bool https = false;
};

struct Response {
    int status = 200;
    std::string body;                                          // empty for 204
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;  // extra, e.g. Set-Cookie
};

// Thrown by validation and handlers; the server turns it into the
// contract's error shape. Never carries chat text or a token.
struct Error : std::runtime_error {
    int status;
    std::string code;
    // Fields beside code and message, for a page to choose its words or
    // act (e.g. a postcode's `reason`); a flat object of our own values.
    nlohmann::json extra = nlohmann::json::object();
    Error(int status_, std::string code_, const std::string& message)
        : std::runtime_error(message), status(status_), code(std::move(code_)) {}
    Error(int status_, std::string code_, const std::string& message, nlohmann::json extra_)
        : std::runtime_error(message), status(status_), code(std::move(code_)), extra(std::move(extra_)) {}
};

Response json(int status, const nlohmann::json& body);
Response no_content();
Response error_response(int status, const std::string& code, const std::string& message);
Response error_response(const Error& error);

// The CGI/FastCGI response head and body, ready to write.
std::string serialize(const Response& response);

}  // namespace abri::http

#include "http.hpp"

namespace abri::http {

namespace {

const char* reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

}  // namespace

Response json(int status, const nlohmann::json& body) {
    return Response{status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json", {}};
}

Response no_content() { return Response{204, "", "", {}}; }

Response error_response(int status, const std::string& code, const std::string& message) {
    return json(status, {{"error", {{"code", code}, {"message", message}}}});
}

Response error_response(const Error& error) {
    nlohmann::json body = error.extra;
    body["code"] = error.code;
    body["message"] = error.what();
    return json(error.status, {{"error", body}});
}

std::string serialize(const Response& response) {
    std::string out = "Status: " + std::to_string(response.status) + " " + reason(response.status) + "\r\n";
    if (!response.content_type.empty()) out += "Content-Type: " + response.content_type + "\r\n";
    out += "Cache-Control: no-store\r\n";
    for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
    if (response.status != 204) out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
    out += "\r\n";
    if (response.status != 204) out += response.body;
    return out;
}

}  // namespace abri::http

// The errors several endpoints share, worded once for the person who reads
// them. Endpoint-specific errors are thrown where they happen.
#pragma once
#include "http.hpp"

namespace abri::errors {

http::Error session_expired();   // 401: unknown, expired or ended token
http::Error not_found();         // 404: no such path
http::Error method_not_allowed();// 405
http::Error unavailable();       // 503: database busy, full or read-only; overload

}  // namespace abri::errors

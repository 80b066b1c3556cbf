// The loop every FastCGI program shares: one acceptor thread reads each
// request whole (bounded), a few workers run the handler, and requests
// that must wait are parked in longpoll::Waiters without a thread. The
// same program answers one request as a plain CGI when it was not started
// on a FastCGI socket.
#pragma once
#include "config.hpp"
#include "http.hpp"
#include "longpoll.hpp"

#include <functional>
#include <string>
#include <variant>

namespace abri::server {

using Outcome = std::variant<http::Response, longpoll::Wait>;
using Handler = std::function<Outcome(const http::Request&)>;

// Runs until SIGTERM or SIGINT (FastCGI) or until the one request is
// answered (CGI). `setup` builds the handler once signals are routed
// (so that no thread it starts can take SIGTERM); what it throws stops
// the program. Returns the process exit status.
int serve(const std::string& program, const Config& config, const std::function<Handler()>& setup);

// Whether standard input is a FastCGI listening socket (systemd's socket
// units, spawn-fcgi) rather than a terminal, a pipe or a CGI request.
bool started_under_fastcgi();

// What a program reads of a request's parameters, through `param` (libfcgi's
// FCGX_GetParam or the CGI environment): each value bounded by
// limits::kMaxParamBytes (a longer one reads as empty), the path cut at
// '?'. No address or user agent is ever asked for. tests/fuzz/params.cpp
// drives it.
http::Request request_from_params(const std::function<const char*(const char*)>& param);

// Seconds since the epoch: the clock of every stored time.
std::int64_t now();

// The contract's JSON error for whatever a handler threw. Never lets an
// exception out; logs failures that are not the client's.
http::Response answer_failure(std::exception_ptr failure);

}  // namespace abri::server

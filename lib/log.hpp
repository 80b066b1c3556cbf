// The programs' only log: one line on standard error per event, at most
// kMaxPerMinute lines a minute (a flood of bad requests must not fill a
// disk). Callers pass what happened, never chat text, a token, an
// address or anything else from a request.
#pragma once
#include <string_view>

namespace abri::log {

inline constexpr int kMaxPerMinute = 60;

// The program name every line starts with.
void set_program(std::string_view name);
void line(std::string_view what);

}  // namespace abri::log

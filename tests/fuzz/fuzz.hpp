// What every fuzz target shares: a check that stops the run (libFuzzer
// keeps the input as a crash) and the one path an http::Error takes to
// the client, so that an error message built from hostile input is
// written out as the server would.
#pragma once
#include "http.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace fuzz {

inline void require(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "fuzz check failed: %s\n", what);
        std::abort();
    }
}

// The JSON error and its HTTP serialisation, as server::answer_failure does.
inline void answer(const abri::http::Error& e) {
    const auto response = abri::http::error_response(e.status, e.code, e.what());
    const std::string out = abri::http::serialize(response);
    require(!out.empty() && nlohmann::json::accept(response.body), "an error answer that is not JSON");
}

}  // namespace fuzz

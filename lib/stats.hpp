// The counts `abrictl stats` prints. Expired sessions are not counted,
// purged or not.
#pragma once
#include "store.hpp"
#include "visitor.hpp"
#include <cstdint>

namespace abri::stats {

struct Counts {
    std::int64_t waiting = 0;
    std::int64_t active = 0;
    std::int64_t messages = 0;           // in live sessions
    std::int64_t oldest_waiting = 0;     // seconds, 0 when nobody waits
};

Counts read(store::Db& db, std::int64_t now, const visitor::Ttl& ttl);

}  // namespace abri::stats

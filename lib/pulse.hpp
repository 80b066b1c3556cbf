// The change feed that wakes long-polls in every process: each change a
// waiting poll may care about (a message, a state change, a new or erased
// session) appends a pulse in the same transaction. Watchers read the
// pulses after the last one they saw.
#pragma once
#include "store.hpp"
#include <cstdint>
#include <functional>

namespace abri::pulse {

struct Pulse {
    std::int64_t id;
    std::int64_t session_id;
    std::int64_t unit_id;
};

void record(store::Db& db, std::int64_t session_id, std::int64_t unit_id, std::int64_t now);
std::int64_t latest(store::Db& db);
// Calls `each` for every pulse after `after`, in order; returns the last id.
std::int64_t since(store::Db& db, std::int64_t after, const std::function<void(const Pulse&)>& each);

}  // namespace abri::pulse

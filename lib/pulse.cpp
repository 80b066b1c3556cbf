#include "pulse.hpp"

namespace abri::pulse {

namespace {
constexpr const char* kInsert = "INSERT INTO pulses (session_id, unit_id, at) VALUES (?, ?, ?)";
constexpr const char* kLatest = "SELECT coalesce(max(id), 0) FROM pulses";
constexpr const char* kSince = "SELECT id, session_id, unit_id FROM pulses WHERE id > ? ORDER BY id";
}  // namespace

void record(store::Db& db, std::int64_t session_id, std::int64_t unit_id, std::int64_t now) {
    store::Query(db, kInsert, session_id, unit_id, now).run();
}

std::int64_t latest(store::Db& db) {
    store::Query query(db, kLatest);
    return query.next() ? query.integer(0) : 0;
}

std::int64_t since(store::Db& db, std::int64_t after, const std::function<void(const Pulse&)>& each) {
    store::Query query(db, kSince, after);
    while (query.next()) {
        after = query.integer(0);
        each(Pulse{after, query.integer(1), query.integer(2)});
    }
    return after;
}

}  // namespace abri::pulse

// What the tests of operators' work start from: a migrated database with
// two units, A (police) and B (gendarmerie), and three operators: alice and
// anna in A, bob in B. Times are counted from `start`, the first session's.
#pragma once
#include "agents.hpp"
#include "desk.hpp"
#include "routing.hpp"
#include "temp_db.hpp"
#include "visitor.hpp"

#include <cstdint>
#include <string>

namespace abri::testing {

struct TwoUnits {
    TempDb temp;
    store::Db db{temp.options};
    visitor::Ttl ttl{1800, 43200};
    std::int64_t start;
    routing::Unit a, b;
    std::int64_t alice = 0, anna = 0, bob = 0;  // alice and anna in A, bob in B

    explicit TwoUnits(std::int64_t start_, const std::string& alice_display = "") : start(start_) {
        routing::add_unit(db, "A", "Unité A", "police");
        routing::add_unit(db, "B", "Unité B", "gendarmerie");
        a = *routing::find_unit(db, "A");
        b = *routing::find_unit(db, "B");
        alice = add_agent("alice", "A", alice_display);
        anna = add_agent("anna", "A");
        bob = add_agent("bob", "B");
    }
    // The password hash is never verified here.
    std::int64_t add_agent(const std::string& name, const std::string& unit, const std::string& display = "") {
        agents::add(db, name, "not-a-hash", {unit}, display);
        store::Query id(db, "SELECT id FROM agents WHERE username = ?", name);
        id.next();
        return id.integer(0);
    }
    visitor::Session open(const routing::Unit& unit) { return open(unit, start); }
    visitor::Session open(const routing::Unit& unit, std::int64_t now) {
        return visitor::create(db, unit, "victim", "fr", now, ttl).session;
    }
    // What `agent` sees of `s`, ten seconds after the start unless told.
    desk::Case find(std::int64_t agent, const visitor::Session& s) { return find(agent, s, start + 10); }
    desk::Case find(std::int64_t agent, const visitor::Session& s, std::int64_t now) {
        return desk::find(db, agent, s.public_id, now, ttl);
    }
};

}  // namespace abri::testing

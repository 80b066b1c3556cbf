// The schema migrations sql/NNN_*.sql, compiled in by the Makefile
// (build/gen/migrations.cpp) so that no program reads sql/ at run time.
#pragma once
#include <cstddef>

namespace abri::store::generated {

extern const char* const kMigrations[];  // kMigrations[i] brings version i to i + 1
extern const std::size_t kMigrationCount;

}  // namespace abri::store::generated

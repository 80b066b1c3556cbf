// A migrated database in a directory of its own, removed afterwards.
#pragma once
#include "store.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>

namespace abri::testing {

struct TempDb {
    std::filesystem::path dir;
    store::Options options;

    TempDb() {
        std::string pattern = (std::filesystem::temp_directory_path() / "abri-unit-XXXXXX").string();
        dir = mkdtemp(pattern.data());
        options = {(dir / "abri.db").string(), true};
        store::Db db(options);
        store::migrate(db);
    }
    ~TempDb() { std::filesystem::remove_all(dir); }
    TempDb(const TempDb&) = delete;
    TempDb& operator=(const TempDb&) = delete;
};

}  // namespace abri::testing

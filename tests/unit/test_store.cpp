#include "store.hpp"
#include "temp_db.hpp"

#include <boost/test/unit_test.hpp>
#include <atomic>
#include <thread>
#include <vector>

using namespace abri;

BOOST_AUTO_TEST_SUITE(store_tests)

BOOST_AUTO_TEST_CASE(migrate_brings_a_new_database_to_the_current_version) {
    testing::TempDb temp;
    store::Db db(temp.options);
    BOOST_TEST(store::database_version(db) == store::schema_version());
    BOOST_TEST(store::migrate(db) == store::schema_version());  // a second run starts from the top
    BOOST_CHECK_NO_THROW(store::require_current_schema(db));
}

BOOST_AUTO_TEST_CASE(programs_refuse_an_uninitialised_database) {
    testing::TempDb temp;
    store::Db db({(temp.dir / "other.db").string(), true});
    BOOST_CHECK_THROW(store::require_current_schema(db), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(connections_are_wal_full_secure_delete_with_foreign_keys) {
    testing::TempDb temp;
    store::Db db(temp.options);
    auto read = [&](const char* sql) {
        store::Query q(db, sql);
        q.next();
        return q.text(0);
    };
    BOOST_TEST(read("PRAGMA journal_mode") == "wal");
    BOOST_TEST(read("PRAGMA synchronous") == "2");
    BOOST_TEST(read("PRAGMA secure_delete") == "1");
    BOOST_TEST(read("PRAGMA foreign_keys") == "1");
}

BOOST_AUTO_TEST_CASE(writer_acknowledges_only_committed_work) {
    testing::TempDb temp;
    store::Writer writer(temp.options);
    writer.run([](store::Db& db) { store::Query(db, "INSERT INTO units (code, name, kind) VALUES ('A', 'A', 'police')").run(); });
    store::Db reader(temp.options);
    store::Query count(reader, "SELECT count(*) FROM units");
    count.next();
    BOOST_TEST(count.integer(0) == 1);
}

BOOST_AUTO_TEST_CASE(a_failing_work_does_not_undo_the_others_of_its_batch) {
    testing::TempDb temp;
    store::Writer writer(temp.options);
    std::atomic<int> failures = 0;
    std::vector<std::thread> threads;
    for (int i = 0; i < 40; ++i) {
        threads.emplace_back([&, i] {
            try {
                writer.run([i](store::Db& db) {
                    store::Query(db, "INSERT INTO units (code, name, kind) VALUES (?, 'n', 'police')",
                                 "U" + std::to_string(i))
                        .run();
                    if (i % 4 == 0) throw std::runtime_error("this one fails after writing");
                });
            } catch (const std::runtime_error&) {
                ++failures;
            }
        });
    }
    for (auto& t : threads) t.join();
    store::Db reader(temp.options);
    store::Query count(reader, "SELECT count(*) FROM units");
    count.next();
    BOOST_TEST(failures.load() == 10);
    BOOST_TEST(count.integer(0) == 30);
}

BOOST_AUTO_TEST_CASE(constraint_failure_reaches_the_caller_as_a_store_error) {
    testing::TempDb temp;
    store::Writer writer(temp.options);
    auto insert = [](store::Db& db) {
        store::Query(db, "INSERT INTO units (code, name, kind) VALUES ('SAME', 'n', 'police')").run();
    };
    writer.run(insert);
    BOOST_CHECK_THROW(writer.run(insert), store::Error);
}

BOOST_AUTO_TEST_CASE(full_database_is_reported_as_unavailable) {
    testing::TempDb temp;
    store::Writer writer(temp.options);
    bool unavailable = false;
    try {
        writer.run([](store::Db& db) {
            db.exec("PRAGMA max_page_count = 1");
            for (int i = 0; i < 1000; ++i) {
                store::Query(db, "INSERT INTO units (code, name, kind) VALUES (?, ?, 'police')", "C" + std::to_string(i),
                             std::string(1000, 'x'))
                    .run();
            }
        });
    } catch (const store::Error& e) {
        unavailable = e.is_unavailable();
    }
    BOOST_TEST(unavailable);
}

BOOST_AUTO_TEST_SUITE_END()

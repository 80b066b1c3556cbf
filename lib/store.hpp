// The only code that speaks SQLite. A Db is one connection with its own
// cache of prepared statements; a Query is one use of a statement of the
// catalogue, reset when it goes out of scope; a WriteTransaction is
// BEGIN IMMEDIATE ... COMMIT; the Writer groups the writes that arrive
// together into one transaction (one fsync) and acknowledges each only
// after its commit.
#pragma once
#include <sqlite3.h>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace abri::store {

struct Options {
    std::string path;
    bool synchronous_full = true;  // ABRI_SYNCHRONOUS=NORMAL turns it off
};

// A SQLite failure. `code` is the primary result code (SQLITE_BUSY, ...).
struct Error : std::runtime_error {
    int code;
    Error(int code_, const std::string& what) : std::runtime_error(what), code(code_) {}
    // Busy, locked, full, read-only or I/O: the database cannot take the
    // request now; the caller answers 503 and nothing was acknowledged.
    bool is_unavailable() const;
    // A UNIQUE, CHECK or foreign key constraint refused the write.
    bool is_constraint() const { return code == SQLITE_CONSTRAINT; }
};

class Db {
public:
    explicit Db(const Options& options);
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    sqlite3* raw() const { return db_.get(); }
    // The prepared statement for `sql`, prepared on first use. `sql` must be
    // a string literal of the catalogue: its address is the cache key.
    sqlite3_stmt* statement(const char* sql);
    void exec(const char* sql);
    // How long a statement waits for a lock before SQLITE_BUSY.
    void set_busy_timeout(int milliseconds);
    // The page cache; every connection starts with a small one (64 KiB).
    void set_cache_size(int kib);
    [[noreturn]] void fail(int rc) const;

private:
    struct CloseDb { void operator()(sqlite3* db) const { sqlite3_close_v2(db); } };
    struct Finalize { void operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); } };
    std::unique_ptr<sqlite3, CloseDb> db_;
    std::unordered_map<const char*, std::unique_ptr<sqlite3_stmt, Finalize>> cache_;
};

class Query {
public:
    template <typename... Args>
    Query(Db& db, const char* sql, const Args&... args) : db_(db), st_(db.statement(sql)) {
        int index = 1;
        (bind(index++, args), ...);
    }
    ~Query();
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;

    bool next();           // true while there is a row
    void run();            // steps to the end, ignoring rows
    std::int64_t integer(int column) const;
    std::string text(int column) const;
    bool is_null(int column) const;

private:
    void bind(int index, std::int64_t value);
    void bind(int index, int value) { bind(index, static_cast<std::int64_t>(value)); }
    void bind(int index, std::string_view value);
    void bind(int index, const std::string& value) { bind(index, std::string_view(value)); }
    void bind(int index, const char* value) { bind(index, std::string_view(value)); }
    void bind(int index, std::nullptr_t);
    void bind(int index, const std::optional<std::string>& value) {
        if (value) bind(index, *value); else bind(index, nullptr);
    }
    Db& db_;
    sqlite3_stmt* st_;
};

// BEGIN IMMEDIATE: takes the write lock first, so the busy handler applies
// (a read transaction upgraded to a write would fail at once when busy).
class WriteTransaction {
public:
    explicit WriteTransaction(Db& db);
    ~WriteTransaction();
    void commit();
    WriteTransaction(const WriteTransaction&) = delete;
    WriteTransaction& operator=(const WriteTransaction&) = delete;

private:
    Db& db_;
    bool done_ = false;
};

// BEGIN ... COMMIT around reads: every query inside sees one snapshot.
// Ended by COMMIT whatever happens (a read commits nothing).
class ReadTransaction {
public:
    explicit ReadTransaction(Db& db);
    ~ReadTransaction();
    ReadTransaction(const ReadTransaction&) = delete;
    ReadTransaction& operator=(const ReadTransaction&) = delete;

private:
    Db& db_;
};

std::int64_t last_insert_id(Db& db);
std::int64_t changes(Db& db);

// The file every Writer touches after each commit, so that the long-poll
// watchers of all processes (inotify) know when a change is visible: the
// -wal file itself is written before the commit is, and would wake them
// too early.
std::string wake_path(const Options& options);

// Group commit. run() blocks until the work is committed (or throws what
// the work or the commit threw). Each work runs in its own savepoint: one
// failing work does not undo the others of its batch.
class Writer {
public:
    explicit Writer(const Options& options);
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    void run(std::function<void(Db&)> work);

private:
    struct Job;
    void loop();
    void commit_batch(std::deque<Job*>& batch);

    Db db_;
    int wake_fd_;  // wake_path(), written after each commit
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job*> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

// This thread's read connection (one per thread, opened on first use).
Db& thread_db(const Options& options);
// Closes it, if open (a worker that leaves, before it gives memory back).
void close_thread_db();

// The current schema version and the migrations that bring a database
// there, from sql/NNN_*.sql compiled in.
int schema_version();
int database_version(Db& db);
// Creates or migrates; returns the version it started from.
int migrate(Db& db);
// Refuses to serve a database that `abrictl init` has not brought up to date.
void require_current_schema(Db& db);
// The database at options.path exists and has the current schema; throws
// saying what to do otherwise. Never creates the file: a wrong path must
// not leave an empty database for the next command to use.
void require_current_database(const Options& options);

}  // namespace abri::store

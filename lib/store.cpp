#include "store.hpp"
#include "limits.hpp"
#include "migrations.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <thread>

namespace abri::store {

bool Error::is_unavailable() const {
    switch (code) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_NOMEM:
        return true;
    default:
        return false;
    }
}

namespace {

// Page caches (KiB). A write by any process empties every other
// connection's cache at its next transaction (WAL), so a large one buys
// little, while each worker and each long-poll watcher has its own:
// SQLite's default (2 MiB each) made a burst of workers, or a watcher
// reading a purge's change feed, cost megabytes that stayed.
constexpr int kSmallCacheKib = 64;

// Waits for another connection's lock a millisecond at a time, up to
// kBusyTimeoutMs. SQLite's own handler sleeps longer and longer (up to
// 100 ms a time) and so misses the gaps a busy writer leaves.
int wait_for_lock(void*, int attempts) {
    if (attempts >= limits::kBusyTimeoutMs) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return 1;
}

}  // namespace

Db::Db(const Options& options) {
    sqlite3* handle = nullptr;
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(options.path.c_str(), &handle, flags, nullptr);
    db_.reset(handle);
    if (rc != SQLITE_OK) {
        throw Error(rc, "cannot open database " + options.path + ": " +
                            (handle ? sqlite3_errmsg(handle) : sqlite3_errstr(rc)));
    }
    sqlite3_extended_result_codes(handle, 0);
    sqlite3_db_config(handle, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
    sqlite3_db_config(handle, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
    sqlite3_db_config(handle, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
    sqlite3_busy_handler(handle, wait_for_lock, nullptr);
    exec("PRAGMA journal_mode=WAL");
    exec(options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
    // Erased chats must not survive in free pages: overwrite them with zeros.
    exec("PRAGMA secure_delete=ON");
    set_cache_size(kSmallCacheKib);
}

sqlite3_stmt* Db::statement(const char* sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second.get();
    sqlite3_stmt* st = nullptr;
    const int rc = sqlite3_prepare_v3(raw(), sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr);
    if (rc != SQLITE_OK) fail(rc);
    cache_.emplace(sql, st);
    return st;
}

void Db::exec(const char* sql) {
    const int rc = sqlite3_exec(raw(), sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) fail(rc);
}

void Db::set_busy_timeout(int milliseconds) { sqlite3_busy_timeout(raw(), milliseconds); }

void Db::set_cache_size(int kib) {
    const std::string pragma = "PRAGMA cache_size=-" + std::to_string(kib);
    exec(pragma.c_str());
}

void Db::fail(int rc) const { throw Error(rc & 0xff, sqlite3_errmsg(raw())); }

Query::~Query() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
}

void Query::bind(int index, std::int64_t value) {
    const int rc = sqlite3_bind_int64(st_, index, value);
    if (rc != SQLITE_OK) db_.fail(rc);
}

void Query::bind(int index, std::string_view value) {
    const int rc = sqlite3_bind_text64(st_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    if (rc != SQLITE_OK) db_.fail(rc);
}

void Query::bind(int index, std::nullptr_t) {
    const int rc = sqlite3_bind_null(st_, index);
    if (rc != SQLITE_OK) db_.fail(rc);
}

bool Query::next() {
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    db_.fail(rc);
}

void Query::run() {
    while (next()) {
    }
}

std::int64_t Query::integer(int column) const { return sqlite3_column_int64(st_, column); }

std::string Query::text(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(st_, column));
    return data ? std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(st_, column))) : std::string{};
}

bool Query::is_null(int column) const { return sqlite3_column_type(st_, column) == SQLITE_NULL; }

WriteTransaction::WriteTransaction(Db& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

WriteTransaction::~WriteTransaction() {
    if (!done_) sqlite3_exec(db_.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void WriteTransaction::commit() {
    db_.exec("COMMIT");
    done_ = true;
}

ReadTransaction::ReadTransaction(Db& db) : db_(db) { db_.exec("BEGIN"); }

ReadTransaction::~ReadTransaction() { sqlite3_exec(db_.raw(), "COMMIT", nullptr, nullptr, nullptr); }

std::int64_t last_insert_id(Db& db) { return sqlite3_last_insert_rowid(db.raw()); }
std::int64_t changes(Db& db) { return sqlite3_changes64(db.raw()); }

struct Writer::Job {
    std::function<void(Db&)> work;
    std::promise<void> done;
    std::exception_ptr failure;
};

std::string wake_path(const Options& options) { return options.path + "-wake"; }

Writer::Writer(const Options& options)
    : db_(options), wake_fd_(open(wake_path(options).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) {
    if (wake_fd_ < 0) throw Error(SQLITE_CANTOPEN, "cannot open " + wake_path(options) + ": " + std::strerror(errno));
    db_.set_cache_size(limits::kWriteCacheKib);
    thread_ = std::thread([this] { loop(); });
}

Writer::~Writer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
    close(wake_fd_);
}

void Writer::run(std::function<void(Db&)> work) {
    Job job{std::move(work), {}, nullptr};
    auto done = job.done.get_future();
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(&job);
    }
    wake_.notify_one();
    done.get();
}

void Writer::loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        std::deque<Job*> batch;
        while (!queue_.empty() && batch.size() < limits::kMaxBatch) {
            batch.push_back(queue_.front());
            queue_.pop_front();
        }
        lock.unlock();
        commit_batch(batch);
        lock.lock();
    }
}

void Writer::commit_batch(std::deque<Job*>& batch) {
    std::exception_ptr batch_failure;
    try {
        WriteTransaction transaction(db_);
        for (Job* job : batch) {
            db_.exec("SAVEPOINT job");
            try {
                job->work(db_);
                db_.exec("RELEASE job");
            } catch (...) {
                job->failure = std::current_exception();
                db_.exec("ROLLBACK TO job");
                db_.exec("RELEASE job");
            }
        }
        transaction.commit();
        // Ring after the commit is visible; a lost ring only delays the
        // wake-up to the watchers' safety check.
        (void)!pwrite(wake_fd_, "!", 1, 0);
    } catch (...) {
        batch_failure = std::current_exception();
    }
    for (Job* job : batch) {
        const std::exception_ptr failure = job->failure ? job->failure : batch_failure;
        if (failure) {
            job->done.set_exception(failure);
        } else {
            job->done.set_value();
        }
    }
}

namespace {
thread_local std::unique_ptr<Db> this_thread_db;
}  // namespace

Db& thread_db(const Options& options) {
    if (!this_thread_db) {
        this_thread_db = std::make_unique<Db>(options);
    }
    return *this_thread_db;
}

void close_thread_db() { this_thread_db.reset(); }

int schema_version() { return static_cast<int>(generated::kMigrationCount); }

int database_version(Db& db) {
    Query version(db, "PRAGMA user_version");
    return version.next() ? static_cast<int>(version.integer(0)) : 0;
}

int migrate(Db& db) {
    const int start = database_version(db);
    if (start > schema_version()) {
        throw std::runtime_error("the database has schema version " + std::to_string(start) +
                                 ", newer than this abri (" + std::to_string(schema_version()) +
                                 "): install the newer abri again");
    }
    for (int version = start; version < schema_version(); ++version) {
        WriteTransaction transaction(db);
        db.exec(generated::kMigrations[version]);
        db.exec(("PRAGMA user_version=" + std::to_string(version + 1)).c_str());
        transaction.commit();
    }
    return start;
}

void require_current_schema(Db& db) {
    const int version = database_version(db);
    if (version != schema_version()) {
        throw std::runtime_error("the database has schema version " + std::to_string(version) + ", this abri needs " +
                                 std::to_string(schema_version()) + ": run `abrictl init` first");
    }
}

void require_current_database(const Options& options) {
    struct stat st {};
    if (::stat(options.path.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            throw std::runtime_error(options.path + ": no database there. Name the database with --db PATH or "
                                                    "$ABRI_DB, or create this one with `abrictl init`");
        }
        throw std::runtime_error("cannot open database " + options.path + ": " + std::strerror(errno));
    }
    Db db(options);
    try {
        require_current_schema(db);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(options.path + ": " + e.what());
    }
}

}  // namespace abri::store

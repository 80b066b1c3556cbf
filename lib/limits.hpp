// Every limit abri enforces, in one place. nginx mirrors kMaxBodyBytes
// (client_max_body_size) and kMaxWaitSeconds (fastcgi_read_timeout).
#pragma once
#include <cstddef>

namespace abri::limits {

inline constexpr std::size_t kMaxBodyBytes = 16 * 1024;     // request body
inline constexpr std::size_t kMaxParamBytes = 8 * 1024;     // one FastCGI parameter value
inline constexpr std::size_t kMaxQueryBytes = 256;          // the whole query string
inline constexpr int kMaxJsonDepth = 4;                     // bodies are flat objects
inline constexpr std::size_t kMaxJsonFields = 8;            // keys in one body

inline constexpr std::size_t kMaxTextChars = 2000;          // a message, in code points after trimming
inline constexpr std::size_t kMaxUsernameBytes = 64;
inline constexpr std::size_t kMaxPasswordBytes = 256;
inline constexpr std::size_t kMaxUnitCodeBytes = 32;
inline constexpr std::size_t kMaxUnitNameBytes = 120;

inline constexpr int kDefaultWaitSeconds = 25;              // long-poll
inline constexpr int kMaxWaitSeconds = 30;

inline constexpr int kDefaultIdleTtl = 30 * 60;             // ABRI_IDLE_TTL
inline constexpr int kDefaultMaxTtl = 12 * 60 * 60;         // ABRI_MAX_TTL
inline constexpr int kLeftKeptSeconds = 60 * 60;            // operator keeps a left chat
inline constexpr int kLastSeenGranularity = 10;             // seconds between last_seen writes
inline constexpr int kConnectedWithin = 60;                 // "visitor connected" window

// Workers per program at most (ABRI_THREADS), started as requests need
// them. A send holds its worker until its group commit, so this bounds the
// sends one fsync can carry: with 4, FULL sends were capped near 4 per
// fsync (docs/performance.md). A worker idle for kWorkerIdleSeconds
// leaves, with its read connection.
inline constexpr int kDefaultThreads = 64;                  // ABRI_THREADS
inline constexpr int kWorkerIdleSeconds = 5;
inline constexpr std::size_t kMaxParked = 20000;            // waiting long-polls per process
inline constexpr std::size_t kMaxQueued = 4096;             // requests waiting for a worker
inline constexpr int kBusyTimeoutMs = 5000;                 // SQLite busy handler
inline constexpr std::size_t kMaxBatch = 256;               // writes per group commit
inline constexpr int kWriteCacheKib = 512;                  // page cache of the Writer's and the purge's connections
inline constexpr std::size_t kPurgeBatch = 1000;            // sessions per purge transaction, at most
inline constexpr int kPurgeSliceMs = 10;                    // and its work, at most
inline constexpr int kPurgeGapMs = 2;                       // lock left free between two: twice the
                                                            // busy handler's 1 ms retry (lib/store.cpp)

inline constexpr std::size_t kTokenBytes = 32;              // 256-bit bearer tokens

// Operators (lib/auth.hpp, lib/desk.hpp, lib/queue.hpp).
inline constexpr int kLoginSeconds = 12 * 60 * 60;          // an operator's cookie, from login
inline constexpr int kLoginFreeFailures = 4;                // wrong passwords in a row before a lock
inline constexpr int kLoginLockSeconds = 30;                // first lock, doubled at each further failure
inline constexpr int kLoginLockMaxSeconds = 15 * 60;        // longest lock
inline constexpr int kLoginFailuresKept = 60 * 60;          // failures older than this are forgotten
inline constexpr std::ptrdiff_t kMaxConcurrentVerifications = 2;  // Argon2id runs at 32 MiB each
inline constexpr int kVerificationWaitMs = 10000;           // in line for a slot (first come, first served), then 503
inline constexpr std::size_t kMaxUnknownLogins = 10000;     // unknown usernames throttled in memory
inline constexpr std::size_t kMaxQueueEntries = 500;        // sessions in one events answer
inline constexpr std::size_t kMaxEventMessages = 1000;      // messages in one events answer (the newest)
inline constexpr std::size_t kMaxTranscriptMessages = 20000;// messages in one export

// Logins under attack (lib/auth.hpp, issue 13).
inline constexpr int kDeviceCookieSeconds = 365 * 24 * 60 * 60;  // a known browser stays known a year
inline constexpr std::size_t kMaxDeviceCounts = 10000;      // browsers' own counts kept (an hour each)

}  // namespace abri::limits

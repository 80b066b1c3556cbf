// Every limit abri enforces, in one place. nginx mirrors kMaxBodyBytes
// (client_max_body_size) and kMaxWaitSeconds (fastcgi_read_timeout).
#pragma once
#include <cstddef>
#include <cstdint>

namespace abri::limits {

inline constexpr std::size_t kMaxBodyBytes = 16 * 1024;     // request body
inline constexpr std::size_t kMaxParamBytes = 8 * 1024;     // one FastCGI parameter value
inline constexpr std::size_t kMaxQueryBytes = 256;          // the whole query string
inline constexpr int kMaxJsonDepth = 4;                     // bodies are flat objects
inline constexpr std::size_t kMaxJsonFields = 8;            // keys in one body

inline constexpr std::size_t kMaxTextChars = 2000;          // a message, in code points as sent
inline constexpr std::size_t kMaxClientIdBytes = 64;        // a page's id for a message it typed
inline constexpr std::size_t kMaxUsernameBytes = 64;
inline constexpr std::size_t kMaxPasswordBytes = 256;
inline constexpr std::size_t kMaxUnitCodeBytes = 32;
inline constexpr std::size_t kMaxUnitNameBytes = 120;
inline constexpr std::size_t kMaxWordBytes = 16;            // a postcode, role, lang or presence, before its check

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
// fsync (docs/performance.md). A worker idle for ABRI_WORKER_IDLE seconds
// leaves, with its read connection.
inline constexpr int kDefaultThreads = 64;                  // ABRI_THREADS
inline constexpr int kDefaultWorkerIdle = 5;                // ABRI_WORKER_IDLE
inline constexpr std::size_t kMaxParked = 20000;            // waiting long-polls per process
inline constexpr std::size_t kMaxQueued = 4096;             // requests waiting for a worker
inline constexpr int kBusyTimeoutMs = 5000;                 // SQLite busy handler
inline constexpr std::size_t kMaxBatch = 256;               // writes per group commit
inline constexpr int kWriteCacheKib = 512;                  // page cache of the Writer's and the purge's connections
inline constexpr std::size_t kPurgeBatch = 1000;            // sessions per purge transaction, at most
inline constexpr int kPurgeSliceMs = 10;                    // and its work, at most
inline constexpr int kPurgeGapMs = 2;                       // lock left free between two: twice the
                                                            // busy handler's 1 ms retry (lib/store.cpp)

// Nobody left alone (lib/duty.hpp).
inline constexpr int kOnDutyWithin = 60;                    // an events poll this recent: a console is connected
inline constexpr int kDefaultAgentGoneAfter = 300;          // ABRI_AGENT_GONE_AFTER: no console, chats released
inline constexpr int kDefaultEscalateAfter = 120;           // ABRI_ESCALATE_AFTER: unseen waiting chat escalated
inline constexpr int kPresenceGranularity = 10;             // seconds between last_poll writes, at most
inline constexpr int kSweepEverySeconds = 1;                // release and escalation checks, per process
inline constexpr int kMaxFallbackChain = 16;                // units followed along fallbacks, at most
inline constexpr int kErasedKeptSeconds = 10 * 60;          // an erased chat's notice for its operator
inline constexpr int kPulsesKeptSeconds = 10 * 60;          // pulses only matter to polls waiting now

// What one session may send (lib/visitor.hpp): a burst (ABRI_SEND_BURST;
// a page back from a network drop sends what was typed meanwhile in a
// row), then one a second; and in all. A person in danger types a lot; a
// script does not get to fill the disk or the operators' screens.
inline constexpr int kSendBurst = 20;
inline constexpr int kSendIntervalSeconds = 1;
inline constexpr std::int64_t kMaxSessionMessages = 2000;
inline constexpr std::int64_t kMaxSessionBytes = 2 * 1024 * 1024;
// Text in one poll answer; the page pages on with `after`. 64 workers
// building answers at once for clients that never read cost 64 of them:
// 256 KiB made the messages program peak near 70 MiB (docs/hostile.md).
inline constexpr std::size_t kMaxAnswerBytes = 64 * 1024;
// Messages in one poll answer, whatever their size (the rest: `more`).
inline constexpr std::int64_t kMaxPageMessages = 1000;

inline constexpr std::int64_t kMaxId = 9007199254740991;    // 2^53 - 1: ids a JavaScript number holds exactly

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
inline constexpr std::size_t kMaxWaitingEntries = 100;      // waiting entries in one events answer (held ones: all)
inline constexpr std::size_t kPreviewChars = 140;           // the start of the person's latest message, in the queue
inline constexpr std::size_t kMaxEventMessages = 1000;      // messages in one events answer (the newest)
inline constexpr std::size_t kMaxTranscriptMessages = 20000;// messages in one export


// Writing an answer (lib/server.cpp). nginx reads a whole answer into its
// buffers at once (fastcgi_buffers, abri-locations.conf), so a write waits
// only when the peer is not nginx or nginx ran out of buffers: it then
// holds its worker at most this long, and the answer is dropped.
inline constexpr int kAnswerWriteMs = 2000;

// New sessions under a flood (lib/work.hpp): free while a minute sees at
// most ABRI_WORK_AFTER of them, then each one pays a proof of work sized
// by the server, and past the ceiling they are refused at once.
inline constexpr int kDefaultWorkAfter = 120;               // ABRI_WORK_AFTER: new sessions per minute, free
inline constexpr int kMaxWorkAfter = 1000000;               // (the bench's stacks: never)
inline constexpr int kSessionCeilingTimes = 10;             // past 10 x ABRI_WORK_AFTER a minute: 503 at once
inline constexpr int kWorkBits = 18;                        // 2^18 SHA-256: about a second of a phone's JavaScript
inline constexpr int kWorkMaxExtraBits = 2;                 // one more bit each time the rate doubles, up to 4x
inline constexpr int kWorkChallengeSeconds = 120;           // a challenge's life: a slow phone, then the send
inline constexpr std::size_t kWorkChallengeChars = 39;      // base64url of 29 bytes (lib/work.cpp)
inline constexpr std::size_t kMaxWorkNonceBytes = 16;

// Logins under attack (lib/auth.hpp, issue 13).
inline constexpr int kDeviceCookieSeconds = 365 * 24 * 60 * 60;  // a known browser stays known a year
inline constexpr std::size_t kMaxDeviceCounts = 10000;      // browsers' own counts kept (an hour each)

// The night shift (issue 14): replies, notes, typing, names, statistics.
inline constexpr std::size_t kMaxReplyTitleBytes = 120;     // a canned reply's title; its text is a message (kMaxTextChars)
inline constexpr std::size_t kMaxRepliesListed = 200;       // replies in one answer, for all the operator's units
inline constexpr std::size_t kMaxDisplayNameBytes = 64;     // an operator's name shown to colleagues
inline constexpr int kTypingEverySeconds = 3;               // a side's typing signal is written at most this often
inline constexpr int kTypingShownSeconds = 5;               // "is typing" for this long after a signal
inline constexpr int kMinTzOffsetMinutes = -12 * 60;        // an export's time zone, minutes east of UTC
inline constexpr int kMaxTzOffsetMinutes = 14 * 60;
inline constexpr int kStatsKeptDays = 400;                  // daily statistics, then forgotten

}  // namespace abri::limits

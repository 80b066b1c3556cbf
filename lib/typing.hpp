// "The team is typing", "the person is typing": a signal, never the
// draft's text. Each side's signal is written at most every
// limits::kTypingEverySeconds and shown for limits::kTypingShownSeconds,
// in an active conversation only. A written signal wakes the other side's
// poll.
#pragma once
#include "store.hpp"
#include <cstdint>

namespace abri::typing {

enum class Side { Visitor, Team };

// Whether a signal of `side` would be written now (else it is dropped:
// the throttle). Reader.
bool needs_signal(store::Db& db, std::int64_t session_id, Side side, std::int64_t now);
// Writer; checks again.
void signal(store::Db& db, std::int64_t session_id, Side side, std::int64_t now);
// When `side` last signalled (0: never). Reader.
std::int64_t signalled_at(store::Db& db, std::int64_t session_id, Side side);
// Whether `side` signalled within limits::kTypingShownSeconds. Reader.
bool is_typing(std::int64_t signalled_at, std::int64_t now);
bool is_typing(store::Db& db, std::int64_t session_id, Side side, std::int64_t now);

}  // namespace abri::typing

// How long chats live, and making sure that what is erased is gone from
// every file of the database, not only from its tables.
#pragma once
#include "store.hpp"

namespace abri::retention {

// Moves every page out of the write-ahead log into the main file and
// truncates the log to zero bytes, so that no old frame still holds erased
// text (deleted pages are zeroed by secure_delete). Retries while readers
// keep old frames in use; returns false if the log could not be emptied.
bool scrub(const store::Options& options);

}  // namespace abri::retention

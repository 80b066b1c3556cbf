-- abri's schema, version 3: wrong passwords typed for usernames that have no
-- account, counted like those of real accounts (agents.failed_logins,
-- locked_until) so that a locked name answers 429 whether it exists or not,
-- in every process (plain CGI included). Only a hash of the name is kept;
-- a row whose last failure is an hour old is forgotten (lib/auth.cpp).
CREATE TABLE login_failures (
    name_hash      TEXT PRIMARY KEY,         -- hex BLAKE2b of the username typed
    failed_logins  INTEGER NOT NULL,
    locked_until   INTEGER NOT NULL          -- end of the lock, or time of the last failure
) WITHOUT ROWID;

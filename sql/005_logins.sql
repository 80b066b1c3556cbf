-- abri's schema: logins that others' wrong passwords cannot lock out
-- (issue 13, lib/auth.cpp). From this version on, agents.failed_logins
-- and the counts below count attempts as they arrive, before their
-- password is verified; a success resets its count.

-- The server's login secret: 32 bytes in hex, one row. lib/auth.cpp
-- derives from it the key that signs device cookies and the key of the
-- hashes of unknown usernames. lib/auth.cpp makes it with libsodium's
-- CSPRNG (the OS's) inside the first write transaction that needs it, not
-- this file with randomblob(): SQLite's own generator was RC4 before 3.40.
-- Deleting the row forgets every device cookie and unknown name at once;
-- the next login makes a new one. It never leaves the database (the
-- configuration backup of README.md leaves this table out).
CREATE TABLE login_secret (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    secret  TEXT NOT NULL CHECK (length(secret) = 64)
);

-- Wrong passwords typed from a browser that holds a valid device cookie,
-- counted for that browser alone: such a browser is not refused because
-- others locked the account. Only a hash of the cookie's nonce is kept;
-- a row whose last failure is an hour old is forgotten, like
-- login_failures.
CREATE TABLE device_failures (
    nonce_hash     TEXT PRIMARY KEY,         -- hex BLAKE2b of the device cookie's nonce
    failed_logins  INTEGER NOT NULL,
    locked_until   INTEGER NOT NULL          -- end of the lock, or time of the last attempt
) WITHOUT ROWID;

-- login_failures.name_hash was an unsalted BLAKE2b of the name typed (a
-- password typed in the name field could be found offline): it is now
-- keyed with the secret. The old rows cannot be converted and are at most
-- an hour's worth of throttling.
DELETE FROM login_failures;

-- abri's schema, version 1. Every row about a chat is ephemeral: the purge
-- erases sessions (and, by cascade, their messages) once they end.

CREATE TABLE units (
    id    INTEGER PRIMARY KEY,
    code  TEXT NOT NULL UNIQUE,             -- short code admins type, e.g. 75PP
    name  TEXT NOT NULL,                    -- shown to the visitor
    kind  TEXT NOT NULL CHECK (kind IN ('police', 'gendarmerie'))
);

-- KEY is a postcode ('13001'), its first digits ('13', '130', '974'), a
-- Corsican department ('2A', '2B') or '*' for the default unit.
CREATE TABLE routes (
    key      TEXT PRIMARY KEY,
    unit_id  INTEGER NOT NULL REFERENCES units(id)
) WITHOUT ROWID;

CREATE TABLE agents (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,           -- crypto_pwhash_str (Argon2id)
    disabled       INTEGER NOT NULL DEFAULT 0,
    failed_logins  INTEGER NOT NULL DEFAULT 0,   -- since the last success
    locked_until   INTEGER NOT NULL DEFAULT 0    -- Unix time; login refused before
);

CREATE TABLE agent_units (
    agent_id  INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    unit_id   INTEGER NOT NULL REFERENCES units(id),
    PRIMARY KEY (agent_id, unit_id)
) WITHOUT ROWID;

-- An operator's logged-in browser: only hashes of the cookie are stored.
CREATE TABLE agent_logins (
    cookie_hash  TEXT PRIMARY KEY,          -- hex BLAKE2b of the cookie
    agent_id     INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    csrf         TEXT NOT NULL,
    expires_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    public_id   TEXT NOT NULL UNIQUE,       -- what operators see and address
    token_hash  TEXT NOT NULL UNIQUE,       -- hex BLAKE2b of the visitor's bearer token
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    role        TEXT NOT NULL CHECK (role IN ('victim', 'witness')),
    state       TEXT NOT NULL DEFAULT 'waiting'
                CHECK (state IN ('waiting', 'active', 'closed', 'left')),
    agent_id    INTEGER REFERENCES agents(id) ON DELETE SET NULL,
    quick_exit  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,           -- the visitor's last call
    ended_at    INTEGER                     -- closed by the operator or left
);
CREATE INDEX sessions_by_unit ON sessions(unit_id, state);

CREATE TABLE messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,   -- only grows, even after a purge
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    sender      TEXT NOT NULL CHECK (sender IN ('visitor', 'agent', 'system')),
    text        TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX messages_by_session ON messages(session_id, id);

-- The change feed that wakes long-polls: one row per change that a waiting
-- poll may care about, in every process. No text, no token.
CREATE TABLE pulses (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  INTEGER NOT NULL,
    unit_id     INTEGER NOT NULL,
    at          INTEGER NOT NULL
);

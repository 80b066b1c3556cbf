-- abri's schema: the night shift (issue 14). Canned replies, internal
-- notes, typing signals, who answers, and the daily statistics.

-- An operator's name as colleagues and exports show it; NULL: the username.
ALTER TABLE agents ADD COLUMN display_name TEXT;

-- The operator who wrote an agent's message or a note. Notes are rows of
-- messages (sender 'system', kind 'note', which no visitor answer lists):
-- they share the messages' ids, so the operators' cursor covers them, and
-- they go with the session whichever way it goes (erase, purge).
ALTER TABLE messages ADD COLUMN author_id INTEGER REFERENCES agents(id) ON DELETE SET NULL;
-- The queue shows a waiting conversation's handover note: found without
-- reading the person's messages.
CREATE INDEX messages_notes ON messages(session_id, id) WHERE kind = 'note';

-- The last typing signal of each side (Unix time, 0: none). Never any text.
ALTER TABLE sessions ADD COLUMN visitor_typing_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN agent_typing_at INTEGER NOT NULL DEFAULT 0;

-- Canned replies and referral cards of a unit, picked from the console's
-- reply box. They go with their unit.
CREATE TABLE replies (
    id       INTEGER PRIMARY KEY,
    unit_id  INTEGER NOT NULL REFERENCES units(id) ON DELETE CASCADE,
    title    TEXT NOT NULL,
    text     TEXT NOT NULL
);
CREATE INDEX replies_by_unit ON replies(unit_id, title);

-- Statistics: aggregates per unit (by code, so that they outlive a removed
-- unit) and per UTC day, kept 400 days. No session id, no text. Updated in
-- the transaction of the event they count (lib/stats.hpp).
CREATE TABLE stats_daily (
    day              TEXT NOT NULL,      -- YYYY-MM-DD, UTC
    unit             TEXT NOT NULL,      -- the unit's code
    started          INTEGER NOT NULL DEFAULT 0,
    answered         INTEGER NOT NULL DEFAULT 0,
    left_unanswered  INTEGER NOT NULL DEFAULT 0,
    quick_exits      INTEGER NOT NULL DEFAULT 0,
    escalations      INTEGER NOT NULL DEFAULT 0,   -- counted for the unit the chat left
    PRIMARY KEY (day, unit)
) WITHOUT ROWID;

-- Times to a first answer, as a histogram: how many conversations of the
-- day and unit were first answered after `seconds`. Percentiles are read
-- from it exactly, with nothing that leads back to a conversation.
CREATE TABLE stats_answer_times (
    day      TEXT NOT NULL,
    unit     TEXT NOT NULL,
    seconds  INTEGER NOT NULL,
    count    INTEGER NOT NULL,
    PRIMARY KEY (day, unit, seconds)
) WITHOUT ROWID;

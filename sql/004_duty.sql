-- abri's schema, version 4: nobody left alone (shared/API.md), and what a
-- queue under a flood needs kept rather than recomputed.

-- The stable word of a system message (claimed, released, left, ...):
-- pages react to it, never to the French text. NULL for people's messages.
ALTER TABLE messages ADD COLUMN kind TEXT;
-- Chosen by the page for each message typed, so that a send retried after
-- a network drop is stored once (lib/messages.cpp).
ALTER TABLE messages ADD COLUMN client_id TEXT;
CREATE UNIQUE INDEX messages_by_client_id ON messages(session_id, client_id) WHERE client_id IS NOT NULL;

ALTER TABLE sessions ADD COLUMN lang TEXT NOT NULL DEFAULT 'fr';
-- The person said "je suis en danger maintenant": first in the queue.
ALTER TABLE sessions ADD COLUMN danger INTEGER NOT NULL DEFAULT 0;
-- The first operator's message: "left before an answer" and, later, the
-- time to a first answer.
ALTER TABLE sessions ADD COLUMN answered_at INTEGER;
-- Kept by every insert (lib/messages.cpp) instead of counted from the
-- messages at every queue read: the person's messages since the team last
-- wrote, all the person's messages and bytes (the totals a session may
-- send), the id of the person's latest message (the queue's preview).
ALTER TABLE sessions ADD COLUMN unread INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN visitor_messages INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN visitor_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN last_visitor_message INTEGER NOT NULL DEFAULT 0;
-- The send rate (GCRA): the time, in seconds, at which the bucket would be
-- empty again. A send is refused while it lies more than a burst ahead.
ALTER TABLE sessions ADD COLUMN send_tat INTEGER NOT NULL DEFAULT 0;

-- The unit that takes over when nobody of this one is on duty.
ALTER TABLE units ADD COLUMN fallback_id INTEGER REFERENCES units(id);

-- Presence: the operator's last events poll (a console connected) and,
-- when the operator said "away", since when (0: available).
ALTER TABLE agents ADD COLUMN last_poll INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN away_at INTEGER NOT NULL DEFAULT 0;

-- Conversations an operator held that the person erased: the console shows
-- a notice, with no content. Only the public id, for minutes.
CREATE TABLE erased (
    public_id  TEXT NOT NULL,
    agent_id   INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    PRIMARY KEY (agent_id, public_id)
) WITHOUT ROWID;

CREATE INDEX pulses_by_session ON pulses(session_id);

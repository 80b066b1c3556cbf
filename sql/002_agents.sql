-- abri's schema, version 2: what the operators' console needs.

-- When a session went back to a queue (a transfer); NULL: waiting since
-- created_at. The queue shows the longest wait first.
ALTER TABLE sessions ADD COLUMN queued_at INTEGER;

-- The id of the system message written by the last claim. The events
-- long-poll sends the whole history of a session claimed after the
-- client's cursor, and only the new messages of one held before.
ALTER TABLE sessions ADD COLUMN claim_message INTEGER NOT NULL DEFAULT 0;

CREATE INDEX sessions_by_agent ON sessions(agent_id, state);
CREATE INDEX agent_logins_by_agent ON agent_logins(agent_id);

-- The operators' cursor is a pulse id. `messages_upto` is the largest
-- message id when the pulse was written: every message committed before
-- the pulse has an id at most this, every later one a greater id (writes
-- are serialised), so that a cursor also says which messages the client
-- has. Filled by the trigger, so that every writer of pulses gets it.
ALTER TABLE pulses ADD COLUMN messages_upto INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER pulses_messages_upto AFTER INSERT ON pulses
BEGIN
    UPDATE pulses SET messages_upto = (SELECT coalesce(max(id), 0) FROM messages) WHERE id = NEW.id;
END;

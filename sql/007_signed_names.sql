-- abri's schema: who answers, as the person sees it (issue 14). By default
-- the person sees the unit's kind ("Police", "Gendarmerie"); a unit may
-- choose that its operators' display names sign their messages
-- (`abrictl unit names CODE on|off`).
ALTER TABLE units ADD COLUMN signs_names INTEGER NOT NULL DEFAULT 0;
-- Decided when the message is written, by the unit that held the
-- conversation then: a transfer never reveals the previous unit's names.
ALTER TABLE messages ADD COLUMN signed INTEGER NOT NULL DEFAULT 0;

-- When a conversation last opened from resolved: the start of its resolution time. The
-- inbox's figures read first-response and resolution times from the events that stopped
-- each clock, by kind and time.
ALTER TABLE conversations ADD COLUMN opened_us INTEGER;
CREATE INDEX conversation_events_kind ON conversation_events (org_id, kind, at_us);

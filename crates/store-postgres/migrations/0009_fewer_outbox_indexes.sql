-- An outbox row is written when it is queued and again when it is sent, and each
-- version that changes an indexed column goes into every index of the table. Three
-- entries fewer a message:
--
-- * One index serves a patient's rows: the look-ups by patient (erasure, the latest
--   message to a patient) and the frequency caps' counts (which also need the channel
--   and send time) both lead with the patient.
-- * Provider ids are looked up only for status callbacks, and a row has none until it
--   is accepted: rows without one are not indexed.
DROP INDEX outbox_by_patient;
DROP INDEX outbox_sent_to_patient;
CREATE INDEX outbox_to_patient ON outbox (org_id, patient_id, channel, sent_us);

DROP INDEX outbox_by_provider_id;
CREATE INDEX outbox_by_provider_id ON outbox (org_id, provider_id) WHERE provider_id IS NOT NULL;

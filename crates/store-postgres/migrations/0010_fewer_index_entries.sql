-- Two indexes that held rows no query looks for in them, and so cost an entry on every
-- message (an outbox row or a Communication written again goes into every index whose
-- condition its new version meets):
--
-- * Only appointments have a start; a search by start always names a range, which
--   implies a start. Other resources are not indexed by it.
-- * The queue is read for messages waiting (queued), out (sending) or of unknown
--   outcome, and listed for those that went wrong. A message accepted by its provider
--   leaves the index instead of going into it again; listing those statuses (rare,
--   and a listing of nearly every row) reads the table.
DROP INDEX resources_by_start;
CREATE INDEX resources_by_start ON resources (org_id, resource_type, start_us) WHERE start_us IS NOT NULL;

DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (org_id, status, due_us, id)
    WHERE status IN ('queued', 'sending', 'unknown', 'undelivered', 'failed', 'dead', 'blocked');

-- An enrollment is unique per event, journey and patient; leading that key with the
-- patient lets it also serve the look-ups by patient, one index fewer to write on every
-- move of a journey.
ALTER TABLE enrollments DROP CONSTRAINT enrollments_org_id_trigger_seq_journey_patient_id_key;
ALTER TABLE enrollments ADD CONSTRAINT enrollments_once UNIQUE (org_id, patient_id, journey, trigger_seq);
DROP INDEX enrollments_by_patient;

-- Enrollments, outbox rows and Communications are written again soon after they are
-- written, in runs of neighbours (a timer round's claims and moves, a batch of
-- outcomes). A fifth of a page free (0006) held the next version of one row in four;
-- with half of each page free, the next versions of all of them fit beside the old
-- ones. Beside the page, PostgreSQL updates a row without new index entries when no
-- indexed column changed (a HOT update), and otherwise still spares the move to
-- another page, which costs a lock record and a page of its own in the log. The
-- price is room: these tables take up to twice the pages. Applies to pages written
-- from now on.
ALTER TABLE enrollments SET (fillfactor = 50);
ALTER TABLE outbox SET (fillfactor = 50);
ALTER TABLE resources SET (fillfactor = 50);

-- Only appointments have a start, and a search by start always names a range, which
-- implies a start: other resources are not indexed by it, so a Communication written
-- (and written again as it is sent) costs one index entry fewer. The outbox keeps its
-- whole queue index here: SQLite uses a partial index only for queries that repeat its
-- condition, which the claim's `status = 'queued'` does not.
DROP INDEX resources_by_start;
CREATE INDEX resources_by_start ON resources (org_id, resource_type, start_us) WHERE start_us IS NOT NULL;

-- A message careloop sends is searched by its outbox row's patient, channel and status
-- (which the row keeps in any case) rather than by terms of its Communication. Its
-- status moved with every report, and each move rewrote the term; now the row is the
-- one record. The terms the rows make redundant go; what a message is based on stays
-- a term.
DELETE FROM resource_terms
WHERE resource_type = 'Communication'
  AND param IN ('patient', 'status', 'medium')
  AND EXISTS (
      SELECT 1 FROM outbox o
      WHERE o.id = resource_terms.resource_id AND o.org_id = resource_terms.org_id
  );

-- The appointment a message is about, when it is about one: a column of its row too,
-- written with it, rather than a term beside it. A message about several (a "which
-- one?") keeps them as terms, and so do those written before.
ALTER TABLE outbox ADD COLUMN about_id TEXT;
CREATE INDEX outbox_about ON outbox (about_id, org_id) WHERE about_id IS NOT NULL;

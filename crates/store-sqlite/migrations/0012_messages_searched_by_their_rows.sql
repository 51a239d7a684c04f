-- A message careloop sends is searched by its outbox row's patient, channel and status
-- (which the row keeps in any case) rather than by terms of its Communication. Its
-- status moved with every report, and each move rewrote the term; now the row is the
-- one record. The terms the rows make redundant go; what a message is about and based
-- on stay terms.
DELETE FROM resource_terms
WHERE resource_type = 'Communication'
  AND param IN ('patient', 'status', 'medium')
  AND EXISTS (
      SELECT 1 FROM outbox o
      WHERE o.id = resource_terms.resource_id AND o.org_id = resource_terms.org_id
  );

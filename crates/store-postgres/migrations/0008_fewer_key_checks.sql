-- Foreign keys that only the store writes against, dropped from the hot path. Each
-- check runs a query that locks the parent row (FOR KEY SHARE), and that lock is
-- itself a write to the parent's page and to the WAL. A reminder's Communication,
-- its outbox row and its four search terms made eight such checks; the busiest parent
-- is the organization's single row, which every writer locked at once. Without them
-- the server spends about 15 % less CPU on each message sent (careloop bench,
-- PostgreSQL, 2 workers).
--
-- What they guarded is kept by the store: an organization is created before any of its
-- rows and never deleted; terms and outbox rows are written in the same transaction as
-- the resource they belong to, and erasure deletes them itself (terms were cascaded).
-- Kept: a sealed resource's key (a write racing an erasure must fail, not seal under a
-- shredded key) and an enrollment's appointment. SQLite keeps all of them: checks
-- there are cheap, and they catch a store bug in the test suite.
ALTER TABLE data_keys DROP CONSTRAINT data_keys_org_id_fkey;
ALTER TABLE resources DROP CONSTRAINT resources_org_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_org_id_fkey;
ALTER TABLE enrollments DROP CONSTRAINT enrollments_org_id_fkey;
ALTER TABLE outbox DROP CONSTRAINT outbox_org_id_fkey;
ALTER TABLE send_rates DROP CONSTRAINT send_rates_org_id_fkey;
ALTER TABLE resource_terms DROP CONSTRAINT resource_terms_org_id_resource_type_resource_id_fkey;
ALTER TABLE outbox DROP CONSTRAINT outbox_org_id_resource_type_id_fkey;

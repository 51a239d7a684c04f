-- Every text key compares byte by byte, as SQLite's do. Under the database's own
-- collation (C.UTF-8, say), each comparison in an index copied both strings and went
-- through the C library's strcoll: a fifth of the server's time in a busy engine was
-- spent comparing ids that only ever need to be equal, or ordered as a tie-break.
ALTER TABLE organizations ALTER COLUMN id TYPE TEXT COLLATE "C";

ALTER TABLE data_keys
    ALTER COLUMN org_id TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C";

ALTER TABLE resources
    ALTER COLUMN org_id TYPE TEXT COLLATE "C",
    ALTER COLUMN resource_type TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN key_id TYPE TEXT COLLATE "C";

ALTER TABLE resource_terms
    ALTER COLUMN org_id TYPE TEXT COLLATE "C",
    ALTER COLUMN resource_type TYPE TEXT COLLATE "C",
    ALTER COLUMN resource_id TYPE TEXT COLLATE "C",
    ALTER COLUMN param TYPE TEXT COLLATE "C";

ALTER TABLE events
    ALTER COLUMN org_id TYPE TEXT COLLATE "C",
    ALTER COLUMN resource_type TYPE TEXT COLLATE "C",
    ALTER COLUMN resource_id TYPE TEXT COLLATE "C";

ALTER TABLE enrollments
    ALTER COLUMN org_id TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN journey TYPE TEXT COLLATE "C",
    ALTER COLUMN appointment_type TYPE TEXT COLLATE "C",
    ALTER COLUMN appointment_id TYPE TEXT COLLATE "C",
    ALTER COLUMN patient_id TYPE TEXT COLLATE "C";

ALTER TABLE outbox
    ALTER COLUMN org_id TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN resource_type TYPE TEXT COLLATE "C",
    ALTER COLUMN idempotency_key TYPE TEXT COLLATE "C",
    ALTER COLUMN patient_id TYPE TEXT COLLATE "C",
    ALTER COLUMN channel TYPE TEXT COLLATE "C",
    ALTER COLUMN status TYPE TEXT COLLATE "C",
    ALTER COLUMN provider_id TYPE TEXT COLLATE "C";

ALTER TABLE send_rates
    ALTER COLUMN org_id TYPE TEXT COLLATE "C",
    ALTER COLUMN sender TYPE TEXT COLLATE "C";

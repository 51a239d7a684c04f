-- Every key led with the organization, and a resource's with its type: columns that
-- hold the same value in nearly every row. A B-tree compares a key column by column, so
-- each comparison of an insert's descent, and of a look-up's, compared those first,
-- and reached the column that tells rows apart only after finding each earlier text
-- column's place in the entry. Search terms, with five text and byte columns, cost
-- their insert more than any other row of a message.
--
-- Every look-up by these keys names all of their columns (or, for a term, every column
-- but the owner's id; for an enrollment by patient, the patient and organization), so
-- the order is free: the column that decides now leads. Keys whose order serves a range
-- or a sort (the queue, the timers, creation and start times) keep theirs.

-- Foreign keys refer to the keys they check; they are added again below.
ALTER TABLE enrollments DROP CONSTRAINT enrollments_org_id_appointment_type_appointment_id_fkey;
ALTER TABLE resources DROP CONSTRAINT resources_org_id_key_id_fkey;

ALTER TABLE data_keys DROP CONSTRAINT data_keys_pkey;
ALTER TABLE data_keys ADD CONSTRAINT data_keys_pkey PRIMARY KEY (id, org_id);

ALTER TABLE resources DROP CONSTRAINT resources_pkey;
ALTER TABLE resources ADD CONSTRAINT resources_pkey PRIMARY KEY (id, resource_type, org_id);
DROP INDEX resources_by_key;
CREATE INDEX resources_by_key ON resources (key_id, org_id);

-- A term's hash is keyed by organization, type and parameter already, so it leads; the
-- owner's id tells apart the resources that share a value (a status, a medium).
ALTER TABLE resource_terms DROP CONSTRAINT resource_terms_pkey;
ALTER TABLE resource_terms ADD CONSTRAINT resource_terms_pkey
    PRIMARY KEY (hash, resource_id, param, resource_type, org_id);
DROP INDEX resource_terms_by_owner;
CREATE INDEX resource_terms_by_owner ON resource_terms (resource_id, resource_type, org_id);

ALTER TABLE enrollments DROP CONSTRAINT enrollments_pkey;
ALTER TABLE enrollments ADD CONSTRAINT enrollments_pkey PRIMARY KEY (id, org_id);
ALTER TABLE enrollments DROP CONSTRAINT enrollments_once;
ALTER TABLE enrollments ADD CONSTRAINT enrollments_once UNIQUE (patient_id, org_id, journey, trigger_seq);
DROP INDEX enrollments_by_appointment;
CREATE INDEX enrollments_by_appointment ON enrollments (appointment_id, org_id);

ALTER TABLE outbox DROP CONSTRAINT outbox_pkey;
ALTER TABLE outbox ADD CONSTRAINT outbox_pkey PRIMARY KEY (id, org_id);
ALTER TABLE outbox DROP CONSTRAINT outbox_org_id_idempotency_key_key;
ALTER TABLE outbox ADD CONSTRAINT outbox_once UNIQUE (idempotency_key, org_id);
DROP INDEX outbox_to_patient;
CREATE INDEX outbox_to_patient ON outbox (patient_id, org_id, channel, sent_us);
DROP INDEX outbox_by_provider_id;
CREATE INDEX outbox_by_provider_id ON outbox (provider_id, org_id) WHERE provider_id IS NOT NULL;

ALTER TABLE resources ADD CONSTRAINT resources_org_id_key_id_fkey
    FOREIGN KEY (org_id, key_id) REFERENCES data_keys (org_id, id);
ALTER TABLE enrollments ADD CONSTRAINT enrollments_org_id_appointment_type_appointment_id_fkey
    FOREIGN KEY (org_id, appointment_type, appointment_id) REFERENCES resources (org_id, resource_type, id)
    ON DELETE CASCADE;

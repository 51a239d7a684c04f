-- Organizations (tenants). Every other table carries org_id.
CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_us BIGINT NOT NULL
);

-- The default organization is created by careloop at start-up (Store::init).

-- Per-patient data keys, wrapped by the master key. Deleting a row crypto-shreds
-- everything sealed under it.
CREATE TABLE data_keys (
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    id         TEXT NOT NULL,
    wrapped    BYTEA NOT NULL,
    created_us BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- The current version of each FHIR resource. body is sealed under key_id when set.
CREATE TABLE resources (
    org_id          TEXT    NOT NULL REFERENCES organizations (id),
    resource_type   TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    version_id      BIGINT NOT NULL,
    created_us      BIGINT NOT NULL,
    last_updated_us BIGINT NOT NULL,
    deleted         BOOLEAN NOT NULL DEFAULT FALSE,
    key_id          TEXT,
    body            BYTEA    NOT NULL,
    start_us        BIGINT,
    end_us          BIGINT,
    PRIMARY KEY (org_id, resource_type, id),
    FOREIGN KEY (org_id, key_id) REFERENCES data_keys (org_id, id)
);

CREATE INDEX resources_by_start ON resources (org_id, resource_type, start_us);
CREATE INDEX resources_by_created ON resources (org_id, resource_type, created_us);
CREATE INDEX resources_by_key ON resources (org_id, key_id);

-- Blind-index hashes of searchable values (identifiers, phones, emails, references).
CREATE TABLE resource_terms (
    org_id        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    param         TEXT NOT NULL,
    hash          BYTEA NOT NULL,
    PRIMARY KEY (org_id, resource_type, param, hash, resource_id),
    FOREIGN KEY (org_id, resource_type, resource_id) REFERENCES resources (org_id, resource_type, id)
        ON DELETE CASCADE
);

CREATE INDEX resource_terms_by_owner ON resource_terms (org_id, resource_type, resource_id);

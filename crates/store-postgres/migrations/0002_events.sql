-- Domain events, written in the same transaction as the change they describe, and
-- handled at least once: a row stays unhandled until its consumer marks it.
CREATE TABLE events (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id           TEXT   NOT NULL REFERENCES organizations (id),
    name             TEXT   NOT NULL,
    resource_type    TEXT   NOT NULL,
    resource_id      TEXT   NOT NULL,
    resource_version BIGINT NOT NULL,
    created_us       BIGINT NOT NULL,
    handled_us       BIGINT
);

CREATE INDEX events_unhandled ON events (org_id, seq) WHERE handled_us IS NULL;

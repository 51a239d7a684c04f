-- Domain events, written in the same transaction as the change they describe, and
-- handled at least once: a row stays unhandled until its consumer marks it.
CREATE TABLE events (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id           TEXT    NOT NULL REFERENCES organizations (id),
    name             TEXT    NOT NULL,
    resource_type    TEXT    NOT NULL,
    resource_id      TEXT    NOT NULL,
    resource_version INTEGER NOT NULL,
    created_us       INTEGER NOT NULL,
    handled_us       INTEGER
);

CREATE INDEX events_unhandled ON events (org_id, seq) WHERE handled_us IS NULL;

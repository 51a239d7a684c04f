-- The audit log: who did what to which record, and when, each entry hashed together
-- with the one before it (careloop_domain::audit). Entries are only ever added: these
-- triggers refuse changes and deletions, and `careloop audit verify` finds any made
-- around them.
CREATE TABLE audit_log (
    org_id  TEXT    NOT NULL,
    seq     INTEGER NOT NULL,
    at_us   INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    subject TEXT    NOT NULL,
    hash    BLOB    NOT NULL,
    PRIMARY KEY (org_id, seq)
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- The audit log: who did what to which record, and when, each entry hashed together
-- with the one before it (careloop_domain::audit). Entries are only ever added: the
-- trigger refuses changes, deletions and truncation, and `careloop audit verify` finds
-- any made around it.
CREATE TABLE audit_log (
    org_id  TEXT COLLATE "C" NOT NULL,
    seq     BIGINT NOT NULL,
    at_us   BIGINT NOT NULL,
    actor   TEXT   NOT NULL,
    action  TEXT   NOT NULL,
    subject TEXT   NOT NULL,
    hash    BYTEA  NOT NULL,
    PRIMARY KEY (org_id, seq)
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

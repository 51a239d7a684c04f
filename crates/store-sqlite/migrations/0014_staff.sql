-- The people who work the inbox, and the departments they belong to. Staff are not
-- patients: their email and on-call contact are kept as they are, to log in by and to
-- call. A password is kept only as its argon2id hash (a PHC string with its salt and
-- parameters).
CREATE TABLE departments (
    org_id     TEXT NOT NULL,
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    -- Who is told when an urgent message waits too long: a phone number or an email.
    on_call    TEXT,
    created_us INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
);

CREATE TABLE staff (
    org_id          TEXT NOT NULL,
    id              TEXT NOT NULL,
    -- Lower-cased: one account per address.
    email           TEXT NOT NULL,
    role            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    -- Failed logins since the last good one, and until when they lock the account.
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until_us INTEGER,
    created_us      INTEGER NOT NULL,
    updated_us      INTEGER NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, email)
);

CREATE TABLE staff_departments (
    org_id     TEXT NOT NULL,
    staff_id   TEXT NOT NULL,
    department TEXT NOT NULL,
    PRIMARY KEY (org_id, staff_id, department),
    FOREIGN KEY (org_id, staff_id) REFERENCES staff (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, department) REFERENCES departments (org_id, id)
);

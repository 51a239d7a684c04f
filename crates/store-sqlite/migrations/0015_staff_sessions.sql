-- Signed-in staff. The cookie holds a random token; only its SHA-256 is kept, so the
-- table lets nobody in. Each session has its own token against cross-site requests,
-- which every form it posts carries.
CREATE TABLE staff_sessions (
    org_id     TEXT NOT NULL,
    token_hash BLOB NOT NULL,
    staff_id   TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    expires_us INTEGER NOT NULL,
    PRIMARY KEY (org_id, token_hash),
    FOREIGN KEY (org_id, staff_id) REFERENCES staff (org_id, id) ON DELETE CASCADE
);

-- Answers staff use often, for one department or (department NULL) for everyone. They
-- are the clinic's words, not a patient's: kept as they are.
CREATE TABLE saved_replies (
    org_id     TEXT NOT NULL,
    id         TEXT NOT NULL,
    department TEXT,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, department) REFERENCES departments (org_id, id)
);

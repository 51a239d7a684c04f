-- Answers staff use often, for one department or (department NULL) for everyone. They
-- are the clinic's words, not a patient's: kept as they are.
CREATE TABLE saved_replies (
    org_id     TEXT COLLATE "C" NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    department TEXT COLLATE "C",
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, department) REFERENCES departments (org_id, id)
);

-- The clinic's own rules and answers, in the order an admin put them: triage rules (book
-- 'triage') and the answers of the FAQ assistant (book 'faq'). Each is the JSON an admin
-- wrote, checked before it is stored. They are the clinic's words, not a patient's: kept
-- as they are.
CREATE TABLE playbook_entries (
    org_id     TEXT NOT NULL,
    book       TEXT NOT NULL,
    id         TEXT NOT NULL,
    position   INTEGER NOT NULL,
    definition TEXT NOT NULL,
    updated_us INTEGER NOT NULL,
    PRIMARY KEY (org_id, book, id)
);
CREATE INDEX playbook_order ON playbook_entries (org_id, book, position, id);

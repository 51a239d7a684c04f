-- One conversation per patient, across every channel: where it is in the queue and who
-- has it. The messages themselves are the patient's Communications; this row is what the
-- queue sorts and filters by, with nothing in it that names the patient except the
-- preview of the last message, sealed under the patient's data key.
CREATE TABLE conversations (
    org_id           TEXT NOT NULL,
    patient_id       TEXT NOT NULL,
    -- open | pending | snoozed | resolved
    state            TEXT NOT NULL,
    snoozed_until_us INTEGER,
    -- A staff account's id.
    assignee         TEXT,
    department       TEXT,
    -- 0 urgent, 1 high, 2 normal, 3 low: the queue's first order.
    priority         INTEGER NOT NULL,
    -- Comma-separated, each 1 to 40 letters, digits, dashes or spaces.
    tags             TEXT NOT NULL DEFAULT '',
    -- Since when the oldest unanswered patient message waits: the first-response clock.
    waiting_since_us INTEGER,
    -- When the clock's target passes, and how many on-call levels were told since.
    due_us           INTEGER,
    escalations      INTEGER NOT NULL DEFAULT 0,
    last_channel     TEXT,
    last_message_us  INTEGER NOT NULL,
    -- The queue's second order, after priority: for a patient who waits, since when
    -- (the longest wait first); after them, the latest message first.
    queue_us         INTEGER NOT NULL,
    key_id           TEXT NOT NULL,
    preview          BLOB NOT NULL,
    version          INTEGER NOT NULL,
    created_us       INTEGER NOT NULL,
    updated_us       INTEGER NOT NULL,
    PRIMARY KEY (org_id, patient_id)
);

-- The queue: by state (or none), most urgent first, then by queue_us; each index
-- hands a page over in order without sorting the matching rows.
CREATE INDEX conversations_queue
    ON conversations (org_id, state, priority, queue_us);
CREATE INDEX conversations_department
    ON conversations (org_id, department, state, priority, queue_us);
CREATE INDEX conversations_department_any
    ON conversations (org_id, department, priority, queue_us);
CREATE INDEX conversations_assignee
    ON conversations (org_id, assignee, state, priority, queue_us);
-- Conversations whose first answer is overdue, for escalation.
CREATE INDEX conversations_due ON conversations (org_id, due_us) WHERE due_us IS NOT NULL;

-- What happened to a conversation besides messages: triage, assignment, state changes,
-- and internal notes (sealed under the patient's key; patients never see them).
CREATE TABLE conversation_events (
    org_id     TEXT NOT NULL,
    id         TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    at_us      INTEGER NOT NULL,
    -- A staff account's id, or 'careloop' for what careloop decided itself.
    actor      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    -- JSON of what changed (a department, a priority, the rule that decided): never a
    -- name, an address or a message's words.
    detail     TEXT NOT NULL,
    key_id     TEXT,
    note       BLOB,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX conversation_events_patient ON conversation_events (org_id, patient_id, at_us);

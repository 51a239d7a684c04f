-- Journey enrollments: where each patient is in each journey, and when it next wakes.
-- Nothing here is health data beyond which appointment a journey is about; an erased
-- appointment takes its enrollments with it.
CREATE TABLE enrollments (
    org_id           TEXT    NOT NULL REFERENCES organizations (id),
    id               TEXT    NOT NULL,
    journey          TEXT    NOT NULL,
    appointment_type TEXT    NOT NULL DEFAULT 'Appointment' CHECK (appointment_type = 'Appointment'),
    appointment_id   TEXT    NOT NULL,
    patient_id       TEXT    NOT NULL,
    -- The event that enrolled the patient.
    trigger_seq      INTEGER  NOT NULL,
    -- The last event applied, so that an event handled twice changes nothing.
    event_seq        INTEGER  NOT NULL,
    -- Bumped when the appointment moves: messages of a new plan get new keys.
    generation       INTEGER  NOT NULL,
    step             INTEGER  NOT NULL,
    active           BOOLEAN NOT NULL,
    wake_us          INTEGER,
    waiting          TEXT,
    last_reply       TEXT,
    effects          INTEGER  NOT NULL,
    ended            TEXT,
    version          INTEGER  NOT NULL,
    created_us       INTEGER  NOT NULL,
    updated_us       INTEGER  NOT NULL,
    -- The id is made of the event, the journey and the patient: enrolling twice from
    -- one event is a no-op.
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, appointment_type, appointment_id) REFERENCES resources (org_id, resource_type, id)
        ON DELETE CASCADE
);

CREATE INDEX enrollments_due ON enrollments (org_id, wake_us) WHERE active;
CREATE INDEX enrollments_by_appointment ON enrollments (org_id, appointment_id);

-- The outbox: one row per message to send, beside its Communication resource (which
-- holds the sealed text and address). The row holds only the delivery state.
CREATE TABLE outbox (
    org_id          TEXT    NOT NULL REFERENCES organizations (id),
    id              TEXT    NOT NULL,
    resource_type   TEXT    NOT NULL DEFAULT 'Communication' CHECK (resource_type = 'Communication'),
    -- Unique per message a journey step means to send: a step run twice sends once.
    idempotency_key TEXT    NOT NULL,
    patient_id      TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    due_us          INTEGER  NOT NULL,
    attempts        INTEGER  NOT NULL,
    lease_us        INTEGER,
    provider_id     TEXT,
    error_code      TEXT,
    reason          TEXT,
    unknown_resends INTEGER  NOT NULL,
    version         INTEGER  NOT NULL,
    created_us      INTEGER  NOT NULL,
    updated_us      INTEGER  NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, idempotency_key),
    FOREIGN KEY (org_id, resource_type, id) REFERENCES resources (org_id, resource_type, id)
        ON DELETE CASCADE
);

CREATE INDEX outbox_due ON outbox (org_id, status, due_us);
CREATE INDEX outbox_by_provider_id ON outbox (org_id, provider_id);

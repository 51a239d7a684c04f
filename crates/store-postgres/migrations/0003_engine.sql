-- Journey enrollments: where each patient is in each journey, and when it next wakes.
-- Nothing here is health data beyond which appointment a journey is about; erasing the
-- patient or the appointment removes them.
CREATE TABLE enrollments (
    org_id           TEXT    NOT NULL REFERENCES organizations (id),
    id               TEXT    NOT NULL,
    journey          TEXT    NOT NULL,
    appointment_type TEXT    NOT NULL DEFAULT 'Appointment' CHECK (appointment_type = 'Appointment'),
    appointment_id   TEXT    NOT NULL,
    patient_id       TEXT    NOT NULL,
    -- The event that enrolled the patient.
    trigger_seq      BIGINT  NOT NULL,
    -- The last event applied, so that an event handled twice changes nothing.
    event_seq        BIGINT  NOT NULL,
    step             BIGINT  NOT NULL,
    wake_us          BIGINT,
    waiting          TEXT,
    last_reply       TEXT,
    -- Why it ended; NULL while active.
    ended            TEXT,
    version          BIGINT  NOT NULL,
    created_us       BIGINT  NOT NULL,
    updated_us       BIGINT  NOT NULL,
    PRIMARY KEY (org_id, id),
    -- One event enrolls a patient in a journey once, however often it is handled.
    UNIQUE (org_id, trigger_seq, journey, patient_id),
    FOREIGN KEY (org_id, appointment_type, appointment_id) REFERENCES resources (org_id, resource_type, id)
        ON DELETE CASCADE
);

CREATE INDEX enrollments_due ON enrollments (org_id, wake_us, id) WHERE ended IS NULL;
CREATE INDEX enrollments_by_appointment ON enrollments (org_id, appointment_id);
CREATE INDEX enrollments_by_patient ON enrollments (org_id, patient_id);

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
    due_us          BIGINT  NOT NULL,
    attempts        BIGINT  NOT NULL,
    lease_us        BIGINT,
    provider_id     TEXT,
    error_code      TEXT,
    reason          TEXT,
    unknown_resends BIGINT  NOT NULL,
    version         BIGINT  NOT NULL,
    created_us      BIGINT  NOT NULL,
    updated_us      BIGINT  NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, idempotency_key),
    FOREIGN KEY (org_id, resource_type, id) REFERENCES resources (org_id, resource_type, id)
        ON DELETE CASCADE
);

CREATE INDEX outbox_due ON outbox (org_id, status, due_us, id);
CREATE INDEX outbox_by_patient ON outbox (org_id, patient_id);
CREATE INDEX outbox_by_provider_id ON outbox (org_id, provider_id);

-- What the gates before a send need. An outbox row now says why its message is sent
-- (NULL for an answer to the patient's own text, which no cap counts) and when it was
-- last handed to a sender, so that frequency caps count a patient's messages per day and
-- week without opening any Communication.
ALTER TABLE outbox ADD COLUMN purpose TEXT;
ALTER TABLE outbox ADD COLUMN sent_us BIGINT;

CREATE INDEX outbox_sent_to_patient ON outbox (org_id, patient_id, channel, sent_us)
    WHERE purpose IS NOT NULL;

-- Each sender's rate limit as a bucket of send time: credit_us grows with the clock up
-- to a cap and each message spends one interval of it. Shared by every sender process.
CREATE TABLE send_rates (
    org_id     TEXT    NOT NULL REFERENCES organizations (id),
    sender     TEXT    NOT NULL,
    credit_us  BIGINT  NOT NULL,
    updated_us BIGINT  NOT NULL,
    -- How many messages the last take granted: read back in the same statement.
    granted    BIGINT  NOT NULL,
    PRIMARY KEY (org_id, sender)
);

-- Which patients wrote a word, for the inbox's search by what a message says: a blind
-- index (a keyed hash of the word), one row per word and patient, never the word and
-- never which message. Erasing a patient removes their rows.
CREATE TABLE message_words (
    org_id     TEXT COLLATE "C" NOT NULL,
    word_hash  BYTEA NOT NULL,
    patient_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, word_hash, patient_id)
);
CREATE INDEX message_words_patient ON message_words (org_id, patient_id);

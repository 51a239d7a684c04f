-- API tokens made by `careloop token create`, each with a name to tell them apart and to
-- revoke one by. Only a token's SHA-256 is kept: a token is 256 random bits, so a fast
-- hash is enough, and the table lets nobody in.
CREATE TABLE api_tokens (
    org_id     TEXT NOT NULL,
    name       TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_us INTEGER NOT NULL,
    revoked_us INTEGER,
    PRIMARY KEY (org_id, name)
);

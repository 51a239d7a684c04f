-- API tokens made by `careloop token create`, each with a name to tell them apart and to
-- revoke one by. Only a token's SHA-256 is kept: a token is 256 random bits, so a fast
-- hash is enough, and the table lets nobody in.
CREATE TABLE api_tokens (
    org_id     TEXT COLLATE "C" NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    created_us BIGINT NOT NULL,
    revoked_us BIGINT,
    PRIMARY KEY (org_id, name)
);

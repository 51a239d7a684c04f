-- PostgreSQL's migration 0008 drops foreign keys from its hot path. SQLite keeps them:
-- a check there is a lookup in the same file, with no row lock to write.
SELECT 1;

-- PostgreSQL's migration 0007 makes its text keys compare byte by byte. SQLite's
-- always have (the BINARY collation): nothing to do here.
SELECT 1;

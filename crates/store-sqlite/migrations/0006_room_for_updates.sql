-- PostgreSQL's migration 0006 leaves room on its pages for updated rows. SQLite rewrites
-- a row in place on its page when it fits and has no such setting: nothing to do here,
-- and the two backends keep the same migration numbers.
SELECT 1;

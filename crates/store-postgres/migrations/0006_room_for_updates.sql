-- Room on each page for the next version of its rows. A message's Communication is
-- written again when it is sent and again on each delivery report, and an enrollment
-- on every move; with a fifth of a page free, such a version usually lands on the same
-- page, where PostgreSQL updates it in place of new index entries (a HOT update) when
-- no indexed column changed. Applies to pages written from now on.
ALTER TABLE resources SET (fillfactor = 80);
ALTER TABLE enrollments SET (fillfactor = 80);

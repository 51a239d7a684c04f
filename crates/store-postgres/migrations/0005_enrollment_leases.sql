-- A timer round holds the due enrollments it plans until this time, so that another
-- round (another process) skips them instead of planning the same moves.
ALTER TABLE enrollments ADD COLUMN lease_us BIGINT;

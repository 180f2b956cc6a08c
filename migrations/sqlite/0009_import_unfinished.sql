-- A bulk import larger than a chunk commits as it goes (import.c), so that
-- its write-ahead log stays the size of a chunk rather than of the
-- registry. Until it ends, this row says which records are its own: the
-- first id of each resource, its first and last patient and its first and
-- last audit row as of its last commit. A refused or interrupted import is
-- taken back from here (store_import.c): at its refusal, or at the next
-- start after a crash.
CREATE TABLE import_unfinished (
  one             INTEGER PRIMARY KEY CHECK (one = 1),
  patients_from   INTEGER NOT NULL,
  courses_from    INTEGER NOT NULL,
  outcomes_from   INTEGER NOT NULL,
  toxicities_from INTEGER NOT NULL,
  patients_to     INTEGER NOT NULL,
  audit_from      INTEGER NOT NULL,
  audit_to        INTEGER NOT NULL
);

-- Audit rows stay append-only, with one exception: the rows of an import
-- that did not finish are taken back with its records.
DROP TRIGGER audit_no_delete;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
WHEN NOT EXISTS (SELECT 1 FROM import_unfinished WHERE OLD.seq BETWEEN audit_from AND audit_to)
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;

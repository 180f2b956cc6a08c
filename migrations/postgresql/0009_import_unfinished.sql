-- A bulk import larger than a chunk commits as it goes (import.c), so that
-- its write-ahead log stays the size of a chunk rather than of the
-- registry. Until it ends, this row says which records are its own: the
-- first id of each resource, its first and last patient and its first and
-- last audit row as of its last commit. A refused or interrupted import is
-- taken back from here (store_import.c): at its refusal, or at the next
-- start after a crash.
CREATE TABLE import_unfinished (
  one             INTEGER PRIMARY KEY CHECK (one = 1),
  patients_from   BIGINT NOT NULL,
  courses_from    BIGINT NOT NULL,
  outcomes_from   BIGINT NOT NULL,
  toxicities_from BIGINT NOT NULL,
  patients_to     BIGINT NOT NULL,
  audit_from      BIGINT NOT NULL,
  audit_to        BIGINT NOT NULL
);

-- Audit rows stay append-only, with one exception: the rows of an import
-- that did not finish are taken back with its records.
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM import_unfinished
                                  WHERE OLD.seq BETWEEN audit_from AND audit_to) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit rows are append-only' USING ERRCODE = 'integrity_constraint_violation';
END $$;

-- How many records each resource holds, kept by the store in the same
-- transaction as every insert and delete (/metrics reads four rows).
CREATE TABLE record_counts (
  resource TEXT PRIMARY KEY,
  n        BIGINT NOT NULL CHECK (n >= 0)
);
INSERT INTO record_counts (resource, n) SELECT 'patients', count(*) FROM patients;
INSERT INTO record_counts (resource, n) SELECT 'courses', count(*) FROM courses;
INSERT INTO record_counts (resource, n) SELECT 'outcomes', count(*) FROM outcomes;
INSERT INTO record_counts (resource, n) SELECT 'toxicities', count(*) FROM toxicities;

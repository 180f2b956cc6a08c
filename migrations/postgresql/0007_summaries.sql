-- The statistics, kept up to date as writes happen instead of recomputed
-- from the whole registry (store_summary.c, summary.h). Each patient's
-- summary, and the tallies: per cell (regimen, histology, setting), kind
-- and key (a term for worst grades), how many patients or courses. A database that already held
-- records gets them built at its next start (summary_state).

CREATE TABLE patient_summaries (
  patient_id         BIGINT PRIMARY KEY,
  regimen            TEXT NOT NULL,
  histology          TEXT NOT NULL,
  setting            TEXT NOT NULL,
  courses            INTEGER NOT NULL,
  first_start        TEXT NOT NULL,
  latest             TEXT NOT NULL,
  dead               INTEGER NOT NULL,
  died_on            TEXT NOT NULL,
  best               INTEGER NOT NULL,
  best_confirmed     INTEGER NOT NULL,
  first_cr           TEXT NOT NULL,
  first_cr_confirmed TEXT NOT NULL,
  recurred           INTEGER NOT NULL,
  recurred_confirmed INTEGER NOT NULL
);

-- complete responders (best response CR, rank 0), as each reading sees them
CREATE INDEX summaries_complete_responders ON patient_summaries (patient_id) WHERE best = 0;
CREATE INDEX summaries_confirmed_complete_responders ON patient_summaries (patient_id)
  WHERE best_confirmed = 0;

CREATE TABLE tallies (
  kind      TEXT NOT NULL,
  regimen   TEXT NOT NULL,
  histology TEXT NOT NULL,
  setting   TEXT NOT NULL,
  term      TEXT NOT NULL,
  k         BIGINT NOT NULL,
  n         BIGINT NOT NULL,
  PRIMARY KEY (kind, regimen, histology, setting, term, k)
);

-- treatment-related deaths, read by /stats/mortality in patient and course order
CREATE INDEX toxicities_treatment_related_deaths ON toxicities (patient_id, course_id, id)
  WHERE grade = 5 AND attribution IN ('possible', 'probable', 'definite');

CREATE TABLE summary_state (built INTEGER NOT NULL);
INSERT INTO summary_state (built) SELECT (count(*) = 0)::int FROM patients;

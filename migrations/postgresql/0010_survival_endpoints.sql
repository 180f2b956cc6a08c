-- Progression-free survival and duration of response (/stats/survival
-- endpoint=): each patient's summary keeps its first PD, its latest outcome
-- assessment, and, as each reading sees them, its first CR or PR and the
-- first PD after it. The summaries and tallies of a database that holds
-- records are built again at the next start (summary_state).
ALTER TABLE patient_summaries ADD COLUMN first_pd TEXT NOT NULL DEFAULT '';
ALTER TABLE patient_summaries ADD COLUMN last_assessed TEXT NOT NULL DEFAULT '';
ALTER TABLE patient_summaries ADD COLUMN first_response TEXT NOT NULL DEFAULT '';
ALTER TABLE patient_summaries ADD COLUMN first_response_confirmed TEXT NOT NULL DEFAULT '';
ALTER TABLE patient_summaries ADD COLUMN progressed TEXT NOT NULL DEFAULT '';
ALTER TABLE patient_summaries ADD COLUMN progressed_confirmed TEXT NOT NULL DEFAULT '';
UPDATE summary_state SET built = 0 WHERE EXISTS (SELECT 1 FROM patients);

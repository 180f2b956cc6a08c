-- Every change to a clinical record appends exactly one audit row in the
-- same transaction, so the audit's last sequence number is itself the data
-- version the statistics report as as_of. The counter and its twelve
-- triggers (one more statement per written row) are no longer needed.
-- Filtering the audit by actor or time scans the trail; only lookups by
-- record (history) keep an index, so each audited write updates fewer.

DROP TRIGGER patients_ai;
DROP TRIGGER patients_au;
DROP TRIGGER patients_ad;
DROP TRIGGER courses_ai;
DROP TRIGGER courses_au;
DROP TRIGGER courses_ad;
DROP TRIGGER outcomes_ai;
DROP TRIGGER outcomes_au;
DROP TRIGGER outcomes_ad;
DROP TRIGGER toxicities_ai;
DROP TRIGGER toxicities_au;
DROP TRIGGER toxicities_ad;
DROP TABLE data_version;
DROP INDEX audit_by_actor;
DROP INDEX audit_by_time;

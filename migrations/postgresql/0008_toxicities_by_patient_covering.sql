-- A toxicity added to a patient changes the worst grade of its term for the
-- patient and for its course (the kept statistics); finding the worst grade
-- before it reads the patient's other toxicities. Carrying course, term and
-- grade in the patient index lets that read stay in the index, however
-- many toxicities the patient has. The order by (patient_id, id) is the
-- one the lists by patient already walked (PostgreSQL carries the three as
-- INCLUDE columns).
DROP INDEX toxicities_by_patient;
CREATE INDEX toxicities_by_patient ON toxicities (patient_id, id) INCLUDE (course_id, term, grade);

-- Every equality filter of the lists searches an index: (field, id) answers
-- `field = ? AND id > ? ORDER BY id LIMIT n` by walking only the matching
-- rows in id order, so a filter on a rare value (grade 5, a stop reason) or
-- on none costs the same at a million patients as at a thousand. The lists
-- by parent and by term, and patients by code (UNIQUE), had theirs already.

CREATE INDEX patients_by_sex            ON patients (sex, id);
CREATE INDEX patients_by_histology      ON patients (histology, id);
CREATE INDEX patients_by_setting        ON patients (setting, id);
CREATE INDEX patients_by_regimen        ON patients (regimen, id);
CREATE INDEX patients_by_vital_status   ON patients (vital_status, id);
CREATE INDEX courses_by_il2_dose_unit   ON courses (il2_dose_unit, id);
CREATE INDEX courses_by_stop_reason     ON courses (stop_reason, id);
CREATE INDEX outcomes_by_criteria       ON outcomes (criteria, id);
CREATE INDEX outcomes_by_response       ON outcomes (response, id);
CREATE INDEX outcomes_by_confirmed      ON outcomes (confirmed, id);
CREATE INDEX toxicities_by_grade        ON toxicities (grade, id);
CREATE INDEX toxicities_by_attribution  ON toxicities (attribution, id);
CREATE INDEX toxicities_by_serious      ON toxicities (serious, id);
CREATE INDEX toxicities_by_outcome      ON toxicities (outcome, id);

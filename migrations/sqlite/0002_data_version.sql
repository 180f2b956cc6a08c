-- A data version for statistics: one number that changes with every write
-- to a clinical table, in the writing transaction itself, whatever path the
-- write took. /stats answers carry it as as_of, derive their ETag from it,
-- and reuse a computed answer only while it is unchanged.

CREATE TABLE data_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  n  INTEGER NOT NULL
);
INSERT INTO data_version (id, n) VALUES (1, 0);

CREATE TRIGGER patients_ai AFTER INSERT ON patients
BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER patients_au AFTER UPDATE ON patients
BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER patients_ad AFTER DELETE ON patients
BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER courses_ai AFTER INSERT ON courses
BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER courses_au AFTER UPDATE ON courses
BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER courses_ad AFTER DELETE ON courses
BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER outcomes_ai AFTER INSERT ON outcomes
BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER outcomes_au AFTER UPDATE ON outcomes
BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER outcomes_ad AFTER DELETE ON outcomes
BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER toxicities_ai AFTER INSERT ON toxicities
BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER toxicities_au AFTER UPDATE ON toxicities
BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER toxicities_ad AFTER DELETE ON toxicities
BEGIN UPDATE data_version SET n = n + 1; END;

-- The four clinical resources of CONTRACT.md. The schema enforces what it can
-- on its own (types, enums, ranges, calendar dates, uniqueness, references),
-- so that even a bug above it cannot store a record the contract forbids.
-- Dates are TEXT 'YYYY-MM-DD'; `x IS date(x, '+0 days')` holds only for real dates
-- (the modifier normalises 2023-02-30 to 2023-03-02, which then differs).
-- Enums of more than two values are OR chains, not IN lists: SQLite builds a
-- temporary table for every IN list it checks, on every insert.
-- Deletion is RESTRICT everywhere: dependants go first, one by one, so that
-- each removal can be audited.

CREATE TABLE patients (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  code            TEXT NOT NULL UNIQUE
                  CHECK (length(code) BETWEEN 1 AND 64
                         AND code NOT GLOB '*[^A-Za-z0-9._-]*'),
  sex             TEXT NOT NULL DEFAULT 'unknown'
                  CHECK ((sex = 'female' OR sex = 'male' OR sex = 'other' OR sex = 'unknown')),
  age             INTEGER CHECK (age BETWEEN 0 AND 120),
  histology       TEXT NOT NULL
                  CHECK ((histology = 'melanoma' OR histology = 'renal_cell' OR histology = 'colorectal' OR histology = 'non_hodgkin_lymphoma' OR histology = 'sarcoma' OR histology = 'breast' OR histology = 'lung' OR histology = 'other')),
  setting         TEXT NOT NULL CHECK (setting IN ('metastatic', 'adjuvant')),
  regimen         TEXT NOT NULL
                  CHECK ((regimen = 'il2_alone' OR regimen = 'il2_lak' OR regimen = 'il2_til' OR regimen = 'il2_ifn_alpha' OR regimen = 'il2_tnf' OR regimen = 'il2_antibody' OR regimen = 'il2_cyclophosphamide')),
  enrolled_on     TEXT NOT NULL CHECK (enrolled_on IS date(enrolled_on, '+0 days')),
  last_contact_on TEXT CHECK (last_contact_on IS date(last_contact_on, '+0 days')
                              AND last_contact_on >= enrolled_on),
  vital_status    TEXT NOT NULL DEFAULT 'alive'
                  CHECK ((vital_status = 'alive' OR vital_status = 'dead' OR vital_status = 'unknown')),
  died_on         TEXT CHECK (died_on IS date(died_on, '+0 days') AND died_on >= enrolled_on),
  death_cause     TEXT CHECK (length(death_cause) BETWEEN 1 AND 500),
  version         INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  CHECK ((vital_status = 'dead') = (died_on IS NOT NULL)),
  CHECK (death_cause IS NULL OR vital_status = 'dead')
);

CREATE TABLE courses (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  patient_id    INTEGER NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
  number        INTEGER NOT NULL CHECK (number >= 1),
  started_on    TEXT NOT NULL CHECK (started_on IS date(started_on, '+0 days')),
  ended_on      TEXT CHECK (ended_on IS date(ended_on, '+0 days') AND ended_on >= started_on),
  il2_dose      REAL CHECK (il2_dose > 0),
  il2_dose_unit TEXT CHECK (il2_dose_unit IN ('IU/kg', 'U/kg')),
  doses_given   INTEGER CHECK (doses_given BETWEEN 0 AND 30),
  stop_reason   TEXT CHECK ((stop_reason = 'completed' OR stop_reason = 'toxicity' OR stop_reason = 'progression' OR stop_reason = 'patient_choice' OR stop_reason = 'death' OR stop_reason = 'other')),
  version       INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  UNIQUE (patient_id, number),
  CHECK ((il2_dose IS NULL) = (il2_dose_unit IS NULL))
);

CREATE TABLE outcomes (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  course_id   INTEGER NOT NULL REFERENCES courses (id) ON DELETE RESTRICT,
  patient_id  INTEGER NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
  assessed_on TEXT NOT NULL CHECK (assessed_on IS date(assessed_on, '+0 days')),
  criteria    TEXT NOT NULL DEFAULT 'who' CHECK (criteria IN ('who', 'recist_1_1')),
  response    TEXT NOT NULL CHECK ((response = 'CR' OR response = 'PR' OR response = 'MR' OR response = 'SD' OR response = 'PD' OR response = 'NE')),
  confirmed   INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),
  version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  CHECK (response <> 'MR' OR criteria = 'who')
);

CREATE TABLE toxicities (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  course_id   INTEGER NOT NULL REFERENCES courses (id) ON DELETE RESTRICT,
  patient_id  INTEGER NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
  term        TEXT NOT NULL CHECK (length(term) BETWEEN 1 AND 100),
  grade       INTEGER NOT NULL CHECK (grade BETWEEN 1 AND 5),
  onset_on    TEXT NOT NULL CHECK (onset_on IS date(onset_on, '+0 days')),
  resolved_on TEXT CHECK (resolved_on IS date(resolved_on, '+0 days') AND resolved_on >= onset_on),
  attribution TEXT NOT NULL
              CHECK ((attribution = 'unrelated' OR attribution = 'unlikely' OR attribution = 'possible' OR attribution = 'probable' OR attribution = 'definite')),
  serious     INTEGER NOT NULL DEFAULT 0 CHECK (serious IN (0, 1)),
  outcome     TEXT NOT NULL DEFAULT 'unknown'
              CHECK ((outcome = 'recovered' OR outcome = 'recovering' OR outcome = 'not_recovered' OR outcome = 'sequelae' OR outcome = 'fatal' OR outcome = 'unknown')),
  version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  CHECK ((grade = 5) = (outcome = 'fatal'))
);

CREATE INDEX courses_by_patient    ON courses (patient_id, id);
CREATE INDEX outcomes_by_course    ON outcomes (course_id, id);
CREATE INDEX outcomes_by_patient   ON outcomes (patient_id, id);
CREATE INDEX toxicities_by_course  ON toxicities (course_id, id);
CREATE INDEX toxicities_by_patient ON toxicities (patient_id, id);
CREATE INDEX toxicities_by_term    ON toxicities (term, id);

/* The registry as FHIR R4 resources, following mCODE where it covers the
 * element and base R4 elsewhere: a patient is a Patient, its primary cancer
 * Condition and its ResearchSubject of the one ResearchStudy; a course a
 * MedicationAdministration of IL-2 (and one of the regimen's other agent);
 * an outcome a tumour-response Observation; a toxicity an AdverseEvent.
 * Pure mapping: records in, JSON out; which code system each element uses,
 * and why, is docs/fhir.md. */
#ifndef COHORTD_FHIR_H
#define COHORTD_FHIR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct record;

enum fhir_type {
	FHIR_PATIENT,
	FHIR_CONDITION,
	FHIR_RESEARCH_STUDY,
	FHIR_RESEARCH_SUBJECT,
	FHIR_MEDICATION_ADMINISTRATION,
	FHIR_OBSERVATION,
	FHIR_ADVERSE_EVENT,
	FHIR_TYPE_COUNT
};

/* The one ResearchStudy's id. */
#define FHIR_STUDY_ID "cohort"
/* The id suffix of a course's second MedicationAdministration (its
 * regimen's other agent): "12-agent". */
#define FHIR_AGENT_SUFFIX "-agent"

const char *fhir_type_name(enum fhir_type t);
/* A type by its exact name; -1 when it is none of the mapped. */
int fhir_type_named(const char *name);
/* Does the regimen give an agent beside IL-2? */
bool fhir_regimen_has_agent(const char *regimen);

/* Each returns a new resource (NULL when memory ran out). treated: the
 * patient has a course. */
json_t *fhir_patient(const struct record *patient);
json_t *fhir_condition(const struct record *patient);
json_t *fhir_research_subject(const struct record *patient, bool treated);
json_t *fhir_research_study(void);
/* agent: the regimen's other agent rather than IL-2 (only where
 * fhir_regimen_has_agent). */
json_t *fhir_medication_administration(const struct record *course, const char *regimen,
				       bool agent);
json_t *fhir_observation(const struct record *outcome);
json_t *fhir_adverse_event(const struct record *toxicity);

#endif

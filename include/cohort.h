/* What the statistics read from the registry, in one consistent snapshot:
 * a row per patient carrying the per-patient aggregates every statistic
 * needs (courses, first course start, latest date on record), and the
 * outcome and toxicity facts some statistics need. The storage layer fills
 * these (store_stats.c); the statistics never see SQL. Free with
 * cohort_free(). */
#ifndef COHORTD_COHORT_H
#define COHORTD_COHORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

struct cohort_patient {
	int64_t id;
	char histology[24];
	char setting[12];
	char regimen[24];
	bool dead;
	char died_on[11]; /* "" unless dead */
	int64_t courses;
	char first_start[11]; /* "" when untreated */
	char latest[11];      /* latest date on record ("" unless COHORT_LATEST) */
};

struct cohort_outcome {
	int64_t patient_id;
	int64_t id;
	char assessed_on[11];
	char response[3];
	bool confirmed;
};

/* One toxicity fact: a term's worst grade for a unit (patient or course),
 * or a treatment-related death. */
struct cohort_event {
	int64_t patient_id;
	int64_t course_id;
	char *term;
	int grade;
};

enum cohort_parts {
	COHORT_OUTCOMES = 1 << 0,         /* every outcome, by patient and date */
	COHORT_DEATHS = 1 << 1,           /* treatment-related deaths */
	COHORT_WORST_BY_PATIENT = 1 << 2, /* worst grade per patient and term */
	COHORT_WORST_BY_COURSE = 1 << 3,  /* worst grade per course and term */
	COHORT_LATEST = 1 << 4,           /* each patient's latest date on record */
};

struct cohort {
	int64_t as_of;                   /* the data version these rows were read at */
	struct cohort_patient *patients; /* ascending id */
	size_t npatients;
	struct cohort_outcome *outcomes;
	size_t noutcomes;
	struct cohort_event *events;
	size_t nevents;
};

/* Reads the patients and the parts asked for, and the data version, in one
 * read transaction. Returns 0 or a DB_ code. */
int store_cohort_load(struct db *db, unsigned parts, struct cohort *out);
/* Just the data version (cheap: for cache checks). */
int store_data_version(struct db *db, int64_t *version);
void cohort_free(struct cohort *c);
/* The index of the patient with this id in c->patients, or SIZE_MAX. */
size_t cohort_find_patient(const struct cohort *c, int64_t id);

#endif

/* What the statistics read from the registry, in one consistent snapshot:
 * the tallies kept on every write (summary.h), and the few per-record facts
 * a statistic lists (treatment-related deaths, complete responders), each
 * only for the cells the filters keep. The storage layer fills these
 * (store_stats.c); the statistics never see SQL. Free with cohort_free(). */
#ifndef COHORTD_COHORT_H
#define COHORTD_COHORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/* The cells a statistic keeps (NULL is any; a value, or several separated
 * by commas), and the page of complete responders it lists: ids after
 * after, at most limit. */
struct cohort_filter {
	const char *regimen, *histology, *setting;
	int64_t after;
	int limit;
};

/* A cell's regimen, histology and setting. */
struct cohort_cell {
	char regimen[24], histology[24], setting[12];
};

/* One tally (summary.h): kind, cell, term (NULL unless a worst grade), key,
 * and how many. */
struct cohort_tally {
	int kind;
	struct cohort_cell cell;
	char *term;
	int64_t key;
	int64_t n;
};

/* A grade-5 toxicity attributed possibly, probably or definitely. */
struct cohort_death {
	int64_t patient_id, course_id;
	struct cohort_cell cell;
	char term[104];
};

/* A patient whose best response (as read) is CR. */
struct cohort_responder {
	int64_t patient_id;
	struct cohort_cell cell;
	char first_cr[11];
	char latest[11];
	bool recurred;
};

enum cohort_parts {
	COHORT_COUNTS = 1 << 0,               /* patients, treated, courses */
	COHORT_BEST = 1 << 1,                 /* best response, every outcome read */
	COHORT_BEST_CONFIRMED = 1 << 2,       /* best response read confirmed_only */
	COHORT_SURVIVAL = 1 << 3,             /* died and censored, by days */
	COHORT_WORST_BY_PATIENT = 1 << 4,     /* worst grade per patient and term */
	COHORT_WORST_BY_COURSE = 1 << 5,      /* worst grade per course and term */
	COHORT_DEATHS = 1 << 6,               /* treatment-related deaths, by patient, course */
	COHORT_RESPONDERS = 1 << 7,           /* complete responders: tallied by days
					       * followed, and a page of them listed */
	COHORT_RESPONDERS_CONFIRMED = 1 << 8, /* the same, read confirmed_only */
	COHORT_PROGRESSION_FREE = 1 << 9,     /* progressed or died, and censored, by days */
	COHORT_RESPONSE_DURATION = 1 << 10,   /* responses ended and censored, by days */
	COHORT_RESPONSE_DURATION_CONFIRMED = 1 << 11 /* the same, read confirmed_only */
};

struct cohort {
	int64_t as_of; /* the data version these rows were read at */
	struct cohort_tally *tallies;
	size_t ntallies;
	struct cohort_death *deaths; /* by patient, course, then record */
	size_t ndeaths;
	struct cohort_responder *responders; /* a page of them, by patient */
	size_t nresponders;
	bool more_responders; /* past the page */
};

/* Reads the parts asked for, of the cells filter keeps, and the data
 * version, in one read transaction. Returns 0 or a DB_ code. */
int store_cohort_load(struct db *db, unsigned parts, const struct cohort_filter *filter,
		      struct cohort *out);
/* Just the data version (cheap: for cache checks). */
int store_data_version(struct db *db, int64_t *version);
void cohort_free(struct cohort *c);

#endif

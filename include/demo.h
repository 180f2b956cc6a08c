/* The demo cohort (server/demo.c): a deterministic synthetic copy of the
 * 1989 NCI high-dose IL-2 series, written through the same validation as
 * the API, in one transaction, into an empty database. */
#ifndef COHORTD_DEMO_H
#define COHORTD_DEMO_H

#include <stdint.h>

struct db;

struct demo_counts {
	int64_t patients, courses, outcomes, toxicities;
};

/* Returns 0, DB_CONFLICT when the database already holds patients, or
 * another DB_ code. */
int demo_load(struct db *db, struct demo_counts *counts);

#endif

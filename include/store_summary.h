/* The statistics' summaries, kept by the store (store_summary.c): every
 * write that touches a patient refreshes it in the same transaction (the
 * store's insert, update and delete do it themselves; a bulk import names
 * its patients once per batch). Every function returns 0 or a DB_ code. */
#ifndef COHORTD_STORE_SUMMARY_H
#define COHORTD_STORE_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "summary.h"

/* Summarises these patients again from their rows (a patient no longer
 * there is taken out) and moves the tallies by the difference. */
int store_summaries_refresh(struct db *db, const int64_t *ids, size_t n);
/* Every summary and tally from scratch, in the open write transaction. */
int store_summaries_rebuild(struct db *db);
/* Builds them once on a database that had records before they existed
 * (migration 0007 marks it), in a write transaction of its own. */
int store_summaries_ensure(struct db *db);

#endif

/* Where an import that commits as it goes begins, kept until it ends, and
 * taking it back (store_import.c). Every function returns 0 or a negative
 * DB_ code, and runs in the caller's open write transaction. */
#ifndef COHORTD_STORE_IMPORT_H
#define COHORTD_STORE_IMPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "model.h"

/* The first id of each of the four resources (patients, courses, outcomes,
 * toxicities: the kinds given to each call, in that order) and the first
 * audit row an import takes. */
struct import_start {
	int64_t from[4];
	int64_t audit_from;
};

/* Where an import beginning now would begin. */
int store_import_start(struct db *db, const struct resource *const kinds[4],
		       struct import_start *at);
/* Kept in import_unfinished (migration 0009) before the import's first
 * commit; dropped in its last. */
int store_import_mark(struct db *db, const struct import_start *at);
int store_import_unmark(struct db *db);
/* Takes back the records of the unfinished import marked, if there is one,
 * with their audit rows, counters and summaries, and gives their ids back;
 * *patients says how many patients it took back. Deletes a chunk of
 * patients per transaction (db_commit_continue, so the caller holds the
 * writer) and leaves the last one open, the mark dropped in it: the caller
 * commits. An undo cut short is taken up again where it stopped. */
int store_import_undo(struct db *db, const struct resource *const kinds[4], int64_t *patients);

#endif

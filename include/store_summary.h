/* The statistics' summaries, kept by the store (store_summary.c): every
 * write that touches a patient moves the tallies by the difference between
 * the patient summarised before and after it, in the same transaction (the
 * store's insert, update and delete do it themselves; a bulk import names
 * its new patients once per batch). Every function returns 0 or a DB_
 * code. */
#ifndef COHORTD_STORE_SUMMARY_H
#define COHORTD_STORE_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "model.h"
#include "summary.h"

/* A patient before a write that touches it (store_summary_before reads its
 * rows), then after it (store_summary_after: the rows read before, changed
 * as the write changed them, are summarised again without reading them,
 * the difference goes to the tallies, and the change is freed). A patient
 * that is not there is summarised as nothing: before its insert, after its
 * delete. */
enum summary_edit { SUMMARY_ADD, SUMMARY_REPLACE, SUMMARY_REMOVE };
struct summary_change {
	int64_t patient_id;
	bool had;
	struct summary_input input;
	struct patient_summary before;
};
int store_summary_before(struct db *db, int64_t patient_id, struct summary_change *change);
/* rec (of res) was added, written over its row, or removed (edit). */
int store_summary_after(struct db *db, struct summary_change *change, const struct resource *res,
			const struct record *rec, enum summary_edit edit);
/* After a course, an outcome or a toxicity of the patient was inserted:
 * its counters moved from the summary kept for it and the record alone
 * (for a toxicity, the worst grades it may raise are read from its
 * patient's and its course's toxicities), but when the record is a new
 * first CR (then the patient is summarised from its rows). */
int store_summary_added(struct db *db, int64_t patient_id, const struct resource *res,
			const struct record *rec);
/* For a change abandoned before store_summary_after. */
void store_summary_change_free(struct summary_change *change);
/* Patients just inserted with all their records: their tallies added,
 * summarised from their rows (store_summaries_add_new), or from the records
 * a bulk import made, without reading them back (store_summaries_add_records:
 * patients, courses, outcomes, toxicities, in that order, the patients by
 * ascending id; their counters are left in pending). */
int store_summaries_add_new(struct db *db, const int64_t *ids, size_t n);
/* Patients about to be deleted with all their records (an import taken
 * back, store_import.c): their counters taken out of the tallies, from
 * their rows, and their summaries deleted. */
int store_summaries_remove(struct db *db, const int64_t *ids, size_t n);
struct summary_records {
	const struct resource *res;
	struct record *const *recs;
	int n;
};
int store_summaries_add_records(struct db *db, const struct summary_records kinds[4],
				struct tally_buf *pending);
/* store_summaries_add_records in its two halves: the summaries of the
 * patients in kinds[0] (out: one per patient, summary_free each) and their
 * counters into tallies, without the database (an import's parsing thread
 * does it ahead of the writes); false when memory ran out (nothing is
 * then held). Then their rows written (store_summaries_keep_new). */
bool store_summaries_of_records(const struct summary_records kinds[4], struct patient_summary *out,
				struct tally_buf *tallies);
int store_summaries_keep_new(struct db *db, const struct patient_summary *s, size_t n);
/* The same for summaries held apart (a bulk import's lines). */
int store_summaries_keep_each(struct db *db, const struct patient_summary *const *s, size_t n);
/* The counters store_summaries_add_records leaves pending (an import keeps
 * them across its batches: far fewer cells than patients): written to the
 * tallies, and the buffer emptied (store_tallies_add); or merged and written
 * only once there are many (store_tallies_note, after each batch). */
int store_tallies_add(struct db *db, struct tally_buf *pending);
int store_tallies_note(struct db *db, struct tally_buf *pending);
/* Every summary and tally from scratch, in the open write transaction. */
int store_summaries_rebuild(struct db *db);
/* Builds them once on a database that had records before they existed
 * (migration 0007 marks it), in a write transaction of its own. */
int store_summaries_ensure(struct db *db);

#endif

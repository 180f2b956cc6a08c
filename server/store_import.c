/* An import that commits as it goes (import.c) cannot be rolled back: it
 * is taken back instead. Its first ids and first audit row are kept in
 * import_unfinished from its first commit to its last; every record from
 * those ids on is the import's, since it holds the writer throughout and a
 * start after a crash takes it back before anything else writes. Taking
 * back walks its patients from the last, a chunk to a transaction so the
 * WAL stays as small as the import's own: their counters out of the
 * tallies (read from their rows), their records deleted children first;
 * then its audit rows (the one deletion the audit's trigger lets through,
 * 0009), and the ids given back, so the registry is as if the import had
 * never run. */
#include "store_import.h"

#include "store.h"
#include "store_summary.h"

/* patients taken back per transaction, and audit rows */
#define UNDO_PATIENTS   256
#define UNDO_AUDIT_ROWS 1024

int store_import_start(struct db *db, const struct resource *const kinds[4],
		       struct import_start *at)
{
	for (int k = 0; k < 4; k++) {
		int rc = store_next_id(db, kinds[k], &at->from[k]);
		if (rc != DB_OK)
			return rc;
	}
	struct db_stmt *stmt = db_prepare_static(db, "SELECT coalesce(max(seq), 0) + 1 FROM audit");
	if (!stmt)
		return DB_ERROR;
	int rc = db_step(stmt);
	if (rc == DB_ROW)
		at->audit_from = db_column_int(stmt, 0);
	db_done(stmt);
	return rc == DB_ROW ? DB_OK : db_result(rc == DB_OK ? DB_ERROR : rc);
}

/* The import's last patient and audit row are the last ones there are: it
 * holds the writer. */
int store_import_mark(struct db *db, const struct import_start *at)
{
	struct db_stmt *stmt = db_prepare_static(
		db,
		"INSERT INTO import_unfinished (one, patients_from, courses_from, outcomes_from, "
		"toxicities_from, audit_from, patients_to, audit_to) "
		"VALUES (1, ?1, ?2, ?3, ?4, ?5, (SELECT coalesce(max(id), 0) FROM patients), "
		"(SELECT coalesce(max(seq), 0) FROM audit)) "
		"ON CONFLICT (one) DO UPDATE SET patients_to = excluded.patients_to, "
		"audit_to = excluded.audit_to");
	if (!stmt)
		return DB_ERROR;
	for (int k = 0; k < 4; k++)
		db_bind_int(stmt, k + 1, at->from[k]);
	db_bind_int(stmt, 5, at->audit_from);
	int rc = db_result(db_step(stmt));
	db_done(stmt);
	return rc;
}

int store_import_unmark(struct db *db)
{
	struct db_stmt *stmt = db_prepare_static(db, "DELETE FROM import_unfinished");
	if (!stmt)
		return DB_ERROR;
	int rc = db_result(db_step(stmt));
	db_done(stmt);
	return rc;
}

/* What the mark says, if there is one (*marked). */
struct mark {
	struct import_start at;
	int64_t patients_to, audit_to;
};

static int read_mark(struct db *db, struct mark *m, bool *marked)
{
	struct db_stmt *stmt = db_prepare_static(
		db,
		"SELECT patients_from, courses_from, outcomes_from, toxicities_from, audit_from, "
		"patients_to, audit_to FROM import_unfinished");
	if (!stmt)
		return DB_ERROR;
	int rc = db_step(stmt);
	*marked = rc == DB_ROW;
	if (rc == DB_ROW) {
		for (int k = 0; k < 4; k++)
			m->at.from[k] = db_column_int(stmt, k);
		m->at.audit_from = db_column_int(stmt, 4);
		m->patients_to = db_column_int(stmt, 5);
		m->audit_to = db_column_int(stmt, 6);
	}
	db_done(stmt);
	return rc == DB_ROW ? DB_OK : db_result(rc);
}

/* The last patients of the import, highest first: *n of them. */
static int last_patients(struct db *db, const struct mark *m, int64_t *ids, int *n)
{
	struct db_stmt *stmt = db_prepare_static(
		db, "SELECT id FROM patients WHERE id BETWEEN ?1 AND ?2 ORDER BY id DESC LIMIT ?3");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, m->at.from[0]);
	db_bind_int(stmt, 2, m->patients_to);
	db_bind_int(stmt, 3, UNDO_PATIENTS);
	*n = 0;
	int rc;
	while ((rc = db_step(stmt)) == DB_ROW)
		ids[(*n)++] = db_column_int(stmt, 0);
	db_done(stmt);
	return db_result(rc);
}

/* Deletes the import's last UNDO_AUDIT_ROWS audit rows; *more when there
 * may be others. */
static int drop_audit_rows(struct db *db, const struct mark *m, bool *more)
{
	struct db_stmt *stmt = db_prepare_static(
		db, "DELETE FROM audit WHERE seq BETWEEN ?1 AND ?2 "
		    "AND seq > (SELECT max(seq) FROM audit WHERE seq <= ?2) - ?3");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, m->at.audit_from);
	db_bind_int(stmt, 2, m->audit_to);
	db_bind_int(stmt, 3, UNDO_AUDIT_ROWS);
	int rc = db_result(db_step(stmt));
	db_done(stmt);
	*more = rc == DB_OK && db_changes(db) > 0;
	return rc;
}

/* No record of res from id from on is left: its ids can be given back. */
static int none_from(struct db *db, const struct resource *res, int64_t from, bool *none)
{
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE id >= ?1 LIMIT 1", res->name);
	struct db_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, from);
	int rc = db_step(stmt);
	*none = rc == DB_OK;
	db_done(stmt);
	return db_result(rc);
}

int store_import_undo(struct db *db, const struct resource *const kinds[4], int64_t *patients)
{
	struct mark m;
	bool marked = false;
	*patients = 0;
	int rc = read_mark(db, &m, &marked);
	if (rc != DB_OK || !marked)
		return rc;
	int64_t ids[UNDO_PATIENTS];
	for (;;) {
		int n = 0;
		if ((rc = last_patients(db, &m, ids, &n)) != DB_OK || n == 0)
			break;
		rc = store_summaries_remove(db, ids, (size_t)n);
		for (int k = 3; k >= 0 && rc == DB_OK; k--) /* children first */
			rc = store_delete_of_patients(db, kinds[k], ids[n - 1], ids[0]);
		if (rc == DB_OK)
			rc = db_commit_continue(db);
		if (rc != DB_OK)
			return rc;
		*patients += n;
	}
	bool more = rc == DB_OK;
	while (more && rc == DB_OK) {
		rc = drop_audit_rows(db, &m, &more);
		if (rc == DB_OK && more)
			rc = db_commit_continue(db);
	}
	/* its ids given back, unless records came after it (a take-back that
	 * failed, and writes before the next start) */
	for (int k = 0; k < 4 && rc == DB_OK; k++) {
		bool none = false;
		if ((rc = none_from(db, kinds[k], m.at.from[k], &none)) == DB_OK && none)
			rc = db_set_next_id(db, kinds[k]->name, m.at.from[k]);
	}
	return rc == DB_OK ? store_import_unmark(db) : rc;
}

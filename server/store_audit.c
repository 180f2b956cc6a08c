/* Audit rows: appended, listed and walked; never updated or deleted (the
 * schema's triggers refuse both). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store_trust.h"
#include "util.h"

/* A copy of a text column, NULL for NULL; *whole turns false when the
 * column or its copy is lost for memory. */
static char *text_or_null(struct db_stmt *stmt, int col, bool *whole)
{
	const char *s = db_column_text(stmt, col);
	char *copy = s ? xstrdup(s) : NULL;
	if ((s && !copy) || (!s && db_column_type(stmt, col) != DB_TYPE_NULL))
		*whole = false;
	return copy;
}

static void copy_column(char *dst, size_t n, struct db_stmt *stmt, int col, bool *whole)
{
	const char *s = db_column_text(stmt, col);
	if (!s)
		*whole = false;
	snprintf(dst, n, "%s", s ? s : "");
}

void audit_row_clear(struct audit_row *row)
{
	free(row->actor);
	free(row->action);
	free(row->entity);
	free(row->before);
	free(row->after);
	free(row->reason);
	free(row->request_id);
	memset(row, 0, sizeof *row);
}

#define AUDIT_COLUMNS                                                                              \
	"seq, at, actor, action, entity, entity_id, before, after, reason, request_id, "           \
	"prev_hash, "                                                                              \
	"hash"

/* False when memory ran out reading it (the row is then cleared). */
static bool read_row(struct db_stmt *stmt, struct audit_row *row)
{
	bool whole = true;
	memset(row, 0, sizeof *row);
	row->seq = db_column_int(stmt, 0);
	copy_column(row->at, sizeof row->at, stmt, 1, &whole);
	row->actor = text_or_null(stmt, 2, &whole);
	row->action = text_or_null(stmt, 3, &whole);
	row->entity = text_or_null(stmt, 4, &whole);
	row->entity_id = db_column_int(stmt, 5);
	row->before = text_or_null(stmt, 6, &whole);
	row->after = text_or_null(stmt, 7, &whole);
	row->before_len = row->before ? (size_t)db_column_bytes(stmt, 6) : 0;
	row->after_len = row->after ? (size_t)db_column_bytes(stmt, 7) : 0;
	row->reason = text_or_null(stmt, 8, &whole);
	row->request_id = text_or_null(stmt, 9, &whole);
	copy_column(row->prev_hash, sizeof row->prev_hash, stmt, 10, &whole);
	copy_column(row->hash, sizeof row->hash, stmt, 11, &whole);
	if (!whole || !row->actor || !row->action || !row->entity || !row->request_id) {
		audit_row_clear(row);
		return false;
	}
	return true;
}

int store_audit_head(struct db *db, int64_t *seq, char hash[65], bool *import_marked)
{
	/* an empty trail has no mark either: an import's mark is committed
	 * with its first audit rows */
	struct db_stmt *stmt = db_prepare_static(
		db, "SELECT seq, hash, (SELECT count(*) FROM import_unfinished WHERE one = 1) "
		    "FROM audit ORDER BY seq DESC LIMIT 1");
	if (!stmt)
		return DB_ERROR;
	*seq = 0;
	hash[0] = '\0';
	*import_marked = false;
	int rc = db_step(stmt);
	if (rc == DB_ROW) {
		*seq = db_column_int(stmt, 0);
		snprintf(hash, 65, "%s", db_column_text(stmt, 1));
		*import_marked = db_column_int(stmt, 2) > 0;
	}
	db_done(stmt);
	return db_result(rc);
}

enum { AUDIT_NCOLUMNS = 12 };
static const char insert_head[] = "INSERT INTO audit (" AUDIT_COLUMNS ")";

/* Binds the i-th of rows as the row of an insert whose first parameter is at. */
static void bind_row(struct db_stmt *stmt, int at, int i, const void *rows)
{
	const struct audit_row *row = ((const struct audit_row *const *)rows)[i];
	db_bind_int(stmt, at, row->seq);
	db_bind_text(stmt, at + 1, row->at);
	db_bind_text(stmt, at + 2, row->actor);
	db_bind_text(stmt, at + 3, row->action);
	db_bind_text(stmt, at + 4, row->entity);
	db_bind_int(stmt, at + 5, row->entity_id);
	/* with their lengths: no CHECK reads them, so SQLite never needs them
	 * NUL-terminated (a text bound with a length it copies to add one) */
	db_bind_text_n(stmt, at + 6, row->before, (int)row->before_len);
	db_bind_text_n(stmt, at + 7, row->after, (int)row->after_len);
	db_bind_text(stmt, at + 8, row->reason);
	db_bind_text(stmt, at + 9, row->request_id);
	db_bind_text(stmt, at + 10, row->prev_hash);
	db_bind_text(stmt, at + 11, row->hash);
}

int store_audit_insert_many(struct db *db, const struct audit_row *const *rows, int n)
{
	return db_insert_rows(db, insert_head, AUDIT_NCOLUMNS, n, bind_row, rows);
}

int store_audit_list(struct db *db, const struct audit_filter *f, struct audit_row **rows,
		     int *count, bool *more)
{
	/* Only the filters given are in the SQL, so that one of them the index
	 * audit_by_entity (entity, entity_id, seq) serves is used: a test of
	 * "?2 IS NULL OR entity = ?2" kept SQLite from it, and every history
	 * scanned the whole trail. */
	struct strbuf sql = {0};
	strbuf_puts(&sql, "SELECT " AUDIT_COLUMNS " FROM audit WHERE seq > ?1");
	if (f->entity)
		strbuf_puts(&sql, " AND entity = ?2");
	if (f->entity_id)
		strbuf_puts(&sql, " AND entity_id = ?3");
	if (f->actor)
		strbuf_puts(&sql, " AND actor = ?4");
	if (f->from)
		strbuf_puts(&sql, " AND at >= ?5");
	if (f->to)
		strbuf_puts(&sql, " AND at < ?6");
	strbuf_puts(&sql, " ORDER BY seq LIMIT ?7");
	struct db_stmt *stmt = sql.data ? db_prepare(db, sql.data) : NULL;
	strbuf_free(&sql);
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, f->after);
	if (f->entity)
		db_bind_text(stmt, 2, f->entity);
	if (f->entity_id)
		db_bind_int(stmt, 3, f->entity_id);
	if (f->actor)
		db_bind_text(stmt, 4, f->actor);
	if (f->from)
		db_bind_text(stmt, 5, f->from);
	if (f->to)
		db_bind_text(stmt, 6, f->to);
	db_bind_int(stmt, 7, f->limit + 1);
	struct audit_row *out = xcalloc((size_t)f->limit + 1, sizeof *out);
	if (!out) {
		db_done(stmt);
		return DB_ERROR;
	}
	int n = 0, rc;
	while ((rc = db_step(stmt)) == DB_ROW && n < f->limit) {
		if (!read_row(stmt, &out[n])) {
			rc = DB_ERROR;
			break;
		}
		n++;
	}
	*more = rc == DB_ROW;
	db_done(stmt);
	if (rc != DB_ROW && rc != DB_OK) {
		store_audit_list_free(out, n);
		return db_result(rc);
	}
	*rows = out;
	*count = n;
	return DB_OK;
}

void store_audit_list_free(struct audit_row *rows, int count)
{
	for (int i = 0; i < count; i++)
		audit_row_clear(&rows[i]);
	free(rows);
}

int store_audit_walk(struct db *db, int (*fn)(void *cls, const struct audit_row *row), void *cls)
{
	struct db_stmt *stmt =
		db_prepare_static(db, "SELECT " AUDIT_COLUMNS " FROM audit ORDER BY seq");
	if (!stmt)
		return DB_ERROR;
	int rc;
	while ((rc = db_step(stmt)) == DB_ROW) {
		struct audit_row row;
		if (!read_row(stmt, &row)) {
			rc = DB_ERROR;
			break;
		}
		int stop = fn(cls, &row);
		audit_row_clear(&row);
		if (stop)
			break;
	}
	db_done(stmt);
	return rc == DB_ROW ? DB_OK : db_result(rc);
}

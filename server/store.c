/* Generic record storage: SQL for any resource, built from its field
 * descriptors (table = resource name, columns = field names, all of them
 * trusted constants, never request text). Values are always bound. */
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_sqlite.h"
#include "util.h"

static void bind_value(sqlite3_stmt *stmt, int col, const struct value *v)
{
	switch (v->kind) {
	case VALUE_NULL:
		sqlite3_bind_null(stmt, col);
		break;
	case VALUE_INT:
		sqlite3_bind_int64(stmt, col, v->i);
		break;
	case VALUE_REAL:
		sqlite3_bind_double(stmt, col, v->r);
		break;
	case VALUE_TEXT:
		sqlite3_bind_text(stmt, col, v->s, -1, SQLITE_STATIC);
		break;
	}
}

static void read_value(sqlite3_stmt *stmt, int col, struct value *v)
{
	switch (sqlite3_column_type(stmt, col)) {
	case SQLITE_INTEGER:
		value_set_int(v, sqlite3_column_int64(stmt, col));
		break;
	case SQLITE_FLOAT:
		value_set_null(v);
		v->kind = VALUE_REAL;
		v->r = sqlite3_column_double(stmt, col);
		break;
	case SQLITE_TEXT:
		value_set_text(v, (const char *)sqlite3_column_text(stmt, col));
		break;
	default:
		value_set_null(v);
	}
}

static void copy_text(char *dst, size_t n, sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);
	snprintf(dst, n, "%s", s ? (const char *)s : "");
}

/* "id, f1, f2, ..., version, created_at, updated_at" */
static void select_columns(struct strbuf *sb, const struct resource *res)
{
	strbuf_puts(sb, "SELECT id");
	for (int i = 0; i < res->nfields; i++)
		strbuf_printf(sb, ", %s", res->fields[i].name);
	strbuf_printf(sb, ", version, created_at, updated_at FROM %s", res->name);
}

/* The SQL of get, insert (its head) and update for each resource, built once (and
 * not kept when memory ran out while building it). */
struct resource_sql {
	const struct resource *res;
	char *get, *insert_head, *update;
};

static struct resource_sql sql_cache[8];
static pthread_mutex_t sql_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct resource_sql *sql_of(const struct resource *res)
{
	struct resource_sql *r = NULL;
	pthread_mutex_lock(&sql_lock);
	for (size_t i = 0; i < sizeof sql_cache / sizeof sql_cache[0] && !r; i++) {
		if (sql_cache[i].res == res) {
			r = &sql_cache[i];
		} else if (!sql_cache[i].res) {
			struct strbuf sb = {0};
			r = &sql_cache[i];
			select_columns(&sb, res);
			strbuf_puts(&sb, " WHERE id = ?");
			r->get = strbuf_steal(&sb);
			strbuf_printf(&sb, "INSERT INTO %s (", res->name);
			for (int f = 0; f < res->nfields; f++)
				strbuf_printf(&sb, "%s, ", res->fields[f].name);
			strbuf_puts(&sb, "version, created_at, updated_at, id)");
			r->insert_head = strbuf_steal(&sb); /* db_insert_rows adds the values */
			strbuf_printf(&sb, "UPDATE %s SET ", res->name);
			for (int f = 0; f < res->nfields; f++)
				strbuf_printf(&sb, "%s = ?, ", res->fields[f].name);
			strbuf_puts(&sb, "version = ?, updated_at = ? WHERE id = ?");
			r->update = strbuf_steal(&sb);
			if (r->get && r->insert_head && r->update) {
				r->res = res;
			} else {
				free(r->get);
				free(r->insert_head);
				free(r->update);
				*r = (struct resource_sql){0};
				pthread_mutex_unlock(&sql_lock);
				return NULL;
			}
		}
	}
	pthread_mutex_unlock(&sql_lock);
	if (!r)
		abort(); /* more resources than slots: a programming error */
	return r;
}

/* A statement of res's cached SQL (0: get, 1: update), or NULL. */
static sqlite3_stmt *prepare_of(struct db *db, const struct resource *res, int which)
{
	const struct resource_sql *r = sql_of(res);
	if (!r)
		return NULL;
	return db_prepare_static(db, which == 0 ? r->get : r->update);
}

static void read_record(sqlite3_stmt *stmt, const struct resource *res, struct record *rec)
{
	memset(rec, 0, sizeof *rec);
	rec->id = sqlite3_column_int64(stmt, 0);
	for (int i = 0; i < res->nfields; i++)
		read_value(stmt, i + 1, &rec->v[i]);
	rec->version = sqlite3_column_int64(stmt, res->nfields + 1);
	copy_text(rec->created_at, sizeof rec->created_at, stmt, res->nfields + 2);
	copy_text(rec->updated_at, sizeof rec->updated_at, stmt, res->nfields + 3);
}

/* The one integer sql answers, with its ? bound to *arg when arg is given. */
static int query_int(struct db *db, const char *sql, const int64_t *arg, int64_t *out)
{
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	if (arg)
		sqlite3_bind_int64(stmt, 1, *arg);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	db_done(stmt);
	return db_status_from(db, rc);
}

int store_get(struct db *db, const struct resource *res, int64_t id, struct record *out)
{
	sqlite3_stmt *stmt = prepare_of(db, res, 0);
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		read_record(stmt, res, out);
	db_done(stmt);
	if (rc == SQLITE_DONE)
		return DB_NOTFOUND;
	return db_status_from(db, rc);
}

/* Binds rec as the row of an insert whose first parameter is at. */
static void bind_record(sqlite3_stmt *stmt, int at, const struct resource *res,
			const struct record *rec)
{
	for (int i = 0; i < res->nfields; i++)
		bind_value(stmt, at + i, &rec->v[i]);
	sqlite3_bind_int64(stmt, at + res->nfields, rec->version);
	sqlite3_bind_text(stmt, at + res->nfields + 1, rec->created_at, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, at + res->nfields + 2, rec->updated_at, -1, SQLITE_STATIC);
	if (rec->id > 0)
		sqlite3_bind_int64(stmt, at + res->nfields + 3, rec->id);
	else
		sqlite3_bind_null(stmt, at + res->nfields + 3); /* the next one (AUTOINCREMENT) */
}

struct many {
	const struct resource *res;
	struct record *const *recs;
};

static void bind_many(sqlite3_stmt *stmt, int at, int i, const void *cls)
{
	const struct many *m = cls;
	bind_record(stmt, at, m->res, m->recs[i]);
}

int store_insert_many(struct db *db, const struct resource *res, struct record *const *recs,
		      int n)
{
	const struct resource_sql *r = sql_of(res);
	struct many m = {res, recs};
	return r ? db_insert_rows(db, r->insert_head, res->nfields + 4, n, bind_many, &m) : DB_ERROR;
}

int store_insert(struct db *db, const struct resource *res, struct record *rec)
{
	int rc = store_insert_many(db, res, &rec, 1);
	if (rc == DB_OK)
		rec->id = sqlite3_last_insert_rowid(db_handle(db));
	return rc;
}

int store_next_id(struct db *db, const struct resource *res, int64_t *next)
{
	char sql[256];
	snprintf(sql, sizeof sql,
		 "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = '%s'), 0),"
		 " coalesce((SELECT max(id) FROM %s), 0)) + 1",
		 res->name, res->name);
	return query_int(db, sql, NULL, next);
}

int store_update(struct db *db, const struct resource *res, const struct record *rec)
{
	store_forget_course_facts();
	sqlite3_stmt *stmt = prepare_of(db, res, 1);
	if (!stmt)
		return DB_ERROR;
	for (int i = 0; i < res->nfields; i++)
		bind_value(stmt, i + 1, &rec->v[i]);
	sqlite3_bind_int64(stmt, res->nfields + 1, rec->version);
	sqlite3_bind_text(stmt, res->nfields + 2, rec->updated_at, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, res->nfields + 3, rec->id);
	int rc = sqlite3_step(stmt);
	db_done(stmt);
	if (rc == SQLITE_DONE && sqlite3_changes(db_handle(db)) == 0)
		return DB_NOTFOUND;
	return db_status_from(db, rc);
}

int store_delete(struct db *db, const struct resource *res, int64_t id)
{
	store_forget_course_facts();
	char sql[128];
	snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ?", res->name);
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	int rc = sqlite3_step(stmt);
	db_done(stmt);
	if (rc == SQLITE_DONE && sqlite3_changes(db_handle(db)) == 0)
		return DB_NOTFOUND;
	return db_status_from(db, rc);
}

int store_count(struct db *db, const struct resource *res, int64_t *count)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", res->name);
	return query_int(db, sql, NULL, count);
}

int store_list(struct db *db, const struct resource *res, const struct list_query *q,
	       struct record **out, int *count, bool *more)
{
	struct strbuf sql = {0};
	select_columns(&sql, res);
	strbuf_puts(&sql, " WHERE id > ?");
	for (int i = 0; i < q->nfilters; i++)
		strbuf_printf(&sql, " AND %s %s ?", res->fields[q->filters[i].field].name,
			      q->filters[i].op == FILTER_GE ? ">=" : "=");
	strbuf_puts(&sql, " ORDER BY id LIMIT ?");
	sqlite3_stmt *stmt = sql.data ? db_prepare(db, sql.data) : NULL;
	strbuf_free(&sql);
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, q->after);
	for (int i = 0; i < q->nfilters; i++)
		bind_value(stmt, i + 2, &q->filters[i].value);
	sqlite3_bind_int(stmt, q->nfilters + 2, q->limit + 1);

	struct record *recs = xcalloc((size_t)q->limit + 1, sizeof *recs);
	if (!recs) {
		db_done(stmt);
		return DB_ERROR;
	}
	int n = 0, rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && n < q->limit)
		read_record(stmt, res, &recs[n++]);
	*more = rc == SQLITE_ROW;
	db_done(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_list_free(recs, n);
		return db_status_from(db, rc);
	}
	*out = recs;
	*count = n;
	return DB_OK;
}

void store_list_free(struct record *recs, int count)
{
	for (int i = 0; i < count; i++)
		record_clear(&recs[i]);
	free(recs);
}

int store_count_where(struct db *db, const struct resource *res, const char *field, int64_t value,
		      int64_t *count)
{
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE %s = ?", res->name, field);
	return query_int(db, sql, &value, count);
}

int store_ids_where(struct db *db, const struct resource *res, const char *field, int64_t value,
		    int64_t **ids, size_t *count)
{
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE %s = ? ORDER BY id", res->name, field);
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, value);
	size_t n = 0, cap = 16;
	int64_t *out = xmalloc(cap * sizeof *out);
	int rc = SQLITE_NOMEM;
	while (out && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n == cap) {
			int64_t *more = xrealloc(out, (cap *= 2) * sizeof *out);
			if (!more) {
				rc = SQLITE_NOMEM;
				break;
			}
			out = more;
		}
		out[n++] = sqlite3_column_int64(stmt, 0);
	}
	db_done(stmt);
	if (rc != SQLITE_DONE) {
		free(out);
		out = NULL;
		n = 0;
	}
	*ids = out;
	*count = n;
	return db_status_from(db, rc);
}

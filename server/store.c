/* Generic record storage: SQL for any resource, built from its field
 * descriptors (table = resource name, columns = field names, all of them
 * trusted constants, never request text). Values are always bound. */
#include "store.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store_summary.h"
#include "util.h"

static void bind_value(struct db_stmt *stmt, int col, const struct value *v)
{
	switch (v->kind) {
	case VALUE_NULL: db_bind_null(stmt, col); break;
	case VALUE_INT: db_bind_int(stmt, col, v->i); break;
	case VALUE_REAL: db_bind_real(stmt, col, v->r); break;
	case VALUE_TEXT: db_bind_text(stmt, col, v->s); break;
	}
}

static void read_value(struct db_stmt *stmt, int col, struct value *v)
{
	switch (db_column_type(stmt, col)) {
	case DB_TYPE_INT: value_set_int(v, db_column_int(stmt, col)); break;
	case DB_TYPE_REAL:
		value_set_null(v);
		v->kind = VALUE_REAL;
		v->r = db_column_real(stmt, col);
		break;
	case DB_TYPE_TEXT: value_set_text(v, db_column_text(stmt, col)); break;
	default: value_set_null(v);
	}
}

/* "id, f1, f2, ..., version, created_at, updated_at" */
static void select_columns(struct strbuf *sb, const struct resource *res)
{
	strbuf_puts(sb, "SELECT id");
	for (int i = 0; i < res->nfields; i++)
		strbuf_printf(sb, ", %s", res->fields[i].name);
	strbuf_printf(sb, ", version, created_at, updated_at FROM %s", res->name);
}

/* The SQL of get, insert (its head) and update for each resource, built
 * once at start (store_init) and only read after: no lock. */
struct resource_sql {
	const struct resource *res;
	char *get, *insert_head, *update;
};

static struct resource_sql sql_cache[8];

int store_init(const struct resource *const *resources, size_t n)
{
	if (n > sizeof sql_cache / sizeof sql_cache[0])
		abort(); /* more resources than slots: a programming error */
	for (size_t i = 0; i < n; i++) {
		const struct resource *res = resources[i];
		struct resource_sql *r = &sql_cache[i];
		if (r->res == res)
			continue; /* built by an earlier call */
		free(r->get);
		free(r->insert_head);
		free(r->update);
		*r = (struct resource_sql){0};
		struct strbuf sb = {0};
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
		if (!r->get || !r->insert_head || !r->update)
			return DB_ERROR;
		r->res = res;
	}
	return DB_OK;
}

static const struct resource_sql *sql_of(const struct resource *res)
{
	for (size_t i = 0; i < sizeof sql_cache / sizeof sql_cache[0]; i++)
		if (sql_cache[i].res == res)
			return &sql_cache[i];
	abort(); /* store_init was not told of res: a programming error */
}

/* A statement of res's cached SQL (0: get, 1: update), or NULL. */
static struct db_stmt *prepare_of(struct db *db, const struct resource *res, int which)
{
	const struct resource_sql *r = sql_of(res);
	return db_prepare_static(db, which == 0 ? r->get : r->update);
}

static void read_record(struct db_stmt *stmt, const struct resource *res, struct record *rec)
{
	memset(rec, 0, sizeof *rec);
	rec->id = db_column_int(stmt, 0);
	for (int i = 0; i < res->nfields; i++)
		read_value(stmt, i + 1, &rec->v[i]);
	rec->version = db_column_int(stmt, res->nfields + 1);
	db_column_text_into(stmt, res->nfields + 2, rec->created_at, sizeof rec->created_at);
	db_column_text_into(stmt, res->nfields + 3, rec->updated_at, sizeof rec->updated_at);
}

/* The one integer sql answers, with its ? bound to *arg when arg is given. */
static int query_int(struct db *db, const char *sql, const int64_t *arg, int64_t *out)
{
	struct db_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	if (arg)
		db_bind_int(stmt, 1, *arg);
	int rc = db_step(stmt);
	if (rc == DB_ROW)
		*out = db_column_int(stmt, 0);
	db_done(stmt);
	return db_result(rc);
}

int store_get(struct db *db, const struct resource *res, int64_t id, struct record *out)
{
	struct db_stmt *stmt = prepare_of(db, res, 0);
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, id);
	int rc = db_step(stmt);
	if (rc == DB_ROW)
		read_record(stmt, res, out);
	db_done(stmt);
	if (rc == DB_OK)
		return DB_NOTFOUND;
	return db_result(rc);
}

/* Binds rec as the row of an insert whose first parameter is at. */
static void bind_record(struct db_stmt *stmt, int at, const struct resource *res,
			const struct record *rec)
{
	for (int i = 0; i < res->nfields; i++)
		bind_value(stmt, at + i, &rec->v[i]);
	db_bind_int(stmt, at + res->nfields, rec->version);
	db_bind_text(stmt, at + res->nfields + 1, rec->created_at);
	db_bind_text(stmt, at + res->nfields + 2, rec->updated_at);
	if (rec->id > 0)
		db_bind_int(stmt, at + res->nfields + 3, rec->id);
	else
		db_bind_null(stmt, at + res->nfields + 3); /* the next one (AUTOINCREMENT) */
}

struct many {
	const struct resource *res;
	struct record *const *recs;
};

static void bind_many(struct db_stmt *stmt, int at, int i, const void *cls)
{
	const struct many *m = cls;
	bind_record(stmt, at, m->res, m->recs[i]);
}

/* record_counts (migration 0006) moves with every insert and delete, in
 * the same transaction. */
static int count_records(struct db *db, const struct resource *res, int64_t by)
{
	struct db_stmt *stmt =
		db_prepare_static(db, "UPDATE record_counts SET n = n + ?1 WHERE resource = ?2");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, by);
	db_bind_text(stmt, 2, res->name);
	int rc = db_step_unread(stmt);
	db_done(stmt);
	return rc;
}

int store_insert_many(struct db *db, const struct resource *res, struct record *const *recs, int n)
{
	struct many m = {res, recs};
	int rc = db_insert_rows(db, sql_of(res)->insert_head, res->nfields + 4, n, bind_many, &m);
	return rc == DB_OK ? count_records(db, res, n) : rc;
}

/* The patient a record belongs to: itself, or its patient_id. */
static int64_t patient_of(const struct resource *res, const struct record *rec)
{
	int i = resource_field_index(res, "patient_id");
	return i >= 0 ? rec->v[i].i : rec->id;
}

/* The patient of record id of res, read before it is deleted. */
static int patient_of_id(struct db *db, const struct resource *res, int64_t id, int64_t *patient)
{
	*patient = id;
	if (resource_field_index(res, "patient_id") < 0)
		return DB_OK;
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT patient_id FROM %s WHERE id = ?", res->name);
	int rc = query_int(db, sql, &id, patient);
	return rc;
}

/* A new patient has nothing to summarise before its insert; a record of a
 * patient moves the counters its patient's summary tells (store_summary.h). */
int store_insert(struct db *db, const struct resource *res, struct record *rec)
{
	int rc = store_insert_many(db, res, &rec, 1);
	if (rc != DB_OK)
		return rc;
	rec->id = db_last_insert_id(db);
	if (resource_field_index(res, "patient_id") >= 0)
		return store_summary_added(db, patient_of(res, rec), res, rec);
	struct summary_change change = {.patient_id = rec->id};
	return store_summary_after(db, &change, res, rec, SUMMARY_ADD);
}

int store_next_id(struct db *db, const struct resource *res, int64_t *next)
{
	return db_next_id(db, res->name, next);
}

int store_update(struct db *db, const struct resource *res, const struct record *rec)
{
	store_forget_course_facts();
	struct summary_change change;
	int rc = store_summary_before(db, patient_of(res, rec), &change);
	struct db_stmt *stmt = rc == DB_OK ? prepare_of(db, res, 1) : NULL;
	if (!stmt) {
		store_summary_change_free(&change);
		return rc == DB_OK ? DB_ERROR : rc;
	}
	for (int i = 0; i < res->nfields; i++)
		bind_value(stmt, i + 1, &rec->v[i]);
	db_bind_int(stmt, res->nfields + 1, rec->version);
	db_bind_text(stmt, res->nfields + 2, rec->updated_at);
	db_bind_int(stmt, res->nfields + 3, rec->id);
	rc = db_step(stmt);
	db_done(stmt);
	if (rc == DB_OK && db_changes(db) == 0)
		rc = DB_NOTFOUND;
	if (rc != DB_OK) {
		store_summary_change_free(&change);
		return db_result(rc);
	}
	return store_summary_after(db, &change, res, rec, SUMMARY_REPLACE);
}

int store_delete(struct db *db, const struct resource *res, int64_t id)
{
	store_forget_course_facts();
	int64_t patient = 0;
	struct summary_change change;
	int prior = patient_of_id(db, res, id, &patient);
	if (prior == DB_OK)
		prior = store_summary_before(db, patient, &change);
	if (prior != DB_OK)
		return prior;
	char sql[128];
	snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ?", res->name);
	struct db_stmt *stmt = db_prepare(db, sql);
	int rc = DB_ERROR;
	if (stmt) {
		db_bind_int(stmt, 1, id);
		rc = db_step(stmt);
		db_done(stmt);
	}
	if (rc == DB_OK && db_changes(db) == 0)
		rc = DB_NOTFOUND;
	if (rc == DB_OK)
		rc = count_records(db, res, -1);
	if (rc != DB_OK) {
		store_summary_change_free(&change);
		return db_result(rc);
	}
	struct record gone = {.id = id};
	return store_summary_after(db, &change, res, &gone, SUMMARY_REMOVE);
}

int store_delete_of_patients(struct db *db, const struct resource *res, int64_t lo, int64_t hi)
{
	store_forget_course_facts();
	char sql[128];
	snprintf(sql, sizeof sql, "DELETE FROM %s WHERE %s BETWEEN ?1 AND ?2", res->name,
		 resource_field_index(res, "patient_id") >= 0 ? "patient_id" : "id");
	struct db_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, lo);
	db_bind_int(stmt, 2, hi);
	int rc = db_result(db_step(stmt));
	db_done(stmt);
	return rc == DB_OK ? count_records(db, res, -db_changes(db)) : rc;
}

int store_count(struct db *db, const struct resource *res, int64_t *count)
{
	struct db_stmt *stmt =
		db_prepare_static(db, "SELECT n FROM record_counts WHERE resource = ?1");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, res->name);
	int rc = db_step(stmt);
	if (rc == DB_ROW)
		*count = db_column_int(stmt, 0);
	db_done(stmt);
	return rc == DB_ROW ? DB_OK : db_result(rc == DB_OK ? DB_ERROR : rc);
}

/* --- lists ---------------------------------------------------------------
 * A list's SQL is built from its query: the filters, then (sorted) the
 * keyset condition that starts the page past the cursor's record, written
 * out key by key so that a null key (the largest value) is placed as
 * ORDER BY places it, on either engine. The values go to a bind list in
 * the order their placeholders appear. */

struct binds {
	const struct value *v[STORE_MAX_FILTERS * STORE_MAX_IN + 2 * STORE_MAX_SORT + 4];
	int64_t ints[4];
	int n, nints;
};

static void bind_later(struct binds *b, const struct value *v)
{
	b->v[b->n++] = v;
}

static void bind_int_later(struct binds *b, int64_t i)
{
	b->ints[b->nints] = i;
	b->v[b->n++] = NULL; /* an integer: the next of ints[] */
	b->nints++;
}

static const char *key_name(const struct resource *res, int field)
{
	return field < 0 ? "id" : res->fields[field].name;
}

static void where_filters(struct strbuf *sql, const struct resource *res,
			  const struct list_query *q, struct binds *b)
{
	static const char *const compare[] = {[FILTER_EQ] = "=",
					      [FILTER_GE] = ">=",
					      [FILTER_GT] = ">",
					      [FILTER_LE] = "<=",
					      [FILTER_LT] = "<"};
	for (int i = 0; i < q->nfilters; i++) {
		const struct filter *f = &q->filters[i];
		const char *name = res->fields[f->field].name;
		switch (f->op) {
		case FILTER_IN:
			strbuf_printf(sql, " AND %s IN (", name);
			for (int k = 0; k < f->nin; k++) {
				strbuf_puts(sql, k ? ", ?" : "?");
				bind_later(b, &f->in[k]);
			}
			strbuf_puts(sql, ")");
			break;
		case FILTER_NULL: strbuf_printf(sql, " AND %s IS NULL", name); break;
		case FILTER_NOT_NULL: strbuf_printf(sql, " AND %s IS NOT NULL", name); break;
		case FILTER_PREFIX:
			/* characters, compared exactly: LIKE folds case on SQLite,
			 * and a range depends on PostgreSQL's collation */
			strbuf_printf(sql, " AND substr(%s, 1, %d) = ?", name,
				      (int)utf8_length(f->value.s));
			bind_later(b, &f->value);
			break;
		default:
			strbuf_printf(sql, " AND %s %s ?", name, compare[f->op]);
			bind_later(b, &f->value);
		}
	}
}

/* A sort key that may be null (an optional field; never id). */
static bool nullable(const struct resource *res, int field)
{
	return field >= 0 && !(res->fields[field].flags & FIELD_REQUIRED);
}

/* Past the cursor from key i on: after on key i, or equal on it and past
 * on the next; past the last key, the id. */
static void keyset(struct strbuf *sql, const struct resource *res, const struct list_query *q,
		   int i, struct binds *b)
{
	if (i >= q->nsort) {
		bool desc = q->nsort > 0 && q->sort[q->nsort - 1].desc;
		strbuf_printf(sql, "id %s ?", desc ? "<" : ">");
		bind_int_later(b, q->key_id);
		return;
	}
	const char *k = key_name(res, q->sort[i].field);
	const struct value *v = &q->key[i];
	bool null = v->kind == VALUE_NULL, can_be_null = nullable(res, q->sort[i].field);
	strbuf_puts(sql, "(");
	if (!null && !q->sort[i].desc) {
		strbuf_printf(sql, can_be_null ? "%s > ? OR %s IS NULL" : "%s > ?", k, k);
		bind_later(b, v);
	} else if (!null) {
		strbuf_printf(sql, "%s < ?", k);
		bind_later(b, v);
	} else {
		strbuf_printf(sql, q->sort[i].desc ? "%s IS NOT NULL" : "1 = 0", k);
	}
	if (null) {
		strbuf_printf(sql, " OR (%s IS NULL AND ", k);
	} else {
		strbuf_printf(sql, " OR (%s = ? AND ", k);
		bind_later(b, v);
	}
	keyset(sql, res, q, i + 1, b);
	strbuf_puts(sql, "))");
}

/* The first key's bound, implied by the keyset but stated on its own so
 * that the engine seeks to the cursor in the key's index instead of walking
 * it from the start (with placeholders it cannot see that the keyset's
 * "k < ?" and "k = ?" hold one value). Only where the key is never null. */
static void keyset_bound(struct strbuf *sql, const struct resource *res, const struct list_query *q,
			 struct binds *b)
{
	if (nullable(res, q->sort[0].field) || q->key[0].kind == VALUE_NULL)
		return;
	strbuf_printf(sql, " AND %s %s ?", key_name(res, q->sort[0].field),
		      q->sort[0].desc ? "<=" : ">=");
	bind_later(b, &q->key[0]);
}

static int run_binds(struct db_stmt *stmt, const struct binds *b)
{
	int ints = 0;
	for (int i = 0; i < b->n; i++) {
		if (b->v[i])
			bind_value(stmt, i + 1, b->v[i]);
		else
			db_bind_int(stmt, i + 1, b->ints[ints++]);
	}
	return b->n;
}

int store_list(struct db *db, const struct resource *res, const struct list_query *q,
	       struct record **out, int *count, bool *more)
{
	struct strbuf sql = {0};
	struct binds b = {0};
	select_columns(&sql, res);
	strbuf_puts(&sql, " WHERE 1 = 1");
	if (q->nsort == 0) {
		strbuf_puts(&sql, " AND id > ?");
		bind_int_later(&b, q->after);
	}
	where_filters(&sql, res, q, &b);
	if (q->nsort > 0 && q->has_cursor) {
		keyset_bound(&sql, res, q, &b);
		strbuf_puts(&sql, " AND ");
		keyset(&sql, res, q, 0, &b);
	}
	/* a null the largest value on either engine; said only where a key
	 * can be null, as SQLite walks an index only in its own null order */
	strbuf_puts(&sql, " ORDER BY ");
	for (int i = 0; i < q->nsort; i++)
		strbuf_printf(&sql, "%s %s, ", key_name(res, q->sort[i].field),
			      !nullable(res, q->sort[i].field) ? (q->sort[i].desc ? "DESC" : "ASC")
			      : q->sort[i].desc                ? "DESC NULLS FIRST"
							       : "ASC NULLS LAST");
	strbuf_printf(&sql, "id %s LIMIT ?",
		      q->nsort && q->sort[q->nsort - 1].desc ? "DESC" : "ASC");
	bind_int_later(&b, q->limit + 1);
	struct db_stmt *stmt = sql.data ? db_prepare(db, sql.data) : NULL;
	strbuf_free(&sql);
	if (!stmt)
		return DB_ERROR;
	run_binds(stmt, &b);

	struct record *recs = xcalloc((size_t)q->limit + 1, sizeof *recs);
	if (!recs) {
		db_done(stmt);
		return DB_ERROR;
	}
	int n = 0, rc;
	while ((rc = db_step(stmt)) == DB_ROW && n < q->limit)
		read_record(stmt, res, &recs[n++]);
	*more = rc == DB_ROW;
	db_done(stmt);
	if (rc != DB_ROW && rc != DB_OK) {
		store_list_free(recs, n);
		return db_result(rc);
	}
	*out = recs;
	*count = n;
	return DB_OK;
}

int store_list_count(struct db *db, const struct resource *res, const struct list_query *q,
		     int64_t *count)
{
	struct strbuf sql = {0};
	struct binds b = {0};
	strbuf_printf(&sql, "SELECT count(*) FROM %s WHERE 1 = 1", res->name);
	where_filters(&sql, res, q, &b);
	struct db_stmt *stmt = sql.data ? db_prepare(db, sql.data) : NULL;
	strbuf_free(&sql);
	if (!stmt)
		return DB_ERROR;
	run_binds(stmt, &b);
	int rc = db_step(stmt);
	if (rc == DB_ROW)
		*count = db_column_int(stmt, 0);
	db_done(stmt);
	return rc == DB_ROW ? DB_OK : db_result(rc == DB_OK ? DB_ERROR : rc);
}

int store_each_of_patients(struct db *db, const struct resource *res, int64_t lo, int64_t hi,
			   bool (*fn)(void *cls, const struct record *rec), void *cls)
{
	const char *key = resource_field_index(res, "patient_id") >= 0 ? "patient_id" : "id";
	struct strbuf sql = {0};
	select_columns(&sql, res);
	strbuf_printf(&sql, " WHERE %s BETWEEN ? AND ? ORDER BY %s, id", key, key);
	struct db_stmt *stmt = sql.data ? db_prepare(db, sql.data) : NULL;
	strbuf_free(&sql);
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, lo);
	db_bind_int(stmt, 2, hi);
	int rc;
	struct record rec;
	while ((rc = db_step(stmt)) == DB_ROW) {
		read_record(stmt, res, &rec);
		bool go_on = fn(cls, &rec);
		record_clear(&rec);
		if (!go_on) {
			rc = DB_ERROR;
			break;
		}
	}
	db_done(stmt);
	return db_result(rc);
}

int store_registry_counts(struct db *db, struct registry_counts *out)
{
	static const char sql[] =
		"SELECT (SELECT count(*) FROM patients),"
		" (SELECT count(*) FROM patients WHERE vital_status = 'dead'),"
		" (SELECT count(*) FROM courses), (SELECT count(*) FROM outcomes),"
		" (SELECT count(*) FROM toxicities),"
		" (SELECT count(*) FROM courses c JOIN patients p ON p.id = c.patient_id"
		"  WHERE p.regimen <> 'il2_alone'),"
		" (SELECT min(enrolled_on) FROM patients),"
		" (SELECT max(CASE WHEN died_on IS NOT NULL THEN died_on"
		"  WHEN last_contact_on IS NOT NULL THEN last_contact_on ELSE enrolled_on END)"
		"  FROM patients),"
		" (SELECT at FROM audit ORDER BY seq DESC LIMIT 1)";
	struct db_stmt *stmt = db_prepare_static(db, sql);
	if (!stmt)
		return DB_ERROR;
	int rc = db_step(stmt);
	if (rc == DB_ROW) {
		int64_t *n[] = {&out->patients, &out->dead,       &out->courses,
				&out->outcomes, &out->toxicities, &out->companion_courses};
		for (int i = 0; i < 6; i++)
			*n[i] = db_column_int(stmt, i);
		db_column_text_into(stmt, 6, out->first_enrolled, sizeof out->first_enrolled);
		db_column_text_into(stmt, 7, out->last_date, sizeof out->last_date);
		db_column_text_into(stmt, 8, out->changed_at, sizeof out->changed_at);
	}
	db_done(stmt);
	return rc == DB_ROW ? DB_OK : db_result(rc == DB_OK ? DB_ERROR : rc);
}

/* A text value of its own: the same text, copied. */
static void own_text(struct value *v)
{
	if (v->kind != VALUE_TEXT)
		return;
	const char *text = v->s;
	*v = (struct value){.kind = VALUE_NULL};
	value_set_text(v, text);
}

void list_query_copy(struct list_query *dst, const struct list_query *src)
{
	*dst = *src;
	for (int i = 0; i < dst->nfilters; i++) {
		own_text(&dst->filters[i].value);
		for (int k = 0; k < dst->filters[i].nin; k++)
			own_text(&dst->filters[i].in[k]);
	}
	for (int i = 0; i < dst->nsort; i++)
		own_text(&dst->key[i]);
}

void list_query_clear(struct list_query *q)
{
	for (int i = 0; i < q->nfilters; i++) {
		value_set_null(&q->filters[i].value);
		for (int k = 0; k < q->filters[i].nin; k++)
			value_set_null(&q->filters[i].in[k]);
		q->filters[i].nin = 0;
	}
	q->nfilters = 0;
	for (int i = 0; i < q->nsort; i++)
		value_set_null(&q->key[i]);
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
	struct db_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, value);
	size_t n = 0, cap = 16;
	int64_t *out = xmalloc(cap * sizeof *out);
	int rc = DB_ERROR;
	while (out && (rc = db_step(stmt)) == DB_ROW) {
		if (n == cap) {
			int64_t *more = xrealloc(out, (cap *= 2) * sizeof *out);
			if (!more) {
				rc = DB_ERROR;
				break;
			}
			out = more;
		}
		out[n++] = db_column_int(stmt, 0);
	}
	db_done(stmt);
	if (rc != DB_OK) {
		free(out);
		out = NULL;
		n = 0;
	}
	*ids = out;
	*count = n;
	return db_result(rc);
}

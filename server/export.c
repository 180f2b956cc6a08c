/* The export (export.h): per batch of patients, their courses, outcomes and
 * toxicities are read by patient range (one indexed walk each), rendered
 * as JSON text with the members an import takes, and stitched into one
 * line per patient. */
#include "export.h"

#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "db.h"
#include "resources.h"
#include "store.h"
#include "util.h"

#define EXPORT_BATCH 256 /* patients a batch */

/* A child record's JSON text in the batch's buffer: its patient, its own
 * id and its course (courses: 0), at [at, at + len). */
struct piece {
	int64_t patient, id, course;
	size_t at, len;
};

struct pieces {
	struct piece *list;
	size_t n, cap;
	struct strbuf text;
	const struct resource *res;
	int parent_field; /* the link to the parent, left out (-1: none) */
	bool failed;
};

struct export
{
	struct db *db;
	bool own_db;
	struct list_query filters;
	bool gzip;
	struct gzip_stream gz;
	int64_t after, records;
	bool done;
	struct pieces kinds[3]; /* courses, outcomes, toxicities */
	struct strbuf line;
};

/* The members an import takes: the fields a client writes, set. */
static uint32_t members_of(const struct resource *res, const struct record *rec, int parent)
{
	uint32_t pick = 0;
	for (int i = 0; i < res->nfields; i++)
		if (i != parent && !(res->fields[i].flags & FIELD_DERIVED) &&
		    rec->v[i].kind != VALUE_NULL)
			pick |= 1u << (i + 1);
	return pick;
}

static bool keep_piece(void *cls, const struct record *rec)
{
	struct pieces *p = cls;
	if (!xgrow((void **)&p->list, &p->cap, p->n, sizeof *p->list)) {
		p->failed = true;
		return false;
	}
	int patient = resource_field_index(p->res, "patient_id");
	int course = resource_field_index(p->res, "course_id");
	struct piece *pc = &p->list[p->n++];
	pc->patient = rec->v[patient].i;
	pc->id = rec->id;
	pc->course = course >= 0 ? rec->v[course].i : 0;
	pc->at = p->text.len;
	record_write_json_picked(&p->text, p->res, rec, members_of(p->res, rec, p->parent_field));
	pc->len = p->text.len - pc->at;
	return !p->text.failed;
}

int export_open(struct db *db, const struct list_query *filters, bool gzip, struct export **out)
{
	struct export *e = xcalloc(1, sizeof *e);
	if (!e)
		return DB_ERROR;
	static const struct resource *const kinds[3] = {&courses_resource, &outcomes_resource,
							&toxicities_resource};
	for (int k = 0; k < 3; k++) {
		e->kinds[k].res = kinds[k];
		e->kinds[k].parent_field =
			resource_field_index(kinds[k], k == 0 ? "patient_id" : "course_id");
	}
	if (filters) {
		list_query_copy(&e->filters, filters);
		for (int i = 0; i < e->filters.nsort; i++) /* id order, always */
			value_set_null(&e->filters.key[i]);
		e->filters.nsort = 0;
	}
	e->gzip = gzip;
	int rc = DB_OK;
	if (gzip && !gzip_stream_begin(&e->gz))
		rc = DB_ERROR;
	e->db = db;
	if (rc == DB_OK && !db) {
		rc = db_open_another(&e->db);
		e->own_db = rc == DB_OK;
		if (rc == DB_OK)
			rc = db_read_through(e->db);
	}
	if (rc == DB_OK)
		rc = db_begin_read(e->db); /* one snapshot, to the end */
	if (rc != DB_OK) {
		export_close(e);
		return rc;
	}
	*out = e;
	return DB_OK;
}

/* The pieces of one patient, from *i on (they are by patient). */
static size_t span(const struct pieces *p, size_t *i, int64_t patient)
{
	while (*i < p->n && p->list[*i].patient < patient)
		(*i)++;
	size_t from = *i;
	while (*i < p->n && p->list[*i].patient == patient)
		(*i)++;
	return from;
}

static void nest(struct strbuf *line, const struct pieces *p, size_t from, size_t to,
		 int64_t course, const char *name)
{
	bool first = true;
	for (size_t j = from; j < to; j++) {
		const struct piece *pc = &p->list[j];
		if (pc->course != course)
			continue;
		strbuf_printf(line, first ? ",\"%s\":[" : ",", name);
		strbuf_append(line, p->text.data + pc->at, pc->len);
		first = false;
	}
	if (!first)
		strbuf_puts(line, "]");
}

int export_next(struct export *e, struct strbuf *out, bool *done)
{
	*done = e->done;
	if (e->done)
		return DB_OK;
	struct list_query q = e->filters;
	q.after = e->after;
	q.limit = EXPORT_BATCH;
	struct record *patients = NULL;
	int n = 0;
	bool more = false;
	int rc = store_list(e->db, &patients_resource, &q, &patients, &n, &more);
	for (int k = 0; k < 3 && rc == DB_OK && n > 0; k++) {
		struct pieces *p = &e->kinds[k];
		p->n = 0;
		p->text.len = 0;
		rc = store_each_of_patients(e->db, p->res, patients[0].id, patients[n - 1].id,
					    keep_piece, p);
		if (p->failed)
			rc = DB_ERROR;
	}
	size_t at[3] = {0, 0, 0};
	struct strbuf *line = &e->line;
	line->len = 0;
	for (int i = 0; i < n && rc == DB_OK; i++) {
		const struct record *pt = &patients[i];
		size_t from[3], to[3];
		for (int k = 0; k < 3; k++) {
			from[k] = span(&e->kinds[k], &at[k], pt->id);
			to[k] = at[k];
		}
		record_write_json_picked(line, &patients_resource, pt,
					 members_of(&patients_resource, pt, -1));
		line->len--; /* the closing brace: the courses go in first */
		const struct pieces *c = &e->kinds[0];
		for (size_t j = from[0]; j < to[0]; j++) {
			strbuf_puts(line, j == from[0] ? ",\"courses\":[" : ",");
			strbuf_append(line, c->text.data + c->list[j].at, c->list[j].len - 1);
			nest(line, &e->kinds[1], from[1], to[1], c->list[j].id, "outcomes");
			nest(line, &e->kinds[2], from[2], to[2], c->list[j].id, "toxicities");
			strbuf_puts(line, "}");
		}
		if (to[0] > from[0])
			strbuf_puts(line, "]");
		strbuf_puts(line, "}\n");
	}
	if (rc == DB_OK) {
		e->records += n;
		for (int k = 0; k < 3; k++)
			e->records += (int64_t)e->kinds[k].n;
		if (n > 0)
			e->after = patients[n - 1].id;
		e->done = !more;
		if (line->failed)
			rc = DB_ERROR;
		else if (e->gzip && (!gzip_stream_write(&e->gz, line->data, line->len, out) ||
				     (e->done && !gzip_stream_end(&e->gz, out))))
			rc = DB_ERROR;
		else if (!e->gzip)
			strbuf_append(out, line->data, line->len);
	}
	store_list_free(patients, n);
	*done = e->done;
	return rc;
}

int64_t export_records(const struct export *e)
{
	return e->records;
}

void export_close(struct export *e)
{
	if (!e)
		return;
	if (e->db) {
		db_rollback(e->db);
		if (e->own_db)
			db_close(e->db);
	}
	list_query_clear(&e->filters);
	gzip_stream_free(&e->gz);
	for (int k = 0; k < 3; k++) {
		free(e->kinds[k].list);
		strbuf_free(&e->kinds[k].text);
	}
	strbuf_free(&e->line);
	free(e);
}

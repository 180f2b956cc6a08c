/* NDJSON bulk import: each line is unpacked into its records, parent first,
 * and each record inserted exactly as a POST would insert it, with the
 * parent's id filled in. The first refused line stops the import; its
 * problems name the line and the path of the field inside it, e.g.
 * line 17, courses[0].outcomes[1].response.
 *
 * A line is handled in two steps. Staging parses it and validates every
 * record in it (record_from_json: no database), leaving a list of steps in
 * the order a sequential import meets them: a record to insert, or the
 * refusal that ends the line. Applying walks the steps on the writing
 * connection: references, insert, audit. import_stream() stages on a
 * second thread while the caller's thread applies, so parsing and
 * validation (a third of the work) run beside the writes; the answer is
 * the one a line-by-line import would give, as applying stops at the first
 * refusal in the same order.
 *
 * Staging on the second thread also makes each record's writing ahead:
 * its id, its timestamps, its parents' ids and its audit row, hash and
 * all (struct import_plan), and checks its rules against its parent from
 * the parent in the line, so the writer only inserts, many rows to a
 * statement (write_batch). This holds because the writer holds the write
 * transaction from before the plan is read to the end: nothing else can
 * take those ids or extend the chain, and a line refused on the way ends
 * the import, so no planned row is ever out of step with what was written
 * before it. */
#include "import.h"

#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "inject.h"
#include "log.h"
#include "record_insert.h"
#include "resources.h"
#include "store.h"
#include "store_import.h"
#include "store_summary.h"
#include "store_trust.h"
#include "util.h"

long import_chunk_lines = 10000;

/* What staging makes ahead of the writes: the next id of each resource and
 * the audit chain's head, both moved on by every record staged. */
struct import_plan {
	const struct audit_context *audit;
	int64_t next_id[4]; /* in the order of resources_all[] */
	int64_t seq;
	char hash[65];
};

/* res's place in resources_all[] (res is always one of them). */
static int kind_of(const struct resource *res)
{
	int kind = 0;
	while (resources_all[kind] != res)
		kind++;
	return kind;
}

/* One step of a staged line: a validated record (res set) or a refusal. */
struct step {
	const struct resource *res; /* NULL for a refusal */
	int parent;                 /* index of the enclosing record's step, or -1 */
	int parent_slot;            /* the field that takes the parent's id */
	char *path;                 /* where the record sits in the line ("" for the patient) */
	struct record rec;
	struct field_errors errs; /* what record_from_json found */
	bool made;                /* rec and row were made ahead (struct import_plan) */
	struct audit_row row;
	int status; /* a refusal: 422, with field and message */
	char *field, *message;
};

struct staged_line {
	struct step *steps;
	int n, cap;
	bool out_of_memory; /* staging ran short: the line cannot be trusted */
	bool ready;         /* every record made and checked: it only needs inserting */
	/* a ready line's patient summarised for the statistics, and its
	 * counters, made on the staging thread (store_summaries_of_records) */
	bool summarised;
	struct patient_summary summary;
	struct tally_buf tallies;
};

static struct step *add_step(struct staged_line *l)
{
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 16;
		struct step *steps = xrealloc(l->steps, (size_t)cap * sizeof *steps);
		if (!steps) {
			l->out_of_memory = true;
			return NULL;
		}
		l->steps = steps;
		l->cap = cap;
	}
	struct step *st = &l->steps[l->n++];
	memset(st, 0, sizeof *st);
	st->parent = -1;
	st->parent_slot = -1;
	return st;
}

static void refuse(struct staged_line *l, const char *field, const char *message)
{
	struct step *st = field ? add_step(l) : NULL;
	if (!st) {
		l->out_of_memory = true;
		return;
	}
	st->status = 422;
	st->field = xstrdup(field);
	st->message = xstrdup(message);
}

static void staged_line_free(struct staged_line *l)
{
	if (!l)
		return;
	if (l->summarised)
		summary_free(&l->summary);
	tally_buf_free(&l->tallies);
	for (int i = 0; i < l->n; i++) {
		struct step *st = &l->steps[i];
		free(st->path);
		free(st->field);
		free(st->message);
		if (st->res) {
			record_clear(&st->rec);
			field_errors_free(&st->errs);
		}
		if (st->made)
			audit_row_discard(&st->row);
	}
	free(l->steps);
	free(l);
}

static char *joined(const char *prefix, const char *name)
{
	return xasprintf("%s%s%s", prefix, *prefix && *name ? "." : "", name);
}

/* Where the i-th record of the array name sits under prefix, e.g.
 * courses[0].toxicities[3]: made for every nested record, so without
 * printf (a tenth of staging's formatting went to it). */
#define PATH_MAX_LEN 96
static void item_path(char out[PATH_MAX_LEN], const char *prefix, const char *name, size_t i)
{
	size_t plen = strlen(prefix), nlen = strlen(name), at = 0;
	if (plen + nlen + 26 > PATH_MAX_LEN) /* never: prefixes are courses[N] */
		abort();
	memcpy(out, prefix, plen);
	at = plen;
	if (plen)
		out[at++] = '.';
	memcpy(out + at, name, nlen);
	at += nlen;
	out[at++] = '[';
	at += format_int(out + at, (long long)i);
	out[at++] = ']';
	out[at] = '\0';
}

/* Takes the nested array key out of obj, checking it is an array; sets
 * *out to it (a new reference) or NULL when absent. False after a refusal. */
static bool take_array(struct staged_line *l, json_t *obj, const char *key, const char *prefix,
		       json_t **out)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v)
		return true;
	if (!json_is_array(v)) {
		char *path = joined(prefix, key);
		refuse(l, path, "must be an array");
		free(path);
		return false;
	}
	*out = json_incref(v);
	json_object_del(obj, key);
	return true;
}

/* Gives a valid staged record what its insert and audit would: the next
 * id, version 1, the time, its parents' ids (the course's, and the line's
 * patient's where the record derives it), a course's number when it has
 * none (the next after the line's earlier courses: its patient is new),
 * and the audit row after the plan's head. records_insert_made refuses a
 * record that its references would still change. A row short of memory
 * marks the line (stage_line). Then the record's rules against its parent
 * are checked here, from the parent in the line, as check_refs would check
 * them from the database; what they find ends the line. */
static void make_ahead(struct staged_line *l, struct step *st, struct import_plan *plan)
{
	st->rec.id = plan->next_id[kind_of(st->res)]++;
	st->rec.version = 1;
	utc_now_rfc3339(st->rec.created_at);
	memcpy(st->rec.updated_at, st->rec.created_at, sizeof st->rec.updated_at);
	int root = st->parent; /* the line's patient, when the record has a parent */
	while (root >= 0 && l->steps[root].parent >= 0)
		root = l->steps[root].parent;
	if (st->parent >= 0) {
		value_set_int(&st->rec.v[st->parent_slot], l->steps[st->parent].rec.id);
		int patient = resource_field_index(st->res, "patient_id");
		if (patient >= 0 && patient != st->parent_slot)
			value_set_int(&st->rec.v[patient], l->steps[root].rec.id);
	}
	int number = st->res == &courses_resource ? resource_field_index(st->res, "number") : -1;
	if (number >= 0 && st->rec.v[number].kind == VALUE_NULL) {
		int64_t next = 1;
		for (struct step *other = l->steps; other < st; other++)
			if (other->res == st->res && other->rec.v[number].i >= next)
				next = other->rec.v[number].i + 1;
		value_set_int(&st->rec.v[number], next);
	}
	audit_row_make(&st->row, plan->audit, "create", st->res, st->rec.id, NULL, &st->rec,
		       plan->seq, plan->hash);
	st->made = true;
	plan->seq = st->row.seq;
	memcpy(plan->hash, st->row.hash, sizeof plan->hash);
	if (st->res->check_parent) {
		struct patient_facts patient = {0};
		struct course_facts course = {0};
		if (root >= 0)
			patient_facts_of(&l->steps[root].rec, &patient);
		if (root >= 0 && root != st->parent)
			course_facts_of(&l->steps[st->parent].rec, &patient, &course);
		st->res->check_parent(&st->rec, &patient, &course, &st->errs);
	}
}

/* Stages one record of res from obj, under the step parent (whose id goes
 * in parent_field). Returns its step's index, or -1 when the line ends here
 * (a refusal, or problems that applying will report). With a plan, a
 * valid record is made ahead. */
static int stage_record(struct staged_line *l, const struct resource *res, json_t *obj,
			const char *parent_field, int parent, const char *prefix,
			struct import_plan *plan)
{
	if (!json_is_object(obj)) {
		refuse(l, prefix, "must be a JSON object");
		return -1;
	}
	if (parent_field) {
		if (json_object_get(obj, parent_field)) {
			char *path = xasprintf("%s.%s", prefix, parent_field);
			refuse(l, path, "is set by the import from the enclosing record");
			free(path);
			return -1;
		}
		/* a stand-in id, valid wherever an id is; applying sets the real one */
		json_object_set_new(obj, parent_field, json_integer(1));
	}
	struct step *st = add_step(l);
	if (!st)
		return -1;
	int index = l->n - 1;
	st->res = res;
	st->parent = parent;
	st->parent_slot = parent_field ? resource_field_index(res, parent_field) : -1;
	st->path = xstrdup(prefix);
	field_errors_init(&st->errs);
	record_from_json(res, obj, NULL, &st->rec, &st->errs);
	if (field_errors_any(&st->errs))
		return -1;
	if (plan)
		make_ahead(l, st, plan);
	return field_errors_any(&st->errs) ? -1 : index;
}

static bool stage_course(struct staged_line *l, json_t *course, int patient, const char *prefix,
			 struct import_plan *plan)
{
	json_t *outcomes = NULL, *toxicities = NULL;
	if (!json_is_object(course)) {
		refuse(l, prefix, "must be a JSON object");
		return false;
	}
	bool ok = take_array(l, course, "outcomes", prefix, &outcomes) &&
		  take_array(l, course, "toxicities", prefix, &toxicities);
	int me =
		ok ? stage_record(l, &courses_resource, course, "patient_id", patient, prefix, plan)
		   : -1;
	ok = me >= 0;
	json_t *lists[2] = {outcomes, toxicities};
	const struct resource *children[2] = {&outcomes_resource, &toxicities_resource};
	for (int k = 0; k < 2 && ok; k++) {
		size_t i;
		json_t *item;
		json_array_foreach(lists[k], i, item)
		{
			char path[PATH_MAX_LEN];
			item_path(path, prefix, children[k]->name, i);
			ok = stage_record(l, children[k], item, "course_id", me, path, plan) >= 0;
			if (!ok)
				break;
		}
	}
	json_decref(outcomes);
	json_decref(toxicities);
	return ok;
}

/* Parses and validates one line, and makes its records ahead when a plan
 * is given; never touches the database. NULL, or marked, when memory ran
 * out (util.h: the thread's flag tells). */
/* A ready line's patient, summarised here on the staging thread so that
 * the writer only writes the row and adds the counters. Without memory
 * the writer summarises the batch itself. */
static void summarise_line(struct staged_line *l)
{
	struct record *recs[4][l->n];
	struct summary_records kinds[4];
	for (int k = 0; k < 4; k++)
		kinds[k] = (struct summary_records){resources_all[k], recs[k], 0};
	for (int i = 0; i < l->n; i++) {
		int k = kind_of(l->steps[i].res);
		recs[k][kinds[k].n++] = &l->steps[i].rec;
	}
	if (kinds[0].n == 1)
		l->summarised = store_summaries_of_records(kinds, &l->summary, &l->tallies);
}

static struct staged_line *stage_line(const char *line, size_t len, struct import_plan *plan)
{
	struct staged_line *l = xcalloc(1, sizeof *l);
	if (!l)
		return NULL;
	size_t start = 0;
	while (start < len && (line[start] == ' ' || line[start] == '\t' || line[start] == '\r'))
		start++;
	if (start == len)
		return l;
	json_error_t err;
	json_t *patient = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	if (!patient) {
		char msg[256];
		snprintf(msg, sizeof msg, "is not valid JSON: %s (column %d)", err.text,
			 err.column);
		refuse(l, "", msg);
		return l;
	}
	json_t *courses = NULL;
	int me = -1;
	if (!json_is_object(patient))
		refuse(l, "", "a line must be a JSON object: one patient");
	else if (take_array(l, patient, "courses", "", &courses))
		me = stage_record(l, &patients_resource, patient, NULL, -1, "", plan);
	size_t i;
	json_t *course;
	json_array_foreach(courses, i, course)
	{
		if (me < 0)
			break;
		char path[PATH_MAX_LEN];
		item_path(path, "", "courses", i);
		if (!stage_course(l, course, me, path, plan))
			break;
	}
	json_decref(courses);
	json_decref(patient);
	if (alloc_failure_seen())
		l->out_of_memory = true;
	/* a made record of a resource with check_parent was checked against its
	 * parent (make_ahead): its references need no database */
	l->ready = !l->out_of_memory;
	for (int k = 0; k < l->n && l->ready; k++) {
		const struct step *st = &l->steps[k];
		l->ready = st->res && st->made && st->res->check_parent &&
			   !field_errors_any(&st->errs);
	}
	if (l->ready && l->n > 0)
		summarise_line(l);
	return l;
}

static void line_error(struct import_session *s, int status, const char *field, const char *msg)
{
	if (!s->status)
		s->status = status;
	json_array_append_new(s->errors,
			      json_pack("{s:I, s:s, s:s}", "line", (json_int_t)s->counts.lines,
					"field", field, "message", msg));
}

/* Copies errs into s->errors with each field prefixed by where it sits. */
static void nested_errors(struct import_session *s, const char *prefix, struct field_errors *errs)
{
	size_t i;
	json_t *e;
	json_array_foreach(errs->list, i, e)
	{
		char *path = joined(prefix, json_string_value(json_object_get(e, "field")));
		line_error(s, 422, path, json_string_value(json_object_get(e, "message")));
		free(path);
	}
}

/* One more record of res imported. */
static void count(struct import_session *s, const struct resource *res)
{
	int64_t *per_kind[4] = {&s->counts.patients, &s->counts.courses, &s->counts.outcomes,
				&s->counts.toxicities}; /* in the order of resources_all[] */
	(*per_kind[kind_of(res)])++;
}

/* Writes a staged line's records in order, stopping at the first refusal.
 * Returns 0, 1 when the line was refused, or a DB_ code. */
static int apply_line(struct import_session *s, struct staged_line *l)
{
	s->counts.lines++;
	if (!l || l->out_of_memory) {
		alloc_failure_note(); /* on this thread too, for the answer's check */
		return DB_ERROR;
	}
	for (int i = 0; i < l->n; i++) {
		struct step *st = &l->steps[i];
		if (!st->res) {
			line_error(s, st->status, st->field, st->message);
			return 1;
		}
		if (field_errors_any(&st->errs)) {
			nested_errors(s, st->path, &st->errs);
			return 1;
		}
		if (st->parent >= 0 && !st->made) /* a made record has it already */
			value_set_int(&st->rec.v[st->parent_slot], l->steps[st->parent].rec.id);
		struct field_errors errs;
		field_errors_init(&errs);
		int rc = st->made ? records_insert_made(s->db, st->res, &st->rec, &st->row, &errs)
				  : records_insert_valid(s->db, s->audit, st->res, &st->rec, &errs);
		if (rc == DB_CONFLICT) {
			char *path = joined(st->path, st->res->unique_field);
			line_error(s, 409, path, "is already used by another record");
			free(path);
			rc = 1;
		} else if (rc == DB_OK && field_errors_any(&errs)) {
			nested_errors(s, st->path, &errs);
			rc = 1;
		}
		field_errors_free(&errs);
		if (rc != DB_OK)
			return rc;
		count(s, st->res);
	}
	return 0;
}

bool import_file_next(void *cls, const char **line, size_t *len)
{
	struct import_file *f = cls;
	ssize_t n = getline(&f->buf, &f->cap, f->in);
	if (n < 0)
		return false;
	*line = f->buf;
	*len = (size_t)n - (n > 0 && f->buf[n - 1] == '\n');
	return true;
}

bool import_file_rewind(void *cls)
{
	struct import_file *f = cls;
	return fseek(f->in, 0, SEEK_SET) == 0;
}

int import_begin(struct import_session *s, struct db *db, const struct audit_context *audit)
{
	memset(s, 0, sizeof *s);
	s->db = db;
	s->audit = audit;
	s->errors = json_array();
	int rc = db_begin_write(db);
	if (rc == DB_OK && (rc = store_import_start(db, resources_all, &s->start)) != DB_OK)
		db_rollback(db);
	if (rc == DB_OK) {
		audit_import_running(true); /* its mark is its own */
		/* every record was validated as a POST's is (staging), which
		 * refuses whatever the schema's CHECKs would: evaluating them again
		 * took the writer a tenth of its time; and its cache grows with the
		 * database. Should this fail, the CHECKs run. */
		db_bulk_writes(db, true);
		s->bulk = true;
	}
	return rc;
}

/* The lines written so far made durable, with the mark of an unfinished
 * import reaching to them and the counters written; the writer kept. */
static int commit_chunk(struct import_session *s)
{
	int rc = store_import_mark(s->db, &s->start);
	if (rc == DB_OK)
		rc = store_tallies_add(s->db, &s->tallies);
	s->tallies.merged = 0;
	if (rc != DB_OK)
		return rc;
	s->marked = true;
	rc = db_commit_continue(s->db);
	if (rc == DB_OK)
		s->committed_lines = s->counts.lines;
	inject_pause("import-chunk");
	return rc;
}

/* What the import committed taken back, what it had not rolled back; the
 * writer kept, a transaction open. */
static int take_back(struct import_session *s)
{
	int64_t patients = 0;
	int rc = db_undo_continue(s->db);
	if (rc == DB_OK)
		rc = store_import_undo(s->db, resources_all, &patients);
	if (rc == DB_OK)
		rc = db_commit_continue(s->db);
	if (rc == DB_OK)
		s->marked = false;
	else
		log_write(LOG_ERROR, "an import could not be taken back",
			  json_pack("{s:I, s:s}", "patients_taken_back", (json_int_t)patients,
				    "then", "the next start takes back the rest"));
	return rc;
}

int import_take_back_unfinished(struct db *db)
{
	int64_t patients = 0;
	int rc = db_begin_write(db);
	if (rc == DB_OK && (rc = store_import_undo(db, resources_all, &patients)) == DB_OK)
		rc = db_commit(db);
	else if (rc != DB_OK)
		db_rollback(db);
	if (patients > 0 || rc != DB_OK)
		log_write(rc == DB_OK ? LOG_WARN : LOG_ERROR,
			  rc == DB_OK ? "an import that did not finish was taken back"
				      : "an import that did not finish could not be taken back",
			  json_pack("{s:I}", "patients_taken_back", (json_int_t)patients));
	return rc;
}

int import_line(struct import_session *s, const char *line, size_t len)
{
	struct staged_line *l = stage_line(line, len, NULL);
	int rc = apply_line(s, l);
	staged_line_free(l);
	return rc;
}

/* --- staging on a second thread ----------------------------------------- */

/* The stager fills a ring of staged lines; the writer applies them in
 * order. Each side sleeps only when it must (the ring full, or empty) and is
 * woken only when the other side has one to give it: the writer when a line
 * comes, the stager once half the ring is free again. Lines are freed by the
 * stager, which allocated them, so the writer spends none of its time (the
 * import's bottleneck) on free() into another thread's arena. */
#define STAGED_AHEAD 256

struct pipeline {
	pthread_mutex_t lock;
	pthread_cond_t line_put, room;
	struct staged_line *ring[STAGED_AHEAD];
	size_t put;   /* lines put by the stager */
	size_t taken; /* lines the writer is done with: [.., taken) are the stager's to free */
	size_t freed; /* the stager's own: lines [.., freed) are freed */
	bool done;    /* the stager has put its last line */
	bool stop;    /* the writer wants no more */
	bool writer_waiting, stager_waiting;
	import_next_line next;
	void *cls;
	struct import_plan *plan; /* or NULL: the writer makes each record itself */
	size_t careful_from;      /* batches reaching past this line (0-based) get a savepoint */
	size_t refused_from;      /* IMPORT_REPLAY: the first line of the batch refused */
};

static void *stager(void *arg)
{
	struct pipeline *p = arg;
	const char *line;
	size_t len;
	while (p->next(p->cls, &line, &len)) {
		alloc_failure_clear(); /* this thread's own: each line is judged alone */
		struct staged_line *l = stage_line(line, len, p->plan);
		pthread_mutex_lock(&p->lock);
		while (p->put - p->taken == STAGED_AHEAD && !p->stop) {
			p->stager_waiting = true;
			pthread_cond_wait(&p->room, &p->lock);
			p->stager_waiting = false;
		}
		bool stop = p->stop;
		size_t taken = p->taken;
		pthread_mutex_unlock(&p->lock);
		for (; p->freed < taken; p->freed++)
			staged_line_free(p->ring[p->freed % STAGED_AHEAD]);
		if (stop) {
			staged_line_free(l);
			break;
		}
		pthread_mutex_lock(&p->lock);
		p->ring[p->put % STAGED_AHEAD] = l;
		p->put++;
		if (p->writer_waiting)
			pthread_cond_signal(&p->line_put);
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_lock(&p->lock);
	p->done = true;
	if (p->writer_waiting)
		pthread_cond_signal(&p->line_put);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Ready lines (every record made and checked) are written BATCH_LINES at a
 * time, each table's rows several to a statement (store_insert_many). The
 * result is the one the lines would give one by one: the same ids and
 * rows, parents before children.
 *
 * A batch can still be refused by a constraint staging cannot see (a
 * patient's code already used, two courses of one number). Only then does
 * it matter which line was at fault, and finding it needs the database as
 * it was before the batch. The first pass does not pay for that on every
 * batch: when a batch is refused it gives up (IMPORT_REPLAY), and
 * import_stream undoes the import and runs it again from the first line,
 * the batches before the refused one as before and from it on carefully:
 * each batch in a part of the transaction of its own, undone when refused
 * and its lines then applied one by one, which names the line and field.
 * An input that cannot be read twice is imported carefully from the start. (A savepoint per batch
 * copied every page the batch touched into the sub-journal first: a tenth of the writer's time.) */
#define BATCH_LINES   64
#define IMPORT_REPLAY 2

struct batch {
	struct record **recs[4]; /* in the order of resources_all[] */
	int nrecs[4];
	const struct audit_row **rows;
	int nrows;
	int cap; /* of each array: records (and rows) of the lines at most */
};

static void batch_free(struct batch *b)
{
	for (int k = 0; k < 4; k++)
		free(b->recs[k]);
	free(b->rows);
}

/* Takes lines' records and rows into b; false when memory ran out. */
static bool batch_fill(struct batch *b, struct pipeline *p, size_t from, size_t to)
{
	int total = 0;
	for (size_t i = from; i < to; i++)
		total += p->ring[i % STAGED_AHEAD]->n;
	if (total > b->cap) {
		for (int k = 0; k < 4; k++) {
			struct record **recs = xrealloc(b->recs[k], (size_t)total * sizeof *recs);
			if (!recs)
				return false;
			b->recs[k] = recs;
		}
		const struct audit_row **rows = xrealloc(b->rows, (size_t)total * sizeof *rows);
		if (!rows)
			return false;
		b->rows = rows;
		b->cap = total;
	}
	memset(b->nrecs, 0, sizeof b->nrecs);
	b->nrows = 0;
	for (size_t i = from; i < to; i++) {
		struct staged_line *l = p->ring[i % STAGED_AHEAD];
		for (int j = 0; j < l->n; j++) {
			struct step *st = &l->steps[j];
			int kind = kind_of(st->res);
			b->recs[kind][b->nrecs[kind]++] = &st->rec;
			b->rows[b->nrows++] = &st->row;
		}
	}
	return true;
}

/* The batch's patients (each line is one, with all of its records) are
 * summarised for the statistics once their records are in: from the
 * summaries the staging thread made, or here from the records made when a
 * line has none; their counters wait in pending. */
static int summarise_batch(struct db *db, const struct batch *b, struct pipeline *p, size_t from,
			   size_t to, struct tally_buf *pending)
{
	bool all = true;
	for (size_t i = from; i < to && all; i++)
		all = p->ring[i % STAGED_AHEAD]->summarised || p->ring[i % STAGED_AHEAD]->n == 0;
	if (!all) {
		struct summary_records kinds[4];
		for (int k = 0; k < 4; k++)
			kinds[k] =
				(struct summary_records){resources_all[k], b->recs[k], b->nrecs[k]};
		return store_summaries_add_records(db, kinds, pending);
	}
	const struct patient_summary **each = xcalloc(to - from + 1, sizeof *each);
	if (!each)
		return DB_ERROR;
	size_t n = 0;
	int rc = DB_OK;
	for (size_t i = from; i < to && rc == DB_OK; i++) {
		struct staged_line *l = p->ring[i % STAGED_AHEAD];
		if (l->n == 0)
			continue; /* a blank line */
		each[n++] = &l->summary;
		if (!tally_append(pending, &l->tallies))
			rc = DB_ERROR;
	}
	if (rc == DB_OK)
		rc = store_summaries_keep_each(db, each, n); /* one patient a line */
	free(each);
	return rc;
}

/* Writes the ready lines [from, to) of the ring; 0, 1 when a line was
 * refused, IMPORT_REPLAY (not careful), or a DB_ code. */
static int write_batch(struct import_session *s, struct batch *b, struct pipeline *p, size_t from,
		       size_t to)
{
	if (from == to)
		return 0;
	if (!batch_fill(b, p, from, to))
		return DB_ERROR;
	bool careful = to > p->careful_from;
	int rc = careful ? db_part_begin(s->db) : DB_OK;
	for (int k = 0; k < 4 && rc == DB_OK; k++)
		rc = store_insert_many(s->db, resources_all[k], b->recs[k], b->nrecs[k]);
	if (rc == DB_OK)
		rc = audit_rows_append(s->db, b->rows, b->nrows);
	struct tally_buf batch_tallies = {0};
	if (rc == DB_OK)
		rc = summarise_batch(s->db, b, p, from, to, &batch_tallies);
	if (rc == DB_OK && (!careful || (rc = db_part_end(s->db, true)) == DB_OK)) {
		/* the batch is in: its counters join the import's */
		rc = tally_append(&s->tallies, &batch_tallies) ? DB_OK : DB_ERROR;
		tally_buf_free(&batch_tallies);
		if (rc == DB_OK)
			rc = store_tallies_note(s->db, &s->tallies);
		if (rc != DB_OK)
			return rc;
		for (size_t i = from; i < to; i++) {
			struct staged_line *l = p->ring[i % STAGED_AHEAD];
			s->counts.lines++;
			for (int j = 0; j < l->n; j++)
				count(s, l->steps[j].res);
		}
		return 0;
	}
	tally_buf_free(&batch_tallies);
	if (rc != DB_CONFLICT && rc != DB_CONSTRAINT)
		return rc;
	if (!careful) {
		p->refused_from = from;
		return IMPORT_REPLAY;
	}
	if ((rc = db_part_end(s->db, false)) != DB_OK)
		return rc;
	for (size_t i = from; i < to && rc == 0; i++)
		rc = apply_line(s, p->ring[i % STAGED_AHEAD]);
	return rc;
}

/* Applies every line the stager puts, in order, taking all that are ready
 * at once; stops at the first line that does not apply. Lines [from, upto)
 * wait in the batch: the stager frees none of them yet. */
static int apply_all(struct import_session *s, struct pipeline *p)
{
	int rc = 0;
	size_t upto = 0, from = 0;
	struct batch b = {0};
	pthread_mutex_lock(&p->lock);
	for (;;) {
		p->taken = from;
		if (p->stager_waiting && p->put - p->taken <= STAGED_AHEAD / 2)
			pthread_cond_signal(&p->room);
		if (rc != 0)
			break;
		while (upto == p->put && !p->done) {
			p->writer_waiting = true;
			pthread_cond_wait(&p->line_put, &p->lock);
			p->writer_waiting = false;
		}
		size_t end = p->put;
		pthread_mutex_unlock(&p->lock);
		if (upto == end) { /* the last line is in */
			rc = write_batch(s, &b, p, from, upto);
			pthread_mutex_lock(&p->lock);
			break;
		}
		while (upto < end && rc == 0) {
			struct staged_line *l = p->ring[upto % STAGED_AHEAD];
			if (!l->ready) {
				rc = write_batch(s, &b, p, from, upto);
				if (rc == 0)
					rc = apply_line(s, l);
				from = ++upto;
			} else if (++upto - from == BATCH_LINES) {
				rc = write_batch(s, &b, p, from, upto);
				from = upto;
				/* not after the last batch: import_end commits that */
				if (rc == 0 && import_chunk_lines > 0 &&
				    s->counts.lines - s->committed_lines >= import_chunk_lines)
					rc = commit_chunk(s);
			}
		}
		pthread_mutex_lock(&p->lock);
	}
	batch_free(&b);
	p->stop = true;
	if (p->stager_waiting)
		pthread_cond_signal(&p->room);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* Where the ids and the audit chain stand, in the writer's transaction: the
 * ids where the import began (import_begin read them; every pass starts
 * there, the one before rolled or taken back), the chain's head read now;
 * false when it cannot be (the writer then makes each record). */
static bool plan_from(const struct import_session *s, struct import_plan *plan)
{
	plan->audit = s->audit;
	memcpy(plan->next_id, s->start.from, sizeof plan->next_id);
	return audit_head(s->db, &plan->seq, plan->hash) == DB_OK;
}

/* One pass over the input: the stager on a second thread, this one
 * writing. */
static int run_pipeline(struct import_session *s, import_next_line next, void *cls,
			size_t *careful_from)
{
	struct import_plan plan;
	struct pipeline p = {.next = next, .cls = cls, .careful_from = *careful_from};
	p.plan = plan_from(s, &plan) ? &plan : NULL;
	pthread_t thread;
	int rc = 0;
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.line_put, NULL);
	pthread_cond_init(&p.room, NULL);
	if (pthread_create(&thread, NULL, stager, &p) != 0) {
		/* no second thread to be had: the same work, one line at a time */
		const char *line;
		size_t len;
		while (rc == 0 && next(cls, &line, &len))
			rc = import_line(s, line, len);
		goto out;
	}
	rc = apply_all(s, &p);
	pthread_join(thread, NULL);
	/* what the stager had not freed: the lines applied since it last
	 * looked, and those put after the writer stopped */
	for (; p.freed < p.put; p.freed++)
		staged_line_free(p.ring[p.freed % STAGED_AHEAD]);
	if (rc == IMPORT_REPLAY)
		*careful_from = p.refused_from;
out:
	pthread_cond_destroy(&p.room);
	pthread_cond_destroy(&p.line_put);
	pthread_mutex_destroy(&p.lock);
	return rc;
}

int import_stream(struct import_session *s, import_next_line next, import_rewind rewind, void *cls)
{
	size_t careful_from = rewind ? SIZE_MAX : 0;
	int rc = run_pipeline(s, next, cls, &careful_from);
	/* A batch was refused: all of it again from a clean start, the batches
	 * before the refused one as fast as the first time (they went in
	 * then), the rest carefully. Should one of those be refused now (a
	 * concurrent write), a last pass is careful throughout. */
	for (int pass = 0; rc == IMPORT_REPLAY && pass < 2; pass++) {
		if (s->marked) {
			if ((rc = take_back(s)) != DB_OK)
				return rc;
		} else {
			db_rollback(s->db);
			if ((rc = db_begin_write(s->db)) != DB_OK)
				return rc;
		}
		tally_buf_clear(&s->tallies);
		json_array_clear(s->errors);
		memset(&s->counts, 0, sizeof s->counts);
		s->committed_lines = 0;
		s->status = 0;
		if (!rewind(cls))
			return DB_ERROR;
		if (pass == 1)
			careful_from = 0;
		rc = run_pipeline(s, next, cls, &careful_from);
	}
	return rc == IMPORT_REPLAY ? DB_ERROR : rc;
}

int import_end(struct import_session *s, int commit)
{
	/* while the writer is still the import's: taking back runs checked too,
	 * and the cache it grew is given back */
	if (s->bulk)
		db_bulk_writes(s->db, false);
	s->bulk = false;
	int rc = DB_OK;
	if (commit && !s->status)
		rc = store_tallies_add(s->db, &s->tallies);
	if (commit && !s->status && rc == DB_OK && s->marked) {
		/* the last chunk with the mark dropped, then the writer let go */
		rc = store_import_unmark(s->db);
		if (rc == DB_OK && (rc = db_commit_continue(s->db)) == DB_OK)
			s->marked = false;
	}
	if (s->marked) {
		int undone = take_back(s);
		rc = rc != DB_OK ? rc : undone;
		if (undone == DB_OK)
			db_commit(s->db);
		else
			db_rollback(s->db);
	} else if (commit && !s->status && rc == DB_OK) {
		rc = db_commit(s->db);
	} else {
		db_rollback(s->db);
	}
	audit_import_running(false);
	tally_buf_free(&s->tallies);
	json_decref(s->errors);
	s->errors = NULL;
	/* the pages the writer's cache took for the import, freed as the
	 * commit let them go, given back to the system (the allocator keeps
	 * freed memory otherwise: the server stayed 120 MiB larger) */
	malloc_trim(0);
	return rc;
}

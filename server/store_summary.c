/* The statistics kept up to date as writes happen (summary.h): each
 * patient's summary (patient_summaries) and the tallies the statistics read
 * (tallies), changed in the transaction of the write, by the difference
 * between the patient's counters before and after it, so that a write
 * costs what it touches and a statistic reads counters, whatever the
 * registry's size. An inserted course, outcome or toxicity changes the
 * summary kept for its patient by itself (with the worst grades a toxicity
 * may raise read from its patient's and course's toxicities); an update, a
 * delete, or an outcome that is a new first CR summarises the patient from
 * its rows (a handful, by index) before, and after from the same rows as
 * the write changed them; a bulk import's patients are summarised from the
 * records it made. Summarising before, rather than keeping every input of
 * the tallies (each unit's worst grade per term), keeps an import from
 * writing two rows more for every toxicity. Every statement here is in the
 * dialect the engines share (INSERT ... ON CONFLICT is SQLite's and
 * PostgreSQL's). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_summary.h"
#include "util.h"

/* patients refreshed per flush of the tallies in a rebuild */
#define REBUILD_CHUNK 1024

static void input_free(struct summary_input *in)
{
	free(in->courses);
	free(in->outcomes);
	free(in->toxicities);
	memset(in, 0, sizeof *in);
}

/* The patient and its courses, outcomes and toxicities; *exists false
 * when there is no such patient. */
static int read_input(struct db *db, int64_t id, struct summary_input *in, bool *exists)
{
	memset(in, 0, sizeof *in);
	struct db_stmt *stmt = db_prepare_static(
		db, "SELECT regimen, histology, setting, "
		    "CASE vital_status WHEN 'dead' THEN 1 ELSE 0 END, died_on, last_contact_on "
		    "FROM patients WHERE id = ?1");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, id);
	int rc = db_step(stmt);
	*exists = rc == DB_ROW;
	if (rc == DB_ROW) {
		db_column_text_into(stmt, 0, in->regimen, sizeof in->regimen);
		db_column_text_into(stmt, 1, in->histology, sizeof in->histology);
		db_column_text_into(stmt, 2, in->setting, sizeof in->setting);
		in->dead = db_column_int(stmt, 3) != 0;
		db_column_text_into(stmt, 4, in->died_on, sizeof in->died_on);
		db_column_text_into(stmt, 5, in->last_contact_on, sizeof in->last_contact_on);
	}
	db_done(stmt);
	if (rc != DB_ROW)
		return db_result(rc);

	size_t cap = 0;
	stmt = db_prepare_static(
		db, "SELECT id, started_on, ended_on FROM courses WHERE patient_id = ?1");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, id);
	while ((rc = db_step(stmt)) == DB_ROW) {
		if (!xgrow((void **)&in->courses, &cap, in->ncourses, sizeof *in->courses)) {
			rc = DB_ERROR;
			break;
		}
		struct summary_course *c = &in->courses[in->ncourses++];
		memset(c, 0, sizeof *c);
		c->id = db_column_int(stmt, 0);
		db_column_text_into(stmt, 1, c->started_on, sizeof c->started_on);
		db_column_text_into(stmt, 2, c->ended_on, sizeof c->ended_on);
	}
	db_done(stmt);
	if (rc != DB_OK)
		return db_result(rc);

	cap = 0;
	stmt = db_prepare_static(db, "SELECT id, assessed_on, response, confirmed FROM outcomes "
				     "WHERE patient_id = ?1");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, id);
	while ((rc = db_step(stmt)) == DB_ROW) {
		if (!xgrow((void **)&in->outcomes, &cap, in->noutcomes, sizeof *in->outcomes)) {
			rc = DB_ERROR;
			break;
		}
		struct summary_outcome *o = &in->outcomes[in->noutcomes++];
		memset(o, 0, sizeof *o);
		o->id = db_column_int(stmt, 0);
		db_column_text_into(stmt, 1, o->assessed_on, sizeof o->assessed_on);
		db_column_text_into(stmt, 2, o->response, sizeof o->response);
		o->confirmed = db_column_int(stmt, 3) != 0;
	}
	db_done(stmt);
	if (rc != DB_OK)
		return db_result(rc);

	cap = 0;
	stmt = db_prepare_static(db, "SELECT course_id, term, grade, onset_on, resolved_on, id "
				     "FROM toxicities WHERE patient_id = ?1");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, id);
	while ((rc = db_step(stmt)) == DB_ROW) {
		if (!xgrow((void **)&in->toxicities, &cap, in->ntoxicities,
			   sizeof *in->toxicities)) {
			rc = DB_ERROR;
			break;
		}
		struct summary_toxicity *t = &in->toxicities[in->ntoxicities++];
		memset(t, 0, sizeof *t);
		t->course_id = db_column_int(stmt, 0);
		db_column_text_into(stmt, 1, t->term, sizeof t->term);
		t->grade = (int)db_column_int(stmt, 2);
		db_column_text_into(stmt, 3, t->onset_on, sizeof t->onset_on);
		db_column_text_into(stmt, 4, t->resolved_on, sizeof t->resolved_on);
		t->id = db_column_int(stmt, 5);
	}
	db_done(stmt);
	return db_result(rc);
}

static int run_id(struct db *db, const char *sql, int64_t id)
{
	struct db_stmt *stmt = db_prepare_static(db, sql);
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, id);
	int rc = db_step(stmt);
	db_done(stmt);
	return db_result(rc);
}

static const char summaries_head[] =
	"INSERT INTO patient_summaries (patient_id, regimen, histology, setting, courses, "
	"first_start, latest, dead, died_on, best, best_confirmed, first_cr, first_cr_confirmed, "
	"recurred, recurred_confirmed, first_pd, last_assessed, first_response, "
	"first_response_confirmed, progressed, progressed_confirmed)";
static const char summaries_tail[] =
	"ON CONFLICT (patient_id) DO UPDATE SET regimen = excluded.regimen, "
	"histology = excluded.histology, setting = excluded.setting, "
	"courses = excluded.courses, first_start = excluded.first_start, "
	"latest = excluded.latest, dead = excluded.dead, died_on = excluded.died_on, "
	"best = excluded.best, best_confirmed = excluded.best_confirmed, "
	"first_cr = excluded.first_cr, first_cr_confirmed = excluded.first_cr_confirmed, "
	"recurred = excluded.recurred, recurred_confirmed = excluded.recurred_confirmed, "
	"first_pd = excluded.first_pd, last_assessed = excluded.last_assessed, "
	"first_response = excluded.first_response, "
	"first_response_confirmed = excluded.first_response_confirmed, "
	"progressed = excluded.progressed, progressed_confirmed = excluded.progressed_confirmed";

/* Binds summary i of an array of pointers (db_upsert_rows). */
static void bind_summary(struct db_stmt *stmt, int at, int i, const void *cls)
{
	const struct patient_summary *s = ((const struct patient_summary *const *)cls)[i];
	db_bind_int(stmt, at, s->patient_id);
	db_bind_text(stmt, at + 1, s->regimen);
	db_bind_text(stmt, at + 2, s->histology);
	db_bind_text(stmt, at + 3, s->setting);
	db_bind_int(stmt, at + 4, s->courses);
	db_bind_text(stmt, at + 5, s->first_start);
	db_bind_text(stmt, at + 6, s->latest);
	db_bind_int(stmt, at + 7, s->dead);
	db_bind_text(stmt, at + 8, s->died_on);
	db_bind_int(stmt, at + 9, s->best[READ_ANY]);
	db_bind_int(stmt, at + 10, s->best[READ_CONFIRMED]);
	db_bind_text(stmt, at + 11, s->first_cr[READ_ANY]);
	db_bind_text(stmt, at + 12, s->first_cr[READ_CONFIRMED]);
	db_bind_int(stmt, at + 13, s->recurred[READ_ANY]);
	db_bind_int(stmt, at + 14, s->recurred[READ_CONFIRMED]);
	db_bind_text(stmt, at + 15, s->first_pd);
	db_bind_text(stmt, at + 16, s->last_assessed);
	db_bind_text(stmt, at + 17, s->first_response[READ_ANY]);
	db_bind_text(stmt, at + 18, s->first_response[READ_CONFIRMED]);
	db_bind_text(stmt, at + 19, s->progressed[READ_ANY]);
	db_bind_text(stmt, at + 20, s->progressed[READ_CONFIRMED]);
}

/* Writes n summaries of distinct patients, several to a statement. */
static int keep_summaries(struct db *db, const struct patient_summary *const *s, size_t n)
{
	return n ? db_upsert_rows(db, summaries_head, summaries_tail, 21, (int)n, bind_summary, s)
		 : DB_OK;
}

static int keep_summary(struct db *db, const struct patient_summary *s)
{
	return keep_summaries(db, &s, 1);
}

static void bind_tally(struct db_stmt *stmt, int at, int i, const void *cls)
{
	const struct tally *t = &((const struct tally *)cls)[i];
	db_bind_text(stmt, at, tally_kind_names[t->kind]);
	db_bind_text(stmt, at + 1, t->regimen);
	db_bind_text(stmt, at + 2, t->histology);
	db_bind_text(stmt, at + 3, t->setting);
	db_bind_text(stmt, at + 4, tally_term(t));
	db_bind_int(stmt, at + 5, t->key);
	db_bind_int(stmt, at + 6, t->n);
}

/* Adds the merged counters to the tallies, several to a statement (merged,
 * no two have one key); a counter that comes to 0 stays (read as absent). */
static int add_tallies(struct db *db, struct tally_buf *buf)
{
	tally_merge(buf);
	int rc = buf->n ? db_upsert_rows(db,
					 "INSERT INTO tallies (kind, regimen, histology, setting, "
					 "term, k, n)",
					 "ON CONFLICT (kind, regimen, histology, setting, term, k) "
					 "DO UPDATE SET n = tallies.n + excluded.n",
					 7, (int)buf->n, bind_tally, buf->t)
			: DB_OK;
	tally_buf_clear(buf);
	return rc;
}

int store_tallies_add(struct db *db, struct tally_buf *buf)
{
	return add_tallies(db, buf);
}

/* Pending counters are merged once there are twice as many as the last
 * merge left (and at least PENDING_MIN), so that merging costs a constant
 * share of the import however many distinct counters it has; and they are
 * written once a merge leaves more than PENDING_MAX (a bulk import's
 * memory stays bounded: a counter is about 140 bytes). A registry of
 * 100,000 patients has about 18,000 distinct counters. */
#define PENDING_MIN 16384
#define PENDING_MAX 131072

int store_tallies_note(struct db *db, struct tally_buf *pending)
{
	if (pending->n < PENDING_MIN || pending->n < 2 * pending->merged)
		return DB_OK;
	tally_merge(pending);
	pending->merged = pending->n;
	if (pending->n <= PENDING_MAX)
		return DB_OK;
	pending->merged = 0;
	return add_tallies(db, pending);
}

/* A field's text ("" when null). */
static const char *text_of(const struct record *rec, int field)
{
	const struct value *v = &rec->v[field];
	return v->kind == VALUE_TEXT && v->s ? v->s : "";
}

static int field_of(const struct resource *res, const char *name)
{
	int i = resource_field_index(res, name);
	if (i < 0)
		abort(); /* the summary reads fields every registry has: a programming error */
	return i;
}

/* The position of id in the ascending ids[0..n), or -1. */
static long position(const int64_t *ids, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && ids[lo] == id ? (long)lo : -1;
}

/* A patient's, a course's, an outcome's and a toxicity's fields as the
 * summary reads them, from a record of its resource. */
static void patient_fields(struct summary_input *in, const struct resource *res,
			   const struct record *p)
{
	copy_cut(in->regimen, sizeof in->regimen, text_of(p, field_of(res, "regimen")));
	copy_cut(in->histology, sizeof in->histology, text_of(p, field_of(res, "histology")));
	copy_cut(in->setting, sizeof in->setting, text_of(p, field_of(res, "setting")));
	in->dead = strcmp(text_of(p, field_of(res, "vital_status")), "dead") == 0;
	copy_cut(in->died_on, sizeof in->died_on, text_of(p, field_of(res, "died_on")));
	copy_cut(in->last_contact_on, sizeof in->last_contact_on,
		 text_of(p, field_of(res, "last_contact_on")));
}

static void course_row(struct summary_course *c, const struct resource *res,
		       const struct record *rec)
{
	memset(c, 0, sizeof *c);
	c->id = rec->id;
	copy_cut(c->started_on, sizeof c->started_on, text_of(rec, field_of(res, "started_on")));
	copy_cut(c->ended_on, sizeof c->ended_on, text_of(rec, field_of(res, "ended_on")));
}

static void outcome_row(struct summary_outcome *o, const struct resource *res,
			const struct record *rec)
{
	memset(o, 0, sizeof *o);
	o->id = rec->id;
	copy_cut(o->assessed_on, sizeof o->assessed_on, text_of(rec, field_of(res, "assessed_on")));
	copy_cut(o->response, sizeof o->response, text_of(rec, field_of(res, "response")));
	o->confirmed = rec->v[field_of(res, "confirmed")].i != 0;
}

static void toxicity_row(struct summary_toxicity *t, const struct resource *res,
			 const struct record *rec)
{
	memset(t, 0, sizeof *t);
	t->id = rec->id;
	t->course_id = rec->v[field_of(res, "course_id")].i;
	copy_cut(t->term, sizeof t->term, text_of(rec, field_of(res, "term")));
	t->grade = (int)rec->v[field_of(res, "grade")].i;
	copy_cut(t->onset_on, sizeof t->onset_on, text_of(rec, field_of(res, "onset_on")));
	copy_cut(t->resolved_on, sizeof t->resolved_on, text_of(rec, field_of(res, "resolved_on")));
}

/* Which of the four a resource is: 0 patients, 1 courses, 2 outcomes, 3
 * toxicities (told apart by the fields the summary reads). */
static int kind_of(const struct resource *res)
{
	if (resource_field_index(res, "patient_id") < 0)
		return 0;
	if (resource_field_index(res, "course_id") < 0)
		return 1;
	return resource_field_index(res, "response") >= 0 ? 2 : 3;
}

/* The inputs of the patients in k[0], their records in k[1..3], as
 * records made for a bulk import hold them (no database read). */
static bool inputs_of(const struct summary_records k[4], int64_t *ids, struct summary_input *in)
{
	size_t n = (size_t)k[0].n;
	for (size_t i = 0; i < n; i++) {
		ids[i] = k[0].recs[i]->id;
		memset(&in[i], 0, sizeof in[i]);
		patient_fields(&in[i], k[0].res, k[0].recs[i]);
	}
	/* ids ascend with the lines (an import plans them in order); checked */
	for (size_t i = 1; i < n; i++)
		if (ids[i] <= ids[i - 1])
			return false;
	int patient_field[4] = {0, field_of(k[1].res, "patient_id"),
				field_of(k[2].res, "patient_id"), field_of(k[3].res, "patient_id")};
	/* counted first, so that each patient's arrays are allocated once */
	for (int kind = 1; kind < 4; kind++) {
		for (int r = 0; r < k[kind].n; r++) {
			long at = position(ids, n, k[kind].recs[r]->v[patient_field[kind]].i);
			if (at < 0)
				return false;
			size_t *count = kind == 1   ? &in[at].ncourses
					: kind == 2 ? &in[at].noutcomes
						    : &in[at].ntoxicities;
			(*count)++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct summary_input *p = &in[i];
		p->courses = xcalloc(p->ncourses + 1, sizeof *p->courses);
		p->outcomes = xcalloc(p->noutcomes + 1, sizeof *p->outcomes);
		p->toxicities = xcalloc(p->ntoxicities + 1, sizeof *p->toxicities);
		if (!p->courses || !p->outcomes || !p->toxicities)
			return false;
		p->ncourses = p->noutcomes = p->ntoxicities = 0;
	}
	for (int kind = 1; kind < 4; kind++) {
		for (int r = 0; r < k[kind].n; r++) {
			const struct record *rec = k[kind].recs[r];
			struct summary_input *p =
				&in[position(ids, n, rec->v[patient_field[kind]].i)];
			if (kind == 1)
				course_row(&p->courses[p->ncourses++], k[kind].res, rec);
			else if (kind == 2)
				outcome_row(&p->outcomes[p->noutcomes++], k[kind].res, rec);
			else
				toxicity_row(&p->toxicities[p->ntoxicities++], k[kind].res, rec);
		}
	}
	return true;
}

/* The rows summarised before a write, changed as the write changed them:
 * rec added, put in place of its row (same id), or its row removed. False
 * when memory ran out. */
static bool edit_input(struct summary_input *in, const struct resource *res,
		       const struct record *rec, enum summary_edit edit)
{
	int kind = kind_of(res);
	if (kind == 0) {
		if (edit != SUMMARY_REMOVE)
			patient_fields(in, res, rec);
		return true;
	}
	void **rows = kind == 1   ? (void **)&in->courses
		      : kind == 2 ? (void **)&in->outcomes
				  : (void **)&in->toxicities;
	size_t *n = kind == 1 ? &in->ncourses : kind == 2 ? &in->noutcomes : &in->ntoxicities;
	size_t size = kind == 1   ? sizeof *in->courses
		      : kind == 2 ? sizeof *in->outcomes
				  : sizeof *in->toxicities;
	size_t at = 0;
	while (at < *n && *(const int64_t *)((const char *)*rows + at * size) != rec->id)
		at++; /* each row begins with its id */
	if (edit == SUMMARY_REMOVE) {
		if (at < *n) {
			memmove((char *)*rows + at * size, (char *)*rows + (at + 1) * size,
				(*n - at - 1) * size);
			(*n)--;
		}
		return true;
	}
	if (at == *n) {
		void *more = xrealloc(*rows, (*n + 1) * size);
		if (!more)
			return false;
		*rows = more;
		(*n)++;
	}
	void *row = (char *)*rows + at * size;
	if (kind == 1)
		course_row(row, res, rec);
	else if (kind == 2)
		outcome_row(row, res, rec);
	else
		toxicity_row(row, res, rec);
	return true;
}

/* The patient summarised from its rows as they are now; *has false when
 * there is no such patient. */
static int summarise(struct db *db, int64_t id, struct patient_summary *out, bool *has)
{
	struct summary_input in;
	memset(out, 0, sizeof *out);
	int rc = read_input(db, id, &in, has);
	if (rc == DB_OK && *has && !summary_compute(id, &in, out))
		rc = DB_ERROR;
	input_free(&in);
	return rc;
}

int store_summary_before(struct db *db, int64_t patient_id, struct summary_change *change)
{
	memset(change, 0, sizeof *change);
	change->patient_id = patient_id;
	int rc = read_input(db, patient_id, &change->input, &change->had);
	if (rc == DB_OK && change->had &&
	    !summary_compute(patient_id, &change->input, &change->before))
		rc = DB_ERROR;
	if (rc != DB_OK)
		store_summary_change_free(change);
	return rc;
}

/* The difference between before and now into the tallies, and the kept
 * summary brought up to date. When the facts are the same (most writes),
 * their counters cancel and only the worst grades' can move. */
static int apply(struct db *db, int64_t id, const struct patient_summary *before, bool had,
		 const struct patient_summary *now, bool has, struct tally_buf *buf)
{
	if (had && has && summary_same_facts(before, now)) /* most writes: the kept row stays */
		return summary_tallies_worst(before, -1, buf) && summary_tallies_worst(now, +1, buf)
			       ? DB_OK
			       : DB_ERROR;
	if (had && !summary_tallies(before, -1, buf))
		return DB_ERROR;
	if (has && !summary_tallies(now, +1, buf))
		return DB_ERROR;
	if (has)
		return keep_summary(db, now);
	if (!has && had)
		return run_id(db, "DELETE FROM patient_summaries WHERE patient_id = ?1", id);
	return DB_OK;
}

/* The summary kept for the patient, its facts only (no worst grades);
 * *exists false when none is. */
static int read_kept(struct db *db, int64_t id, struct patient_summary *s, bool *exists)
{
	memset(s, 0, sizeof *s);
	struct db_stmt *stmt = db_prepare_static(
		db, "SELECT regimen, histology, setting, courses, first_start, latest, dead, "
		    "died_on, best, best_confirmed, first_cr, first_cr_confirmed, recurred, "
		    "recurred_confirmed, first_pd, last_assessed, first_response, "
		    "first_response_confirmed, progressed, progressed_confirmed "
		    "FROM patient_summaries WHERE patient_id = ?1");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, id);
	int rc = db_step(stmt);
	*exists = rc == DB_ROW;
	if (rc == DB_ROW) {
		s->patient_id = id;
		db_column_text_into(stmt, 0, s->regimen, sizeof s->regimen);
		db_column_text_into(stmt, 1, s->histology, sizeof s->histology);
		db_column_text_into(stmt, 2, s->setting, sizeof s->setting);
		s->courses = db_column_int(stmt, 3);
		db_column_text_into(stmt, 4, s->first_start, sizeof s->first_start);
		db_column_text_into(stmt, 5, s->latest, sizeof s->latest);
		s->dead = db_column_int(stmt, 6) != 0;
		db_column_text_into(stmt, 7, s->died_on, sizeof s->died_on);
		s->best[READ_ANY] = (int)db_column_int(stmt, 8);
		s->best[READ_CONFIRMED] = (int)db_column_int(stmt, 9);
		db_column_text_into(stmt, 10, s->first_cr[READ_ANY], sizeof s->first_cr[0]);
		db_column_text_into(stmt, 11, s->first_cr[READ_CONFIRMED], sizeof s->first_cr[0]);
		s->recurred[READ_ANY] = db_column_int(stmt, 12) != 0;
		s->recurred[READ_CONFIRMED] = db_column_int(stmt, 13) != 0;
		db_column_text_into(stmt, 14, s->first_pd, sizeof s->first_pd);
		db_column_text_into(stmt, 15, s->last_assessed, sizeof s->last_assessed);
		for (int r = 0; r < READINGS; r++) {
			db_column_text_into(stmt, 16 + r, s->first_response[r],
					    sizeof s->first_response[r]);
			db_column_text_into(stmt, 18 + r, s->progressed[r],
					    sizeof s->progressed[r]);
		}
	}
	db_done(stmt);
	return rc == DB_ROW ? DB_OK : db_result(rc);
}

/* The worst grades for term of the patient's toxicities other than the new
 * one (id): on the patient, grade[0], and on its course course_id,
 * grade[1]; 0 when none. One walk of the patient's toxicities in
 * toxicities_by_patient, which carries course, term and grade (0008), so
 * no row is read from the table; the term is compared here, as term = ?
 * in SQL would lead SQLite to the term's index (every toxicity of that
 * term). */
static int worst_before(struct db *db, int64_t patient_id, int64_t course_id, const char *term,
			int64_t id, int grade[2])
{
	struct db_stmt *stmt = db_prepare_static(
		db,
		"SELECT course_id, term, grade FROM toxicities WHERE patient_id = ?1 AND id <> ?2");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, patient_id);
	db_bind_int(stmt, 2, id);
	grade[0] = grade[1] = 0;
	int rc;
	while ((rc = db_step(stmt)) == DB_ROW) {
		const char *t = db_column_text(stmt, 1);
		if (!t || strcmp(t, term) != 0)
			continue;
		int g = (int)db_column_int(stmt, 2);
		if (g > grade[0])
			grade[0] = g;
		if (db_column_int(stmt, 0) == course_id && g > grade[1])
			grade[1] = g;
	}
	db_done(stmt);
	return db_result(rc);
}

/* After a record of the patient was added: summarised whole from its rows,
 * and before from the same rows less the new one (had: the patient's
 * counters are in the tallies; a summary was kept for it). */
static int added_from_rows(struct db *db, int64_t patient_id, const struct resource *res,
			   const struct record *rec, bool had)
{
	struct summary_change c; /* c.before: summarised with the new record */
	int rc = store_summary_before(db, patient_id, &c);
	if (rc != DB_OK)
		return rc;
	struct patient_summary before = {0};
	struct tally_buf buf = {0};
	if (c.had && had &&
	    (!edit_input(&c.input, res, rec, SUMMARY_REMOVE) ||
	     !summary_compute(patient_id, &c.input, &before)))
		rc = DB_ERROR;
	if (rc == DB_OK)
		rc = apply(db, patient_id, &before, had, &c.before, c.had, &buf);
	if (rc == DB_OK)
		rc = add_tallies(db, &buf);
	tally_buf_free(&buf);
	summary_free(&before);
	store_summary_change_free(&c);
	return rc;
}

int store_summary_added(struct db *db, int64_t patient_id, const struct resource *res,
			const struct record *rec)
{
	struct patient_summary before, now;
	bool kept = false;
	int rc = read_kept(db, patient_id, &before, &kept);
	if (rc != DB_OK)
		return rc;
	if (!kept)
		return added_from_rows(db, patient_id, res, rec, false);
	now = before;
	int kind = kind_of(res);
	struct summary_worst was[2], is[2];
	if (kind == 1) {
		struct summary_course c;
		course_row(&c, res, rec);
		summary_add_course(&now, &c);
	} else if (kind == 2) {
		struct summary_outcome o;
		outcome_row(&o, res, rec);
		if (!summary_add_outcome(&now, &o))
			return added_from_rows(db, patient_id, res, rec, true);
	} else {
		struct summary_toxicity t;
		toxicity_row(&t, res, rec);
		summary_add_toxicity(&now, &t);
		/* the two units whose worst grade for the term it may raise: the
		 * patient (course 0), and its course */
		int64_t units[2] = {0, t.course_id};
		int grades[2];
		rc = worst_before(db, patient_id, t.course_id, t.term, t.id, grades);
		for (int u = 0; u < 2 && rc == DB_OK; u++) {
			int grade = grades[u];
			struct summary_worst w = {.course_id = units[u], .grade = grade};
			copy_cut(w.term, sizeof w.term, t.term);
			if (grade > 0)
				was[before.nworst++] = w;
			w.grade = grade > t.grade ? grade : t.grade;
			is[now.nworst++] = w;
		}
		before.worst = was;
		now.worst = is;
	}
	struct tally_buf buf = {0};
	if (rc == DB_OK)
		rc = apply(db, patient_id, &before, true, &now, true, &buf);
	if (rc == DB_OK)
		rc = add_tallies(db, &buf);
	tally_buf_free(&buf);
	return rc;
}

int store_summary_after(struct db *db, struct summary_change *change, const struct resource *res,
			const struct record *rec, enum summary_edit edit)
{
	struct patient_summary now = {0};
	bool has = kind_of(res) == 0 ? edit != SUMMARY_REMOVE : change->had;
	struct tally_buf buf = {0};
	int rc = edit_input(&change->input, res, rec, edit) ? DB_OK : DB_ERROR;
	if (rc == DB_OK && has && !summary_compute(change->patient_id, &change->input, &now))
		rc = DB_ERROR;
	if (rc == DB_OK)
		rc = apply(db, change->patient_id, &change->before, change->had, &now, has, &buf);
	if (rc == DB_OK)
		rc = add_tallies(db, &buf);
	tally_buf_free(&buf);
	summary_free(&now);
	store_summary_change_free(change);
	return rc;
}

void store_summary_change_free(struct summary_change *change)
{
	summary_free(&change->before);
	input_free(&change->input);
}

int store_summaries_add_new(struct db *db, const int64_t *ids, size_t n)
{
	struct tally_buf buf = {0};
	int rc = DB_OK;
	for (size_t i = 0; i < n && rc == DB_OK; i++) {
		struct patient_summary now;
		bool has = false;
		rc = summarise(db, ids[i], &now, &has);
		if (rc == DB_OK)
			rc = apply(db, ids[i], NULL, false, &now, has, &buf);
		summary_free(&now);
	}
	if (rc == DB_OK)
		rc = add_tallies(db, &buf);
	tally_buf_free(&buf);
	return rc;
}

int store_summaries_remove(struct db *db, const int64_t *ids, size_t n)
{
	struct tally_buf buf = {0};
	struct patient_summary none = {0};
	int rc = DB_OK;
	for (size_t i = 0; i < n && rc == DB_OK; i++) {
		struct patient_summary was;
		bool had = false;
		rc = summarise(db, ids[i], &was, &had);
		if (rc == DB_OK && had)
			rc = apply(db, ids[i], &was, true, &none, false, &buf);
		summary_free(&was);
	}
	if (rc == DB_OK)
		rc = add_tallies(db, &buf);
	tally_buf_free(&buf);
	return rc;
}

bool store_summaries_of_records(const struct summary_records kinds[4], struct patient_summary *out,
				struct tally_buf *tallies)
{
	size_t n = (size_t)kinds[0].n;
	int64_t *ids = xmalloc((n + 1) * sizeof *ids);
	struct summary_input *in = xcalloc(n + 1, sizeof *in);
	size_t done = 0;
	bool ok = ids && in && inputs_of(kinds, ids, in);
	for (; ok && done < n; done++)
		ok = summary_compute(ids[done], &in[done], &out[done]) &&
		     summary_tallies(&out[done], +1, tallies);
	for (size_t i = 0; in && i < n; i++)
		input_free(&in[i]);
	free(in);
	free(ids);
	if (!ok)
		for (size_t i = 0; i < done; i++)
			summary_free(&out[i]);
	return ok;
}

int store_summaries_keep_new(struct db *db, const struct patient_summary *s, size_t n)
{
	const struct patient_summary **each = xcalloc(n + 1, sizeof *each);
	if (!each)
		return DB_ERROR;
	for (size_t i = 0; i < n; i++)
		each[i] = &s[i];
	int rc = keep_summaries(db, each, n);
	free(each);
	return rc;
}

int store_summaries_keep_each(struct db *db, const struct patient_summary *const *s, size_t n)
{
	return keep_summaries(db, s, n);
}

int store_summaries_add_records(struct db *db, const struct summary_records kinds[4],
				struct tally_buf *pending)
{
	size_t n = (size_t)kinds[0].n;
	struct patient_summary *now = xcalloc(n + 1, sizeof *now);
	bool computed = now && store_summaries_of_records(kinds, now, pending);
	int rc = computed ? store_summaries_keep_new(db, now, n) : DB_ERROR;
	for (size_t i = 0; computed && i < n; i++)
		summary_free(&now[i]);
	free(now);
	return rc;
}

int store_summaries_rebuild(struct db *db)
{
	int rc = DB_OK;
	static const char *const clear[] = {"DELETE FROM tallies", "DELETE FROM patient_summaries"};
	for (size_t i = 0; i < sizeof clear / sizeof *clear && rc == DB_OK; i++) {
		struct db_stmt *stmt = db_prepare_static(db, clear[i]);
		rc = stmt ? db_result(db_step(stmt)) : DB_ERROR;
		if (stmt)
			db_done(stmt);
	}
	int64_t after = 0;
	int64_t ids[REBUILD_CHUNK];
	while (rc == DB_OK) {
		struct db_stmt *stmt = db_prepare_static(
			db, "SELECT id FROM patients WHERE id > ?1 ORDER BY id LIMIT 1024");
		if (!stmt)
			return DB_ERROR;
		db_bind_int(stmt, 1, after);
		size_t n = 0;
		while ((rc = db_step(stmt)) == DB_ROW && n < REBUILD_CHUNK)
			ids[n++] = db_column_int(stmt, 0);
		db_done(stmt);
		rc = db_result(rc);
		if (rc != DB_OK || n == 0)
			break;
		after = ids[n - 1];
		rc = store_summaries_add_new(db, ids, n);
	}
	if (rc == DB_OK)
		rc = run_id(db, "UPDATE summary_state SET built = ?1", 1);
	return rc;
}

int store_summaries_ensure(struct db *db)
{
	struct db_stmt *stmt = db_prepare_static(db, "SELECT built FROM summary_state");
	if (!stmt)
		return DB_ERROR;
	int rc = db_step(stmt);
	bool built = rc == DB_ROW && db_column_int(stmt, 0) != 0;
	db_done(stmt);
	if (rc != DB_ROW)
		return db_result(rc == DB_OK ? DB_ERROR : rc);
	if (built)
		return DB_OK;
	rc = db_begin_write(db);
	if (rc == DB_OK)
		rc = store_summaries_rebuild(db);
	if (rc == DB_OK)
		return db_commit(db);
	db_rollback(db);
	return rc;
}

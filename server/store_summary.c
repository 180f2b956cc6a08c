/* The statistics kept up to date as writes happen (summary.h): each
 * patient's summary (patient_summaries), its worst grade per unit and term
 * (worst_grades), and the tallies the statistics read (tallies). A write
 * that touches a patient refreshes that patient in its own transaction: the
 * patient is read again (a handful of rows, by index), summarised, and the
 * difference between its tallies before and after is added, so that a
 * write costs what it touches and a statistic reads counters, whatever the
 * registry's size. Every statement here is in the dialect the engines share
 * (INSERT ... ON CONFLICT is SQLite's and PostgreSQL's). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_summary.h"
#include "util.h"

/* patients refreshed per flush of the tallies in a rebuild */
#define REBUILD_CHUNK 1024

static void text_into(char *dst, size_t n, struct db_stmt *stmt, int col)
{
	const char *s = db_column_text(stmt, col);
	snprintf(dst, n, "%s", s ? s : "");
}

/* Grows *p (of *cap items) to hold one more than n; false when memory ran
 * out. */
static bool room(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return true;
	size_t more = *cap ? *cap * 2 : 16;
	void *q = xrealloc(*p, more * size);
	if (!q)
		return false;
	*p = q;
	*cap = more;
	return true;
}

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
		text_into(in->regimen, sizeof in->regimen, stmt, 0);
		text_into(in->histology, sizeof in->histology, stmt, 1);
		text_into(in->setting, sizeof in->setting, stmt, 2);
		in->dead = db_column_int(stmt, 3) != 0;
		text_into(in->died_on, sizeof in->died_on, stmt, 4);
		text_into(in->last_contact_on, sizeof in->last_contact_on, stmt, 5);
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
		if (!room((void **)&in->courses, &cap, in->ncourses, sizeof *in->courses)) {
			rc = DB_ERROR;
			break;
		}
		struct summary_course *c = &in->courses[in->ncourses++];
		memset(c, 0, sizeof *c);
		c->id = db_column_int(stmt, 0);
		text_into(c->started_on, sizeof c->started_on, stmt, 1);
		text_into(c->ended_on, sizeof c->ended_on, stmt, 2);
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
		if (!room((void **)&in->outcomes, &cap, in->noutcomes, sizeof *in->outcomes)) {
			rc = DB_ERROR;
			break;
		}
		struct summary_outcome *o = &in->outcomes[in->noutcomes++];
		memset(o, 0, sizeof *o);
		o->id = db_column_int(stmt, 0);
		text_into(o->assessed_on, sizeof o->assessed_on, stmt, 1);
		text_into(o->response, sizeof o->response, stmt, 2);
		o->confirmed = db_column_int(stmt, 3) != 0;
	}
	db_done(stmt);
	if (rc != DB_OK)
		return db_result(rc);

	cap = 0;
	stmt = db_prepare_static(db, "SELECT course_id, term, grade, onset_on, resolved_on "
				     "FROM toxicities WHERE patient_id = ?1");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, id);
	while ((rc = db_step(stmt)) == DB_ROW) {
		if (!room((void **)&in->toxicities, &cap, in->ntoxicities,
			  sizeof *in->toxicities)) {
			rc = DB_ERROR;
			break;
		}
		struct summary_toxicity *t = &in->toxicities[in->ntoxicities++];
		memset(t, 0, sizeof *t);
		t->course_id = db_column_int(stmt, 0);
		text_into(t->term, sizeof t->term, stmt, 1);
		t->grade = (int)db_column_int(stmt, 2);
		text_into(t->onset_on, sizeof t->onset_on, stmt, 3);
		text_into(t->resolved_on, sizeof t->resolved_on, stmt, 4);
	}
	db_done(stmt);
	return db_result(rc);
}

/* The summary kept for the patient; *exists false when none is. */
static int read_kept(struct db *db, int64_t id, struct patient_summary *s, bool *exists)
{
	memset(s, 0, sizeof *s);
	struct db_stmt *stmt = db_prepare_static(
		db, "SELECT regimen, histology, setting, courses, first_start, latest, dead, "
		    "died_on, best, best_confirmed, first_cr, first_cr_confirmed, recurred, "
		    "recurred_confirmed FROM patient_summaries WHERE patient_id = ?1");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, id);
	int rc = db_step(stmt);
	*exists = rc == DB_ROW;
	if (rc == DB_ROW) {
		s->patient_id = id;
		text_into(s->regimen, sizeof s->regimen, stmt, 0);
		text_into(s->histology, sizeof s->histology, stmt, 1);
		text_into(s->setting, sizeof s->setting, stmt, 2);
		s->courses = db_column_int(stmt, 3);
		text_into(s->first_start, sizeof s->first_start, stmt, 4);
		text_into(s->latest, sizeof s->latest, stmt, 5);
		s->dead = db_column_int(stmt, 6) != 0;
		text_into(s->died_on, sizeof s->died_on, stmt, 7);
		s->best[READ_ANY] = (int)db_column_int(stmt, 8);
		s->best[READ_CONFIRMED] = (int)db_column_int(stmt, 9);
		text_into(s->first_cr[READ_ANY], sizeof s->first_cr[0], stmt, 10);
		text_into(s->first_cr[READ_CONFIRMED], sizeof s->first_cr[0], stmt, 11);
		s->recurred[READ_ANY] = db_column_int(stmt, 12) != 0;
		s->recurred[READ_CONFIRMED] = db_column_int(stmt, 13) != 0;
	}
	db_done(stmt);
	if (rc != DB_ROW)
		return db_result(rc);

	size_t cap = 0;
	stmt = db_prepare_static(
		db, "SELECT course_id, term, grade FROM worst_grades WHERE patient_id = ?1");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, id);
	while ((rc = db_step(stmt)) == DB_ROW) {
		if (!room((void **)&s->worst, &cap, s->nworst, sizeof *s->worst)) {
			rc = DB_ERROR;
			break;
		}
		struct summary_worst *w = &s->worst[s->nworst++];
		memset(w, 0, sizeof *w);
		w->course_id = db_column_int(stmt, 0);
		text_into(w->term, sizeof w->term, stmt, 1);
		w->grade = (int)db_column_int(stmt, 2);
	}
	db_done(stmt);
	summary_sort_worst(s);
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

static int keep_summary(struct db *db, const struct patient_summary *s)
{
	struct db_stmt *stmt = db_prepare_static(
		db, "INSERT INTO patient_summaries (patient_id, regimen, histology, setting, "
		    "courses, first_start, latest, dead, died_on, best, best_confirmed, first_cr, "
		    "first_cr_confirmed, recurred, recurred_confirmed) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
		    "ON CONFLICT (patient_id) DO UPDATE SET regimen = excluded.regimen, "
		    "histology = excluded.histology, setting = excluded.setting, "
		    "courses = excluded.courses, first_start = excluded.first_start, "
		    "latest = excluded.latest, dead = excluded.dead, died_on = excluded.died_on, "
		    "best = excluded.best, best_confirmed = excluded.best_confirmed, "
		    "first_cr = excluded.first_cr, first_cr_confirmed = excluded.first_cr_confirmed, "
		    "recurred = excluded.recurred, recurred_confirmed = excluded.recurred_confirmed");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, s->patient_id);
	db_bind_text(stmt, 2, s->regimen);
	db_bind_text(stmt, 3, s->histology);
	db_bind_text(stmt, 4, s->setting);
	db_bind_int(stmt, 5, s->courses);
	db_bind_text(stmt, 6, s->first_start);
	db_bind_text(stmt, 7, s->latest);
	db_bind_int(stmt, 8, s->dead);
	db_bind_text(stmt, 9, s->died_on);
	db_bind_int(stmt, 10, s->best[READ_ANY]);
	db_bind_int(stmt, 11, s->best[READ_CONFIRMED]);
	db_bind_text(stmt, 12, s->first_cr[READ_ANY]);
	db_bind_text(stmt, 13, s->first_cr[READ_CONFIRMED]);
	db_bind_int(stmt, 14, s->recurred[READ_ANY]);
	db_bind_int(stmt, 15, s->recurred[READ_CONFIRMED]);
	int rc = db_step(stmt);
	db_done(stmt);
	return db_result(rc);
}

static int keep_worst(struct db *db, int64_t patient_id, const struct summary_worst *w)
{
	struct db_stmt *stmt = db_prepare_static(
		db, "INSERT INTO worst_grades (patient_id, course_id, term, grade) "
		    "VALUES (?1, ?2, ?3, ?4) "
		    "ON CONFLICT (patient_id, course_id, term) DO UPDATE SET grade = excluded.grade");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, patient_id);
	db_bind_int(stmt, 2, w->course_id);
	db_bind_text(stmt, 3, w->term);
	db_bind_int(stmt, 4, w->grade);
	int rc = db_step(stmt);
	db_done(stmt);
	return db_result(rc);
}

static int forget_worst(struct db *db, int64_t patient_id, const struct summary_worst *w)
{
	struct db_stmt *stmt = db_prepare_static(
		db, "DELETE FROM worst_grades WHERE patient_id = ?1 AND course_id = ?2 AND term = ?3");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, patient_id);
	db_bind_int(stmt, 2, w->course_id);
	db_bind_text(stmt, 3, w->term);
	int rc = db_step(stmt);
	db_done(stmt);
	return db_result(rc);
}

static int worst_order(const struct summary_worst *x, const struct summary_worst *y)
{
	if (x->course_id != y->course_id)
		return x->course_id < y->course_id ? -1 : 1;
	return strcmp(x->term, y->term);
}

/* Writes what changed between the kept worst grades and the new (both
 * sorted by course, then term). */
static int keep_worst_changes(struct db *db, int64_t patient_id, const struct patient_summary *old,
			      const struct patient_summary *now)
{
	size_t i = 0, j = 0;
	int rc = DB_OK;
	while (rc == DB_OK && (i < old->nworst || j < now->nworst)) {
		int d = i == old->nworst   ? 1
			: j == now->nworst ? -1
					   : worst_order(&old->worst[i], &now->worst[j]);
		if (d < 0) {
			rc = forget_worst(db, patient_id, &old->worst[i++]);
		} else if (d > 0) {
			rc = keep_worst(db, patient_id, &now->worst[j++]);
		} else {
			if (old->worst[i].grade != now->worst[j].grade)
				rc = keep_worst(db, patient_id, &now->worst[j]);
			i++, j++;
		}
	}
	return rc;
}

/* Adds the merged counters to the tallies; a counter that comes to 0 stays
 * (read as absent). */
static int add_tallies(struct db *db, struct tally_buf *buf)
{
	tally_merge(buf);
	int rc = DB_OK;
	for (size_t i = 0; i < buf->n && rc == DB_OK; i++) {
		const struct tally *t = &buf->t[i];
		struct db_stmt *stmt = db_prepare_static(
			db, "INSERT INTO tallies (kind, regimen, histology, setting, term, k, n) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
			    "ON CONFLICT (kind, regimen, histology, setting, term, k) "
			    "DO UPDATE SET n = tallies.n + excluded.n");
		if (!stmt)
			return DB_ERROR;
		db_bind_text(stmt, 1, tally_kind_names[t->kind]);
		db_bind_text(stmt, 2, t->regimen);
		db_bind_text(stmt, 3, t->histology);
		db_bind_text(stmt, 4, t->setting);
		db_bind_text(stmt, 5, t->term);
		db_bind_int(stmt, 6, t->key);
		db_bind_int(stmt, 7, t->n);
		rc = db_result(db_step(stmt));
		db_done(stmt);
	}
	buf->n = 0;
	return rc;
}

/* Refreshes one patient, its tallies' difference into buf. */
static int refresh_one(struct db *db, int64_t id, struct tally_buf *buf)
{
	struct summary_input in;
	struct patient_summary old, now;
	bool had = false, has = false;
	memset(&in, 0, sizeof in);
	memset(&old, 0, sizeof old);
	memset(&now, 0, sizeof now);
	int rc = read_kept(db, id, &old, &had);
	if (rc == DB_OK)
		rc = read_input(db, id, &in, &has);
	if (rc == DB_OK && has && !summary_compute(id, &in, &now))
		rc = DB_ERROR;
	input_free(&in);
	if (rc == DB_OK && had && !summary_tallies(&old, -1, buf))
		rc = DB_ERROR;
	if (rc == DB_OK && has && !summary_tallies(&now, +1, buf))
		rc = DB_ERROR;
	if (rc == DB_OK && has && !(had && summary_same_facts(&old, &now)))
		rc = keep_summary(db, &now);
	if (rc == DB_OK && !has && had)
		rc = run_id(db, "DELETE FROM patient_summaries WHERE patient_id = ?1", id);
	if (rc == DB_OK)
		rc = keep_worst_changes(db, id, &old, &now);
	summary_free(&old);
	summary_free(&now);
	return rc;
}

int store_summaries_refresh(struct db *db, const int64_t *ids, size_t n)
{
	struct tally_buf buf = {0};
	int rc = DB_OK;
	for (size_t i = 0; i < n && rc == DB_OK; i++)
		rc = refresh_one(db, ids[i], &buf);
	if (rc == DB_OK)
		rc = add_tallies(db, &buf);
	tally_buf_free(&buf);
	return rc;
}

int store_summaries_rebuild(struct db *db)
{
	int rc = DB_OK;
	static const char *const clear[] = {"DELETE FROM tallies", "DELETE FROM worst_grades",
					    "DELETE FROM patient_summaries"};
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
		rc = store_summaries_refresh(db, ids, n);
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

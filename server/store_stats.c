/* The reads behind the statistics, in one read transaction so that every
 * figure comes from one consistent data version. Worst grade per unit and
 * term is SQL's GROUP BY; per-patient counts and dates are folded from table
 * scans (see load_patients). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cohort.h"
#include "db.h"
#include "util.h"

static void text_into(char *dst, size_t n, struct db_stmt *stmt, int col)
{
	const char *s = db_column_text(stmt, col);
	size_t len = s ? (size_t)db_column_bytes(stmt, col) : 0;
	if (len >= n)
		len = n - 1;
	memcpy(dst, s ? s : "", len);
	dst[len] = '\0';
}

/* Keeps the later of two YYYY-MM-DD dates in dst ("" is earliest). */
static void later_into(char dst[11], struct db_stmt *stmt, int col)
{
	const char *s = db_column_text(stmt, col);
	if (s && db_column_bytes(stmt, col) == 10 && strcmp(s, dst) > 0)
		memcpy(dst, s, 11);
}

/* Doubles the array at *p (of *cap items of size each); false when the
 * memory is not there (*p is then unchanged). */
static bool grow(void **p, size_t *cap, size_t size)
{
	void *more = xrealloc(*p, *cap * 2 * size);
	if (!more)
		return false;
	*p = more;
	*cap *= 2;
	return true;
}

int store_data_version(struct db *db, int64_t *version)
{
	/* every change appends an audit row: the last seq is the data version */
	struct db_stmt *stmt = db_prepare_static(db, "SELECT coalesce(max(seq), 0) FROM audit");
	if (!stmt)
		return DB_ERROR;
	int rc = db_step(stmt);
	if (rc == DB_ROW)
		*version = db_column_int(stmt, 0);
	db_done(stmt);
	return rc == DB_ROW ? DB_OK : db_result(rc == DB_OK ? DB_ERROR : rc);
}

/* The patients, then their courses, outcomes and toxicities read as plain
 * table scans and folded into each patient here: with 100,000 patients a
 * scan and a lookup by id in a sorted array take a fraction of what SQL's
 * GROUP BY over the indexes (a table lookup per row) does, and a cold
 * answer must come back within a second. Latest date on record: last
 * contact, death, and every date of the patient's courses, outcomes and
 * toxicities; only survival and durable response need it. */
size_t cohort_find_patient(const struct cohort *c, int64_t id)
{
	size_t lo = 0, hi = c->npatients;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->patients[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->npatients && c->patients[lo].id == id ? lo : SIZE_MAX;
}

static struct cohort_patient *patient_by_id(struct cohort *c, int64_t id)
{
	size_t i = cohort_find_patient(c, id);
	return i == SIZE_MAX ? NULL : &c->patients[i];
}

static int load_patients(struct db *db, struct cohort *c, bool latest)
{
	struct db_stmt *stmt = db_prepare_static(
		db, "SELECT id, histology, setting, regimen, vital_status = 'dead', died_on, "
		    "last_contact_on FROM patients ORDER BY id");
	if (!stmt)
		return DB_ERROR;
	size_t cap = 256;
	c->patients = xmalloc(cap * sizeof *c->patients);
	int rc = DB_ERROR;
	while (c->patients && (rc = db_step(stmt)) == DB_ROW) {
		if (c->npatients == cap &&
		    !grow((void **)&c->patients, &cap, sizeof *c->patients)) {
			rc = DB_ERROR;
			break;
		}
		struct cohort_patient *p = &c->patients[c->npatients++];
		memset(p, 0, sizeof *p);
		p->id = db_column_int(stmt, 0);
		text_into(p->histology, sizeof p->histology, stmt, 1);
		text_into(p->setting, sizeof p->setting, stmt, 2);
		text_into(p->regimen, sizeof p->regimen, stmt, 3);
		p->dead = (int)db_column_int(stmt, 4);
		text_into(p->died_on, sizeof p->died_on, stmt, 5);
		if (latest) {
			later_into(p->latest, stmt, 5);
			later_into(p->latest, stmt, 6);
		}
	}
	db_done(stmt);
	if (rc != DB_OK)
		return db_result(rc);

	stmt = db_prepare_static(db, "SELECT patient_id, started_on, ended_on FROM courses");
	if (!stmt)
		return DB_ERROR;
	while ((rc = db_step(stmt)) == DB_ROW) {
		struct cohort_patient *p = patient_by_id(c, db_column_int(stmt, 0));
		if (!p)
			continue;
		const char *start = db_column_text(stmt, 1);
		p->courses++;
		if (start && (!p->first_start[0] || strcmp(start, p->first_start) < 0))
			text_into(p->first_start, sizeof p->first_start, stmt, 1);
		if (latest) {
			later_into(p->latest, stmt, 1);
			later_into(p->latest, stmt, 2);
		}
	}
	db_done(stmt);
	if (rc != DB_OK || !latest)
		return db_result(rc);

	static const char *const dated[] = {
		"SELECT patient_id, assessed_on, NULL FROM outcomes",
		"SELECT patient_id, onset_on, resolved_on FROM toxicities",
	};
	for (size_t t = 0; t < 2; t++) {
		stmt = db_prepare_static(db, dated[t]);
		if (!stmt)
			return DB_ERROR;
		while ((rc = db_step(stmt)) == DB_ROW) {
			struct cohort_patient *p = patient_by_id(c, db_column_int(stmt, 0));
			if (p) {
				later_into(p->latest, stmt, 1);
				later_into(p->latest, stmt, 2);
			}
		}
		db_done(stmt);
		if (rc != DB_OK)
			return db_result(rc);
	}
	return DB_OK;
}

/* Outcomes by patient, then date, then id (the order durable response
 * walks them in), sorted here rather than by SQL over the whole table. */
static int by_patient_date(const void *a, const void *b)
{
	const struct cohort_outcome *x = a, *y = b;
	if (x->patient_id != y->patient_id)
		return x->patient_id < y->patient_id ? -1 : 1;
	int d = strcmp(x->assessed_on, y->assessed_on);
	if (d)
		return d;
	return (x->id > y->id) - (x->id < y->id);
}

static int load_outcomes(struct db *db, struct cohort *c)
{
	struct db_stmt *stmt = db_prepare_static(
		db, "SELECT patient_id, assessed_on, response, confirmed, id FROM outcomes");
	if (!stmt)
		return DB_ERROR;
	size_t cap = 256;
	c->outcomes = xmalloc(cap * sizeof *c->outcomes);
	int rc = DB_ERROR;
	while (c->outcomes && (rc = db_step(stmt)) == DB_ROW) {
		if (c->noutcomes == cap &&
		    !grow((void **)&c->outcomes, &cap, sizeof *c->outcomes)) {
			rc = DB_ERROR;
			break;
		}
		struct cohort_outcome *o = &c->outcomes[c->noutcomes++];
		o->patient_id = db_column_int(stmt, 0);
		text_into(o->assessed_on, sizeof o->assessed_on, stmt, 1);
		text_into(o->response, sizeof o->response, stmt, 2);
		o->confirmed = (int)db_column_int(stmt, 3);
		o->id = db_column_int(stmt, 4);
	}
	db_done(stmt);
	if (rc == DB_OK)
		qsort(c->outcomes, c->noutcomes, sizeof *c->outcomes, by_patient_date);
	return db_result(rc);
}

static int load_events(struct db *db, const char *sql, struct cohort *c)
{
	struct db_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	size_t cap = 256;
	c->events = xmalloc(cap * sizeof *c->events);
	int rc = DB_ERROR;
	while (c->events && (rc = db_step(stmt)) == DB_ROW) {
		if (c->nevents == cap && !grow((void **)&c->events, &cap, sizeof *c->events)) {
			rc = DB_ERROR;
			break;
		}
		char *term = xstrdup(db_column_text(stmt, 2));
		if (!term) {
			rc = DB_ERROR;
			break;
		}
		struct cohort_event *e = &c->events[c->nevents++];
		e->patient_id = db_column_int(stmt, 0);
		e->course_id = db_column_int(stmt, 1);
		e->term = term;
		e->grade = (int)db_column_int(stmt, 3);
	}
	db_done(stmt);
	return db_result(rc);
}

int store_cohort_load(struct db *db, unsigned parts, struct cohort *out)
{
	memset(out, 0, sizeof *out);
	int rc = db_begin_read(db);
	if (rc == DB_OK)
		rc = store_data_version(db, &out->as_of);
	if (rc == DB_OK)
		rc = load_patients(db, out, parts & COHORT_LATEST);
	if (rc == DB_OK && (parts & COHORT_OUTCOMES))
		rc = load_outcomes(db, out);
	if (rc == DB_OK && (parts & COHORT_DEATHS))
		rc = load_events(
			db,
			"SELECT patient_id, course_id, term, grade FROM toxicities "
			"WHERE grade = 5 AND attribution IN ('possible', 'probable', 'definite') "
			"ORDER BY patient_id, course_id, id",
			out);
	if (rc == DB_OK && (parts & COHORT_WORST_BY_PATIENT))
		rc = load_events(db,
				 "SELECT patient_id, 0, term, max(grade) FROM toxicities "
				 "GROUP BY patient_id, term ORDER BY patient_id",
				 out);
	if (rc == DB_OK && (parts & COHORT_WORST_BY_COURSE))
		rc = load_events(db,
				 "SELECT patient_id, course_id, term, max(grade) FROM toxicities "
				 "GROUP BY patient_id, course_id, term ORDER BY patient_id",
				 out);
	db_rollback(db);
	if (rc != DB_OK)
		cohort_free(out);
	return rc;
}

void cohort_free(struct cohort *c)
{
	free(c->patients);
	free(c->outcomes);
	for (size_t i = 0; i < c->nevents; i++)
		free(c->events[i].term);
	free(c->events);
	memset(c, 0, sizeof *c);
}

/* The reads behind the statistics. Aggregation that SQL does well (counts,
 * first and latest dates, worst grade per unit and term) happens here, in
 * one read transaction, so the statistics code receives few rows and one
 * consistent data version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cohort.h"
#include "db_sqlite.h"
#include "util.h"

static void text_into(char *dst, size_t n, sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);
	snprintf(dst, n, "%s", s ? (const char *)s : "");
}

int store_data_version(struct db *db, int64_t *version)
{
	/* every change appends an audit row: the last seq is the data version */
	sqlite3_stmt *stmt = db_prepare_static(db, "SELECT coalesce(max(seq), 0) FROM audit");
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int64(stmt, 0);
	db_done(stmt);
	return rc == SQLITE_ROW ? DB_OK : db_status_from(db, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
}

/* Latest date on record: last contact, death, and every date of the
 * patient's courses, outcomes and toxicities (max() over text dates is
 * chronological for YYYY-MM-DD; NULLs become ''). */
static const char patients_sql[] =
	"SELECT p.id, p.histology, p.setting, p.regimen, p.vital_status = 'dead', p.died_on, "
	"coalesce(c.n, 0), c.first_start, "
	"max(coalesce(p.last_contact_on, ''), coalesce(p.died_on, ''), coalesce(c.last, ''), "
	"    coalesce(o.last, ''), coalesce(t.last, '')) "
	"FROM patients p "
	"LEFT JOIN (SELECT patient_id, count(*) AS n, min(started_on) AS first_start, "
	"           max(max(started_on), coalesce(max(ended_on), '')) AS last "
	"           FROM courses GROUP BY patient_id) c ON c.patient_id = p.id "
	"LEFT JOIN (SELECT patient_id, max(assessed_on) AS last "
	"           FROM outcomes GROUP BY patient_id) o ON o.patient_id = p.id "
	"LEFT JOIN (SELECT patient_id, max(max(onset_on), coalesce(max(resolved_on), '')) AS last "
	"           FROM toxicities GROUP BY patient_id) t ON t.patient_id = p.id "
	"ORDER BY p.id";

static int load_patients(struct db *db, struct cohort *c)
{
	sqlite3_stmt *stmt = db_prepare_static(db, patients_sql);
	if (!stmt)
		return DB_ERROR;
	size_t cap = 256;
	c->patients = xmalloc(cap * sizeof *c->patients);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (c->npatients == cap) {
			cap *= 2;
			c->patients = xrealloc(c->patients, cap * sizeof *c->patients);
		}
		struct cohort_patient *p = &c->patients[c->npatients++];
		p->id = sqlite3_column_int64(stmt, 0);
		text_into(p->histology, sizeof p->histology, stmt, 1);
		text_into(p->setting, sizeof p->setting, stmt, 2);
		text_into(p->regimen, sizeof p->regimen, stmt, 3);
		p->dead = sqlite3_column_int(stmt, 4);
		text_into(p->died_on, sizeof p->died_on, stmt, 5);
		p->courses = sqlite3_column_int64(stmt, 6);
		text_into(p->first_start, sizeof p->first_start, stmt, 7);
		text_into(p->latest, sizeof p->latest, stmt, 8);
	}
	db_done(stmt);
	return db_status_from(db, rc);
}

static int load_outcomes(struct db *db, struct cohort *c)
{
	sqlite3_stmt *stmt = db_prepare_static(db, "SELECT patient_id, assessed_on, response, confirmed "
					    "FROM outcomes ORDER BY patient_id, assessed_on, id");
	if (!stmt)
		return DB_ERROR;
	size_t cap = 256;
	c->outcomes = xmalloc(cap * sizeof *c->outcomes);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (c->noutcomes == cap) {
			cap *= 2;
			c->outcomes = xrealloc(c->outcomes, cap * sizeof *c->outcomes);
		}
		struct cohort_outcome *o = &c->outcomes[c->noutcomes++];
		o->patient_id = sqlite3_column_int64(stmt, 0);
		text_into(o->assessed_on, sizeof o->assessed_on, stmt, 1);
		text_into(o->response, sizeof o->response, stmt, 2);
		o->confirmed = sqlite3_column_int(stmt, 3);
	}
	db_done(stmt);
	return db_status_from(db, rc);
}

static int load_events(struct db *db, const char *sql, struct cohort *c)
{
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	size_t cap = 256;
	c->events = xmalloc(cap * sizeof *c->events);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (c->nevents == cap) {
			cap *= 2;
			c->events = xrealloc(c->events, cap * sizeof *c->events);
		}
		struct cohort_event *e = &c->events[c->nevents++];
		e->patient_id = sqlite3_column_int64(stmt, 0);
		e->course_id = sqlite3_column_int64(stmt, 1);
		e->term = xstrdup((const char *)sqlite3_column_text(stmt, 2));
		e->grade = sqlite3_column_int(stmt, 3);
	}
	db_done(stmt);
	return db_status_from(db, rc);
}

int store_cohort_load(struct db *db, unsigned parts, struct cohort *out)
{
	memset(out, 0, sizeof *out);
	int rc = db_begin_read(db);
	if (rc == DB_OK)
		rc = store_data_version(db, &out->as_of);
	if (rc == DB_OK)
		rc = load_patients(db, out);
	if (rc == DB_OK && (parts & COHORT_OUTCOMES))
		rc = load_outcomes(db, out);
	if (rc == DB_OK && (parts & COHORT_DEATHS))
		rc = load_events(db,
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
				 "GROUP BY course_id, term ORDER BY patient_id",
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

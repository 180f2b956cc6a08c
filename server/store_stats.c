/* The reads behind the statistics, in one read transaction so that every
 * figure comes from one consistent data version: the tallies kept on every
 * write (store_summary.c), and the treatment-related deaths and complete
 * responders a statistic lists. A filter on regimen, histology or setting
 * is in each query, so a filtered statistic reads only what it keeps. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cohort.h"
#include "db.h"
#include "summary.h"
#include "util.h"

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

/* The values a filter may list (each grouping's choices, 8 at most). */
#define FILTER_VALUES 27

/* head, then " AND <column> = ?N" for each filter given, or " AND <column>
 * IN (?N, ...)" for a comma-separated list of values (alias: the table's,
 * or ""), numbering parameters from first; the values (in scratch, for a
 * list) into values, *n how many. */
static char *filtered_sql(const char *head, const char *alias, const struct cohort_filter *f,
			  int first, const char *tail, const char **values, int *n,
			  char scratch[3][256])
{
	struct strbuf sb = {0};
	strbuf_puts(&sb, head);
	const char *columns[] = {"regimen", "histology", "setting"};
	const char *given[] = {f ? f->regimen : NULL, f ? f->histology : NULL,
			       f ? f->setting : NULL};
	*n = 0;
	for (int i = 0; i < 3; i++) {
		if (!given[i])
			continue;
		if (!strchr(given[i], ',')) {
			strbuf_printf(&sb, " AND %s%s = ?%d", alias, columns[i], first + *n);
			values[(*n)++] = given[i];
			continue;
		}
		snprintf(scratch[i], 256, "%s", given[i]);
		strbuf_printf(&sb, " AND %s%s IN (", alias, columns[i]);
		char *save = NULL;
		bool first_item = true;
		for (char *v = strtok_r(scratch[i], ",", &save); v && *n < FILTER_VALUES;
		     v = strtok_r(NULL, ",", &save)) {
			strbuf_printf(&sb, "%s?%d", first_item ? "" : ", ", first + *n);
			values[(*n)++] = v;
			first_item = false;
		}
		strbuf_puts(&sb, ")");
	}
	strbuf_puts(&sb, tail);
	return strbuf_steal(&sb);
}

static int load_tallies(struct db *db, int kind, const struct cohort_filter *f, struct cohort *c,
			size_t *cap)
{
	const char *values[FILTER_VALUES];
	char scratch[3][256];
	int nvalues;
	char *sql = filtered_sql("SELECT regimen, histology, setting, term, k, n FROM tallies "
				 "WHERE kind = ?1 AND n <> 0",
				 "", f, 2, "", values, &nvalues, scratch);
	struct db_stmt *stmt = sql ? db_prepare(db, sql) : NULL;
	free(sql);
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, tally_kind_names[kind]);
	for (int i = 0; i < nvalues; i++)
		db_bind_text(stmt, 2 + i, values[i]);
	bool termed = kind == TALLY_WORST_PATIENT || kind == TALLY_WORST_COURSE;
	int rc;
	while ((rc = db_step(stmt)) == DB_ROW) {
		if (!xgrow((void **)&c->tallies, cap, c->ntallies, sizeof *c->tallies)) {
			rc = DB_ERROR;
			break;
		}
		struct cohort_tally *t = &c->tallies[c->ntallies];
		memset(t, 0, sizeof *t);
		t->kind = kind;
		db_column_text_into(stmt, 0, t->cell.regimen, sizeof t->cell.regimen);
		db_column_text_into(stmt, 1, t->cell.histology, sizeof t->cell.histology);
		db_column_text_into(stmt, 2, t->cell.setting, sizeof t->cell.setting);
		if (termed && !(t->term = xstrdup(db_column_text(stmt, 3)))) {
			rc = DB_ERROR;
			break;
		}
		t->key = db_column_int(stmt, 4);
		t->n = db_column_int(stmt, 5);
		c->ntallies++;
	}
	db_done(stmt);
	return db_result(rc);
}

static int load_deaths(struct db *db, const struct cohort_filter *f, struct cohort *c)
{
	const char *values[FILTER_VALUES];
	char scratch[3][256];
	int nvalues;
	char *sql = filtered_sql(
		"SELECT t.patient_id, t.course_id, t.term, s.regimen, s.histology, s.setting "
		"FROM toxicities t JOIN patient_summaries s ON s.patient_id = t.patient_id "
		"WHERE t.grade = 5 AND t.attribution IN ('possible', 'probable', 'definite')",
		"s.", f, 1, " ORDER BY t.patient_id, t.course_id, t.id", values, &nvalues, scratch);
	struct db_stmt *stmt = sql ? db_prepare(db, sql) : NULL;
	free(sql);
	if (!stmt)
		return DB_ERROR;
	for (int i = 0; i < nvalues; i++)
		db_bind_text(stmt, 1 + i, values[i]);
	size_t cap = 0;
	int rc;
	while ((rc = db_step(stmt)) == DB_ROW) {
		if (!xgrow((void **)&c->deaths, &cap, c->ndeaths, sizeof *c->deaths)) {
			rc = DB_ERROR;
			break;
		}
		struct cohort_death *d = &c->deaths[c->ndeaths++];
		memset(d, 0, sizeof *d);
		d->patient_id = db_column_int(stmt, 0);
		d->course_id = db_column_int(stmt, 1);
		db_column_text_into(stmt, 2, d->term, sizeof d->term);
		db_column_text_into(stmt, 3, d->cell.regimen, sizeof d->cell.regimen);
		db_column_text_into(stmt, 4, d->cell.histology, sizeof d->cell.histology);
		db_column_text_into(stmt, 5, d->cell.setting, sizeof d->cell.setting);
	}
	db_done(stmt);
	return db_result(rc);
}

/* Complete responders as one reading sees them, through its partial index. */
static int load_responders(struct db *db, bool confirmed, const struct cohort_filter *f,
			   struct cohort *c)
{
	const char *values[FILTER_VALUES];
	char scratch[3][256];
	int nvalues;
	char *sql = filtered_sql(
		confirmed ? "SELECT patient_id, regimen, histology, setting, first_cr_confirmed, "
			    "latest, recurred_confirmed FROM patient_summaries "
			    "WHERE best_confirmed = 0"
			  : "SELECT patient_id, regimen, histology, setting, first_cr, latest, "
			    "recurred FROM patient_summaries WHERE best = 0",
		"", f, 3, " AND patient_id > ?1 ORDER BY patient_id LIMIT ?2", values, &nvalues,
		scratch);
	struct db_stmt *stmt = sql ? db_prepare(db, sql) : NULL;
	free(sql);
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, f->after);
	db_bind_int(stmt, 2, (int64_t)f->limit + 1);
	for (int i = 0; i < nvalues; i++)
		db_bind_text(stmt, 3 + i, values[i]);
	size_t cap = 0;
	int rc;
	while ((rc = db_step(stmt)) == DB_ROW) {
		if (c->nresponders == (size_t)f->limit) {
			c->more_responders = true;
			continue;
		}
		if (!xgrow((void **)&c->responders, &cap, c->nresponders, sizeof *c->responders)) {
			rc = DB_ERROR;
			break;
		}
		struct cohort_responder *r = &c->responders[c->nresponders++];
		memset(r, 0, sizeof *r);
		r->patient_id = db_column_int(stmt, 0);
		db_column_text_into(stmt, 1, r->cell.regimen, sizeof r->cell.regimen);
		db_column_text_into(stmt, 2, r->cell.histology, sizeof r->cell.histology);
		db_column_text_into(stmt, 3, r->cell.setting, sizeof r->cell.setting);
		db_column_text_into(stmt, 4, r->first_cr, sizeof r->first_cr);
		db_column_text_into(stmt, 5, r->latest, sizeof r->latest);
		r->recurred = db_column_int(stmt, 6) != 0;
	}
	db_done(stmt);
	return db_result(rc);
}

int store_cohort_load(struct db *db, unsigned parts, const struct cohort_filter *filter,
		      struct cohort *out)
{
	static const struct {
		unsigned part;
		int kinds[3];
	} tallied[] = {
		{COHORT_COUNTS, {TALLY_PATIENTS, TALLY_TREATED, TALLY_COURSES}},
		{COHORT_BEST, {TALLY_BEST, -1}},
		{COHORT_BEST_CONFIRMED, {TALLY_BEST_CONFIRMED, -1}},
		{COHORT_SURVIVAL, {TALLY_DIED, TALLY_CENSORED, -1}},
		{COHORT_WORST_BY_PATIENT, {TALLY_WORST_PATIENT, -1}},
		{COHORT_WORST_BY_COURSE, {TALLY_WORST_COURSE, -1}},
		{COHORT_RESPONDERS, {TALLY_CR, TALLY_CR_RECURRED, -1}},
		{COHORT_RESPONDERS_CONFIRMED,
		 {TALLY_CR_CONFIRMED, TALLY_CR_RECURRED_CONFIRMED, -1}},
		{COHORT_PROGRESSION_FREE, {TALLY_PFS_EVENT, TALLY_PFS_CENSORED, -1}},
		{COHORT_RESPONSE_DURATION, {TALLY_DOR_EVENT, TALLY_DOR_CENSORED, -1}},
		{COHORT_RESPONSE_DURATION_CONFIRMED,
		 {TALLY_DOR_EVENT_CONFIRMED, TALLY_DOR_CENSORED_CONFIRMED, -1}},
	};
	memset(out, 0, sizeof *out);
	size_t cap = 0;
	int rc = db_begin_read(db);
	if (rc == DB_OK)
		rc = store_data_version(db, &out->as_of);
	for (size_t i = 0; i < sizeof tallied / sizeof *tallied && rc == DB_OK; i++)
		for (int k = 0; k < 3 && tallied[i].kinds[k] >= 0 && rc == DB_OK; k++)
			if (parts & tallied[i].part)
				rc = load_tallies(db, tallied[i].kinds[k], filter, out, &cap);
	if (rc == DB_OK && (parts & COHORT_DEATHS))
		rc = load_deaths(db, filter, out);
	if (rc == DB_OK && (parts & (COHORT_RESPONDERS | COHORT_RESPONDERS_CONFIRMED)) && filter &&
	    filter->limit > 0)
		rc = load_responders(db, parts & COHORT_RESPONDERS_CONFIRMED, filter, out);
	db_rollback(db);
	if (rc != DB_OK)
		cohort_free(out);
	return rc;
}

void cohort_free(struct cohort *c)
{
	for (size_t i = 0; i < c->ntallies; i++)
		free(c->tallies[i].term);
	free(c->tallies);
	free(c->deaths);
	free(c->responders);
	memset(c, 0, sizeof *c);
}

/* What the rules about patients ask the database: the dates a course must
 * fall between, the span of a patient's courses, whether an adjuvant patient
 * has responses that only metastatic disease can show. */
#include <string.h>

#include "db.h"
#include "store.h"

static void copy_date(char dst[11], struct db_stmt *stmt, int col)
{
	const char *s = db_column_text(stmt, col);
	snprintf(dst, 11, "%s", s ? s : "");
}

/* Runs a one-row, one-integer query with one integer parameter. */
static int scalar_int(struct db *db, const char *sql, int64_t arg, int64_t *out)
{
	struct db_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, arg);
	int rc = db_step(stmt);
	if (rc == DB_ROW)
		*out = db_column_int(stmt, 0);
	db_done(stmt);
	return db_result(rc);
}

int store_patient_facts(struct db *db, int64_t patient_id, struct patient_facts *out)
{
	struct db_stmt *stmt = db_prepare_static(
		db, "SELECT enrolled_on, died_on, CASE setting WHEN 'adjuvant' THEN 1 ELSE 0 END "
		    "FROM patients WHERE id = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, patient_id);
	int rc = db_step(stmt);
	if (rc == DB_ROW) {
		copy_date(out->enrolled_on, stmt, 0);
		copy_date(out->died_on, stmt, 1);
		out->adjuvant = (int)db_column_int(stmt, 2);
	}
	db_done(stmt);
	if (rc == DB_OK)
		return DB_NOTFOUND;
	return db_result(rc);
}

int store_patient_course_span(struct db *db, int64_t patient_id, char first[11], char last[11])
{
	struct db_stmt *stmt = db_prepare(
		db, "SELECT min(started_on), max(started_on) FROM courses WHERE patient_id = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, patient_id);
	int rc = db_step(stmt);
	if (rc == DB_ROW) {
		copy_date(first, stmt, 0);
		copy_date(last, stmt, 1);
	}
	db_done(stmt);
	return db_result(rc);
}

int store_patient_count_responses(struct db *db, int64_t patient_id, int64_t *count)
{
	return scalar_int(db,
			  "SELECT count(*) FROM outcomes WHERE patient_id = ? "
			  "AND response NOT IN ('PD', 'NE')",
			  patient_id, count);
}

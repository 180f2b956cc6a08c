/* What the rules about patients ask the database: the dates a course must
 * fall between, the span of a patient's courses, whether an adjuvant patient
 * has responses that only metastatic disease can show. */
#include <string.h>

#include "db_sqlite.h"
#include "store.h"

static void copy_date(char dst[11], sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);
	snprintf(dst, 11, "%s", s ? (const char *)s : "");
}

/* Runs a one-row, one-integer query with one integer parameter. */
static int scalar_int(struct db *db, const char *sql, int64_t arg, int64_t *out)
{
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, arg);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	db_done(stmt);
	return db_status_from(db, rc);
}

int store_patient_facts(struct db *db, int64_t patient_id, struct patient_facts *out)
{
	sqlite3_stmt *stmt =
		db_prepare_static(db, "SELECT enrolled_on, died_on, setting = 'adjuvant' FROM patients WHERE id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, patient_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		copy_date(out->enrolled_on, stmt, 0);
		copy_date(out->died_on, stmt, 1);
		out->adjuvant = sqlite3_column_int(stmt, 2);
	}
	db_done(stmt);
	if (rc == SQLITE_DONE)
		return DB_NOTFOUND;
	return db_status_from(db, rc);
}

int store_patient_course_span(struct db *db, int64_t patient_id, char first[11], char last[11])
{
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT min(started_on), max(started_on) FROM courses WHERE patient_id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, patient_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		copy_date(first, stmt, 0);
		copy_date(last, stmt, 1);
	}
	db_done(stmt);
	return db_status_from(db, rc);
}

int store_patient_count_responses(struct db *db, int64_t patient_id, int64_t *count)
{
	return scalar_int(db,
			  "SELECT count(*) FROM outcomes WHERE patient_id = ? "
			  "AND response NOT IN ('PD', 'NE')",
			  patient_id, count);
}

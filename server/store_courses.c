/* What the rules about courses ask the database: a course's start and its
 * patient's setting, the next course number, the earliest date recorded
 * against a course. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "db_sqlite.h"
#include "store.h"

/* The facts of the course last looked up inside this thread's current
 * transaction: a bulk import checks every outcome and toxicity of a course
 * against the course it has just inserted. Only inside an explicit
 * transaction (its id then names it), and forgotten on any update or
 * delete. */
static _Thread_local struct {
	struct db *db;
	uint64_t transaction;
	int64_t course_id;
	struct course_facts facts;
} last_course;

void store_forget_course_facts(void)
{
	last_course.db = NULL;
}

int store_course_facts(struct db *db, int64_t course_id, struct course_facts *out)
{
	bool in_transaction = !sqlite3_get_autocommit(db_handle(db));
	if (in_transaction && last_course.db == db &&
	    last_course.transaction == db_transaction_id(db) && last_course.course_id == course_id) {
		*out = last_course.facts;
		return DB_OK;
	}
	sqlite3_stmt *stmt = db_prepare_static(db, "SELECT c.patient_id, c.started_on, p.setting = 'adjuvant' "
					    "FROM courses c JOIN patients p ON p.id = c.patient_id "
					    "WHERE c.id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, course_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		out->patient_id = sqlite3_column_int64(stmt, 0);
		snprintf(out->started_on, sizeof out->started_on, "%s",
			 (const char *)sqlite3_column_text(stmt, 1));
		out->adjuvant = sqlite3_column_int(stmt, 2);
	}
	db_done(stmt);
	if (rc == SQLITE_DONE)
		return DB_NOTFOUND;
	if (rc == SQLITE_ROW && in_transaction) {
		last_course.db = db;
		last_course.transaction = db_transaction_id(db);
		last_course.course_id = course_id;
		last_course.facts = *out;
	}
	return db_status_from(db, rc);
}

int store_course_next_number(struct db *db, int64_t patient_id, int64_t *number)
{
	sqlite3_stmt *stmt =
		db_prepare_static(db, "SELECT coalesce(max(number), 0) + 1 FROM courses WHERE patient_id = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, patient_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*number = sqlite3_column_int64(stmt, 0);
	db_done(stmt);
	return db_status_from(db, rc);
}

int store_course_first_dependant_date(struct db *db, int64_t course_id, char first[11])
{
	sqlite3_stmt *stmt = db_prepare_static(db, "SELECT min(d) FROM ("
					    "SELECT min(assessed_on) AS d FROM outcomes WHERE course_id = ?1 "
					    "UNION ALL "
					    "SELECT min(onset_on) FROM toxicities WHERE course_id = ?1)");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_int64(stmt, 1, course_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const unsigned char *s = sqlite3_column_text(stmt, 0);
		snprintf(first, 11, "%s", s ? (const char *)s : "");
	}
	db_done(stmt);
	return db_status_from(db, rc);
}

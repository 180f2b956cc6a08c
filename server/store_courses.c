/* What the rules about courses ask the database: a course's start and its
 * patient's setting, the next course number, the earliest date recorded
 * against a course. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
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
	bool in_transaction = db_in_transaction(db);
	if (in_transaction && last_course.db == db &&
	    last_course.transaction == db_transaction_id(db) &&
	    last_course.course_id == course_id) {
		*out = last_course.facts;
		return DB_OK;
	}
	struct db_stmt *stmt =
		db_prepare_static(db, "SELECT c.patient_id, c.started_on, CASE p.setting WHEN "
				      "'adjuvant' THEN 1 ELSE 0 END "
				      "FROM courses c JOIN patients p ON p.id = c.patient_id "
				      "WHERE c.id = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, course_id);
	int rc = db_step(stmt);
	if (rc == DB_ROW) {
		out->patient_id = db_column_int(stmt, 0);
		snprintf(out->started_on, sizeof out->started_on, "%s", db_column_text(stmt, 1));
		out->adjuvant = (int)db_column_int(stmt, 2);
	}
	db_done(stmt);
	if (rc == DB_OK)
		return DB_NOTFOUND;
	if (rc == DB_ROW && in_transaction) {
		last_course.db = db;
		last_course.transaction = db_transaction_id(db);
		last_course.course_id = course_id;
		last_course.facts = *out;
	}
	return db_result(rc);
}

int store_course_next_number(struct db *db, int64_t patient_id, int64_t *number)
{
	struct db_stmt *stmt = db_prepare_static(
		db, "SELECT coalesce(max(number), 0) + 1 FROM courses WHERE patient_id = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, patient_id);
	int rc = db_step(stmt);
	if (rc == DB_ROW)
		*number = db_column_int(stmt, 0);
	db_done(stmt);
	return db_result(rc);
}

int store_course_first_dependant_date(struct db *db, int64_t course_id, char first[11])
{
	struct db_stmt *stmt = db_prepare_static(
		db, "SELECT min(d) FROM ("
		    "SELECT min(assessed_on) AS d FROM outcomes WHERE course_id = ?1 "
		    "UNION ALL "
		    "SELECT min(onset_on) FROM toxicities WHERE course_id = ?1) AS firsts");
	if (!stmt)
		return DB_ERROR;
	db_bind_int(stmt, 1, course_id);
	int rc = db_step(stmt);
	if (rc == DB_ROW) {
		const char *s = db_column_text(stmt, 0);
		snprintf(first, 11, "%s", s ? s : "");
	}
	db_done(stmt);
	return db_result(rc);
}

/* The write path of a new clinical record (see record_insert.h): validate,
 * check references, insert, audit; in the caller's write transaction. */
#include "record_insert.h"

#include <string.h>

#include "audit.h"
#include "db.h"
#include "store.h"
#include "util.h"

int records_check_refs(const struct resource *res, struct db *db, struct record *rec,
		       const struct record *old, struct field_errors *errs)
{
	return errs->fatal || !res->check_refs ? DB_OK : res->check_refs(res, db, rec, old, errs);
}

int records_insert(struct db *db, const struct audit_context *ctx, const struct resource *res,
		   json_t *body, struct record *rec, struct field_errors *errs)
{
	record_from_json(res, body, NULL, rec, errs);
	if (alloc_failure_seen())
		return DB_ERROR; /* the record may not be whole (util.h) */
	if (!field_errors_any(errs))
		return records_insert_valid(db, ctx, res, rec, errs);
	/* refused already; its rules against other records still run, so that
	 * the answer names every problem */
	return records_check_refs(res, db, rec, NULL, errs);
}

int records_insert_valid(struct db *db, const struct audit_context *ctx, const struct resource *res,
			 struct record *rec, struct field_errors *errs)
{
	int rc = records_check_refs(res, db, rec, NULL, errs);
	if (rc != DB_OK || field_errors_any(errs))
		return rc;
	rec->version = 1;
	utc_now_rfc3339(rec->created_at);
	memcpy(rec->updated_at, rec->created_at, sizeof rec->updated_at);
	rc = store_insert(db, res, rec);
	return rc == DB_OK ? audit_append(db, ctx, "create", res, rec->id, NULL, rec) : rc;
}

/* Did check_refs leave v as it was? Text is compared by pointer: a text it
 * replaced would be freed, and is different anyway. */
static bool value_unchanged(const struct value *now, const struct value *was)
{
	return now->kind == was->kind && now->i == was->i && now->s == was->s &&
	       (now->kind != VALUE_REAL || now->r == was->r);
}

int records_insert_made(struct db *db, const struct resource *res, struct record *rec,
			const struct audit_row *row, struct field_errors *errs)
{
	struct value made[RECORD_MAX_FIELDS];
	memcpy(made, rec->v, sizeof made);
	int64_t id = rec->id;
	int rc = records_check_refs(res, db, rec, NULL, errs);
	if (rc != DB_OK || field_errors_any(errs))
		return rc;
	/* the row was made for the record as planned: the references must find
	 * nothing left to fill in (a derived patient_id, a course's number),
	 * and the insert must take the planned id */
	for (int i = 0; i < res->nfields; i++)
		if (!value_unchanged(&rec->v[i], &made[i]))
			return DB_ERROR;
	rc = store_insert(db, res, rec);
	if (rc == DB_OK && rec->id != id)
		rc = DB_ERROR;
	return rc == DB_OK ? audit_row_append(db, row) : rc;
}

/* The one write path for a new clinical record, shared by POST handlers and
 * by the loaders that write many records at once (the demo cohort; bulk
 * import): a JSON body is validated exactly as a POST validates it, its
 * references checked, the record inserted and its audit row appended. The
 * caller holds the write transaction. */
#ifndef COHORTD_RECORD_INSERT_H
#define COHORTD_RECORD_INSERT_H

#include <jansson.h>

#include "model.h"

struct db;
struct audit_context;
struct audit_row;

/* Returns DB_OK with *rec filled (rec->id set) when inserted; DB_OK with
 * problems in errs when the body is invalid (nothing written); or a DB_
 * code (DB_CONFLICT for a duplicate). *rec is the caller's to record_clear. */
int records_insert(struct db *db, const struct audit_context *ctx, const struct resource *res,
		   json_t *body, struct record *rec, struct field_errors *errs);
/* The same from *rec already built by record_from_json with no problem (a
 * bulk import validates on another thread): references, insert, audit. */
int records_insert_valid(struct db *db, const struct audit_context *ctx, const struct resource *res,
			 struct record *rec, struct field_errors *errs);
/* The same for a record whose id, timestamps, parent ids and audit row were
 * made ahead (import.c; audit.h): references, insert under that id, and
 * that row, refused (DB_ERROR) if the record came out other than made. */
int records_insert_made(struct db *db, const struct resource *res, struct record *rec,
			const struct audit_row *row, struct field_errors *errs);

/* The record's rules against other records (res->check_refs), when it has
 * any and errs does not say the body is no record at all (errs->fatal);
 * DB_OK when there are none to run. */
int records_check_refs(const struct resource *res, struct db *db, struct record *rec,
		       const struct record *old, struct field_errors *errs);

#endif

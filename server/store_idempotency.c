/* Idempotent answers: the first successful answer to a POST, by token and
 * Idempotency-Key, kept at least 24 hours. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store_trust.h"
#include "util.h"

void idempotent_answer_clear(struct idempotent_answer *a)
{
	free(a->location);
	free(a->body);
	memset(a, 0, sizeof *a);
}

int store_idempotency_get(struct db *db, const char *actor, const char *key,
			  struct idempotent_answer *out)
{
	struct db_stmt *stmt =
		db_prepare_static(db, "SELECT request_hash, status, location, body "
				      "FROM idempotency WHERE actor = ? AND key = ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, actor);
	db_bind_text(stmt, 2, key);
	int rc = db_step(stmt);
	if (rc == DB_ROW) {
		snprintf(out->request_hash, sizeof out->request_hash, "%s",
			 db_column_text(stmt, 0));
		out->status = (int)db_column_int(stmt, 1);
		const char *loc = db_column_text(stmt, 2);
		out->location = loc ? xstrdup(loc) : NULL;
		out->body = xstrdup(db_column_text(stmt, 3));
	}
	db_done(stmt);
	if (rc == DB_OK)
		return DB_NOTFOUND;
	return db_result(rc);
}

int store_idempotency_put(struct db *db, const char *actor, const char *key,
			  const struct idempotent_answer *a, const char *created_at)
{
	struct db_stmt *stmt =
		db_prepare_static(db, "INSERT INTO idempotency (actor, key, request_hash, "
				      "status, location, body, created_at) "
				      "VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, actor);
	db_bind_text(stmt, 2, key);
	db_bind_text(stmt, 3, a->request_hash);
	db_bind_int(stmt, 4, a->status);
	db_bind_text(stmt, 5, a->location);
	db_bind_text(stmt, 6, a->body);
	db_bind_text(stmt, 7, created_at);
	int rc = db_step(stmt);
	db_done(stmt);
	return db_result(rc);
}

int store_idempotency_purge(struct db *db, const char *before)
{
	struct db_stmt *stmt =
		db_prepare_static(db, "DELETE FROM idempotency WHERE created_at < ?");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, before);
	int rc = db_step(stmt);
	db_done(stmt);
	return db_result(rc);
}

/* Idempotent answers: the first successful answer to a POST, by token and
 * Idempotency-Key, kept at least 24 hours. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_sqlite.h"
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
	sqlite3_stmt *stmt = db_prepare_static(db, "SELECT request_hash, status, location, body "
					    "FROM idempotency WHERE actor = ? AND key = ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_text(stmt, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		snprintf(out->request_hash, sizeof out->request_hash, "%s",
			 (const char *)sqlite3_column_text(stmt, 0));
		out->status = sqlite3_column_int(stmt, 1);
		const unsigned char *loc = sqlite3_column_text(stmt, 2);
		out->location = loc ? xstrdup((const char *)loc) : NULL;
		out->body = xstrdup((const char *)sqlite3_column_text(stmt, 3));
	}
	db_done(stmt);
	if (rc == SQLITE_DONE)
		return DB_NOTFOUND;
	return db_status_from(db, rc);
}

int store_idempotency_put(struct db *db, const char *actor, const char *key,
			  const struct idempotent_answer *a, const char *created_at)
{
	sqlite3_stmt *stmt = db_prepare_static(db, "INSERT INTO idempotency (actor, key, request_hash, "
					    "status, location, body, created_at) "
					    "VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_text(stmt, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, a->request_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 4, a->status);
	sqlite3_bind_text(stmt, 5, a->location, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 6, a->body, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 7, created_at, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	db_done(stmt);
	return db_status_from(db, rc);
}

int store_idempotency_purge(struct db *db, const char *before)
{
	sqlite3_stmt *stmt = db_prepare_static(db, "DELETE FROM idempotency WHERE created_at < ?");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_text(stmt, 1, before, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	db_done(stmt);
	return db_status_from(db, rc);
}

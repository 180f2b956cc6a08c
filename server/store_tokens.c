/* Token rows: only names, roles, times and SHA-256 hashes; never a token. */
#include <stdio.h>

#include "db_sqlite.h"
#include "store_trust.h"

int store_token_insert(struct db *db, const char *name, const char *role, const char *hash,
		       const char *created_at)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "INSERT INTO tokens (name, role, hash, created_at) VALUES (?, ?, ?, ?)");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, created_at, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	db_done(stmt);
	return db_status_from(db, rc);
}

int store_token_revoke(struct db *db, const char *name, const char *at)
{
	sqlite3_stmt *stmt = db_prepare(
		db, "UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_text(stmt, 1, at, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	db_done(stmt);
	if (rc == SQLITE_DONE && sqlite3_changes(db_handle(db)) == 0)
		return DB_NOTFOUND;
	return db_status_from(db, rc);
}

int store_token_find(struct db *db, const char *hash, char *name, size_t name_len, char *role,
		     size_t role_len, char stored[65])
{
	sqlite3_stmt *stmt = db_prepare(
		db, "SELECT name, role, hash FROM tokens WHERE hash = ? AND revoked_at IS NULL");
	if (!stmt)
		return DB_ERROR;
	sqlite3_bind_text(stmt, 1, hash, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		snprintf(name, name_len, "%s", (const char *)sqlite3_column_text(stmt, 0));
		snprintf(role, role_len, "%s", (const char *)sqlite3_column_text(stmt, 1));
		snprintf(stored, 65, "%s", (const char *)sqlite3_column_text(stmt, 2));
	}
	db_done(stmt);
	if (rc == SQLITE_DONE)
		return DB_NOTFOUND;
	return db_status_from(db, rc);
}

int store_token_walk(struct db *db,
		     int (*fn)(void *cls, const char *name, const char *role, const char *created_at,
			       const char *revoked_at),
		     void *cls)
{
	sqlite3_stmt *stmt =
		db_prepare_static(db, "SELECT name, role, created_at, revoked_at FROM tokens ORDER BY id");
	if (!stmt)
		return DB_ERROR;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if (fn(cls, (const char *)sqlite3_column_text(stmt, 0),
		       (const char *)sqlite3_column_text(stmt, 1),
		       (const char *)sqlite3_column_text(stmt, 2),
		       (const char *)sqlite3_column_text(stmt, 3)) != 0)
			break;
	db_done(stmt);
	return rc == SQLITE_ROW ? DB_OK : db_status_from(db, rc);
}

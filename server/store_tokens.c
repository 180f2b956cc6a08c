/* Token rows: only names, roles, times and SHA-256 hashes; never a token. */
#include <stdio.h>

#include "db.h"
#include "store_trust.h"

int store_token_insert(struct db *db, const char *name, const char *role, const char *hash,
		       const char *created_at)
{
	struct db_stmt *stmt = db_prepare(
		db, "INSERT INTO tokens (name, role, hash, created_at) VALUES (?, ?, ?, ?)");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, name);
	db_bind_text(stmt, 2, role);
	db_bind_text(stmt, 3, hash);
	db_bind_text(stmt, 4, created_at);
	int rc = db_step(stmt);
	db_done(stmt);
	return db_result(rc);
}

int store_token_revoke(struct db *db, const char *name, const char *at)
{
	struct db_stmt *stmt = db_prepare(
		db, "UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL");
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, at);
	db_bind_text(stmt, 2, name);
	int rc = db_step(stmt);
	db_done(stmt);
	if (rc == DB_OK && db_changes(db) == 0)
		return DB_NOTFOUND;
	return db_result(rc);
}

static const char token_find_sql[] =
	"SELECT name, role, hash FROM tokens WHERE hash = ? AND revoked_at IS NULL";

int store_token_find_finish(struct db_stmt *stmt, char *name, size_t name_len, char *role,
			    size_t role_len, char stored[65])
{
	int rc = db_step(stmt);
	if (rc == DB_ROW) {
		snprintf(name, name_len, "%s", db_column_text(stmt, 0));
		snprintf(role, role_len, "%s", db_column_text(stmt, 1));
		snprintf(stored, 65, "%s", db_column_text(stmt, 2));
	}
	db_done(stmt);
	if (rc == DB_OK)
		return DB_NOTFOUND;
	return db_result(rc);
}

int store_token_find(struct db *db, const char *hash, char *name, size_t name_len, char *role,
		     size_t role_len, char stored[65])
{
	struct db_stmt *stmt = db_prepare_static(db, token_find_sql);
	if (!stmt)
		return DB_ERROR;
	db_bind_text(stmt, 1, hash);
	return store_token_find_finish(stmt, name, name_len, role, role_len, stored);
}

struct db_stmt *store_token_find_ahead(struct db *db, const char *hash)
{
	struct db_stmt *stmt = db_prepare_static(db, token_find_sql);
	if (!stmt)
		return NULL;
	db_bind_text(stmt, 1, hash);
	if (db_step_ahead(stmt))
		return stmt;
	db_done(stmt);
	return NULL;
}

int store_token_walk(struct db *db,
		     int (*fn)(void *cls, const char *name, const char *role,
			       const char *created_at, const char *revoked_at),
		     void *cls)
{
	struct db_stmt *stmt = db_prepare_static(
		db, "SELECT name, role, created_at, revoked_at FROM tokens ORDER BY id");
	if (!stmt)
		return DB_ERROR;
	int rc;
	while ((rc = db_step(stmt)) == DB_ROW)
		if (fn(cls, db_column_text(stmt, 0), db_column_text(stmt, 1),
		       db_column_text(stmt, 2), db_column_text(stmt, 3)) != 0)
			break;
	db_done(stmt);
	return rc == DB_ROW ? DB_OK : db_result(rc);
}

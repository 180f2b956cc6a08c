/* Migrations: each engine carries its own DDL (migrations/sqlite/, ...,
 * embedded in the binary, the same numbering for every engine), applied in
 * order, each with its version in one transaction, so a database is always
 * at one numbered schema. */
#include "db.h"

#include <stdlib.h>

#include "db_engine.h"
#include "embedded.h"
#include "log.h"
#include "util.h"

/* Every engine's list has the same numbering: SQLite's counts for all. */
int db_latest_schema_version(void)
{
	return (int)embedded_migrations_sqlite_count;
}

int db_schema_version(struct db *db, int *version)
{
	return db->engine->schema_version(db, version);
}

/* Migration N (1-based) is the engine's migrations[N-1]; the schema version
 * counts those applied. */
int db_migrate(struct db *db)
{
	const struct db_engine *engine = db->engine;
	int current = 0;
	int rc = engine->schema_version(db, &current);
	if (rc != DB_OK)
		return rc;
	if ((size_t)current > *engine->migrations_count) {
		/* written by a newer cohortd: this one would misread it */
		log_write(LOG_ERROR,
			  "the database schema is newer than this build knows: run the "
			  "cohortd that wrote it, or a newer one",
			  json_pack("{s:s, s:i, s:i}", "engine", engine->name, "schema_version",
				    current, "known", (int)*engine->migrations_count));
		return DB_ERROR;
	}
	for (size_t n = (size_t)current; n < *engine->migrations_count; n++) {
		const struct embedded_file *m = &engine->migrations[n];
		char *sql = xstrndup((const char *)m->data, m->len);
		if (!sql)
			return DB_ERROR;
		rc = db_begin_write(db);
		if (rc == DB_OK)
			rc = engine->exec_script(db, sql);
		if (rc == DB_OK)
			rc = engine->set_schema_version(db, (int)n + 1);
		if (rc == DB_OK)
			rc = db_commit(db);
		if (rc != DB_OK) {
			log_write(LOG_ERROR, "migration failed",
				  json_pack("{s:s, s:s, s:s}", "engine", engine->name, "migration",
					    m->name, "error", db_last_error(db)));
			db_rollback(db);
		}
		free(sql);
		if (rc != DB_OK)
			return rc;
	}
	return DB_OK;
}

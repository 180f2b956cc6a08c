/* Private to the storage layer (db.c and store*.c): the SQLite handle and the
 * per-connection statement cache. Handlers never include this file.
 *
 * db_prepare() returns a statement owned by the connection's cache: the
 * caller borrows it, binds, steps, and must hand it back with db_done()
 * (which resets and clears bindings) on every path. */
#ifndef COHORTD_DB_SQLITE_H
#define COHORTD_DB_SQLITE_H

#include <sqlite3.h>

#include "db.h"

sqlite3_stmt *db_prepare(struct db *db, const char *sql);
/* The same for text that is never freed, found by address: faster. */
sqlite3_stmt *db_prepare_static(struct db *db, const char *sql);
/* Inserts n rows of ncols values with head ("INSERT INTO t (a, b)", text
 * that lives as long as the process), several rows to a statement, bind
 * giving row i its values from parameter at on. On failure the rows of
 * the failed statement are out and those before it in. */
int db_insert_rows(struct db *db, const char *head, int ncols, int n,
		   void (*bind)(sqlite3_stmt *stmt, int at, int i, const void *cls),
		   const void *cls);
void db_done(sqlite3_stmt *stmt);
/* Maps an SQLite result code to a DB_ code (SQLITE_DONE/ROW/OK to DB_OK). */
int db_status_from(struct db *db, int rc);
sqlite3 *db_handle(struct db *db);
/* Drops what store_courses.c remembers of the last course looked up:
 * called by every update and delete. */
void store_forget_course_facts(void);

#endif

/* The workers' read snapshots (db_for_thread, db.h), driven on one thread
 * with no server, against a second connection of the test's own that
 * stands for another process: a snapshot is kept from call to call while
 * this process's writes are quiet, yet every call reads every commit made
 * before it; none is kept while this process writes; an idle one is ended
 * by db_release_idle_snapshots. Whether a snapshot is held is read from
 * outside: a TRUNCATE checkpoint that waits for no one is refused (busy)
 * while a reader holds a snapshot of a WAL with frames in it. */
#include <check.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "db.h"

static char dir[64], path[128];
static sqlite3 *other; /* "another process" */

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/cohortd-snapshots-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/test.db", dir);
	struct db *db;
	ck_assert_int_eq(db_open(path, &db), DB_OK);
	ck_assert_int_eq(db_migrate(db), DB_OK);
	db_close(db);
	ck_assert_int_eq(db_pool_init(path), DB_OK);
	ck_assert_int_eq(sqlite3_open(path, &other), SQLITE_OK);
	usleep(300 * 1000); /* the migrations were this process's writes: let them be quiet */
}

static void teardown(void)
{
	sqlite3_close(other);
	db_pool_close();
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A commit by the other connection (it writes a WAL frame). */
static void other_commits(int user_version)
{
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA user_version=%d", user_version);
	ck_assert_int_eq(sqlite3_exec(other, sql, NULL, NULL, NULL), SQLITE_OK);
}

/* What this thread's pooled connection reads, as one call. */
static int pooled_read(void)
{
	struct db *db = db_for_thread();
	ck_assert_ptr_nonnull(db);
	int version = -1;
	ck_assert_int_eq(db_schema_version(db, &version), DB_OK);
	db_thread_done();
	return version;
}

/* Whether a reader holds a snapshot: the other connection's checkpoint
 * answers busy. */
static bool snapshot_held(void)
{
	sqlite3_stmt *st;
	ck_assert_int_eq(
		sqlite3_prepare_v2(other, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &st, NULL),
		SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	int busy = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return busy != 0;
}

START_TEST(test_a_quiet_snapshot_is_kept_and_still_reads_every_commit)
{
	other_commits(5);
	ck_assert_int_eq(pooled_read(), 5);
	ck_assert(snapshot_held()); /* kept after the call */
	ck_assert_int_eq(pooled_read(), 5);
	/* a commit elsewhere: the next call reads it, every time */
	for (int v = 6; v < 26; v++) {
		other_commits(v);
		ck_assert_int_eq(pooled_read(), v);
	}
	ck_assert(snapshot_held());
	/* idle, it is ended; the WAL can then be emptied */
	db_release_idle_snapshots();
	ck_assert(!snapshot_held());
	ck_assert_int_eq(pooled_read(), 25);
}
END_TEST

START_TEST(test_no_snapshot_is_kept_while_this_process_writes)
{
	other_commits(5);
	/* a commit by this process, on the pool's writer */
	struct db *writer = db_writer();
	ck_assert_ptr_nonnull(writer);
	ck_assert_int_eq(db_begin_write(writer), DB_OK);
	ck_assert_int_eq(db_commit(writer), DB_OK);
	other_commits(6);
	ck_assert_int_eq(pooled_read(), 6);
	ck_assert(!snapshot_held());
	/* once its writes have been quiet a while, snapshots are kept again */
	usleep(300 * 1000);
	other_commits(7);
	ck_assert_int_eq(pooled_read(), 7);
	ck_assert(snapshot_held());
}
END_TEST

Suite *suite(void)
{
	Suite *s = suite_create("snapshots");
	TCase *tc = tcase_create("pool");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_a_quiet_snapshot_is_kept_and_still_reads_every_commit);
	tcase_add_test(tc, test_no_snapshot_is_kept_while_this_process_writes);
	suite_add_tcase(s, tc);
	return s;
}

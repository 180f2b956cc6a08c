/* SQLite connections, the way a threaded server must hold them: one
 * connection per worker thread (opened NOMUTEX, since no two threads share
 * one), WAL so readers never wait for the writer, a busy timeout so writers
 * queue instead of failing, foreign keys on, statements prepared once per
 * connection and reused, and migrations embedded in the binary. */
#include "db_sqlite.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "embedded.h"
#include "fault.h"
#include "log.h"
#include "util.h"

#define STMT_CACHE_SIZE 64
#define BUSY_TIMEOUT_MS 5000

struct cached_stmt {
	const char *key; /* the caller's pointer: a hit without comparing text */
	char *sql;
	sqlite3_stmt *stmt;
	uint64_t last_used;
};

struct db {
	sqlite3 *conn;
	struct cached_stmt cache[STMT_CACHE_SIZE];
	uint64_t clock;
	uint64_t transactions;
	bool shared; /* the pool's writer: used only by the thread holding writer_lock */
	struct db *next_in_pool;
};

sqlite3 *db_handle(struct db *db)
{
	return db->conn;
}

const char *db_last_error(struct db *db)
{
	return db && db->conn ? sqlite3_errmsg(db->conn) : "database not open";
}

int db_status_from(struct db *db, int rc)
{
	(void)db;
	switch (rc & 0xFF) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return DB_OK;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return DB_CONFLICT;
		return DB_CONSTRAINT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return DB_BUSY;
	case SQLITE_FULL:
		return DB_FULL;
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
		return DB_READONLY;
	default:
		return DB_ERROR;
	}
}

int db_file_sizes(struct db *db, int64_t *db_bytes, int64_t *wal_bytes)
{
	const char *path = sqlite3_db_filename(db->conn, "main");
	struct stat st;
	if (!path || stat(path, &st) != 0)
		return DB_ERROR;
	*db_bytes = st.st_size;
	char *wal = xasprintf("%s-wal", path);
	if (!wal)
		return DB_ERROR;
	*wal_bytes = stat(wal, &st) == 0 ? st.st_size : 0;
	free(wal);
	return DB_OK;
}

static int exec(struct db *db, const char *sql)
{
	return db_status_from(db, sqlite3_exec(db->conn, sql, NULL, NULL, NULL));
}

/* SQLite counts its allocations behind a global mutex unless told not to;
 * nothing here reads the counts. Must precede SQLite's initialisation. */
static pthread_once_t sqlite_setup = PTHREAD_ONCE_INIT;

static void sqlite_configure(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* SQLite's own allocator, wrapped: each allocation takes its turn at the
 * failure injector, and a failure is noted in the thread's flag (util.h),
 * so that one SQLite absorbed (a NULL column, a smaller page cache) still
 * ends the request in a 503 rather than a silently wrong answer. */
static sqlite3_mem_methods sqlite_memory;

static void *sqlite_malloc(int n)
{
	if (fault_injected())
		return NULL;
	void *p = sqlite_memory.xMalloc(n);
	if (!p)
		alloc_failure_note();
	return p;
}

static void *sqlite_realloc(void *p, int n)
{
	if (fault_injected())
		return NULL;
	void *q = sqlite_memory.xRealloc(p, n);
	if (!q)
		alloc_failure_note();
	return q;
}

int db_set_allocator(void)
{
	sqlite3_mem_methods m;
	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sqlite_memory) != SQLITE_OK)
		return DB_ERROR;
	m = sqlite_memory;
	m.xMalloc = sqlite_malloc;
	m.xRealloc = sqlite_realloc;
	return sqlite3_config(SQLITE_CONFIG_MALLOC, &m) == SQLITE_OK ? DB_OK : DB_ERROR;
}

static enum db_durability durability = DB_DURABLE_NORMAL;

void db_set_durability(enum db_durability d)
{
	durability = d;
}

int db_open(const char *path, struct db **out)
{
	pthread_once(&sqlite_setup, sqlite_configure);
	struct db *db = xcalloc(1, sizeof *db);
	if (!db) {
		*out = NULL;
		return DB_ERROR;
	}
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	int rc = sqlite3_open_v2(path, &db->conn, flags, NULL);
	if (rc != SQLITE_OK)
		goto out_fail;
	sqlite3_extended_result_codes(db->conn, 1);
	sqlite3_busy_timeout(db->conn, BUSY_TIMEOUT_MS);
	rc = sqlite3_exec(db->conn,
			  "PRAGMA journal_mode=WAL;"
			  "PRAGMA synchronous=NORMAL;"
			  "PRAGMA foreign_keys=ON;"
			  /* a larger page cache spares a read() per page; checkpoints
			   * every ~40 MiB of WAL write each hot page (indexes,
			   * sqlite_sequence) once instead of often. (A memory map was
			   * measured slower: remapping as the file grows costs TLB
			   * shootdowns on every core.) */
			  "PRAGMA cache_size=-16384;"
			  "PRAGMA wal_autocheckpoint=10000;"
			  /* savepoint journals (group commit) in memory */
			  "PRAGMA temp_store=MEMORY;",
			  NULL, NULL, NULL);
	if (rc == SQLITE_OK && durability == DB_DURABLE_FULL)
		rc = sqlite3_exec(db->conn, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto out_fail;
	*out = db;
	return DB_OK;

out_fail:
	log_write(LOG_ERROR, "cannot open database",
		  json_pack("{s:s, s:s}", "path", path,
			    "error", db->conn ? sqlite3_errmsg(db->conn) : sqlite3_errstr(rc)));
	int status = db_status_from(db, rc);
	db_close(db);
	*out = NULL;
	return status == DB_OK ? DB_ERROR : status;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	for (int i = 0; i < STMT_CACHE_SIZE; i++) {
		sqlite3_finalize(db->cache[i].stmt);
		free(db->cache[i].sql);
	}
	sqlite3_close(db->conn);
	free(db);
}

/* Statements are looked up by their SQL text; the least recently used one
 * makes room when the cache is full. Lists build SQL from the filters given,
 * so the cache holds one statement per combination actually used. */
static sqlite3_stmt *prepare(struct db *db, const char *sql, const char *key)
{
	struct cached_stmt *slot = &db->cache[0];
	for (int i = 0; i < STMT_CACHE_SIZE; i++) {
		struct cached_stmt *c = &db->cache[i];
		if (c->sql && strcmp(c->sql, sql) == 0) {
			c->last_used = ++db->clock;
			if (key)
				c->key = key;
			return c->stmt;
		}
		if (c->last_used < slot->last_used)
			slot = c;
	}
	sqlite3_stmt *stmt = NULL;
	if (sqlite3_prepare_v3(db->conn, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
		return NULL;
	char *copy = xstrdup(sql);
	if (!copy) {
		sqlite3_finalize(stmt);
		return NULL;
	}
	sqlite3_finalize(slot->stmt);
	free(slot->sql);
	slot->sql = copy;
	slot->key = key;
	slot->stmt = stmt;
	slot->last_used = ++db->clock;
	return stmt;
}

sqlite3_stmt *db_prepare(struct db *db, const char *sql)
{
	return prepare(db, sql, NULL);
}

/* For SQL text that lives as long as the process (literals, store.c's
 * per-resource statements): found by its address, without comparing text. */
sqlite3_stmt *db_prepare_static(struct db *db, const char *sql)
{
	for (int i = 0; i < STMT_CACHE_SIZE; i++) {
		if (db->cache[i].key == sql) {
			db->cache[i].last_used = ++db->clock;
			return db->cache[i].stmt;
		}
	}
	return prepare(db, sql, sql);
}

void db_done(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

/* Writers of this process queue here rather than in SQLite's busy handler,
 * which sleeps and polls (1, 2, 5, ... ms): a waiting writer is woken the
 * moment the lock is free. Other processes (the CLI) still meet the busy
 * timeout.
 *
 * Group commit. On the pool's shared writer, each writer's work is a
 * savepoint inside one open transaction; a writer that finishes while
 * others wait leaves the transaction open for them and waits for its
 * COMMIT; the last one commits for all and tells each the outcome. A COMMIT
 * costs a WAL append and several locks whatever it holds, so under load
 * many writes share one, and none is answered before it is durable. A
 * writer whose work fails rolls back to its savepoint: the others' work is
 * untouched. Each waiting writer is told its own group's outcome in a slot
 * of its own: a shared "last outcome" would be overwritten by the next
 * group's when a waiter wakes late (the allocation-failure test caught a
 * 201 for a rolled-back record that way, and a failure for a committed one). */
#define GROUP_MAX 64

static pthread_mutex_t writer_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local bool holding_writer;

static pthread_mutex_t group_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t group_done = PTHREAD_COND_INITIALIZER;
static int group_waiting;       /* writers blocked on writer_lock */
static bool group_open;         /* the shared writer's transaction is open */
static int group_members;       /* writers whose work it holds */

/* A writer whose work is in the open group, waiting for its outcome. */
struct group_waiter {
	int outcome;
	bool told;
};
static struct group_waiter *group_waiters[GROUP_MAX];
static int group_nwaiters;

static void take_writer(void)
{
	pthread_mutex_lock(&group_lock);
	group_waiting++;
	pthread_mutex_unlock(&group_lock);
	pthread_mutex_lock(&writer_lock);
	pthread_mutex_lock(&group_lock);
	group_waiting--;
	pthread_mutex_unlock(&group_lock);
	holding_writer = true;
}

static void give_writer(void)
{
	if (holding_writer) {
		holding_writer = false;
		pthread_mutex_unlock(&writer_lock);
	}
}

/* A transaction that a failed ROLLBACK left open (it too can run out of
 * memory) holds no one's work: it is rolled back before the next begins. */
static void roll_back_leftover(struct db *db)
{
	if (!sqlite3_get_autocommit(db->conn))
		sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
}

enum leave { LEAVE_KEEP, LEAVE_DISCARD, LEAVE_NO_SAVEPOINT };
static int leave_group(struct db *db, enum leave how);

int db_begin_write(struct db *db)
{
	take_writer();
	db->transactions++;
	if (!db->shared) {
		roll_back_leftover(db);
		int rc = exec(db, "BEGIN IMMEDIATE");
		if (rc != DB_OK)
			give_writer();
		return rc;
	}
	if (!group_open) {
		roll_back_leftover(db);
		int rc = exec(db, "BEGIN IMMEDIATE");
		if (rc != DB_OK) {
			give_writer();
			return rc;
		}
		pthread_mutex_lock(&group_lock);
		group_open = true;
		pthread_mutex_unlock(&group_lock);
	}
	int rc = exec(db, "SAVEPOINT writer");
	if (rc != DB_OK)
		leave_group(db, LEAVE_NO_SAVEPOINT);
	return rc;
}

/* Ends one writer on the shared connection: keeps or discards its work,
 * then hands the open transaction to a waiting writer or commits the
 * group. Returns the outcome for this writer's work.
 *
 * After some errors (SQLITE_NOMEM, _FULL, _IOERR, _BUSY) SQLite may roll
 * the whole transaction back by itself, and a savepoint that cannot be
 * rolled back (ROLLBACK TO failing for memory) must not be released into
 * the group: either way the group's transaction is lost, and it ends at
 * once, failed for every writer in it, so that none is told its work is
 * kept and none finds another's half-done work in its own. */
static int leave_group(struct db *db, enum leave how)
{
	int rc = DB_OK;
	bool keep = how == LEAVE_KEEP;
	bool lost = sqlite3_get_autocommit(db->conn);
	if (lost)
		keep = false, rc = DB_ERROR;
	if (keep && (rc = exec(db, "RELEASE writer")) != DB_OK)
		keep = false;
	if (!keep && !lost && how != LEAVE_NO_SAVEPOINT &&
	    (exec(db, "ROLLBACK TO writer") != DB_OK || exec(db, "RELEASE writer") != DB_OK))
		lost = true;
	if (!lost)
		lost = sqlite3_get_autocommit(db->conn);
	struct group_waiter me = {0};
	pthread_mutex_lock(&group_lock);
	group_members += keep;
	bool hand_over = !lost && group_waiting > 0 && group_members < GROUP_MAX;
	if (hand_over && keep)
		group_waiters[group_nwaiters++] = &me;
	pthread_mutex_unlock(&group_lock);
	if (hand_over) {
		give_writer();
		if (!keep)
			return rc;
		pthread_mutex_lock(&group_lock);
		while (!me.told)
			pthread_cond_wait(&group_done, &group_lock);
		pthread_mutex_unlock(&group_lock);
		return me.outcome;
	}
	int outcome = lost ? DB_ERROR : DB_OK;
	if (!lost && group_members > 0)
		outcome = exec(db, "COMMIT");
	if (group_members == 0 || outcome != DB_OK)
		roll_back_leftover(db);
	pthread_mutex_lock(&group_lock);
	group_open = false;
	group_members = 0;
	for (int i = 0; i < group_nwaiters; i++) {
		group_waiters[i]->outcome = outcome;
		group_waiters[i]->told = true;
	}
	group_nwaiters = 0;
	pthread_cond_broadcast(&group_done);
	pthread_mutex_unlock(&group_lock);
	give_writer();
	return keep ? outcome : rc;
}

int db_begin_read(struct db *db)
{
	db->transactions++;
	return exec(db, "BEGIN");
}

uint64_t db_transaction_id(struct db *db)
{
	return db->transactions;
}

/* Work done while an allocation failed (util.h) may be incomplete in ways
 * no return code told: it is rolled back, never committed. */
int db_commit(struct db *db)
{
	if (db->shared && !holding_writer)
		return DB_ERROR;
	if (alloc_failure_seen()) {
		db_rollback(db);
		return DB_ERROR;
	}
	int rc;
	if (db->shared) {
		rc = leave_group(db, LEAVE_KEEP);
	} else {
		rc = exec(db, "COMMIT");
		if (rc != DB_OK)
			db_rollback(db);
		give_writer();
	}
	if (rc == DB_OK)
		alloc_commit_note();
	return rc;
}

void db_rollback(struct db *db)
{
	/* the shared writer is another thread's unless this one holds the lock */
	if (db->shared && !holding_writer)
		return;
	if (db->shared) {
		leave_group(db, LEAVE_DISCARD);
		return;
	}
	if (!sqlite3_get_autocommit(db->conn))
		sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
	give_writer();
}

int db_latest_schema_version(void)
{
	return (int)embedded_migrations_count;
}

int db_schema_version(struct db *db, int *version)
{
	sqlite3_stmt *stmt = db_prepare(db, "PRAGMA user_version");
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(stmt, 0);
	db_done(stmt);
	return db_status_from(db, rc);
}

/* Migration N (1-based) is embedded_migrations[N-1]; user_version holds the
 * last one applied. Each runs with its version bump in one transaction. */
int db_migrate(struct db *db)
{
	int current = 0;
	int rc = db_schema_version(db, &current);
	if (rc != DB_OK)
		return rc;
	for (size_t n = (size_t)current; n < embedded_migrations_count; n++) {
		const struct embedded_file *m = &embedded_migrations[n];
		char *sql = xstrndup((const char *)m->data, m->len);
		if (!sql)
			return DB_ERROR;
		char bump[64];
		snprintf(bump, sizeof bump, "PRAGMA user_version=%zu", n + 1);
		rc = db_begin_write(db);
		if (rc == DB_OK)
			rc = exec(db, sql);
		if (rc == DB_OK)
			rc = exec(db, bump);
		if (rc == DB_OK)
			rc = db_commit(db);
		if (rc != DB_OK) {
			log_write(LOG_ERROR, "migration failed",
				  json_pack("{s:s, s:s}", "migration", m->name, "error",
					    sqlite3_errmsg(db->conn)));
			db_rollback(db);
		}
		free(sql);
		if (rc != DB_OK)
			return rc;
	}
	return DB_OK;
}

/* --- one connection per worker thread -------------------------------- */

static char *pool_path;
static struct db *pool_all;
static struct db *pool_writer;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local struct db *thread_db;

int db_pool_init(const char *path)
{
	pool_path = xstrdup(path);
	return pool_path ? DB_OK : DB_ERROR;
}

/* A request starts with no transaction open on its connection: one left by a
 * ROLLBACK that failed for memory would pin an old snapshot. */
struct db *db_for_thread(void)
{
	if (thread_db) {
		roll_back_leftover(thread_db);
		return thread_db;
	}
	struct db *db;
	if (db_open(pool_path, &db) != DB_OK)
		return NULL;
	pthread_mutex_lock(&pool_lock);
	db->next_in_pool = pool_all;
	pool_all = db;
	pthread_mutex_unlock(&pool_lock);
	thread_db = db;
	return db;
}

struct db *db_writer(void)
{
	pthread_mutex_lock(&pool_lock);
	if (!pool_writer && db_open(pool_path, &pool_writer) != DB_OK)
		pool_writer = NULL;
	if (pool_writer)
		pool_writer->shared = true;
	struct db *db = pool_writer;
	pthread_mutex_unlock(&pool_lock);
	return db;
}

void db_pool_close(void)
{
	pthread_mutex_lock(&pool_lock);
	db_close(pool_writer);
	pool_writer = NULL;
	while (pool_all) {
		struct db *next = pool_all->next_in_pool;
		db_close(pool_all);
		pool_all = next;
	}
	pthread_mutex_unlock(&pool_lock);
	free(pool_path);
	pool_path = NULL;
	thread_db = NULL;
}

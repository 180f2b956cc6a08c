/* SQLite connections, the way a threaded server must hold them: one
 * connection per worker thread (opened NOMUTEX, since no two threads use
 * one at once), its read snapshot kept while nothing is committed, WAL so
 * readers never wait for the writer, a busy timeout so writers queue
 * instead of failing, foreign keys on, statements prepared once per
 * connection and reused, and migrations embedded in the binary. */
#include <sqlite3.h>

#include "db.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "embedded.h"
#include "fault.h"
#include "log.h"
#include "util.h"

#define STMT_CACHE_SIZE 64
#define BUSY_TIMEOUT_MS 5000
/* how long a good write vouches for the next: see db_check_writable */
#define WRITE_HEALTH_FRESH_SECONDS 10
/* the WAL index header's length: see db_for_thread */
#define WAL_HEADER_BYTES 48

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
	/* a worker's connection (db_for_thread): held by the thread using it,
	 * else free for db_release_idle_snapshots; it guards the two below */
	pthread_mutex_t taken;
	bool holding; /* a read snapshot is open, kept from request to request */
	unsigned char seen[WAL_HEADER_BYTES]; /* the WAL index header just before it began */
};

const char *db_last_error(struct db *db)
{
	return db && db->conn ? sqlite3_errmsg(db->conn) : "database not open";
}

/* Whether writes are getting through: set by every write that fails for
 * want of space or of write access, cleared by every commit that writes. */
static atomic_int write_health = DB_OK;
static atomic_llong write_health_at; /* CLOCK_MONOTONIC seconds of the last change */
static atomic_bool opened_read_only; /* for the process's life: see db_open */

static long long monotonic_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

static void note_write_health(int status)
{
	atomic_store(&write_health, status);
	atomic_store(&write_health_at, monotonic_seconds());
}

/* When this process last committed a write (CLOCK_MONOTONIC_COARSE ms):
 * while writes keep coming, workers keep no snapshot (db_for_thread). */
static atomic_llong last_commit_ms;
#define WRITES_QUIET_MS 100

static long long coarse_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void note_commit(void)
{
	note_write_health(DB_OK);
	atomic_store(&last_commit_ms, coarse_ms());
}

static bool writes_recent(void)
{
	return coarse_ms() - atomic_load(&last_commit_ms) < WRITES_QUIET_MS;
}

/* The errno behind the last I/O error: SQLite's own record of it when it
 * kept one (it reads errno after the fact, which later calls may have
 * cleared), else what the failing file, the WAL or the main file, last met. */
static int os_errno(sqlite3 *conn)
{
	if (!conn)
		return 0;
	int err = sqlite3_system_errno(conn);
	sqlite3_file *wal = NULL;
	if (err == 0)
		sqlite3_file_control(conn, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal);
	if (err == 0 && wal && wal->pMethods)
		wal->pMethods->xFileControl(wal, SQLITE_FCNTL_LAST_ERRNO, &err);
	if (err == 0)
		sqlite3_file_control(conn, "main", SQLITE_FCNTL_LAST_ERRNO, &err);
	return err;
}

/* A full disk shows as SQLITE_FULL when a write() comes up short, but as
 * an SQLITE_IOERR_* when fallocate, ftruncate or the WAL index cannot grow;
 * the errno behind it tells the two apart. A filesystem the kernel turned
 * read-only (after an I/O error) answers EROFS to writes on files already
 * open, which SQLite reports as SQLITE_IOERR_WRITE. */
/* Maps an SQLite result code to a DB_ code (SQLITE_DONE/ROW/OK to DB_OK). */
static int status_of(sqlite3 *conn, int rc)
{
	int status;
	switch (rc & 0xFF) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE: return DB_OK;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return DB_CONFLICT;
		return DB_CONSTRAINT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return DB_BUSY;
	case SQLITE_FULL: status = DB_FULL; break;
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN: status = DB_READONLY; break;
	case SQLITE_IOERR: {
		int err = os_errno(conn);
		if (err == ENOSPC || err == EDQUOT)
			status = DB_FULL;
		else if (err == EROFS)
			status = DB_READONLY;
		else
			return DB_ERROR;
		break;
	}
	default: return DB_ERROR;
	}
	note_write_health(status);
	return status;
}

static int db_status_from(struct db *db, int rc)
{
	return status_of(db ? db->conn : NULL, rc);
}

bool db_opened_read_only(void)
{
	return atomic_load(&opened_read_only);
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

/* Transaction control runs on every write, several times: prepared once
 * per connection (db_prepare_static keys on these addresses) instead of
 * parsed by sqlite3_exec each time. */
static const char sql_begin[] = "BEGIN";
static const char sql_begin_immediate[] = "BEGIN IMMEDIATE";
static const char sql_savepoint[] = "SAVEPOINT writer";
static const char sql_release[] = "RELEASE writer";
static const char sql_rollback_to[] = "ROLLBACK TO writer";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";
static const char sql_part[] = "SAVEPOINT part";
static const char sql_part_release[] = "RELEASE part";
static const char sql_part_undo[] = "ROLLBACK TO part";

static sqlite3_stmt *prepare_static(struct db *db, const char *sql);

static int run(struct db *db, const char *sql)
{
	sqlite3_stmt *stmt = prepare_static(db, sql);
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return db_status_from(db, rc);
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

static long long max_size;

void db_set_max_size(long long bytes)
{
	max_size = bytes;
}

/* Reads one integer PRAGMA into *out. */
static int pragma_int(struct db *db, const char *sql, long long *out)
{
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(db->conn, sql, -1, &stmt, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*out = sqlite3_column_int64(stmt, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	return rc;
}

static int apply_max_size(struct db *db)
{
	long long page_size = 0;
	int rc = pragma_int(db, "PRAGMA page_size", &page_size);
	if (rc != SQLITE_OK || page_size <= 0)
		return rc == SQLITE_OK ? SQLITE_ERROR : rc;
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", max_size / page_size);
	return sqlite3_exec(db->conn, sql, NULL, NULL, NULL);
}

/* Within QUOTA_MARGIN_PAGES of the quota with no free page left: a write
 * that adds a record needs a new page in each of several b-trees (the
 * table, its indexes, the audit trail) once theirs are full, so the next
 * ones will fail, whatever a write that fits in pages it touches does. */
#define QUOTA_MARGIN_PAGES 16
static bool at_quota(struct db *db)
{
	long long pages = 0, limit = 0, free_pages = 0;
	return max_size > 0 && pragma_int(db, "PRAGMA page_count", &pages) == SQLITE_OK &&
	       pragma_int(db, "PRAGMA max_page_count", &limit) == SQLITE_OK &&
	       pragma_int(db, "PRAGMA freelist_count", &free_pages) == SQLITE_OK &&
	       pages + QUOTA_MARGIN_PAGES >= limit && free_pages == 0;
}

static int configure(struct db *db)
{
	sqlite3_extended_result_codes(db->conn, 1);
	sqlite3_busy_timeout(db->conn, BUSY_TIMEOUT_MS);
	int rc = sqlite3_exec(db->conn,
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
			      /* a WAL grown by a bulk import is cut back to 64 MiB
			       * when it starts over, not kept at its largest */
			      "PRAGMA journal_size_limit=67108864;"
			      /* savepoint journals (group commit) in memory */
			      "PRAGMA temp_store=MEMORY;",
			      NULL, NULL, NULL);
	if (rc == SQLITE_OK && durability == DB_DURABLE_FULL)
		rc = sqlite3_exec(db->conn, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	if (rc == SQLITE_OK && max_size > 0)
		rc = apply_max_size(db);
	return rc;
}

/* True when path's write-ahead log is absent or empty: every commit is in
 * the main file. */
static bool wal_is_empty(const char *path)
{
	char *wal = xasprintf("%s-wal", path);
	struct stat st;
	bool empty = wal && (stat(wal, &st) != 0 || st.st_size == 0);
	free(wal);
	return empty;
}

/* The database as an immutable file: what a WAL database on a read-only
 * filesystem needs when its -shm file is not there and cannot be made. */
static int open_immutable(struct db *db, const char *path)
{
	struct strbuf uri = {0};
	strbuf_printf(&uri, "file:");
	for (const char *p = path; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#')
			strbuf_printf(&uri, "%%%02x", (unsigned char)*p);
		else
			strbuf_append(&uri, p, 1);
	}
	strbuf_printf(&uri, "?immutable=1");
	int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX;
	int rc = sqlite3_open_v2(uri.data, &db->conn, flags, NULL);
	strbuf_free(&uri);
	return rc == SQLITE_OK ? configure(db) : rc;
}

/* A file that cannot be written (a read-only mount, a replica, a copy kept
 * for forensics) is opened read-only: reads are served and every write
 * answers DB_READONLY until the process is restarted on a writable file.
 * SQLite falls back to read-only by itself; when the WAL index cannot be
 * made either, the file is opened immutable, provided its WAL holds nothing
 * (else those commits would be silently missing). */
int db_open(const char *path, struct db **out)
{
	pthread_once(&sqlite_setup, sqlite_configure);
	struct db *db = xcalloc(1, sizeof *db);
	if (!db) {
		*out = NULL;
		return DB_ERROR;
	}
	pthread_mutex_init(&db->taken, NULL);
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	int rc = sqlite3_open_v2(path, &db->conn, flags, NULL);
	if (rc == SQLITE_OK)
		rc = configure(db);
	if (rc != SQLITE_OK && db->conn && sqlite3_db_readonly(db->conn, "main") == 1) {
		if (!wal_is_empty(path)) {
			log_write(LOG_ERROR,
				  "the database is read-only and its write-ahead log holds commits "
				  "without the -shm index to read them by: open it once where it "
				  "can be written",
				  json_pack("{s:s}", "path", path));
			goto out_fail;
		}
		sqlite3_close(db->conn);
		db->conn = NULL;
		rc = open_immutable(db, path);
	}
	if (rc != SQLITE_OK)
		goto out_fail;
	if (sqlite3_db_readonly(db->conn, "main") == 1)
		atomic_store(&opened_read_only, true);
	*out = db;
	return DB_OK;

out_fail:
	log_write(LOG_ERROR, "cannot open database",
		  json_pack("{s:s, s:s}", "path", path, "error",
			    db->conn ? sqlite3_errmsg(db->conn) : sqlite3_errstr(rc)));
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
	pthread_mutex_destroy(&db->taken);
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
	if (sqlite3_prepare_v3(db->conn, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) !=
	    SQLITE_OK)
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

static void (*trace_fn)(void *cls, const char *sql);
static void *trace_cls;

void db_trace_statements(void (*fn)(void *cls, const char *sql), void *cls)
{
	trace_cls = cls;
	trace_fn = fn;
}

int db_query_plan(struct db *db, const char *sql, char *out, size_t len)
{
	char *explain = xasprintf("EXPLAIN QUERY PLAN %s", sql);
	sqlite3_stmt *stmt = NULL;
	int rc = explain ? sqlite3_prepare_v2(db->conn, explain, -1, &stmt, NULL) : SQLITE_NOMEM;
	free(explain);
	size_t used = 0;
	if (len)
		out[0] = '\0';
	while (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(stmt, 3);
		int n = snprintf(out + used, len - used, "%s\n", detail ? detail : "");
		used += n > 0 && (size_t)n < len - used ? (size_t)n : 0;
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_errcode(db->conn); /* SQLITE_DONE, or what stopped the steps */
	sqlite3_finalize(stmt);
	return db_status_from(db, rc);
}

/* A statement of the store is SQLite's own, under another name. */
static sqlite3_stmt *raw(struct db_stmt *stmt)
{
	return (sqlite3_stmt *)stmt;
}

struct db_stmt *db_prepare(struct db *db, const char *sql)
{
	if (trace_fn)
		trace_fn(trace_cls, sql);
	return (struct db_stmt *)prepare(db, sql, NULL);
}

/* For SQL text that lives as long as the process (literals, store.c's
 * per-resource statements): found by its address, without comparing text. */
static sqlite3_stmt *prepare_static(struct db *db, const char *sql)
{
	for (int i = 0; i < STMT_CACHE_SIZE; i++) {
		if (db->cache[i].key == sql) {
			db->cache[i].last_used = ++db->clock;
			return db->cache[i].stmt;
		}
	}
	return prepare(db, sql, sql);
}

struct db_stmt *db_prepare_static(struct db *db, const char *sql)
{
	if (trace_fn)
		trace_fn(trace_cls, sql);
	return (struct db_stmt *)prepare_static(db, sql);
}

/* The text of head ("INSERT INTO t (a, b)") with rows of ncols parameters,
 * built once per head and row count and kept for the process's life. */
struct rows_sql {
	const char *head;
	int rows;
	char *sql;
};
static struct rows_sql rows_sql[32];
static pthread_mutex_t rows_sql_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *rows_sql_of(const char *head, int ncols, int nrows)
{
	const char *sql = NULL;
	pthread_mutex_lock(&rows_sql_lock);
	size_t i = 0;
	while (i < sizeof rows_sql / sizeof rows_sql[0] && rows_sql[i].head &&
	       !(rows_sql[i].head == head && rows_sql[i].rows == nrows))
		i++;
	if (i == sizeof rows_sql / sizeof rows_sql[0])
		abort(); /* more kinds of statement than slots: a programming error */
	if (rows_sql[i].head) {
		sql = rows_sql[i].sql;
	} else {
		struct strbuf sb = {0};
		strbuf_printf(&sb, "%s VALUES ", head);
		for (int r = 0; r < nrows; r++)
			for (int c = 0; c < ncols; c++)
				strbuf_puts(&sb, c ? ", ?" : r ? "), (?" : "(?");
		strbuf_puts(&sb, ")");
		if ((sql = strbuf_steal(&sb)) != NULL)
			rows_sql[i] =
				(struct rows_sql){.head = head, .rows = nrows, .sql = (char *)sql};
	}
	pthread_mutex_unlock(&rows_sql_lock);
	return sql;
}

/* Rows per statement: the work of a statement (its cursors, the
 * AUTOINCREMENT counter, its journal) is paid once for 32 rows. */
static const int rows_per_statement[] = {32, 8, 1};

int db_insert_rows(struct db *db, const char *head, int ncols, int n,
		   void (*bind)(struct db_stmt *stmt, int at, int i, const void *cls),
		   const void *cls)
{
	int done = 0, rc = SQLITE_DONE;
	for (size_t k = 0; k < sizeof rows_per_statement / sizeof *rows_per_statement; k++) {
		int rows = rows_per_statement[k];
		while (n - done >= rows && rc == SQLITE_DONE) {
			const char *sql = rows_sql_of(head, ncols, rows);
			sqlite3_stmt *stmt = sql ? prepare_static(db, sql) : NULL;
			if (!stmt)
				return DB_ERROR;
			for (int i = 0; i < rows; i++)
				bind((struct db_stmt *)stmt, 1 + i * ncols, done + i, cls);
			rc = sqlite3_step(stmt);
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			done += rows;
		}
	}
	return db_status_from(db, rc);
}

void db_bind_int(struct db_stmt *stmt, int i, int64_t v)
{
	sqlite3_bind_int64(raw(stmt), i, v);
}

void db_bind_real(struct db_stmt *stmt, int i, double v)
{
	sqlite3_bind_double(raw(stmt), i, v);
}

void db_bind_text(struct db_stmt *stmt, int i, const char *s)
{
	sqlite3_bind_text(raw(stmt), i, s, -1, SQLITE_STATIC);
}

void db_bind_text_n(struct db_stmt *stmt, int i, const char *s, size_t n)
{
	sqlite3_bind_text64(raw(stmt), i, s, n, SQLITE_STATIC, SQLITE_UTF8);
}

void db_bind_null(struct db_stmt *stmt, int i)
{
	sqlite3_bind_null(raw(stmt), i);
}

int db_step(struct db_stmt *stmt)
{
	int rc = sqlite3_step(raw(stmt));
	if (rc == SQLITE_ROW)
		return DB_ROW;
	return status_of(sqlite3_db_handle(raw(stmt)), rc);
}

enum db_type db_column_type(struct db_stmt *stmt, int col)
{
	switch (sqlite3_column_type(raw(stmt), col)) {
	case SQLITE_INTEGER: return DB_TYPE_INT;
	case SQLITE_FLOAT: return DB_TYPE_REAL;
	case SQLITE_NULL: return DB_TYPE_NULL;
	default: return DB_TYPE_TEXT;
	}
}

int64_t db_column_int(struct db_stmt *stmt, int col)
{
	return sqlite3_column_int64(raw(stmt), col);
}

double db_column_real(struct db_stmt *stmt, int col)
{
	return sqlite3_column_double(raw(stmt), col);
}

const char *db_column_text(struct db_stmt *stmt, int col)
{
	return (const char *)sqlite3_column_text(raw(stmt), col);
}

size_t db_column_bytes(struct db_stmt *stmt, int col)
{
	return (size_t)sqlite3_column_bytes(raw(stmt), col);
}

void db_done(struct db_stmt *stmt)
{
	sqlite3_reset(raw(stmt));
	sqlite3_clear_bindings(raw(stmt));
}

int64_t db_changes(struct db *db)
{
	return sqlite3_changes(db->conn);
}

int64_t db_last_insert_id(struct db *db)
{
	return sqlite3_last_insert_rowid(db->conn);
}

bool db_in_transaction(struct db *db)
{
	return !sqlite3_get_autocommit(db->conn);
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
 * 201 for a rolled-back record that way, and a failure for a committed one).
 *
 * Batches. A thread that runs many writes one after another (the write
 * pool, writers.c) holds the writer for all of them (db_batch_begin): each
 * write is still its own savepoint, but none waits for a COMMIT, and
 * db_batch_end commits them together. When a write loses the batch's
 * transaction (see leave_group), the writes after it in the batch are
 * refused at their begin, and the batch ends failed: nothing of it is
 * committed, and no write of it is told otherwise. */
#define GROUP_MAX 64

static pthread_mutex_t writer_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local bool holding_writer;
static _Thread_local bool batching;    /* this thread holds the writer for a batch */
static _Thread_local int batch_failed; /* DB_OK, or why the batch's transaction was lost */

static pthread_mutex_t group_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t group_done = PTHREAD_COND_INITIALIZER;
static int group_waiting; /* writers blocked on writer_lock */
static bool group_open;   /* the shared writer's transaction is open */
static int group_members; /* writers whose work it holds */

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
	if (holding_writer && !batching) {
		holding_writer = false;
		pthread_mutex_unlock(&writer_lock);
	}
}

/* A transaction that a failed ROLLBACK left open (it too can run out of
 * memory) holds no one's work: it is rolled back before the next begins.
 * So is a worker's held read snapshot (db_for_thread). */
static void roll_back_leftover(struct db *db)
{
	db->holding = false;
	if (!sqlite3_get_autocommit(db->conn))
		run(db, sql_rollback);
}

enum leave { LEAVE_KEEP, LEAVE_DISCARD, LEAVE_NO_SAVEPOINT };
static int leave_group(struct db *db, enum leave how);
static int end_group(struct db *db, bool lost);

/* The WAL's length in pages after the last commit on the shared writer
 * (wal_grew sets it); read and written only by the writer's holder. */
static int wal_pages;
#define WAL_RESTART_PAGES 20000

/* SQLite starts the WAL over only when a write begins with every frame
 * already copied into the database. Under steady writes the background
 * checkpoints (below) never catch the last frames, so the WAL would grow
 * without end; once it is this long, the writer copies what they have not
 * yet copied itself, before the next transaction, while no frame can be
 * added: then that transaction starts the WAL over (cut back to the
 * journal_size_limit). Usually little is left to copy. */
static void restart_wal_if_long(struct db *db)
{
	if (wal_pages < WAL_RESTART_PAGES)
		return;
	int frames = 0, copied = 0;
	if (sqlite3_wal_checkpoint_v2(db->conn, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames,
				      &copied) == SQLITE_OK &&
	    frames == copied)
		wal_pages = 0;
}

/* db_begin_write once writer_lock is held. */
static int begin_held_write(struct db *db)
{
	db->transactions++;
	if (!db->shared) {
		roll_back_leftover(db);
		int rc = run(db, sql_begin_immediate);
		if (rc != DB_OK)
			give_writer();
		return rc;
	}
	if (batching && batch_failed != DB_OK)
		return batch_failed;
	if (group_open && sqlite3_get_autocommit(db->conn)) {
		/* the group's transaction is gone (a read on this connection that
		 * failed for memory rolls it all back): a savepoint now would run
		 * and commit on its own, outside the group */
		end_group(db, true);
		if (batching) {
			batch_failed = DB_ERROR;
			return batch_failed;
		}
	}
	if (!group_open) {
		roll_back_leftover(db);
		restart_wal_if_long(db);
		int rc = run(db, sql_begin_immediate);
		if (rc != DB_OK) {
			give_writer();
			return rc;
		}
		pthread_mutex_lock(&group_lock);
		group_open = true;
		pthread_mutex_unlock(&group_lock);
	}
	int rc = run(db, sql_savepoint);
	if (rc != DB_OK)
		leave_group(db, LEAVE_NO_SAVEPOINT);
	return rc;
}

int db_begin_write(struct db *db)
{
	if (!(batching && db->shared))
		take_writer();
	return begin_held_write(db);
}

/* Commits the open group when it holds work and its transaction is not lost
 * (else rolls back what is left), and tells each waiting writer. */
static int end_group(struct db *db, bool lost)
{
	int outcome = lost ? DB_ERROR : DB_OK;
	if (!lost && group_members > 0 && (outcome = run(db, sql_commit)) == DB_OK)
		note_commit();
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
	return outcome;
}

/* Ends one writer on the shared connection: keeps or discards its work,
 * then hands the open transaction to a waiting writer or commits the
 * group (in a batch: leaves it open for db_batch_end). Returns the outcome
 * for this writer's work.
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
	if (keep && (rc = run(db, sql_release)) != DB_OK)
		keep = false;
	if (!keep && !lost && how != LEAVE_NO_SAVEPOINT &&
	    (run(db, sql_rollback_to) != DB_OK || run(db, sql_release) != DB_OK))
		lost = true;
	if (!lost)
		lost = sqlite3_get_autocommit(db->conn);
	if (batching) {
		if (lost) {
			end_group(db, true);
			batch_failed = rc != DB_OK ? rc : DB_ERROR;
			return batch_failed;
		}
		pthread_mutex_lock(&group_lock);
		group_members += keep;
		pthread_mutex_unlock(&group_lock);
		return rc;
	}
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
	int outcome = end_group(db, lost);
	give_writer();
	return keep ? outcome : rc;
}

int db_batch_begin(struct db *db)
{
	if (!db->shared)
		return DB_ERROR;
	take_writer();
	batching = true;
	batch_failed = DB_OK;
	return DB_OK;
}

int db_batch_end(struct db *db)
{
	int outcome = batch_failed;
	if (group_open) {
		bool lost = sqlite3_get_autocommit(db->conn);
		int committed = end_group(db, lost || outcome != DB_OK);
		if (outcome == DB_OK)
			outcome = committed;
	}
	batching = false;
	batch_failed = DB_OK;
	give_writer();
	return outcome;
}

int db_begin_read(struct db *db)
{
	if (db->holding && !sqlite3_get_autocommit(db->conn))
		return DB_OK; /* a worker's snapshot, current as of its request's start */
	db->holding = false;
	db->transactions++;
	return run(db, sql_begin);
}

uint64_t db_transaction_id(struct db *db)
{
	return db->transactions;
}

int db_part_begin(struct db *db)
{
	return run(db, sql_part);
}

int db_part_end(struct db *db, bool keep)
{
	int rc = keep ? DB_OK : run(db, sql_part_undo);
	int released = run(db, sql_part_release);
	return rc != DB_OK ? rc : released;
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
		rc = run(db, sql_commit);
		if (rc != DB_OK)
			db_rollback(db);
		else
			note_commit();
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
	if (db->holding)
		return; /* a read on a worker's snapshot, kept for its next (db_for_thread) */
	if (!sqlite3_get_autocommit(db->conn))
		run(db, sql_rollback);
	give_writer();
}

int db_latest_schema_version(void)
{
	return (int)embedded_migrations_count;
}

int db_durability(struct db *db, enum db_durability *d)
{
	struct db_stmt *stmt = db_prepare(db, "PRAGMA synchronous");
	if (!stmt)
		return DB_ERROR;
	int rc = db_step(stmt);
	if (rc == DB_ROW) /* 1 NORMAL, 2 FULL, 3 EXTRA */
		*d = db_column_int(stmt, 0) >= 2 ? DB_DURABLE_FULL : DB_DURABLE_NORMAL;
	db_done(stmt);
	return rc == DB_ROW ? DB_OK : db_result(rc == DB_OK ? DB_ERROR : rc);
}

int db_schema_version(struct db *db, int *version)
{
	struct db_stmt *stmt = db_prepare(db, "PRAGMA user_version");
	if (!stmt)
		return DB_ERROR;
	int rc = db_step(stmt);
	if (rc == DB_ROW)
		*version = (int)db_column_int(stmt, 0);
	db_done(stmt);
	return db_result(rc);
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

int db_checkpoint(struct db *db)
{
	int frames = 0, done = 0;
	int rc = sqlite3_wal_checkpoint_v2(db->conn, NULL, SQLITE_CHECKPOINT_TRUNCATE, &frames,
					   &done);
	return db_status_from(db, rc);
}

/* A write that changes nothing: the schema version written back over
 * itself, which dirties page 1 and so needs a WAL frame at commit like any
 * other write. */
static int probe_write(void)
{
	struct db *db = db_writer();
	if (!db)
		return DB_READONLY;
	/* a write under way (an import, say) will tell; the probe never waits */
	if (pthread_mutex_trylock(&writer_lock) != 0)
		return atomic_load(&write_health);
	holding_writer = true;
	int rc = begin_held_write(db);
	if (rc != DB_OK)
		return rc;
	int version = 0;
	rc = db_schema_version(db, &version);
	if (rc == DB_OK) {
		char same[64];
		snprintf(same, sizeof same, "PRAGMA user_version=%d", version);
		rc = exec(db, same);
	}
	if (rc == DB_OK && at_quota(db)) {
		note_write_health(DB_FULL);
		rc = DB_FULL;
	}
	if (rc == DB_OK)
		return db_commit(db);
	db_rollback(db);
	return rc;
}

int db_check_writable(void)
{
	if (atomic_load(&opened_read_only))
		return DB_READONLY;
	if (atomic_load(&write_health) == DB_OK &&
	    monotonic_seconds() - atomic_load(&write_health_at) < WRITE_HEALTH_FRESH_SECONDS &&
	    atomic_load(&write_health_at) > 0)
		return DB_OK;
	return probe_write();
}

/* --- one connection per worker thread -------------------------------- */

static char *pool_path;
static struct db *pool_all;
static struct db *pool_writer;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local struct db *thread_db;
static _Thread_local bool thread_db_taken;

int db_pool_init(const char *path)
{
	pool_path = xstrdup(path);
	return pool_path ? DB_OK : DB_ERROR;
}

/* Beginning a read transaction and ending it took 17% of a point read's
 * time (two fcntl locks, and SQLite's mutex for the WAL index, which
 * the workers contend for), so a worker keeps its snapshot from one
 * request to the next for as long as it is current. Current is decided
 * exactly, not by age: the WAL index header (the first 48 bytes of the
 * -shm file, SQLite's documented WAL-index format) changes with every
 * commit, by any connection of any process, so a snapshot is kept only
 * while the header is what it was just before the snapshot began. A
 * commit between that reading and the snapshot's start only costs a new
 * snapshot at the next request. The header is read where SQLite maps it;
 * without it (no WAL index: an immutable or non-WAL file) every request
 * begins its own snapshot, as SQLite would.
 *
 * A kept snapshot holds a read lock between requests, and a read lock
 * keeps a checkpoint from copying what was committed after it and the WAL
 * from starting over: under steady writes the WAL grew without end and
 * POSTs ran at 60% of their rate. Snapshots are therefore kept only while
 * this process's writes are quiet (none committed for WRITES_QUIET_MS);
 * while they come, each request has its own, as before. An idle worker's
 * snapshot is ended by db_release_idle_snapshots, and what a checkpoint
 * could not copy because of one is copied by its retry. */
static const volatile unsigned char *wal_index; /* NULL: snapshots are not kept */
static bool wal_index_tried; /* by the first worker, so it never changes under the others */

static bool in_wal_mode(struct db *db)
{
	struct db_stmt *stmt = db_prepare_static(db, "PRAGMA journal_mode");
	bool wal = stmt && db_step(stmt) == DB_ROW && strcmp(db_column_text(stmt, 0), "wal") == 0;
	if (stmt)
		db_done(stmt);
	return wal;
}

/* Under pool_lock, with db open and read (so SQLite has mapped the WAL
 * index). The mapping is SQLite's own, asked of its VFS (xShmMap of region
 * 0, never extending it): opening and closing the -shm file here would drop
 * every POSIX lock this process holds on it, SQLite's included. It lives
 * while any connection of this process is open on the file. */
static void map_wal_index(struct db *db)
{
	if (wal_index_tried)
		return;
	wal_index_tried = true;
	if (!in_wal_mode(db))
		return;
	sqlite3_file *file = NULL;
	if (sqlite3_file_control(db->conn, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK ||
	    !file || !file->pMethods || file->pMethods->iVersion < 2 || !file->pMethods->xShmMap)
		return;
	volatile void *region = NULL;
	if (file->pMethods->xShmMap(file, 0, 32 * 1024, 0, &region) == SQLITE_OK && region)
		wal_index = (const unsigned char *)region;
}

static void wal_header(unsigned char out[WAL_HEADER_BYTES])
{
	atomic_thread_fence(memory_order_acquire);
	for (int i = 0; i < WAL_HEADER_BYTES; i++)
		out[i] = wal_index[i];
}

static void keep_snapshot_current(struct db *db)
{
	if (!wal_index || writes_recent()) {
		roll_back_leftover(db);
		return;
	}
	unsigned char now[WAL_HEADER_BYTES];
	wal_header(now);
	if (db->holding && !sqlite3_get_autocommit(db->conn) &&
	    memcmp(now, db->seen, sizeof now) == 0)
		return;
	roll_back_leftover(db);
	memcpy(db->seen, now, sizeof now);
	if (run(db, sql_begin) == DB_OK) {
		db->holding = true;
		db->transactions++;
	}
}

struct db *db_for_thread(void)
{
	struct db *db = thread_db;
	if (!db) {
		if (db_open(pool_path, &db) != DB_OK)
			return NULL;
		pthread_mutex_lock(&pool_lock);
		map_wal_index(db);
		db->next_in_pool = pool_all;
		pool_all = db;
		pthread_mutex_unlock(&pool_lock);
		thread_db = db;
	}
	if (!thread_db_taken) {
		pthread_mutex_lock(&db->taken);
		thread_db_taken = true;
	}
	keep_snapshot_current(db);
	return db;
}

void db_thread_done(void)
{
	if (!thread_db_taken)
		return;
	thread_db_taken = false;
	if (thread_db->holding && writes_recent())
		roll_back_leftover(thread_db);
	pthread_mutex_unlock(&thread_db->taken);
}

void db_release_idle_snapshots(void)
{
	pthread_mutex_lock(&pool_lock);
	for (struct db *db = pool_all; db; db = db->next_in_pool) {
		if (pthread_mutex_trylock(&db->taken) != 0)
			continue; /* in use: its thread keeps it current */
		if (db->holding)
			roll_back_leftover(db);
		pthread_mutex_unlock(&db->taken);
	}
	pthread_mutex_unlock(&pool_lock);
}

/* Checkpoints in the background. The shared writer does not checkpoint
 * at commit (SQLite's default makes the commit that crosses the threshold
 * copy ~40 MiB of WAL into the database before its request is answered;
 * after a bulk import, the whole import). A thread of its own, on its own
 * connection, runs a PASSIVE checkpoint whenever the WAL has grown by
 * CHECKPOINT_PAGES: it copies committed pages while readers and writers go
 * on, and SQLite starts the WAL over once it has all been copied. A
 * checkpoint copies nothing past the oldest snapshot still open (a
 * worker's, kept until the next request or the sweeper ends it); what it
 * could not copy it tries again every CHECKPOINT_RETRY_MS. */
#define CHECKPOINT_PAGES    10000
#define CHECKPOINT_RETRY_MS 250

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool started, wanted, stopping;
} checkpointer = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static void *checkpoint_loop(void *unused)
{
	(void)unused;
	struct db *db = NULL;
	bool unfinished = false; /* the last checkpoint left frames uncopied */
	pthread_mutex_lock(&checkpointer.lock);
	for (;;) {
		while (!checkpointer.wanted && !checkpointer.stopping) {
			if (!unfinished) {
				pthread_cond_wait(&checkpointer.wake, &checkpointer.lock);
				continue;
			}
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += CHECKPOINT_RETRY_MS * 1000000L;
			until.tv_sec += until.tv_nsec / 1000000000L;
			until.tv_nsec %= 1000000000L;
			if (pthread_cond_timedwait(&checkpointer.wake, &checkpointer.lock,
						   &until) == ETIMEDOUT)
				break;
		}
		if (checkpointer.stopping)
			break;
		checkpointer.wanted = false;
		pthread_mutex_unlock(&checkpointer.lock);
		unfinished = false;
		if (db || db_open(pool_path, &db) == DB_OK) {
			int frames = 0, copied = 0;
			int rc = sqlite3_wal_checkpoint_v2(
				db->conn, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
			if (rc != SQLITE_OK && rc != SQLITE_BUSY)
				log_write(LOG_WARN, "background checkpoint failed",
					  json_pack("{s:s}", "error", sqlite3_errmsg(db->conn)));
			unfinished = rc == SQLITE_BUSY || copied < frames;
		}
		pthread_mutex_lock(&checkpointer.lock);
	}
	pthread_mutex_unlock(&checkpointer.lock);
	db_close(db);
	return NULL;
}

/* SQLite's hook after each commit on the shared writer: pages is the WAL's
 * length in pages. The WAL starts over only once a checkpoint has copied
 * all of it and no reader still needs it, which under steady reads may be
 * long after it first passed the mark; a checkpoint is asked for each time
 * it has grown by CHECKPOINT_PAGES since the last one was asked for, not
 * after every commit (each checkpoint syncs the WAL and the database). */
static int checkpoint_asked_at; /* the WAL's length then; only the writer's holder */

static int wal_grew(void *unused, sqlite3 *conn, const char *name, int pages)
{
	(void)unused, (void)conn, (void)name;
	wal_pages = pages;
	if (pages < checkpoint_asked_at)
		checkpoint_asked_at = 0; /* the WAL has started over */
	if (pages - checkpoint_asked_at < CHECKPOINT_PAGES)
		return SQLITE_OK;
	checkpoint_asked_at = pages;
	pthread_mutex_lock(&checkpointer.lock);
	if (!checkpointer.started && !checkpointer.stopping)
		checkpointer.started =
			pthread_create(&checkpointer.thread, NULL, checkpoint_loop, NULL) == 0;
	checkpointer.wanted = true;
	bool started = checkpointer.started;
	pthread_cond_signal(&checkpointer.wake);
	pthread_mutex_unlock(&checkpointer.lock);
	if (!started) /* no thread to be had: checkpoint here, as SQLite would */
		sqlite3_wal_checkpoint_v2(conn, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

static void checkpointer_stop(void)
{
	pthread_mutex_lock(&checkpointer.lock);
	checkpointer.stopping = true;
	bool started = checkpointer.started;
	pthread_cond_signal(&checkpointer.wake);
	pthread_mutex_unlock(&checkpointer.lock);
	if (started)
		pthread_join(checkpointer.thread, NULL);
	checkpointer.started = checkpointer.wanted = checkpointer.stopping = false;
}

struct db *db_writer(void)
{
	pthread_mutex_lock(&pool_lock);
	if (!pool_writer && db_open(pool_path, &pool_writer) == DB_OK) {
		sqlite3_exec(pool_writer->conn, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL);
		sqlite3_wal_hook(pool_writer->conn, wal_grew, NULL);
	}
	if (pool_writer)
		pool_writer->shared = true;
	struct db *db = pool_writer;
	pthread_mutex_unlock(&pool_lock);
	return db;
}

/* Called once the workers have stopped: the WAL is folded into the main
 * file first, so that a stopped server leaves one self-contained file (a
 * copy of it alone is a complete backup). When that fails (no space, a
 * read-only filesystem) the WAL is kept and replayed on the next open. */
void db_pool_close(void)
{
	checkpointer_stop();
	db_release_idle_snapshots(); /* a snapshot would keep the WAL from being emptied */
	pthread_mutex_lock(&pool_lock);
	wal_index = NULL; /* SQLite's, unmapped as its connections close below */
	wal_index_tried = false;
	struct db *any = pool_writer ? pool_writer : pool_all;
	if (any && !atomic_load(&opened_read_only)) {
		int rc = db_checkpoint(any);
		if (rc == DB_OK)
			log_write(LOG_INFO, "write-ahead log checkpointed", NULL);
		else
			log_write(LOG_WARN,
				  "the write-ahead log could not be checkpointed; it is kept",
				  json_pack("{s:s}", "error", sqlite3_errmsg(any->conn)));
	}
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

/* The SQLite engine, the way a threaded server must hold it: one
 * connection per worker thread (opened NOMUTEX, since no two threads use
 * one at once), its read snapshot kept while nothing is committed, WAL so
 * readers never wait for the writer, a busy timeout so writers queue
 * instead of failing, foreign keys on, statements prepared once per
 * connection and reused, checkpoints in a thread of their own, and its
 * allocations through the failure injector. The only file that includes
 * sqlite3.h. */
#include <sqlite3.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "db_sqlite.h"
#include "fault.h"
#include "log.h"
#include "util.h"

#define STMT_CACHE_SIZE 64
#define BUSY_TIMEOUT_MS 5000
/* the WAL index header's length: see sqlite_worker_taken */
#define WAL_HEADER_BYTES 48

struct cached_stmt {
	struct db_stmt head; /* what the store holds */
	const char *key;     /* the caller's pointer: a hit without comparing text */
	char *sql;
	sqlite3_stmt *stmt;
	uint64_t last_used;
};

struct sqlite_db {
	struct db head;
	sqlite3 *conn;
	struct cached_stmt cache[STMT_CACHE_SIZE];
	uint64_t clock;
	unsigned char seen[WAL_HEADER_BYTES]; /* the WAL index header just before
					       * a kept snapshot began */
	bool bulk;                            /* DB_BULK_BEGIN asked, DB_BULK_END not done since */
};

static struct sqlite_db *lite(struct db *db)
{
	return (struct sqlite_db *)db;
}

static sqlite3 *conn_of(struct db *db)
{
	return db ? lite(db)->conn : NULL;
}

/* A statement of the store is a slot of its connection's cache. */
static sqlite3_stmt *raw(struct db_stmt *stmt)
{
	return ((struct cached_stmt *)stmt)->stmt;
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
	db_note_write_health(status);
	return status;
}

static int db_status_from(struct db *db, int rc)
{
	return status_of(conn_of(db), rc);
}

static const char *sqlite_last_error(struct db *db)
{
	return conn_of(db) ? sqlite3_errmsg(conn_of(db)) : "database not open";
}

static int sqlite_file_sizes(struct db *db, int64_t *db_bytes, int64_t *wal_bytes)
{
	const char *path = sqlite3_db_filename(conn_of(db), "main");
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
	return db_status_from(db, sqlite3_exec(conn_of(db), sql, NULL, NULL, NULL));
}

static sqlite3_stmt *prepare_static(struct db *db, const char *sql);
static void sqlite_close(struct db *db);
static int sqlite_checkpoint(struct db *db);

/* Transaction control runs on every write, several times: prepared once
 * per connection (prepare_static keys on these addresses) instead of
 * parsed by sqlite3_exec each time. */
static const char *const control_sql[] = {
	[DB_BEGIN_READ] = "BEGIN",
	[DB_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[DB_COMMIT] = "COMMIT",
	[DB_ROLLBACK] = "ROLLBACK",
	[DB_SAVE_WRITER] = "SAVEPOINT writer",
	[DB_RELEASE_WRITER] = "RELEASE writer",
	[DB_UNDO_WRITER] = "ROLLBACK TO writer",
	[DB_SAVE_PART] = "SAVEPOINT part",
	[DB_RELEASE_PART] = "RELEASE part",
	[DB_UNDO_PART] = "ROLLBACK TO part",
	/* one process writes to a file: its writer lock is held across them */
	[DB_HOLD_WRITER] = NULL,
	[DB_LET_WRITER] = NULL,
	[DB_READ_THROUGH] = "PRAGMA cache_size=-1024",
	/* sqlite_control's own: two statements each */
	[DB_BULK_BEGIN] = NULL,
	[DB_BULK_END] = NULL,
};

/* The writer's page cache (KiB). An import's grows with the database, to
 * a 64th of it and at most BULK_CACHE_KIB: at a million patients (13 GB)
 * the B-trees' inner pages alone are 48 MiB (dbstat), and with 16 MiB the
 * writer read them back over and over (with 128 MiB its CPU time fell by a
 * tenth). */
#define CACHE_KIB      16384
#define CACHE_SQL      "PRAGMA cache_size=-" STRINGIFY(CACHE_KIB)
#define BULK_CACHE_KIB 131072

static int run(struct db *db, const char *sql)
{
	sqlite3_stmt *stmt = prepare_static(db, sql);
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return db_status_from(db, rc);
}

static int pragma_int(struct db *db, const char *sql, long long *out);

/* The database's length in pages, or -1. */
static long long page_count(struct db *db)
{
	long long pages = 0;
	return pragma_int(db, "PRAGMA page_count", &pages) == SQLITE_OK ? pages : -1;
}

/* A bulk writer's cache sized to the database, pages long now. */
static void bulk_cache(struct db *db, long long pages)
{
	long long page_size = 0;
	if (pages < 0 || pragma_int(db, "PRAGMA page_size", &page_size) != SQLITE_OK)
		return;
	long long kib = pages * page_size / 1024 / 64;
	kib = kib < CACHE_KIB ? CACHE_KIB : kib > BULK_CACHE_KIB ? BULK_CACHE_KIB : kib;
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA cache_size=-%lld", kib);
	sqlite3_exec(conn_of(db), sql, NULL, NULL, NULL);
}

/* Bulk writes skip the CHECKs (SQLite's ignore_check_constraints, which
 * expires the connection's prepared statements either way: SQLite prepares
 * each again at its next use) and take a larger page cache as the database
 * grows (bulk_cache, again before each of an import's chunks), given back
 * at the end (the pages past it are freed as they are let go). */
static int bulk_writes(struct db *db, bool on)
{
	int rc = run(db, on ? "PRAGMA ignore_check_constraints=ON"
			    : "PRAGMA ignore_check_constraints=OFF");
	if (rc == DB_OK && on)
		bulk_cache(db, page_count(db));
	else if (rc == DB_OK)
		rc = run(db, CACHE_SQL);
	if (on || rc == DB_OK)
		lite(db)->bulk = on;
	return rc;
}

static int sqlite_control(struct db *db, enum db_control what)
{
	if (what == DB_BULK_BEGIN || what == DB_BULK_END)
		return bulk_writes(db, what == DB_BULK_BEGIN);
	return control_sql[what] ? run(db, control_sql[what]) : DB_OK;
}

static bool sqlite_in_transaction(struct db *db)
{
	return !sqlite3_get_autocommit(conn_of(db));
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

static int sqlite_set_allocator(void)
{
	sqlite3_mem_methods m;
	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sqlite_memory) != SQLITE_OK)
		return DB_ERROR;
	m = sqlite_memory;
	m.xMalloc = sqlite_malloc;
	m.xRealloc = sqlite_realloc;
	return sqlite3_config(SQLITE_CONFIG_MALLOC, &m) == SQLITE_OK ? DB_OK : DB_ERROR;
}

/* Reads one integer PRAGMA into *out. */
static int pragma_int(struct db *db, const char *sql, long long *out)
{
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(conn_of(db), sql, -1, &stmt, NULL);
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
	snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", db_max_size() / page_size);
	return sqlite3_exec(conn_of(db), sql, NULL, NULL, NULL);
}

/* Within QUOTA_MARGIN_PAGES of the quota with no free page left: a write
 * that adds a record needs a new page in each of several b-trees (the
 * table, its indexes, the audit trail) once theirs are full, so the next
 * ones will fail, whatever a write that fits in pages it touches does. */
#define QUOTA_MARGIN_PAGES 16
static bool at_quota(struct db *db)
{
	long long pages = 0, limit = 0, free_pages = 0;
	return db_max_size() > 0 && pragma_int(db, "PRAGMA page_count", &pages) == SQLITE_OK &&
	       pragma_int(db, "PRAGMA max_page_count", &limit) == SQLITE_OK &&
	       pragma_int(db, "PRAGMA freelist_count", &free_pages) == SQLITE_OK &&
	       pages + QUOTA_MARGIN_PAGES >= limit && free_pages == 0;
}

static int configure(struct db *db)
{
	sqlite3_extended_result_codes(conn_of(db), 1);
	sqlite3_busy_timeout(conn_of(db), BUSY_TIMEOUT_MS);
	int rc = sqlite3_exec(conn_of(db),
			      "PRAGMA journal_mode=WAL;"
			      "PRAGMA synchronous=NORMAL;"
			      "PRAGMA foreign_keys=ON;"
			      /* a larger page cache spares a read() per page; checkpoints
			       * every ~40 MiB of WAL write each hot page (indexes,
			       * sqlite_sequence) once instead of often. (A memory map was
			       * measured slower: remapping as the file grows costs TLB
			       * shootdowns on every core.) */
			      CACHE_SQL ";"
			      "PRAGMA wal_autocheckpoint=10000;"
			      /* a WAL grown by a bulk import is cut back to 64 MiB
			       * when it starts over, not kept at its largest */
			      "PRAGMA journal_size_limit=67108864;"
			      /* savepoint journals (group commit) in memory */
			      "PRAGMA temp_store=MEMORY;",
			      NULL, NULL, NULL);
	if (rc == SQLITE_OK && db_durability_wanted() == DB_DURABLE_FULL)
		rc = sqlite3_exec(conn_of(db), "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	if (rc == SQLITE_OK && db_max_size() > 0)
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
static int open_immutable(struct sqlite_db *db, const char *path)
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
	return rc == SQLITE_OK ? configure(&db->head) : rc;
}

/* A file that cannot be written (a read-only mount, a replica, a copy kept
 * for forensics) is opened read-only: reads are served and every write
 * answers DB_READONLY until the process is restarted on a writable file.
 * SQLite falls back to read-only by itself; when the WAL index cannot be
 * made either, the file is opened immutable, provided its WAL holds nothing
 * (else those commits would be silently missing). */
static int sqlite_open(const char *path, struct db **out)
{
	pthread_once(&sqlite_setup, sqlite_configure);
	struct sqlite_db *db = xcalloc(1, sizeof *db);
	if (!db) {
		*out = NULL;
		return DB_ERROR;
	}
	db_head_init(&db->head, &db_engine_sqlite);
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	int rc = sqlite3_open_v2(path, &db->conn, flags, NULL);
	if (rc == SQLITE_OK)
		rc = configure(&db->head);
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
		db_note_opened_read_only();
	*out = &db->head;
	return DB_OK;

out_fail:
	log_write(LOG_ERROR, "cannot open database",
		  json_pack("{s:s, s:s}", "path", path, "error",
			    db->conn ? sqlite3_errmsg(db->conn) : sqlite3_errstr(rc)));
	int status = status_of(db->conn, rc);
	sqlite_close(&db->head);
	*out = NULL;
	return status == DB_OK ? DB_ERROR : status;
}

static void sqlite_close(struct db *head)
{
	struct sqlite_db *db = lite(head);
	for (int i = 0; i < STMT_CACHE_SIZE; i++) {
		sqlite3_finalize(db->cache[i].stmt);
		free(db->cache[i].sql);
	}
	sqlite3_close(db->conn);
	db_head_free(&db->head);
	free(db);
}

/* Statements are looked up by their SQL text; the least recently used one
 * makes room when the cache is full. Lists build SQL from the filters given,
 * so the cache holds one statement per combination actually used. */
static struct cached_stmt *prepare(struct sqlite_db *db, const char *sql, const char *key)
{
	struct cached_stmt *slot = &db->cache[0];
	for (int i = 0; i < STMT_CACHE_SIZE; i++) {
		struct cached_stmt *c = &db->cache[i];
		if (c->sql && strcmp(c->sql, sql) == 0) {
			c->last_used = ++db->clock;
			if (key)
				c->key = key;
			return c;
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
	slot->head.engine = &db_engine_sqlite;
	return slot;
}

/* For SQL text that lives as long as the process: found by its address. */
static struct cached_stmt *prepare_by_address(struct sqlite_db *db, const char *sql)
{
	for (int i = 0; i < STMT_CACHE_SIZE; i++) {
		if (db->cache[i].key == sql) {
			db->cache[i].last_used = ++db->clock;
			return &db->cache[i];
		}
	}
	return prepare(db, sql, sql);
}

static sqlite3_stmt *prepare_static(struct db *db, const char *sql)
{
	struct cached_stmt *c = prepare_by_address(lite(db), sql);
	return c ? c->stmt : NULL;
}

static struct db_stmt *sqlite_prepare(struct db *db, const char *sql, bool is_static)
{
	struct cached_stmt *c =
		is_static ? prepare_by_address(lite(db), sql) : prepare(lite(db), sql, NULL);
	return c ? &c->head : NULL;
}

static int sqlite_query_plan(struct db *db, const char *sql, char *out, size_t len)
{
	char *explain = xasprintf("EXPLAIN QUERY PLAN %s", sql);
	sqlite3_stmt *stmt = NULL;
	int rc = explain ? sqlite3_prepare_v2(conn_of(db), explain, -1, &stmt, NULL) : SQLITE_NOMEM;
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
		rc = sqlite3_errcode(conn_of(db)); /* SQLITE_DONE, or what stopped the steps */
	sqlite3_finalize(stmt);
	return db_status_from(db, rc);
}

/* The text of head ("INSERT INTO t (a, b)") with rows of ncols parameters,
 * then tail (or none), built once per head, tail and row count and kept
 * for the process's life. */
struct rows_sql {
	const char *head, *tail;
	int rows;
	char *sql;
};
static struct rows_sql rows_sql[32];
static pthread_mutex_t rows_sql_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *rows_sql_of(const char *head, const char *tail, int ncols, int nrows)
{
	const char *sql = NULL;
	pthread_mutex_lock(&rows_sql_lock);
	size_t i = 0;
	while (i < sizeof rows_sql / sizeof rows_sql[0] && rows_sql[i].head &&
	       !(rows_sql[i].head == head && rows_sql[i].tail == tail && rows_sql[i].rows == nrows))
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
		if (tail)
			strbuf_printf(&sb, " %s", tail);
		if ((sql = strbuf_steal(&sb)) != NULL)
			rows_sql[i] = (struct rows_sql){
				.head = head, .tail = tail, .rows = nrows, .sql = (char *)sql};
	}
	pthread_mutex_unlock(&rows_sql_lock);
	return sql;
}

/* Rows per statement: the work of a statement (its cursors, the
 * AUTOINCREMENT counter, its journal) is paid once for 32 rows. */
static const int rows_per_statement[] = {32, 8, 1};

static int sqlite_insert_rows(struct db *db, const char *head, const char *tail, int ncols, int n,
			      void (*bind)(struct db_stmt *stmt, int at, int i, const void *cls),
			      const void *cls)
{
	int done = 0, rc = SQLITE_DONE;
	for (size_t k = 0; k < sizeof rows_per_statement / sizeof *rows_per_statement; k++) {
		int rows = rows_per_statement[k];
		while (n - done >= rows && rc == SQLITE_DONE) {
			const char *sql = rows_sql_of(head, tail, ncols, rows);
			struct cached_stmt *c = sql ? prepare_by_address(lite(db), sql) : NULL;
			if (!c)
				return DB_ERROR;
			sqlite3_stmt *stmt = c->stmt;
			for (int i = 0; i < rows; i++)
				bind(&c->head, 1 + i * ncols, done + i, cls);
			rc = sqlite3_step(stmt);
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			done += rows;
		}
	}
	return db_status_from(db, rc);
}

/* The WAL's length in pages after the last commit on the shared writer
 * (wal_grew sets it); read and written only by the writer's holder. */
static int wal_pages;
#define WAL_RESTART_PAGES 20000
/* between an import's chunks, the WAL may grow to this share of the
 * database (1/WAL_RESTART_SHARE), and at most WAL_RESTART_MAX_PAGES (400
 * MiB, about three chunks of a default import), before it starts over */
#define WAL_RESTART_SHARE     4
#define WAL_RESTART_MAX_PAGES 100000
/* how many times, 5 ms apart, the writer waits for the background
 * checkpointer before it copies what is left (at most 1 s) */
#define BEFORE_GROUP_TRIES 200

/* SQLite starts the WAL over only when a write begins with every frame
 * already copied into the database. Under steady writes the background
 * checkpoints (below) never catch the last frames, so the WAL would grow
 * without end; once it is this long, the writer copies what they have not
 * yet copied itself, before the next transaction, while no frame can be
 * added: then that transaction starts the WAL over (cut back to the
 * journal_size_limit). Usually little is left to copy.
 *
 * Not so between an import's chunks: when one is committed the
 * checkpointer has copied none of it, and copying it here held the import
 * up for a tenth of its time. There the WAL may grow to a quarter of the
 * database (at least WAL_RESTART_PAGES, at most WAL_RESTART_MAX_PAGES)
 * while the checkpointer copies each chunk behind the writer, and only the
 * last is copied here. The disk an import takes stays under 1.25 times the
 * database and one chunk, and at a million patients under 1.05 times: a
 * WAL of a quarter of it (3.4 GB) saved the writer no more there. */
static void sqlite_before_group(struct db *db, bool going_on)
{
	long long pages = going_on ? page_count(db) : -1; /* read once, for both below */
	/* a writer left writing in bulk (an import whose end could not put it
	 * back): every other writer's rows are checked, in the usual cache */
	if (!going_on && lite(db)->bulk)
		sqlite_control(db, DB_BULK_END);
	else if (lite(db)->bulk)
		bulk_cache(db, pages);
	long long limit = WAL_RESTART_PAGES, share = pages / WAL_RESTART_SHARE;
	if (share > limit)
		limit = share < WAL_RESTART_MAX_PAGES ? share : WAL_RESTART_MAX_PAGES;
	if (wal_pages < limit)
		return;
	/* While the background checkpointer copies, this one is refused at
	 * once (SQLITE_BUSY) and the WAL would go on growing by a whole group
	 * (an import's chunk) each time it happened, which a loaded machine
	 * made happen several times in a row: wait for it, a little at a time. */
	for (int tries = 0; tries < BEFORE_GROUP_TRIES; tries++) {
		int frames = 0, copied = 0;
		int rc = sqlite3_wal_checkpoint_v2(conn_of(db), NULL, SQLITE_CHECKPOINT_PASSIVE,
						   &frames, &copied);
		if (rc == SQLITE_OK && frames == copied)
			wal_pages = 0;
		if (rc != SQLITE_BUSY)
			return;
		struct timespec pause = {0, 5 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
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
/* by the first worker, so it never changes under the others */
static atomic_bool wal_index_tried;
static pthread_mutex_t wal_index_lock = PTHREAD_MUTEX_INITIALIZER;

static bool in_wal_mode(struct db *db)
{
	sqlite3_stmt *stmt = prepare_static(db, "PRAGMA journal_mode");
	bool wal = stmt && sqlite3_step(stmt) == SQLITE_ROW &&
		   strcmp((const char *)sqlite3_column_text(stmt, 0), "wal") == 0;
	if (stmt)
		sqlite3_reset(stmt);
	return wal;
}

/* With db open and read (so SQLite has mapped the WAL index). The mapping is SQLite's own, asked of
 * its VFS (xShmMap of region 0, never extending it): opening and closing the -shm file here would
 * drop every POSIX lock this process holds on it, SQLite's included. It lives while any connection
 * of this process is open on the file. */
static void map_wal_index(struct db *db)
{
	sqlite3_file *file = NULL;
	if (!in_wal_mode(db) ||
	    sqlite3_file_control(conn_of(db), "main", SQLITE_FCNTL_FILE_POINTER, &file) !=
		    SQLITE_OK ||
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

static void sqlite_worker_taken(struct db *db)
{
	if (!atomic_load(&wal_index_tried)) {
		pthread_mutex_lock(&wal_index_lock);
		if (!atomic_load(&wal_index_tried))
			map_wal_index(db);
		atomic_store(&wal_index_tried, true);
		pthread_mutex_unlock(&wal_index_lock);
	}
	if (!wal_index || db_writes_recent()) {
		db_end_leftover(db);
		return;
	}
	unsigned char now[WAL_HEADER_BYTES];
	wal_header(now);
	if (db->holding && sqlite_in_transaction(db) &&
	    memcmp(now, lite(db)->seen, sizeof now) == 0)
		return;
	db_end_leftover(db);
	memcpy(lite(db)->seen, now, sizeof now);
	if (sqlite_control(db, DB_BEGIN_READ) == DB_OK) {
		db->holding = true;
		db->transactions++;
	}
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
	char *path; /* the writer's file */
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
		if (db || sqlite_open(checkpointer.path, &db) == DB_OK) {
			int frames = 0, copied = 0;
			int rc = sqlite3_wal_checkpoint_v2(
				conn_of(db), NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
			if (rc != SQLITE_OK && rc != SQLITE_BUSY)
				log_write(LOG_WARN, "background checkpoint failed",
					  json_pack("{s:s}", "error", sqlite3_errmsg(conn_of(db))));
			unfinished = rc == SQLITE_BUSY || copied < frames;
		}
		pthread_mutex_lock(&checkpointer.lock);
	}
	pthread_mutex_unlock(&checkpointer.lock);
	if (db)
		sqlite_close(db);
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
	free(checkpointer.path);
	checkpointer.path = NULL;
}

/* The shared writer checkpoints nothing at commit: the checkpointer does. */
static void sqlite_writer_opened(struct db *db)
{
	const char *path = sqlite3_db_filename(conn_of(db), "main");
	checkpointer.path = xstrdup(path ? path : "");
	sqlite3_exec(conn_of(db), "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL);
	sqlite3_wal_hook(conn_of(db), wal_grew, NULL);
}

/* The WAL is folded into the main file first, so that a stopped server
 * leaves one self-contained file (a copy of it alone is a complete backup).
 * When that fails (no space, a read-only filesystem) the WAL is kept and
 * replayed on the next open. */
static void sqlite_pool_closing(struct db *any)
{
	checkpointer_stop();
	wal_index = NULL; /* SQLite's, unmapped as the connections close */
	atomic_store(&wal_index_tried, false);
	if (!any)
		return;
	int rc = sqlite_checkpoint(any);
	if (rc == DB_OK)
		log_write(LOG_INFO, "write-ahead log checkpointed", NULL);
	else
		log_write(LOG_WARN, "the write-ahead log could not be checkpointed; it is kept",
			  json_pack("{s:s}", "error", sqlite3_errmsg(conn_of(any))));
}

static int sqlite_checkpoint(struct db *db)
{
	int frames = 0, done = 0;
	int rc = sqlite3_wal_checkpoint_v2(conn_of(db), NULL, SQLITE_CHECKPOINT_TRUNCATE, &frames,
					   &done);
	return db_status_from(db, rc);
}

/* --- statements ------------------------------------------------------- */

static void sqlite_bind_int(struct db_stmt *stmt, int i, int64_t v)
{
	sqlite3_bind_int64(raw(stmt), i, v);
}

static void sqlite_bind_real(struct db_stmt *stmt, int i, double v)
{
	sqlite3_bind_double(raw(stmt), i, v);
}

static void sqlite_bind_text(struct db_stmt *stmt, int i, const char *s, size_t n)
{
	sqlite3_bind_text64(raw(stmt), i, s, n, SQLITE_STATIC, SQLITE_UTF8);
}

static void sqlite_bind_null(struct db_stmt *stmt, int i)
{
	sqlite3_bind_null(raw(stmt), i);
}

static int sqlite_step(struct db_stmt *stmt)
{
	int rc = sqlite3_step(raw(stmt));
	if (rc == SQLITE_ROW)
		return DB_ROW;
	return status_of(sqlite3_db_handle(raw(stmt)), rc);
}

static enum db_type sqlite_column_type(struct db_stmt *stmt, int col)
{
	switch (sqlite3_column_type(raw(stmt), col)) {
	case SQLITE_INTEGER: return DB_TYPE_INT;
	case SQLITE_FLOAT: return DB_TYPE_REAL;
	case SQLITE_NULL: return DB_TYPE_NULL;
	default: return DB_TYPE_TEXT;
	}
}

static int64_t sqlite_column_int(struct db_stmt *stmt, int col)
{
	return sqlite3_column_int64(raw(stmt), col);
}

static double sqlite_column_real(struct db_stmt *stmt, int col)
{
	return sqlite3_column_double(raw(stmt), col);
}

static const char *sqlite_column_text(struct db_stmt *stmt, int col)
{
	return (const char *)sqlite3_column_text(raw(stmt), col);
}

static size_t sqlite_column_bytes(struct db_stmt *stmt, int col)
{
	return (size_t)sqlite3_column_bytes(raw(stmt), col);
}

static void sqlite_done(struct db_stmt *stmt)
{
	sqlite3_reset(raw(stmt));
	sqlite3_clear_bindings(raw(stmt));
}

static int64_t sqlite_changes(struct db *db)
{
	return sqlite3_changes(conn_of(db));
}

static int64_t sqlite_last_insert_id(struct db *db)
{
	return sqlite3_last_insert_rowid(conn_of(db));
}

/* AUTOINCREMENT keeps the largest id ever given in sqlite_sequence (none
 * until the first insert); rows inserted with their own ids may be past it. */
static int sqlite_next_id(struct db *db, const char *table, int64_t *next)
{
	char *sql = xasprintf("SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = "
			      "'%s'), 0), coalesce((SELECT max(id) FROM %s), 0)) + 1",
			      table, table);
	sqlite3_stmt *stmt = NULL;
	int rc = sql ? sqlite3_prepare_v2(conn_of(db), sql, -1, &stmt, NULL) : SQLITE_NOMEM;
	free(sql);
	if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*next = sqlite3_column_int64(stmt, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	return db_status_from(db, rc);
}

/* sqlite_sequence has a table's row once it has had one (AUTOINCREMENT). */
static int sqlite_set_next_id(struct db *db, const char *table, int64_t next)
{
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(conn_of(db),
				    "UPDATE sqlite_sequence SET seq = ?1 WHERE name = ?2", -1,
				    &stmt, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(stmt, 1, next - 1);
		sqlite3_bind_text(stmt, 2, table, -1, SQLITE_STATIC);
		rc = sqlite3_step(stmt) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(conn_of(db));
	}
	sqlite3_finalize(stmt);
	return db_status_from(db, rc);
}

/* --- the schema and what the engine promises ---------------------------- */

/* The migrations applied are counted in PRAGMA user_version. */
static int sqlite_schema_version(struct db *db, int *version)
{
	long long v = 0;
	int rc = pragma_int(db, "PRAGMA user_version", &v);
	if (rc == SQLITE_OK)
		*version = (int)v;
	return db_status_from(db, rc);
}

/* Written over itself by the write probe: it dirties page 1, and so needs
 * a WAL frame at commit like any other write. */
static int sqlite_set_schema_version(struct db *db, int version)
{
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA user_version=%d", version);
	return exec(db, sql);
}

static int sqlite_durability(struct db *db, enum db_durability *d)
{
	long long level = 0;
	int rc = pragma_int(db, "PRAGMA synchronous", &level);
	if (rc == SQLITE_OK) /* 1 NORMAL, 2 FULL, 3 EXTRA */
		*d = level >= 2 ? DB_DURABLE_FULL : DB_DURABLE_NORMAL;
	return db_status_from(db, rc);
}

/* A path, or anything else no other engine claimed. */
static bool sqlite_claims(const char *target)
{
	(void)target;
	return true;
}

const struct db_engine db_engine_sqlite = {
	.name = "sqlite",
	.claims = sqlite_claims,
	.set_allocator = sqlite_set_allocator,
	.open = sqlite_open,
	.close = sqlite_close,
	.last_error = sqlite_last_error,
	.control = sqlite_control,
	.in_transaction = sqlite_in_transaction,
	.prepare = sqlite_prepare,
	.bind_int = sqlite_bind_int,
	.bind_real = sqlite_bind_real,
	.bind_text = sqlite_bind_text,
	.bind_null = sqlite_bind_null,
	.step = sqlite_step,
	.column_type = sqlite_column_type,
	.column_int = sqlite_column_int,
	.column_real = sqlite_column_real,
	.column_text = sqlite_column_text,
	.column_bytes = sqlite_column_bytes,
	.done = sqlite_done,
	.changes = sqlite_changes,
	.last_insert_id = sqlite_last_insert_id,
	.next_id = sqlite_next_id,
	.set_next_id = sqlite_set_next_id,
	.insert_rows = sqlite_insert_rows,
	.query_plan = sqlite_query_plan,
	.migrations = embedded_migrations_sqlite,
	.migrations_count = &embedded_migrations_sqlite_count,
	.schema_version = sqlite_schema_version,
	.set_schema_version = sqlite_set_schema_version,
	.exec_script = exec,
	.durability = sqlite_durability,
	.file_sizes = sqlite_file_sizes,
	.checkpoint = sqlite_checkpoint,
	.at_quota = at_quota,
	.writer_opened = sqlite_writer_opened,
	.before_group = sqlite_before_group,
	.worker_taken = sqlite_worker_taken,
	.pool_closing = sqlite_pool_closing,
};

/* What an engine supplies behind db.h. db.c holds what every engine shares
 * (the writer lock, group commit, batches, the per-thread pool, the write
 * probe); each engine (db_sqlite.c) holds its connections, statements and
 * transactions and fills a struct db_engine; db_common.c holds what both
 * use. A connection and a statement begin with the
 * shared heads below, so db.c reaches the engine from either.
 * Private to the engine layer: the store sees only db.h. */
#ifndef COHORTD_DB_ENGINE_H
#define COHORTD_DB_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "embedded.h"

/* The transaction control db.c runs, one statement each. */
enum db_control {
	DB_BEGIN_READ,  /* one consistent snapshot for several reads */
	DB_BEGIN_WRITE, /* holds the engine's write lock from now to the end */
	DB_COMMIT,
	DB_ROLLBACK,
	DB_SAVE_WRITER, /* a writer's work in a group (db.c) */
	DB_RELEASE_WRITER,
	DB_UNDO_WRITER, /* back to DB_SAVE_WRITER; the savepoint stays */
	DB_SAVE_PART,   /* db_part_begin */
	DB_RELEASE_PART,
	DB_UNDO_PART,
	/* the write lock kept past the commits of a writer that goes on
	 * (db_commit_continue) until DB_LET_WRITER, so that no other process
	 * writes between them; nothing to do where one process writes */
	DB_HOLD_WRITER,
	DB_LET_WRITER,
	/* a connection that reads the database once through (an export):
	 * little of it kept cached, so that its memory stays small */
	DB_READ_THROUGH,
	/* this connection's writes are many rows, each validated first (an
	 * import's): the engine's CHECKs are not evaluated again and its cache
	 * may grow; and back to normal */
	DB_BULK_BEGIN,
	DB_BULK_END,
};

struct db_engine;

/* The head of every engine's connection. */
struct db {
	const struct db_engine *engine;
	uint64_t transactions;
	uint64_t work; /* db_work_id */
	bool shared;   /* the pool's writer: used only by the thread holding writer_lock */
	struct db *next_in_pool;
	/* a worker's connection (db_for_thread): held by the thread using it,
	 * else free for db_release_idle_snapshots; it guards holding */
	pthread_mutex_t taken;
	bool holding; /* a read snapshot is open, kept from request to request */
};

/* The head of every engine's statement. */
struct db_stmt {
	const struct db_engine *engine;
};

struct db_engine {
	const char *name;
	/* target (what --db names) is this engine's: a path, a URI */
	bool (*claims)(const char *target);
	/* Allocates the connection (with db_head_init), opens and configures it. */
	int (*open)(const char *target, struct db **out);
	void (*close)(struct db *db);
	const char *(*last_error)(struct db *db);
	/* engine-wide: its allocations through fault.h (NULL: none to wrap) */
	int (*set_allocator)(void);

	int (*control)(struct db *db, enum db_control what);
	bool (*in_transaction)(struct db *db);

	/* is_static: sql lives as long as the process (found by address) */
	struct db_stmt *(*prepare)(struct db *db, const char *sql, bool is_static);
	void (*bind_int)(struct db_stmt *stmt, int i, int64_t v);
	void (*bind_real)(struct db_stmt *stmt, int i, double v);
	void (*bind_text)(struct db_stmt *stmt, int i, const char *s, size_t n);
	void (*bind_null)(struct db_stmt *stmt, int i);
	int (*step)(struct db_stmt *stmt);
	/* db_step_unread (NULL: db_step) */
	int (*step_unread)(struct db_stmt *stmt);
	/* db_step_ahead (NULL: never ahead) */
	bool (*step_ahead)(struct db_stmt *stmt);
	enum db_type (*column_type)(struct db_stmt *stmt, int col);
	int64_t (*column_int)(struct db_stmt *stmt, int col);
	double (*column_real)(struct db_stmt *stmt, int col);
	const char *(*column_text)(struct db_stmt *stmt, int col);
	size_t (*column_bytes)(struct db_stmt *stmt, int col);
	void (*done)(struct db_stmt *stmt);
	int64_t (*changes)(struct db *db);
	int64_t (*last_insert_id)(struct db *db);
	int (*next_id)(struct db *db, const char *table, int64_t *next);
	int (*set_next_id)(struct db *db, const char *table, int64_t next);
	int (*insert_rows)(struct db *db, const char *head, const char *tail, int ncols, int n,
			   void (*bind)(struct db_stmt *stmt, int at, int i, const void *cls),
			   const void *cls);
	int (*query_plan)(struct db *db, const char *sql, char *out, size_t len);

	/* the schema: migrations in order, the version applied, a script */
	const struct embedded_file *migrations;
	const size_t *migrations_count;
	int (*schema_version)(struct db *db, int *version);
	int (*set_schema_version)(struct db *db, int version);
	int (*exec_script)(struct db *db, const char *sql);

	int (*durability)(struct db *db, enum db_durability *d);
	/* "host:port" of the server the connection talks to (NULL: none) */
	bool (*server_address)(struct db *db, char *out, size_t n);
	int (*file_sizes)(struct db *db, int64_t *db_bytes, int64_t *wal_bytes);
	int (*checkpoint)(struct db *db);
	/* near the size quota: the next writes will fail for space */
	bool (*at_quota)(struct db *db);

	/* the pool's hooks: the shared writer was opened; a group's
	 * transaction is about to begin on it (going_on: its holder goes on
	 * from its own commit, an import between chunks); a worker takes its
	 * connection for a request (begin or keep its read snapshot); the pool
	 * closes, any being one of its connections (NULL when none is open) */
	void (*writer_opened)(struct db *db);
	void (*before_group)(struct db *db, bool going_on);
	void (*worker_taken)(struct db *db);
	void (*pool_closing)(struct db *any);
};

/* --- shared by db.c and the engines (db_common.c) --------------------- */

/* What every connection opened from now on is asked to promise. */
enum db_durability db_durability_wanted(void);
long long db_max_size(void);

void db_head_init(struct db *db, const struct db_engine *engine);
void db_head_free(struct db *db);
/* A write failed for space or write access (DB_FULL, DB_READONLY), or one
 * got through (DB_OK). */
void db_note_write_health(int status);
/* The last noted, and whether it is DB_OK and recent enough to vouch for
 * the next write without a probe. */
int db_write_health(void);
bool db_write_health_fresh(void);
/* A commit that wrote. */
void db_note_commit(void);
/* The database could not be opened for writing at all. */
void db_note_opened_read_only(void);
/* This process committed a write within the last moments: a worker keeps
 * no read snapshot from one request to the next while they come. */
bool db_writes_recent(void);
/* Ends what a connection left open: a kept snapshot, a transaction a failed
 * ROLLBACK left behind. */
void db_end_leftover(struct db *db);

#endif

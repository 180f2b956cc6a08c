/* The storage engine's public face: connections, transactions, migrations.
 * Nothing here mentions SQLite, so a PostgreSQL backend can sit behind the
 * same calls. Every function that acts returns 0 or a negative DB_ code.
 *
 * Threading: a struct db is one connection used by one thread at a time.
 * db_for_thread() hands each server worker its own, opened on first use;
 * db_pool_close() closes them all once the workers have stopped. */
#ifndef COHORTD_DB_H
#define COHORTD_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum db_status {
	DB_OK = 0,
	DB_NOTFOUND = -1,   /* no such record */
	DB_CONFLICT = -2,   /* a UNIQUE constraint */
	DB_CONSTRAINT = -3, /* a CHECK, NOT NULL or foreign key constraint */
	DB_BUSY = -4,       /* locked longer than the busy timeout */
	DB_FULL = -5,       /* disk or database full */
	DB_READONLY = -6,   /* the file cannot be written */
	DB_ERROR = -7,      /* anything else: I/O error, corruption, out of memory */
};

struct db;

/* target: a file path (SQLite). */
int db_open(const char *target, struct db **out);
/* target as the log and the terminal may show it: a password in a
 * connection URI (scheme://user:PASSWORD@...) or given as password=...
 * (a keyword string, a URI's query) replaced by "***". */
void db_target_shown(const char *target, char *out, size_t n);
/* Which engine db is on: "sqlite" or "postgresql". */
const char *db_engine_name(struct db *db);
/* The server db talks to, "host:port" (a client-server engine), into out;
 * false for an engine in the process (SQLite). */
bool db_server_address(struct db *db, char *out, size_t n);
/* Gives the engine the allocator of fault.h (its own, through the failure
 * injector); before the engine is first used. Called once by main(). */
int db_set_allocator(void);

/* What a commit promises, for every connection opened afterwards:
 * DB_DURABLE_NORMAL (synchronous=NORMAL in WAL): a committed write survives
 * the process being killed; the last commits may be lost if the machine
 * loses power. DB_DURABLE_FULL (synchronous=FULL): the WAL is synced at
 * every commit, so they survive power loss too, at a cost per write. */
enum db_durability { DB_DURABLE_NORMAL, DB_DURABLE_FULL };
void db_set_durability(enum db_durability d);
/* What db's commits promise, as the engine reports it (not as asked). */
int db_durability(struct db *db, enum db_durability *d);
/* A quota for every connection opened afterwards (PRAGMA max_page_count):
 * a write that would grow the database file past bytes fails with DB_FULL.
 * The write-ahead log is not counted. 0: no quota. */
void db_set_max_size(long long bytes);
void db_close(struct db *db);
const char *db_last_error(struct db *db);
/* Bytes of the database file and of its write-ahead log (0 when none). */
int db_file_sizes(struct db *db, int64_t *db_bytes, int64_t *wal_bytes);

/* Whether writes get through: DB_OK, DB_FULL (no space left), DB_READONLY
 * (the file or its filesystem cannot be written, or it was opened
 * read-only), or another DB_ code a test write met. A write that succeeded
 * in the last 10 seconds vouches for it; otherwise (and always while writes
 * are failing) a test write that changes nothing is committed, so the answer
 * turns back to DB_OK as soon as space or write access returns. */
int db_check_writable(void);
/* The database file could not be opened for writing at all (db_open fell
 * back to read-only); writes answer DB_READONLY until a restart. */
bool db_opened_read_only(void);
/* Folds the write-ahead log into the main file and empties it. */
int db_checkpoint(struct db *db);

/* Applies the engine's embedded migrations not yet applied, each in its
 * own transaction with the schema version it brings (db_migrate.c). */
int db_migrate(struct db *db);
int db_schema_version(struct db *db, int *version);
int db_latest_schema_version(void);

/* BEGIN IMMEDIATE: takes the write lock now, so a transaction that has read
 * its preconditions cannot lose the lock to another writer before it writes. */
int db_begin_write(struct db *db);
/* BEGIN (deferred): one consistent snapshot for several reads. */
int db_begin_read(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);
/* Commits the write transaction's work so far and opens the next one
 * without letting the writer go: no other write comes between them (a
 * bulk import in chunks, import.c). */
int db_commit_continue(struct db *db);
/* Rolls back the write transaction's work since it began (or since the
 * last db_commit_continue) and opens the next one, the writer kept. */
int db_undo_continue(struct db *db);
/* A number that changes with every transaction begun on this connection. */
uint64_t db_transaction_id(struct db *db);
/* A number, unique in the process, that changes whenever the connection's
 * transaction may hold other work than when it was read: a transaction
 * begun or ended, a savepoint rolled back to. The writers of one group
 * commit see one number while none of them is undone. */
uint64_t db_work_id(struct db *db);
/* A part of the open write transaction that can be undone alone (a
 * savepoint): db_part_begin marks its start; db_part_end keeps it, or
 * undoes it and leaves the transaction as it was at the mark. Parts do not
 * nest. A part that cannot be undone returns a DB_ code: the transaction
 * must then be rolled back. */
int db_part_begin(struct db *db);
int db_part_end(struct db *db, bool keep);

/* --- statements: the store's one way to the engine ---------------------
 *
 * A prepared statement is borrowed from its connection's cache: the caller
 * binds its parameters (numbered from 1, ?N in the SQL), steps through its
 * rows, reads their columns, and hands it back with db_done on every path
 * (which resets it and drops the bindings). Text bound is borrowed until
 * db_done; text read is valid until the next step or db_done. */
struct db_stmt;

/* db_step: a row is ready (DB_OK when there are no more rows; a DB_ code
 * when the statement failed). */
#define DB_ROW 1
/* A step's outcome as an action's: DB_ROW and DB_OK are DB_OK. */
static inline int db_result(int rc)
{
	return rc > 0 ? DB_OK : rc;
}

enum db_type { DB_TYPE_NULL, DB_TYPE_INT, DB_TYPE_REAL, DB_TYPE_TEXT };

/* NULL when the SQL cannot be prepared (or memory ran out). */
struct db_stmt *db_prepare(struct db *db, const char *sql);
/* The same for text that is never freed, found by address: faster. */
struct db_stmt *db_prepare_static(struct db *db, const char *sql);
void db_bind_int(struct db_stmt *stmt, int i, int64_t v);
void db_bind_real(struct db_stmt *stmt, int i, double v);
/* NULL binds SQL NULL. */
void db_bind_text(struct db_stmt *stmt, int i, const char *s);
void db_bind_text_n(struct db_stmt *stmt, int i, const char *s, size_t n);
void db_bind_null(struct db_stmt *stmt, int i);
int db_step(struct db_stmt *stmt);
/* Runs a statement whose result no one reads: no rows, no db_changes (an
 * UPDATE of a counter, an INSERT with nothing returned). The engine may send
 * it later, with the next statement of the transaction, which then answers
 * for its failure too (PostgreSQL: one round trip fewer). DB_OK or a DB_
 * code. */
int db_step_unread(struct db_stmt *stmt);
/* Sends a read ahead: it goes with the connection's next statement (or
 * command) in one round trip, and its rows are read with db_step as usual,
 * whenever the caller comes back to it before db_done. True when the engine
 * took it so (PostgreSQL, a connection outside the shared writer, the
 * statement already prepared there); false when it did not (SQLite, whose
 * reads cost no round trip): then nothing ran, and the caller steps it at
 * once. One statement at a time is ahead on a connection. */
bool db_step_ahead(struct db_stmt *stmt);
enum db_type db_column_type(struct db_stmt *stmt, int col);
int64_t db_column_int(struct db_stmt *stmt, int col);
double db_column_real(struct db_stmt *stmt, int col);
/* NULL for SQL NULL (or when memory ran out: util.h). */
const char *db_column_text(struct db_stmt *stmt, int col);
size_t db_column_bytes(struct db_stmt *stmt, int col);
/* The column's text into dst (n bytes), cut to fit; "" for SQL NULL. */
void db_column_text_into(struct db_stmt *stmt, int col, char *dst, size_t n);
void db_done(struct db_stmt *stmt);
/* Rows the last INSERT, UPDATE or DELETE on db changed. */
int64_t db_changes(struct db *db);
/* The id the last INSERT on db gave its row. */
int64_t db_last_insert_id(struct db *db);
/* The id the next INSERT into table without one would give: never one a
 * row had before, deleted or not. */
int db_next_id(struct db *db, const char *table, int64_t *next);
/* Gives the ids from next on back, as if no row past them had ever been
 * inserted: for records taken back with the import that made them, the
 * rows past next already deleted (store_import.c). */
int db_set_next_id(struct db *db, const char *table, int64_t next);
/* A transaction is open on db. */
bool db_in_transaction(struct db *db);
/* For the tests of query plans: fn is called with the SQL of every
 * statement prepared from now on (NULL: no more); and the engine's plan for
 * sql on db ("SEARCH audit USING INDEX audit_by_entity ..."), one step a
 * line, into out. */
void db_trace_statements(void (*fn)(void *cls, const char *sql), void *cls);
int db_query_plan(struct db *db, const char *sql, char *out, size_t len);
/* Inserts n rows of ncols values with head ("INSERT INTO t (a, b)", text
 * that lives as long as the process), several rows to a statement, bind
 * giving row i its values from parameter at on. On failure the rows of
 * the failed statement are out and those before it in. */
int db_insert_rows(struct db *db, const char *head, int ncols, int n,
		   void (*bind)(struct db_stmt *stmt, int at, int i, const void *cls),
		   const void *cls);
/* The same with tail (text that lives as long as the process, no
 * parameters) after the rows: "ON CONFLICT (...) DO UPDATE ...", where no
 * two of the n rows may have the same key. A round trip a statement, not
 * a row, where the engine is a server. */
int db_upsert_rows(struct db *db, const char *head, const char *tail, int ncols, int n,
		   void (*bind)(struct db_stmt *stmt, int at, int i, const void *cls),
		   const void *cls);

/* Per-thread connections for the server's workers' reads, and one shared
 * connection for every write: writes are serialised anyway, and a single
 * writer keeps its page cache warm, where several would invalidate each
 * other's after every commit. The writer may only be used between
 * db_begin_write and db_commit / db_rollback, which hold its lock. */
/* A batch: the calling thread takes the shared writer once and runs several
 * writes one after another (the write pool, writers.h). Each write's own
 * begin and commit work as usual, but their work is committed together by
 * db_batch_end, which returns the outcome for every write kept: until then
 * none of them is durable, and none may be answered. */
int db_batch_begin(struct db *writer);
int db_batch_end(struct db *writer);

int db_pool_init(const char *target);
/* The calling thread's connection, taken for its use until db_thread_done.
 * It reads from a snapshot that has every commit made before the call, by
 * any connection of any process. While this process's writes are quiet the
 * snapshot is kept from call to call until something is committed
 * (beginning and ending one took 17% of a point read's time); db_begin_read and
 * db_rollback on it then keep it open. */
struct db *db_for_thread(void);
/* A connection of its own on the pool's database, for a long read that
 * must see one snapshot throughout (an export); db_close it. */
int db_open_another(struct db **out);
/* The pool as /metrics shows it: connections open (the workers' and the
 * writer's), writers waiting for the write lock now, how many waited and
 * for how long in all, the commits of the shared writer and the writes
 * they held (a group commit holds several). */
struct db_pool_figures {
	int64_t connections, writers_waiting, writer_waits, commits, committed_writes;
	double writer_wait_seconds;
};
void db_pool_figures(struct db_pool_figures *out);
/* db reads the database once through (an export): the engine keeps little
 * of it cached, so that the connection's memory stays small. */
int db_read_through(struct db *db);
/* db's writes from now on are many rows that each passed the same rules
 * in validation (an import's): the engine skips its CHECK constraints,
 * which would check each twice, and may keep more pages cached (on); or
 * back to normal (off). Where the engine has no such mode, nothing
 * changes. A shared writer left in it is put back before any other
 * writer's transaction. */
int db_bulk_writes(struct db *db, bool on);
/* The thread is done with its connection for now (until db_for_thread). */
void db_thread_done(void);
/* Ends the snapshots of the connections no thread has taken: an idle
 * worker's would keep checkpoints from copying what was committed since.
 * Called from time to time (the server's sweeper, twice a second). */
void db_release_idle_snapshots(void);
struct db *db_writer(void);
void db_pool_close(void);

#endif

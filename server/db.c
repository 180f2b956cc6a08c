/* What every engine shares behind db.h: the choice of engine by target,
 * the statement API passed on to it, one writer at a time with group
 * commit and batches, the per-thread pool of connections, and the probe
 * of writes. The engines themselves (db_sqlite.c) hold connections,
 * statements and transactions; db_engine.h is the line between, and
 * db_common.c what the engines and this file both use. */
#include "db.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_engine.h"
#include "db_postgresql.h"
#include "db_sqlite.h"
#include "fault.h"
#include "log.h"
#include "util.h"

/* the engines, in the order they are asked to claim a target; SQLite last,
 * as it takes any path */
static const struct db_engine *const engines[] = {&db_engine_postgresql, &db_engine_sqlite};

static const struct db_engine *engine_for(const char *target)
{
	for (size_t i = 0; i < sizeof engines / sizeof *engines; i++)
		if (engines[i]->claims(target))
			return engines[i];
	return NULL;
}

int db_open(const char *target, struct db **out)
{
	const struct db_engine *engine = engine_for(target);
	*out = NULL;
	return engine ? engine->open(target, out) : DB_ERROR;
}

void db_close(struct db *db)
{
	if (db)
		db->engine->close(db);
}

const char *db_last_error(struct db *db)
{
	return db ? db->engine->last_error(db) : "database not open";
}

const char *db_engine_name(struct db *db)
{
	return db->engine->name;
}

/* Replaces text [from, to) of out (NUL-terminated, n bytes) with "***". */
static void mask(char *out, size_t n, char *from, char *to)
{
	size_t tail = strlen(to) + 1;
	if ((size_t)(from - out) + 3 + tail > n)
		return;
	memmove(from + 3, to, tail);
	memcpy(from, "***", 3);
}

void db_target_shown(const char *target, char *out, size_t n)
{
	snprintf(out, n, "%s", target);
	char *authority = strstr(out, "://");
	if (authority) {
		authority += 3;
		size_t len = strcspn(authority, "/?");
		char *at = NULL;
		for (char *p = authority; p < authority + len; p++)
			if (*p == '@')
				at = p; /* the last: a password may hold one */
		char *colon = at ? memchr(authority, ':', (size_t)(at - authority)) : NULL;
		if (colon)
			mask(out, n, colon + 1, at);
	}
	for (char *p = strstr(out, "password="); p; p = strstr(p + 1, "password=")) {
		bool starts = p == out || p[-1] == ' ' || p[-1] == '?' || p[-1] == '&';
		char *value = p + 9;
		char *end = value + strcspn(value, " &");
		if (starts && end > value)
			mask(out, n, value, end);
	}
}

bool db_server_address(struct db *db, char *out, size_t n)
{
	return db->engine->server_address && db->engine->server_address(db, out, n);
}

int db_set_allocator(void)
{
	for (size_t i = 0; i < sizeof engines / sizeof *engines; i++)
		if (engines[i]->set_allocator && engines[i]->set_allocator() != DB_OK)
			return DB_ERROR;
	return DB_OK;
}

int db_durability(struct db *db, enum db_durability *d)
{
	return db->engine->durability(db, d);
}

int db_file_sizes(struct db *db, int64_t *db_bytes, int64_t *wal_bytes)
{
	return db->engine->file_sizes(db, db_bytes, wal_bytes);
}

int db_checkpoint(struct db *db)
{
	return db->engine->checkpoint(db);
}

/* --- statements: passed to the engine they came from ------------------- */

static void (*trace_fn)(void *cls, const char *sql);
static void *trace_cls;

void db_trace_statements(void (*fn)(void *cls, const char *sql), void *cls)
{
	trace_cls = cls;
	trace_fn = fn;
}

int db_query_plan(struct db *db, const char *sql, char *out, size_t len)
{
	return db->engine->query_plan(db, sql, out, len);
}

struct db_stmt *db_prepare(struct db *db, const char *sql)
{
	if (trace_fn)
		trace_fn(trace_cls, sql);
	return db->engine->prepare(db, sql, false);
}

/* For SQL text that lives as long as the process (literals, store.c's
 * per-resource statements): found by its address, without comparing text. */
struct db_stmt *db_prepare_static(struct db *db, const char *sql)
{
	if (trace_fn)
		trace_fn(trace_cls, sql);
	return db->engine->prepare(db, sql, true);
}

int db_insert_rows(struct db *db, const char *head, int ncols, int n,
		   void (*bind)(struct db_stmt *stmt, int at, int i, const void *cls),
		   const void *cls)
{
	return db->engine->insert_rows(db, head, NULL, ncols, n, bind, cls);
}

int db_upsert_rows(struct db *db, const char *head, const char *tail, int ncols, int n,
		   void (*bind)(struct db_stmt *stmt, int at, int i, const void *cls),
		   const void *cls)
{
	return db->engine->insert_rows(db, head, tail, ncols, n, bind, cls);
}

void db_bind_int(struct db_stmt *stmt, int i, int64_t v)
{
	stmt->engine->bind_int(stmt, i, v);
}

void db_bind_real(struct db_stmt *stmt, int i, double v)
{
	stmt->engine->bind_real(stmt, i, v);
}

void db_bind_text(struct db_stmt *stmt, int i, const char *s)
{
	if (s)
		stmt->engine->bind_text(stmt, i, s, strlen(s));
	else
		stmt->engine->bind_null(stmt, i);
}

void db_bind_text_n(struct db_stmt *stmt, int i, const char *s, size_t n)
{
	stmt->engine->bind_text(stmt, i, s, n);
}

void db_bind_null(struct db_stmt *stmt, int i)
{
	stmt->engine->bind_null(stmt, i);
}

int db_step(struct db_stmt *stmt)
{
	return stmt->engine->step(stmt);
}

int db_step_unread(struct db_stmt *stmt)
{
	return stmt->engine->step_unread ? stmt->engine->step_unread(stmt)
					 : db_result(stmt->engine->step(stmt));
}

bool db_step_ahead(struct db_stmt *stmt)
{
	return stmt->engine->step_ahead && stmt->engine->step_ahead(stmt);
}

enum db_type db_column_type(struct db_stmt *stmt, int col)
{
	return stmt->engine->column_type(stmt, col);
}

int64_t db_column_int(struct db_stmt *stmt, int col)
{
	return stmt->engine->column_int(stmt, col);
}

double db_column_real(struct db_stmt *stmt, int col)
{
	return stmt->engine->column_real(stmt, col);
}

const char *db_column_text(struct db_stmt *stmt, int col)
{
	return stmt->engine->column_text(stmt, col);
}

size_t db_column_bytes(struct db_stmt *stmt, int col)
{
	return stmt->engine->column_bytes(stmt, col);
}

void db_column_text_into(struct db_stmt *stmt, int col, char *dst, size_t n)
{
	const char *s = db_column_text(stmt, col);
	size_t len = s ? db_column_bytes(stmt, col) : 0;
	if (len >= n)
		len = n - 1;
	if (len)
		memcpy(dst, s, len);
	dst[len] = '\0';
}

void db_done(struct db_stmt *stmt)
{
	stmt->engine->done(stmt);
}

int64_t db_changes(struct db *db)
{
	return db->engine->changes(db);
}

int64_t db_last_insert_id(struct db *db)
{
	return db->engine->last_insert_id(db);
}

int db_next_id(struct db *db, const char *table, int64_t *next)
{
	return db->engine->next_id(db, table, next);
}

int db_set_next_id(struct db *db, const char *table, int64_t next)
{
	return db->engine->set_next_id(db, table, next);
}

bool db_in_transaction(struct db *db)
{
	return db->engine->in_transaction(db);
}

static atomic_uint_fast64_t works;

static int run(struct db *db, enum db_control what)
{
	/* only a savepoint's start and release leave the work as it was */
	if (what != DB_SAVE_WRITER && what != DB_RELEASE_WRITER && what != DB_SAVE_PART &&
	    what != DB_RELEASE_PART)
		db->work = atomic_fetch_add(&works, 1) + 1;
	return db->engine->control(db, what);
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
/* The open group is one writer's alone, begun by begin_again without the
 * writer's savepoint: a savepoint makes SQLite copy every page that was in
 * the file when it began before changing it, which cost an import in
 * chunks a fifth of its time. */
static bool solo;

/* A writer whose work is in the open group, waiting for its outcome. */
struct group_waiter {
	int outcome;
	bool told;
};
static struct group_waiter *group_waiters[GROUP_MAX];
static int group_nwaiters;

/* What /metrics shows of the pool's writing (db_pool_figures). */
static atomic_llong writer_waits, writer_wait_ns, group_commits, group_commit_writes;

static void take_writer(void)
{
	pthread_mutex_lock(&group_lock);
	group_waiting++;
	pthread_mutex_unlock(&group_lock);
	if (pthread_mutex_trylock(&writer_lock) != 0) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		pthread_mutex_lock(&writer_lock);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		atomic_fetch_add(&writer_waits, 1);
		atomic_fetch_add(&writer_wait_ns,
				 (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL +
					 (t1.tv_nsec - t0.tv_nsec));
	}
	pthread_mutex_lock(&group_lock);
	group_waiting--;
	pthread_mutex_unlock(&group_lock);
	holding_writer = true;
}

/* The connection of a writer that commits as it goes, holding the
 * engine's write lock past its commits (DB_HOLD_WRITER) until it gives the
 * writer up; only the writer's holder reads or writes it. */
static struct db *held_across;

static void give_writer(void)
{
	if (holding_writer && !batching) {
		if (held_across && run(held_across, DB_LET_WRITER) != DB_OK)
			log_write(LOG_WARN, "the write lock held across commits was not let go",
				  json_pack("{s:s}", "error", db_last_error(held_across)));
		held_across = NULL;
		holding_writer = false;
		pthread_mutex_unlock(&writer_lock);
	}
}

/* A transaction that a failed ROLLBACK left open (it too can run out of
 * memory) holds no one's work: it is rolled back before the next begins.
 * So is a worker's held read snapshot (db_for_thread). */
enum leave { LEAVE_KEEP, LEAVE_DISCARD, LEAVE_NO_SAVEPOINT };
static int leave_group(struct db *db, enum leave how);
static int end_group(struct db *db, bool lost);

/* db_begin_write once writer_lock is held. */
static int begin_held_write(struct db *db)
{
	db->transactions++;
	if (!db->shared) {
		db_end_leftover(db);
		int rc = run(db, DB_BEGIN_WRITE);
		if (rc != DB_OK)
			give_writer();
		return rc;
	}
	if (batching && batch_failed != DB_OK)
		return batch_failed;
	if (group_open && !db->engine->in_transaction(db)) {
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
		db_end_leftover(db);
		if (db->engine->before_group)
			db->engine->before_group(db, false);
		int rc = run(db, DB_BEGIN_WRITE);
		if (rc != DB_OK) {
			give_writer();
			return rc;
		}
		pthread_mutex_lock(&group_lock);
		group_open = true;
		pthread_mutex_unlock(&group_lock);
	}
	int rc = run(db, DB_SAVE_WRITER);
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
	if (!lost && group_members > 0 && (outcome = run(db, DB_COMMIT)) == DB_OK) {
		db_note_commit();
		atomic_fetch_add(&group_commits, 1);
		atomic_fetch_add(&group_commit_writes, group_members);
	}
	if (group_members == 0 || outcome != DB_OK)
		db_end_leftover(db);
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
	if (solo) {
		solo = false;
		bool lost = how != LEAVE_KEEP || !db->engine->in_transaction(db);
		pthread_mutex_lock(&group_lock);
		group_members += !lost;
		pthread_mutex_unlock(&group_lock);
		int outcome = end_group(db, lost); /* lost: rolled back */
		give_writer();
		return how == LEAVE_KEEP ? outcome : DB_OK;
	}
	int rc = DB_OK;
	bool keep = how == LEAVE_KEEP;
	bool lost = !db->engine->in_transaction(db);
	if (lost)
		keep = false, rc = DB_ERROR;
	if (keep && (rc = run(db, DB_RELEASE_WRITER)) != DB_OK)
		keep = false;
	if (!keep && !lost && how != LEAVE_NO_SAVEPOINT &&
	    (run(db, DB_UNDO_WRITER) != DB_OK || run(db, DB_RELEASE_WRITER) != DB_OK))
		lost = true;
	if (!lost)
		lost = !db->engine->in_transaction(db);
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
		bool lost = !db->engine->in_transaction(db);
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
	if (db->holding && db->engine->in_transaction(db))
		return DB_OK; /* a worker's snapshot, current as of its request's start */
	db->holding = false;
	db->transactions++;
	return run(db, DB_BEGIN_READ);
}

uint64_t db_transaction_id(struct db *db)
{
	return db->transactions;
}

uint64_t db_work_id(struct db *db)
{
	return db->work;
}

int db_part_begin(struct db *db)
{
	return run(db, DB_SAVE_PART);
}

int db_part_end(struct db *db, bool keep)
{
	int rc = keep ? DB_OK : run(db, DB_UNDO_PART);
	int released = run(db, DB_RELEASE_PART);
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
		rc = run(db, DB_COMMIT);
		if (rc != DB_OK)
			db_rollback(db);
		else
			db_note_commit();
		give_writer();
	}
	if (rc == DB_OK)
		alloc_commit_note();
	return rc;
}

/* The next transaction of a writer that keeps the lock: on the shared
 * writer, a group of its own (solo), which no one else can join while it
 * is held. */
static int begin_again(struct db *db)
{
	db->transactions++;
	if (db->engine->before_group)
		db->engine->before_group(db, true); /* the WAL may start over (db_sqlite.c) */
	int rc = run(db, DB_BEGIN_WRITE);
	if (rc != DB_OK || !db->shared)
		return rc;
	pthread_mutex_lock(&group_lock);
	group_open = true;
	pthread_mutex_unlock(&group_lock);
	solo = true;
	return DB_OK;
}

/* On the shared writer the transaction may also hold the work of writers
 * that handed it over and wait for its outcome: they are told it here. */
int db_commit_continue(struct db *db)
{
	if (!holding_writer || batching || alloc_failure_seen())
		return DB_ERROR;
	int rc;
	if (!held_across) {
		if ((rc = run(db, DB_HOLD_WRITER)) != DB_OK)
			return rc;
		held_across = db;
	}
	if (db->shared) {
		if (!solo && (rc = run(db, DB_RELEASE_WRITER)) != DB_OK)
			return rc;
		solo = false;
		pthread_mutex_lock(&group_lock);
		group_members++;
		pthread_mutex_unlock(&group_lock);
		rc = end_group(db, !db->engine->in_transaction(db));
	} else if ((rc = run(db, DB_COMMIT)) == DB_OK) {
		db_note_commit();
	}
	return rc == DB_OK ? begin_again(db) : rc;
}

/* On the shared writer only this writer's work is undone (its savepoint)
 * unless the transaction itself is gone. */
int db_undo_continue(struct db *db)
{
	if (!holding_writer || batching)
		return DB_ERROR;
	if (db->shared && !solo && db->engine->in_transaction(db) &&
	    run(db, DB_UNDO_WRITER) == DB_OK)
		return DB_OK;
	solo = false;
	if (db->shared && group_open)
		end_group(db, true);
	else if (db->engine->in_transaction(db))
		run(db, DB_ROLLBACK);
	return begin_again(db);
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
	if (db->engine->in_transaction(db))
		run(db, DB_ROLLBACK);
	give_writer();
}

/* A write that changes nothing: the schema version written back over
 * itself, which needs a commit that reaches the disk like any other write. */
static int probe_write(void)
{
	struct db *db = db_writer();
	if (!db)
		return DB_READONLY;
	/* a write under way (an import, say) will tell; the probe never waits */
	if (pthread_mutex_trylock(&writer_lock) != 0)
		return db_write_health();
	holding_writer = true;
	int rc = begin_held_write(db);
	if (rc != DB_OK)
		return rc;
	int version = 0;
	rc = db->engine->schema_version(db, &version);
	if (rc == DB_OK)
		rc = db->engine->set_schema_version(db, version);
	if (rc == DB_OK && db->engine->at_quota && db->engine->at_quota(db)) {
		db_note_write_health(DB_FULL);
		rc = DB_FULL;
	}
	if (rc == DB_OK)
		return db_commit(db);
	db_rollback(db);
	return rc;
}

int db_check_writable(void)
{
	if (db_opened_read_only())
		return DB_READONLY;
	if (db_write_health_fresh())
		return DB_OK;
	return probe_write();
}

/* --- one connection per worker thread -------------------------------- */

static char *pool_target;
static struct db *pool_all;
static struct db *pool_writer;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local struct db *thread_db;
static _Thread_local bool thread_db_taken;

void db_pool_figures(struct db_pool_figures *out)
{
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&pool_lock);
	for (struct db *db = pool_all; db; db = db->next_in_pool)
		out->connections++;
	out->connections += pool_writer != NULL;
	pthread_mutex_unlock(&pool_lock);
	pthread_mutex_lock(&group_lock);
	out->writers_waiting = group_waiting;
	pthread_mutex_unlock(&group_lock);
	out->writer_waits = atomic_load(&writer_waits);
	out->writer_wait_seconds = (double)atomic_load(&writer_wait_ns) / 1e9;
	out->commits = atomic_load(&group_commits);
	out->committed_writes = atomic_load(&group_commit_writes);
}

int db_read_through(struct db *db)
{
	return run(db, DB_READ_THROUGH);
}

int db_bulk_writes(struct db *db, bool on)
{
	return run(db, on ? DB_BULK_BEGIN : DB_BULK_END);
}

int db_open_another(struct db **out)
{
	return pool_target ? db_open(pool_target, out) : DB_ERROR;
}

int db_pool_init(const char *target)
{
	pool_target = xstrdup(target);
	return pool_target ? DB_OK : DB_ERROR;
}

struct db *db_for_thread(void)
{
	struct db *db = thread_db;
	if (!db) {
		if (db_open(pool_target, &db) != DB_OK)
			return NULL;
		pthread_mutex_lock(&pool_lock);
		db->next_in_pool = pool_all;
		pool_all = db;
		pthread_mutex_unlock(&pool_lock);
		thread_db = db;
	}
	if (!thread_db_taken) {
		pthread_mutex_lock(&db->taken);
		thread_db_taken = true;
	}
	db->engine->worker_taken(db);
	return db;
}

void db_thread_done(void)
{
	if (!thread_db_taken)
		return;
	thread_db_taken = false;
	if (thread_db->holding && db_writes_recent())
		db_end_leftover(thread_db);
	pthread_mutex_unlock(&thread_db->taken);
}

void db_release_idle_snapshots(void)
{
	pthread_mutex_lock(&pool_lock);
	for (struct db *db = pool_all; db; db = db->next_in_pool) {
		if (pthread_mutex_trylock(&db->taken) != 0)
			continue; /* in use: its thread keeps it current */
		if (db->holding)
			db_end_leftover(db);
		pthread_mutex_unlock(&db->taken);
	}
	pthread_mutex_unlock(&pool_lock);
}

struct db *db_writer(void)
{
	pthread_mutex_lock(&pool_lock);
	if (!pool_writer && db_open(pool_target, &pool_writer) == DB_OK &&
	    pool_writer->engine->writer_opened)
		pool_writer->engine->writer_opened(pool_writer);
	if (pool_writer)
		pool_writer->shared = true;
	struct db *db = pool_writer;
	pthread_mutex_unlock(&pool_lock);
	return db;
}

/* Called once the workers have stopped. */
void db_pool_close(void)
{
	db_release_idle_snapshots(); /* a snapshot would keep the WAL from being emptied */
	pthread_mutex_lock(&pool_lock);
	struct db *any = pool_writer ? pool_writer : pool_all;
	const struct db_engine *engine = any ? any->engine : engine_for(pool_target);
	if (engine && engine->pool_closing)
		engine->pool_closing(db_opened_read_only() ? NULL : any);
	db_close(pool_writer);
	pool_writer = NULL;
	while (pool_all) {
		struct db *next = pool_all->next_in_pool;
		db_close(pool_all);
		pool_all = next;
	}
	pthread_mutex_unlock(&pool_lock);
	free(pool_target);
	pool_target = NULL;
	thread_db = NULL;
}

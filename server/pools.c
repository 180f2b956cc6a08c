/* The pools (pools.h): a queue of requests and the threads that dispatch
 * them.
 *
 * Writes. A write spends most of its time waiting for the single writer
 * connection or for its group's COMMIT; here it waits on a pool thread,
 * not on one of the HTTP workers. A pool thread takes every write queued
 * (up to BATCH_MAX) and runs them as one batch on the writer
 * (db_batch_begin): each its own savepoint, one COMMIT for all, and only
 * then are they answered. A write refused on its own merits is answered as
 * it would be alone; when the COMMIT fails, every write the batch kept is
 * answered with that failure instead, as nothing of it was written. A
 * write that commits as it goes (ROUTE_OWN_COMMITS: an import) runs alone,
 * outside any batch, so that no other write's answer hangs on its commits.
 *
 * Slow reads. A cold statistic can take seconds; on the HTTP workers two of
 * them stopped all other traffic. Each runs here on the pool thread's own
 * connection (db_for_thread), one at a time per thread, and the threads run
 * at nice SLOW_READS_NICE: when they and the HTTP workers compete for the
 * cores, the scheduler gives the workers' short requests the turn. */
#include "pools.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audit.h"
#include "cors.h"
#include "db.h"
#include "http.h"
#include "import.h"
#include "router.h"
#include "util.h"

#define THREADS_MAX     256
#define BATCH_MAX       64
#define SLOW_READS_NICE 10

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct request *head, **tail; /* linked through pool_next: no allocation */
	bool stopping;
	unsigned nthreads;
	pthread_t threads[THREADS_MAX];
	void (*done)(struct request *req);
	int batch_max;
	void (*run)(struct pool *pool, struct request **reqs, int n);
};

/* Runs reqs[0..n) as one batch (or one by one, batch false) and answers
 * them. Each is checked against this thread's allocation failures (util.h)
 * as the glue checks its own. */
static void run_batch(struct pool *pool, struct request **reqs, int n, bool batch)
{
	struct db *writer = db_writer();
	bool batched = batch && writer && db_batch_begin(writer) == DB_OK;
	for (int i = 0; i < n; i++) {
		alloc_failure_clear();
		router_run(reqs[i]);
		reply_check_memory(reqs[i]);
	}
	alloc_failure_clear();
	int rc = batched ? db_batch_end(writer) : DB_OK;
	/* an import another process left unfinished, which a write found and
	 * was refused for (503, Retry-After): taken back before that answer
	 * goes, so that a retry finds it gone */
	if (audit_orphan_import_seen() && writer)
		import_take_back_unfinished(writer);
	for (int i = 0; i < n; i++) {
		struct request *req = reqs[i];
		bool ok = req->status >= 200 && req->status < 300;
		if (rc != DB_OK && ok) {
			reply_discard(req);
			reply_db_error(req, rc);
			cors_decorate(req);
		}
		req->write_committed = rc == DB_OK && ok;
		pool->done(req);
	}
}

static bool alone(const struct request *req)
{
	return req->route && (req->route->flags & ROUTE_OWN_COMMITS);
}

static void run_writes(struct pool *pool, struct request **reqs, int n)
{
	for (int from = 0, to; from < n; from = to) {
		to = from + 1;
		while (!alone(reqs[from]) && to < n && !alone(reqs[to]))
			to++;
		run_batch(pool, reqs + from, to - from, !alone(reqs[from]));
	}
}

/* A read prepared on an HTTP worker's connection continues on this
 * thread's, which reads a snapshot at least as new. */
static void run_slow_read(struct pool *pool, struct request **reqs, int n)
{
	for (int i = 0; i < n; i++) {
		struct request *req = reqs[i];
		alloc_failure_clear();
		req->db = db_for_thread();
		if (req->db)
			router_run(req);
		else
			reply_problem(req, 503, PROBLEM_UNAVAILABLE,
				      "the database cannot be opened");
		db_thread_done();
		reply_check_memory(req);
		alloc_failure_clear();
		pool->done(req);
	}
}

static struct pool pools[POOL_KINDS] = {
	[POOL_WRITES] = {.lock = PTHREAD_MUTEX_INITIALIZER,
			 .work = PTHREAD_COND_INITIALIZER,
			 .batch_max = BATCH_MAX,
			 .run = run_writes},
	[POOL_SLOW_READS] = {.lock = PTHREAD_MUTEX_INITIALIZER,
			     .work = PTHREAD_COND_INITIALIZER,
			     .batch_max = 1,
			     .run = run_slow_read},
};

static void *pool_loop(void *arg)
{
	struct pool *pool = arg;
	if (pool == &pools[POOL_SLOW_READS]) /* this thread only (Linux: nice is per thread) */
		setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SLOW_READS_NICE);
	struct request *reqs[BATCH_MAX];
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (!pool->head && !pool->stopping)
			pthread_cond_wait(&pool->work, &pool->lock);
		if (!pool->head)
			break; /* stopping, and nothing left */
		int n = 0;
		while (pool->head && n < pool->batch_max) {
			reqs[n++] = pool->head;
			pool->head = pool->head->pool_next;
		}
		if (!pool->head)
			pool->tail = &pool->head;
		pthread_mutex_unlock(&pool->lock);
		pool->run(pool, reqs, n);
		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

bool pool_start(enum pool_kind kind, unsigned n, void (*done)(struct request *req))
{
	struct pool *pool = &pools[kind];
	pool->head = NULL;
	pool->tail = &pool->head;
	pool->stopping = false;
	pool->done = done;
	pool->nthreads = 0;
	if (n > THREADS_MAX)
		n = THREADS_MAX;
	while (pool->nthreads < n &&
	       pthread_create(&pool->threads[pool->nthreads], NULL, pool_loop, pool) == 0)
		pool->nthreads++;
	return pool->nthreads > 0;
}

void pool_submit(enum pool_kind kind, struct request *req)
{
	struct pool *pool = &pools[kind];
	req->pool_next = NULL;
	pthread_mutex_lock(&pool->lock);
	*pool->tail = req;
	pool->tail = &req->pool_next;
	pthread_cond_signal(&pool->work);
	pthread_mutex_unlock(&pool->lock);
}

void pool_stop(enum pool_kind kind)
{
	struct pool *pool = &pools[kind];
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	pool->nthreads = 0;
}

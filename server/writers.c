/* The write pool (writers.h): a queue of requests and the threads that
 * dispatch them. A write spends most of its time waiting for the single
 * writer connection or for its group's COMMIT; here it waits on a pool
 * thread, not on one of the HTTP workers that every other connection of
 * that worker needs.
 *
 * A pool thread takes every write queued (up to BATCH_MAX) and runs them
 * as one batch on the writer (db_batch_begin): each its own savepoint, one
 * COMMIT for all, and only then are they answered. A write refused on its
 * own merits is answered as it would be alone; when the COMMIT fails, every
 * write the batch kept is answered with that failure instead, as nothing
 * of it was written. */
#include "writers.h"

#include <pthread.h>

#include "cors.h"
#include "db.h"
#include "http.h"
#include "router.h"
#include "util.h"

#define WRITERS_MAX 256
#define BATCH_MAX   64

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct request *head, **tail; /* linked through pool_next: no allocation */
	bool stopping;
	unsigned nthreads;
	pthread_t threads[WRITERS_MAX];
	void (*done)(struct request *req);
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER};

/* Runs reqs[0..n) as one batch and answers them. Each is checked against
 * this thread's allocation failures (util.h) as the glue checks its own. */
static void run_batch(struct request **reqs, int n)
{
	struct db *writer = db_writer();
	bool batched = writer && db_batch_begin(writer) == DB_OK;
	for (int i = 0; i < n; i++) {
		alloc_failure_clear();
		router_run(reqs[i]);
		reply_check_memory(reqs[i]);
	}
	alloc_failure_clear();
	int rc = batched ? db_batch_end(writer) : DB_OK;
	for (int i = 0; i < n; i++) {
		struct request *req = reqs[i];
		bool ok = req->status >= 200 && req->status < 300;
		if (rc != DB_OK && ok) {
			reply_discard(req);
			reply_db_error(req, rc);
			cors_decorate(req);
		}
		req->write_committed = rc == DB_OK && ok;
		pool.done(req);
	}
}

static void *writer_loop(void *unused)
{
	(void)unused;
	struct request *reqs[BATCH_MAX];
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		while (!pool.head && !pool.stopping)
			pthread_cond_wait(&pool.work, &pool.lock);
		if (!pool.head)
			break; /* stopping, and nothing left */
		int n = 0;
		while (pool.head && n < BATCH_MAX) {
			reqs[n++] = pool.head;
			pool.head = pool.head->pool_next;
		}
		if (!pool.head)
			pool.tail = &pool.head;
		pthread_mutex_unlock(&pool.lock);
		run_batch(reqs, n);
		pthread_mutex_lock(&pool.lock);
	}
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

bool writers_start(unsigned n, void (*done)(struct request *req))
{
	pool.head = NULL;
	pool.tail = &pool.head;
	pool.stopping = false;
	pool.done = done;
	pool.nthreads = 0;
	if (n > WRITERS_MAX)
		n = WRITERS_MAX;
	while (pool.nthreads < n &&
	       pthread_create(&pool.threads[pool.nthreads], NULL, writer_loop, NULL) == 0)
		pool.nthreads++;
	return pool.nthreads > 0;
}

void writers_submit(struct request *req)
{
	req->pool_next = NULL;
	pthread_mutex_lock(&pool.lock);
	*pool.tail = req;
	pool.tail = &req->pool_next;
	pthread_cond_signal(&pool.work);
	pthread_mutex_unlock(&pool.lock);
}

void writers_stop(void)
{
	pthread_mutex_lock(&pool.lock);
	pool.stopping = true;
	pthread_cond_broadcast(&pool.work);
	pthread_mutex_unlock(&pool.lock);
	for (unsigned i = 0; i < pool.nthreads; i++)
		pthread_join(pool.threads[i], NULL);
	pool.nthreads = 0;
}

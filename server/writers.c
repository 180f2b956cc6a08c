/* The write pool (writers.h): a queue of requests and the threads that
 * dispatch them. A write spends most of its time waiting for the single
 * writer connection or for its group's COMMIT; here it waits on a pool
 * thread, not on one of the HTTP workers that every other connection of
 * that worker needs. */
#include "writers.h"

#include <pthread.h>
#include <stdlib.h>

#include "http.h"
#include "router.h"
#include "util.h"

#define WRITERS_MAX 256

struct job {
	struct request *req;
	struct job *next;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct job *head, **tail;
	bool stopping;
	unsigned nthreads;
	pthread_t threads[WRITERS_MAX];
	void (*done)(struct request *req);
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER};

static void *writer_loop(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		while (!pool.head && !pool.stopping)
			pthread_cond_wait(&pool.work, &pool.lock);
		struct job *job = pool.head;
		if (!job)
			break; /* stopping, and nothing left */
		pool.head = job->next;
		if (!pool.head)
			pool.tail = &pool.head;
		pthread_mutex_unlock(&pool.lock);
		router_dispatch(job->req);
		pool.done(job->req);
		free(job);
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
	struct job *job = xmalloc(sizeof *job);
	job->req = req;
	job->next = NULL;
	pthread_mutex_lock(&pool.lock);
	*pool.tail = job;
	pool.tail = &job->next;
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

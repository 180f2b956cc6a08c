/* The pools: threads that carry out requests away from the HTTP workers,
 * so that a request that waits or works long holds none of the few threads
 * every other connection needs. The glue hands a request over once it is
 * prepared (router_prepare) and gets it back through done() with the reply
 * filled in; done() runs on a pool thread.
 *
 * POOL_WRITES: the requests that change data. Many are in flight at once
 * and share a commit: a thread takes every write queued as one batch (the
 * group commit and batches of db.c).
 * POOL_SLOW_READS: statistics, computed one at a time per thread, at a
 * lower scheduling priority than the HTTP workers, so that point reads keep
 * their latency while the heaviest statistics run. */
#ifndef COHORTD_POOLS_H
#define COHORTD_POOLS_H

#include <stdbool.h>

struct request;

enum pool_kind { POOL_WRITES, POOL_SLOW_READS, POOL_KINDS };

/* Starts n threads. Returns false when none could be started: the glue
 * then runs those requests on its own threads, as before. */
bool pool_start(enum pool_kind kind, unsigned n, void (*done)(struct request *req));
/* Queues req; router_run(req) runs on a pool thread, then done(req). */
void pool_submit(enum pool_kind kind, struct request *req);
/* Finishes every queued request, then stops the threads. */
void pool_stop(enum pool_kind kind);

#endif

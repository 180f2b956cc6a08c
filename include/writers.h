/* The write pool: threads that carry out the requests that change data,
 * so that many writes can be in flight at once and share a commit (the
 * group commit of db.c), while the few HTTP worker threads go on serving
 * reads. The glue hands a write over once its body is in, and gets it back
 * through done() with the reply filled in; done() runs on a pool thread. */
#ifndef COHORTD_WRITERS_H
#define COHORTD_WRITERS_H

#include <stdbool.h>

struct request;

/* Starts n threads. Returns false when none could be started: the glue
 * then runs writes on its own threads, as before. */
bool writers_start(unsigned n, void (*done)(struct request *req));
/* Queues req, prepared (router_prepare); router_run(req) runs on a pool
 * thread, then done(req). */
void writers_submit(struct request *req);
/* Finishes every queued request, then stops the threads. */
void writers_stop(void);

#endif

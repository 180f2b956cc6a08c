/* Allocation and its failure, the bottom of everything. Every allocation
 * of ours (util.h's x* family), of Jansson and of the database engine goes
 * through the counting allocators here, installed once at start (main.c:
 * fault_alloc_install for Jansson, db_set_allocator for the engine, before
 * either is first used).
 *
 * Allocation failure. The x* functions return NULL when memory is
 * exhausted (they never abort), and so may every allocation of Jansson and
 * SQLite. Each failure of ours, Jansson's or SQLite's (their allocators are
 * ours) is noted in a per-thread flag. The glue clears it
 * before a request is dispatched and checks it when the answer is sent: an
 * answer built while any allocation failed is replaced by a static 503
 * problem, and db_commit refuses to commit a write during which one failed
 * (it rolls back: nothing is half-written). So code on the request path
 * must not crash or leak on NULL, but need not carry the failure up: a
 * field silently dropped by Jansson, a truncated strbuf, a NULL column of
 * SQLite all end in that 503. A handler that commits builds its whole
 * answer first (reply headers of up to REPLY_INLINE_VALUE bytes never
 * allocate), so a committed write is never answered with a failure.
 * Nothing aborts for lack of memory any more: at start-up (migrations, the
 * pool, the listening daemon) a failed allocation ends the program through
 * the ordinary error path, and outside a request (start-up, the CLI
 * commands) the flag is never cleared, so after one db_commit refuses every
 * later commit of that thread and the command ends in an error.
 * libmicrohttpd's and OpenSSL's own allocations are theirs (a failure there
 * closes the connection, or aborts in sha256_hex). tests/unit/
 * test_alloc_failure.c fails each allocation of a create, a list and a
 * statistic in turn to hold all this to account.
 *
 * Injection: fault_arm(n, persistent) makes the nth allocation from now
 * fail (counting every thread), and with persistent every one after it
 * too, as SQLite's own malloc tests do; fault_disarm() stops. Unarmed, the
 * cost is one atomic load per allocation. */
#ifndef COHORTD_FAULT_H
#define COHORTD_FAULT_H

#include <stdbool.h>
#include <stddef.h>

/* The thread's allocation-failure flag, and whether a write was committed
 * since it was last cleared (db_commit notes it). */
void alloc_failure_note(void);
void alloc_failure_clear(void); /* forgets the commit too */
bool alloc_failure_seen(void);
void alloc_commit_note(void);
bool alloc_commit_seen(void);

/* Registers the allocators with Jansson (json_set_alloc_funcs); before
 * Jansson is first used. */
void fault_alloc_install(void);

void fault_arm(long n, bool persistent);
void fault_disarm(void);
/* Allocations counted since the last fault_arm, and how many were failed. */
long fault_count(void);
long fault_failures(void);

/* One allocation's turn: true when it is to fail (counted and noted). */
bool fault_injected(void);

/* malloc, calloc and realloc through the injector; NULL (noted) on failure. */
void *fault_malloc(size_t n);
void *fault_calloc(size_t count, size_t n);
void *fault_realloc(void *p, size_t n);

#endif

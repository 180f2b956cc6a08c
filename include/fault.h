/* The allocators cohortd gives Jansson and SQLite, and allocation-failure
 * injection for the tests. Installed once at start (before any Jansson or
 * SQLite use), every allocation of ours (util.h's x* family), of Jansson
 * and of SQLite goes through here: a failure, real or injected, is noted
 * in the thread's allocation-failure flag (util.h), so the request it
 * happened in ends in a clean 503 however deep it was.
 *
 * Injection: fault_arm(n, persistent) makes the nth allocation from now
 * fail (counting every thread), and with persistent every one after it
 * too, as SQLite's own malloc tests do; fault_disarm() stops. Unarmed, the
 * cost is one atomic load per allocation. libmicrohttpd's, libcurl's
 * and OpenSSL's allocations are theirs and are never counted. */
#ifndef COHORTD_FAULT_H
#define COHORTD_FAULT_H

#include <stdbool.h>
#include <stddef.h>

/* Registers the allocators with Jansson (json_set_alloc_funcs) and SQLite
 * (db_set_allocator); false when SQLite was already initialised. */
bool fault_alloc_install(void);

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

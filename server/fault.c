/* The allocation-failure flag, the counting allocators and the failure
 * injector (see fault.h). One counter for the whole process: a request's
 * allocations may happen on any worker thread, and the tests arm for the
 * next request, whichever thread it runs on. */
#include "fault.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>

static _Thread_local bool alloc_failed, committed;

void alloc_failure_note(void)
{
	alloc_failed = true;
}

void alloc_failure_clear(void)
{
	alloc_failed = false;
	committed = false;
}

bool alloc_failure_seen(void)
{
	return alloc_failed;
}

void alloc_commit_note(void)
{
	committed = true;
}

bool alloc_commit_seen(void)
{
	return committed;
}

static atomic_bool armed;
static atomic_long counted;
static atomic_long failures;
static atomic_long fail_at;
static atomic_bool fail_after;

void fault_arm(long n, bool persistent)
{
	atomic_store(&armed, false);
	atomic_store(&fail_at, n);
	atomic_store(&fail_after, persistent);
	atomic_store(&counted, 0);
	atomic_store(&failures, 0);
	atomic_store(&armed, true);
}

void fault_disarm(void)
{
	atomic_store(&armed, false);
}

long fault_count(void)
{
	return atomic_load(&counted);
}

long fault_failures(void)
{
	return atomic_load(&failures);
}

bool fault_injected(void)
{
	if (!atomic_load_explicit(&armed, memory_order_acquire))
		return false;
	long n = atomic_fetch_add(&counted, 1) + 1, at = atomic_load(&fail_at);
	if (n != at && !(atomic_load(&fail_after) && n > at))
		return false;
	atomic_fetch_add(&failures, 1);
	alloc_failure_note();
	return true;
}

void *fault_malloc(size_t n)
{
	if (fault_injected())
		return NULL;
	void *p = malloc(n);
	if (!p)
		alloc_failure_note();
	return p;
}

void *fault_calloc(size_t count, size_t n)
{
	if (fault_injected())
		return NULL;
	void *p = calloc(count, n);
	if (!p)
		alloc_failure_note();
	return p;
}

void *fault_realloc(void *p, size_t n)
{
	if (fault_injected())
		return NULL;
	void *q = realloc(p, n);
	if (!q)
		alloc_failure_note();
	return q;
}

void fault_alloc_install(void)
{
	json_set_alloc_funcs(fault_malloc, free);
}

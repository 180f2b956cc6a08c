/* Small helpers every module uses: allocation, a growable string buffer,
 * and the clock.
 *
 * Allocation failure. The x* functions return NULL when memory is
 * exhausted (they never abort), and so may every allocation of Jansson and
 * SQLite. Each failure of ours, Jansson's or SQLite's (their allocators are
 * ours: see fault.h) is noted in a per-thread flag. The glue clears it
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
 * statistic in turn to hold all this to account. */
#ifndef COHORTD_UTIL_H
#define COHORTD_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The thread's allocation-failure flag (see above), and whether a write was
 * committed since it was last cleared (db_commit notes it). */
void alloc_failure_note(void);
void alloc_failure_clear(void); /* forgets the commit too */
_Bool alloc_failure_seen(void);
void alloc_commit_note(void);
_Bool alloc_commit_seen(void);

/* A NUL-terminated string that grows as it is appended to. When memory runs
 * out it is emptied and marked failed: later appends do nothing, and
 * strbuf_steal returns NULL. */
struct strbuf {
	char *data;
	size_t len;
	size_t cap;
	_Bool failed;
};

void strbuf_append(struct strbuf *sb, const char *s, size_t n);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* n in decimal, as "%lld" writes it, without printf's cost: the JSON of
 * every record and audit row carries several integers. */
void strbuf_int(struct strbuf *sb, long long n);
/* The same into out; returns the length (at most 20). */
size_t format_int(char out[24], long long n);
/* src into dst, cut to cap - 1 bytes, as snprintf(dst, cap, "%s", src)
 * would, without printf's cost. */
void copy_cut(char *dst, size_t cap, const char *src);
/* Hands the buffer to the caller (free() it) and empties sb; NULL when an
 * append failed or memory for "" cannot be had. */
char *strbuf_steal(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);

/* Current UTC time as RFC 3339 with milliseconds and Z: 2026-11-28T08:18:11.123Z.
 * out must hold at least 25 bytes. */
void utc_now_rfc3339(char out[32]);
/* The RFC 3339 time seconds after (or before, when negative) at. */
void utc_shift_rfc3339(const char *at, long seconds, char out[32]);

/* Parses a whole decimal string (optional leading '-') into *out; false on
 * anything else, including overflow and leading zeros other than "0". */
_Bool parse_int64(const char *s, int64_t *out);

#endif

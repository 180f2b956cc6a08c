/* Small helpers every module uses: allocation that never aborts, a
 * growable string buffer, the clock, integer parsing. An allocation that
 * fails returns NULL and is noted in the thread's allocation-failure flag
 * (fault.h says what the flag is for). */
#ifndef COHORTD_UTIL_H
#define COHORTD_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fault.h"

/* A macro's value as a string literal, e.g. in SQL built at compile time. */
#define STRINGIFY_(x) #x
#define STRINGIFY(x)  STRINGIFY_(x)

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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
/* Room for item n in the array *p of *cap items of size bytes: doubles it
 * (from 16) when full; false when memory ran out (*p is then unchanged). */
bool xgrow(void **p, size_t *cap, size_t n, size_t size);
/* Hands the buffer to the caller (free() it) and empties sb; NULL when an
 * append failed or memory for "" cannot be had. */
char *strbuf_steal(struct strbuf *sb);
/* Copies what is left of sb from *sent on, max bytes at most, into buf (a
 * streamed answer's next piece); moves *sent on and returns how many. */
size_t strbuf_drain(const struct strbuf *sb, size_t *sent, char *buf, size_t max);
void strbuf_free(struct strbuf *sb);

/* Current UTC time as RFC 3339 with milliseconds and Z: 2026-11-28T08:18:11.123Z.
 * out must hold at least 25 bytes. */
void utc_now_rfc3339(char out[32]);
/* The RFC 3339 time seconds after (or before, when negative) at. */
void utc_shift_rfc3339(const char *at, long seconds, char out[32]);
/* The second of an RFC 3339 UTC time ("2026-12-06T01:25:10.272Z"); 0 when
 * at is not one. */
time_t utc_rfc3339_seconds(const char *at);

/* Does a ", "-separated list (an Allow or Vary value) hold item as a whole
 * element? */
_Bool list_holds(const char *list, const char *item);

/* Parses a whole decimal string (optional leading '-') into *out; false on
 * anything else, including overflow and leading zeros other than "0". */
_Bool parse_int64(const char *s, int64_t *out);

#endif

/* Allocation, string buffers, the clock, integer parsing: the few helpers
 * every module shares. Allocation failure returns NULL and is noted in the
 * thread's flag (fault.h); the allocations themselves go through
 * fault_malloc / fault_realloc, so that tests can make any of them fail. */
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fault.h"

void *xmalloc(size_t n)
{
	return fault_malloc(n ? n : 1);
}

void *xcalloc(size_t count, size_t n)
{
	return fault_calloc(count ? count : 1, n ? n : 1);
}

void *xrealloc(void *p, size_t n)
{
	return fault_realloc(p, n ? n : 1);
}

char *xstrdup(const char *s)
{
	return s ? xstrndup(s, strlen(s)) : NULL;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = xmalloc((size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* Room for extra more bytes and the NUL; false (and sb emptied, marked
 * failed) when there is none to be had. */
static bool strbuf_reserve(struct strbuf *sb, size_t extra)
{
	if (sb->failed)
		return false;
	if (sb->len + extra + 1 <= sb->cap)
		return true;
	size_t cap = sb->cap ? sb->cap : 256;
	while (cap < sb->len + extra + 1)
		cap *= 2;
	char *data = xrealloc(sb->data, cap);
	if (!data) {
		free(sb->data);
		*sb = (struct strbuf){.failed = true};
		return false;
	}
	sb->data = data;
	sb->cap = cap;
	return true;
}

size_t strbuf_drain(const struct strbuf *sb, size_t *sent, char *buf, size_t max)
{
	size_t n = sb->len - *sent;
	if (n > max)
		n = max;
	if (n)
		memcpy(buf, sb->data + *sent, n);
	*sent += n;
	return n;
}

void strbuf_append(struct strbuf *sb, const char *s, size_t n)
{
	if (!strbuf_reserve(sb, n))
		return;
	if (n) /* s may be NULL then (an empty strbuf's data) */
		memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

void strbuf_puts(struct strbuf *sb, const char *s)
{
	strbuf_append(sb, s, strlen(s));
}

size_t format_int(char out[24], long long n)
{
	char digits[24];
	int at = (int)sizeof digits;
	unsigned long long v = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;
	do
		digits[--at] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	if (n < 0)
		digits[--at] = '-';
	size_t len = sizeof digits - (size_t)at;
	memcpy(out, digits + at, len);
	out[len] = '\0';
	return len;
}

void copy_cut(char *dst, size_t cap, const char *src)
{
	if (!cap)
		return;
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

bool xgrow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return true;
	size_t more = *cap ? *cap * 2 : 16;
	void *q = xrealloc(*p, more * size);
	if (!q)
		return false;
	*p = q;
	*cap = more;
	return true;
}

void strbuf_int(struct strbuf *sb, long long n)
{
	char buf[24];
	strbuf_append(sb, buf, format_int(buf, n));
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !strbuf_reserve(sb, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

char *strbuf_steal(struct strbuf *sb)
{
	char *p = sb->failed ? NULL : sb->data ? sb->data : xstrdup("");
	*sb = (struct strbuf){0};
	return p;
}

void strbuf_free(struct strbuf *sb)
{
	free(sb->data);
	*sb = (struct strbuf){0};
}

/* Every record and audit row is stamped, many within one millisecond during
 * a bulk import: each thread keeps its last text and reformats only when
 * the millisecond changes. */
void utc_now_rfc3339(char out[32])
{
	static _Thread_local struct {
		int64_t ms;
		char text[32];
	} last = {-1, ""};
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (ms != last.ms) {
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		size_t n = strftime(last.text, sizeof last.text, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(last.text + n, sizeof last.text - n, ".%03dZ", (int)(ms % 1000));
		last.ms = ms;
	}
	memcpy(out, last.text, sizeof last.text);
}

void utc_shift_rfc3339(const char *at, long seconds, char out[32])
{
	struct tm tm = {0};
	const char *rest = strptime(at, "%Y-%m-%dT%H:%M:%S", &tm);
	time_t t = timegm(&tm) + seconds;
	gmtime_r(&t, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, "%s", rest && *rest == '.' ? rest : "Z");
}

time_t utc_rfc3339_seconds(const char *at)
{
	struct tm tm = {0};
	return strptime(at, "%Y-%m-%dT%H:%M:%S", &tm) ? timegm(&tm) : 0;
}

bool parse_int64(const char *s, int64_t *out)
{
	const char *p = s;
	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return false;
	if (p[0] == '0' && p[1] != '\0')
		return false;
	for (const char *q = p; *q; q++)
		if (*q < '0' || *q > '9')
			return false;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno == ERANGE || *end != '\0')
		return false;
	*out = v;
	return true;
}

bool list_holds(const char *list, const char *item)
{
	size_t n = strlen(item);
	for (const char *p = list; (p = strstr(p, item)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

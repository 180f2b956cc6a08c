/* RFC 9112 framing checks on a request head (see framing.h). Each rule
 * closes a way for a proxy and cohortd to disagree about where a request
 * ends: the classic request-smuggling pairs (CL.CL, CL.TE, TE.TE), header
 * lines one of them folds or trims and the other does not, and a path cut
 * short at a decoded NUL. */
#include "framing.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Notes the first refusal; later ones are left out of the detail. */
static void refuse(struct framing *f, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void refuse(struct framing *f, unsigned status, const char *fmt, ...)
{
	if (f->status)
		return;
	f->status = status;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof f->detail, fmt, ap);
	va_end(ap);
}

void framing_begin(struct framing *f, const char *version)
{
	memset(f, 0, sizeof *f);
	f->http11 = version && strcmp(version, "HTTP/1.1") == 0;
	f->http10 = version && strcmp(version, "HTTP/1.0") == 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 9110 tchar */
static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool named(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* Calls fn on each element of a comma-separated list, without the optional
 * whitespace around it; empty elements are skipped (RFC 9110 §5.6.1). */
static void each_element(struct framing *f, const char *v, size_t len,
			 void (*fn)(struct framing *f, const char *e, size_t n))
{
	size_t i = 0;
	while (i <= len) {
		size_t start = i;
		while (i < len && v[i] != ',')
			i++;
		size_t a = start, b = i;
		while (a < b && is_space(v[a]))
			a++;
		while (b > a && is_space(v[b - 1]))
			b--;
		if (b > a)
			fn(f, v + a, b - a);
		i++;
	}
}

static void length_element(struct framing *f, const char *e, size_t n)
{
	uint64_t value = 0;
	for (size_t i = 0; i < n; i++) {
		if (e[i] < '0' || e[i] > '9') {
			refuse(f, 400, "Content-Length must be a number of bytes");
			return;
		}
		if (value > (UINT64_MAX - 9) / 10) {
			refuse(f, 400, "Content-Length is too large");
			return;
		}
		value = value * 10 + (uint64_t)(e[i] - '0');
	}
	if (f->lengths++ == 0)
		f->length = value;
	else if (value != f->length)
		refuse(f, 400,
		       "Content-Length is given more than once with different values "
		       "(RFC 9112 §6.3)");
}

static void coding_element(struct framing *f, const char *e, size_t n)
{
	size_t token = 0;
	while (token < n && e[token] != ';' && !is_space(e[token]))
		token++;
	bool chunked = named(e, token, "chunked");
	if (f->chunked_last)
		refuse(f, 400, "chunked must be the final transfer coding (RFC 9112 §6.3)");
	f->chunked_last = chunked;
	if (chunked)
		f->chunked++;
	else
		refuse(f, 501, "the transfer coding %.*s is not supported; only chunked is",
		       (int)(token < 40 ? token : 40), e);
}

void framing_field(struct framing *f, const char *name, size_t name_len, const char *value,
		   size_t value_len, bool folded)
{
	if (name_len == 0) {
		refuse(f, 400, "a header line has no name before its colon");
		return;
	}
	for (size_t i = 0; i < name_len; i++) {
		if (is_space(name[i])) {
			refuse(f, 400,
			       "whitespace between a header name and its colon is not allowed "
			       "(RFC 9112 §5.1)");
			return;
		}
		if (!is_tchar((unsigned char)name[i])) {
			refuse(f, 400,
			       "a header name holds a character that is not allowed in one "
			       "(RFC 9110 §5.1)");
			return;
		}
	}
	if (folded) {
		refuse(f, 400,
		       "a header line continued on the next (obs-fold) is not accepted "
		       "(RFC 9112 §5.2)");
		return;
	}
	if (named(name, name_len, "Host")) {
		f->hosts++;
	} else if (named(name, name_len, "Authorization")) {
		f->authorizations++;
	} else if (named(name, name_len, "Content-Length")) {
		int before = f->lengths;
		each_element(f, value, value_len, length_element);
		if (f->lengths == before)
			refuse(f, 400, "Content-Length must be a number of bytes");
	} else if (named(name, name_len, "Transfer-Encoding")) {
		/* codings listed on several lines form one list (RFC 9110 §5.3) */
		f->encodings++;
		each_element(f, value, value_len, coding_element);
	}
}

void framing_target_control(struct framing *f)
{
	refuse(f, 400,
	       "the request target holds a control character (%%00-%%1F or %%7F) once "
	       "percent-decoded");
}

unsigned framing_end(struct framing *f)
{
	if (f->encodings && f->lengths)
		refuse(f, 400,
		       "Transfer-Encoding and Content-Length must not both be given "
		       "(RFC 9112 §6.1)");
	if (f->encodings && f->http10)
		refuse(f, 400, "Transfer-Encoding is not part of HTTP/1.0 (RFC 9112 §6.1)");
	if (f->encodings && !f->chunked_last)
		refuse(f, 400, "chunked must be the final transfer coding (RFC 9112 §6.3)");
	if (f->chunked > 1)
		refuse(f, 400, "chunked must not be applied more than once (RFC 9112 §7)");
	if (f->http11 && f->hosts == 0)
		refuse(f, 400, "an HTTP/1.1 request must have a Host header (RFC 9112 §3.2)");
	if (f->hosts > 1)
		refuse(f, 400, "a request must have one Host header, not %d (RFC 9112 §3.2)",
		       f->hosts);
	if (f->authorizations > 1)
		refuse(f, 400, "a request must have at most one Authorization header, not %d",
		       f->authorizations);
	return f->status;
}

/* --- raw heads, for the tests and the fuzzer ---------------------------- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* True when the target, percent-decoded as libmicrohttpd decodes it, holds
 * a control character. */
static bool target_has_control(const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c == '%' && i + 2 < n && hex_digit(t[i + 1]) >= 0 && hex_digit(t[i + 2]) >= 0) {
			c = (unsigned char)(hex_digit(t[i + 1]) * 16 + hex_digit(t[i + 2]));
			i += 2;
		}
		if (c < 0x20 || c == 0x7F)
			return true;
	}
	return false;
}

/* The next line from *p (ending in CRLF or a bare LF, as libmicrohttpd
 * accepts); false at the end of the bytes. */
static bool next_line(const char **p, const char *end, const char **line, size_t *len)
{
	if (*p >= end)
		return false;
	const char *s = *p;
	size_t left = (size_t)(end - s);
	const char *nl = memchr(s, '\n', left);
	size_t n = nl ? (size_t)(nl - s) : left;
	*p = nl ? nl + 1 : end;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	*line = s;
	*len = n;
	return true;
}

unsigned framing_check_raw(const char *head, size_t len, char detail[FRAMING_DETAIL])
{
	struct framing f;
	const char *p = head, *end = head + len, *line;
	size_t n;
	if (!next_line(&p, end, &line, &n)) {
		snprintf(detail, FRAMING_DETAIL, "empty");
		return 400;
	}
	/* METHOD SP target [SP version] */
	const char *sp1 = memchr(line, ' ', n);
	const char *sp2 = NULL;
	for (const char *q = line + n; q > line && !sp2; q--)
		if (q[-1] == ' ')
			sp2 = q - 1;
	char version[16] = "";
	if (sp2 && sp2 != sp1) {
		size_t vlen = (size_t)(line + n - sp2 - 1);
		snprintf(version, sizeof version, "%.*s", (int)(vlen < 15 ? vlen : 15), sp2 + 1);
	} else {
		sp2 = line + n;
	}
	framing_begin(&f, version);
	if (sp1 && sp1 < sp2 && target_has_control(sp1 + 1, (size_t)(sp2 - sp1 - 1)))
		framing_target_control(&f);

	const char *name = NULL, *value = NULL;
	size_t name_len = 0, value_len = 0;
	bool folded = false;
	while (next_line(&p, end, &line, &n) && n > 0) {
		if (is_space(line[0])) {
			if (!name) {
				snprintf(detail, FRAMING_DETAIL,
					 "the first header line begins with whitespace");
				return 400;
			}
			folded = true; /* joined to the field before it */
			continue;
		}
		if (name)
			framing_field(&f, name, name_len, value, value_len, folded);
		const char *colon = memchr(line, ':', n);
		if (!colon) {
			snprintf(detail, FRAMING_DETAIL, "a header line has no colon");
			return 400;
		}
		name = line;
		name_len = (size_t)(colon - line);
		value = colon + 1;
		value_len = n - name_len - 1;
		while (value_len && is_space(*value))
			value++, value_len--;
		folded = false;
	}
	if (name)
		framing_field(&f, name, name_len, value, value_len, folded);
	unsigned status = framing_end(&f);
	memcpy(detail, f.detail, FRAMING_DETAIL);
	return status;
}

/* The request-framing rules of RFC 9112 that a proxy in front of cohortd
 * relies on, checked on the request head before any body is read: one
 * Content-Length (or several that agree), never with Transfer-Encoding,
 * chunked as the only and final transfer coding, no whitespace between a
 * header name and its colon, no obs-fold, one Host (required in HTTP/1.1),
 * one Authorization, and a request target whose decoded path or query holds
 * no control character (%00 would otherwise cut the path short).
 *
 * Pure: the glue (http_glue.c) feeds it the fields libmicrohttpd parsed, one at
 * a time, and says which it found folded; framing_check_raw runs the same
 * checks over raw head bytes, for the unit tests and the fuzzer. A refusal
 * is answered with its status and the connection closed: once the framing
 * is in doubt, so is where the next request would start. */
#ifndef COHORTD_FRAMING_H
#define COHORTD_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAMING_DETAIL 200

struct framing {
	bool http11; /* the request line said HTTP/1.1 (Host is required) */
	bool http10; /* HTTP/1.0: Transfer-Encoding makes the framing faulty */
	int hosts, authorizations, lengths, encodings;
	uint64_t length;   /* the first Content-Length value */
	bool chunked_last; /* the last transfer coding seen is chunked */
	int chunked;       /* how many times chunked was named */
	unsigned status;   /* the first refusal found: 400 or 501; 0 while none */
	char detail[FRAMING_DETAIL];
};

/* version: "HTTP/1.1", "HTTP/1.0", or what the request line said. */
void framing_begin(struct framing *f, const char *version);
/* One header field as parsed: its name up to the colon (whitespace before
 * the colon included), its value, and whether the parser joined an obs-fold
 * continuation line to it. */
void framing_field(struct framing *f, const char *name, size_t name_len, const char *value,
		   size_t value_len, bool folded);
/* The decoded request target held a control character (U+0000-U+001F or
 * U+007F) in its path or a query key or value. */
void framing_target_control(struct framing *f);
/* 0 when the head may be served, else the status to refuse it with (400,
 * or 501 for a transfer coding other than chunked); f->detail says why. */
unsigned framing_end(struct framing *f);

/* The same checks over a raw request head (request line, header lines,
 * ending at the empty line or the end of the bytes), split as
 * libmicrohttpd splits it: for tests and the fuzzer. */
unsigned framing_check_raw(const char *head, size_t len, char detail[FRAMING_DETAIL]);

#endif

/* The reading of a list's query string (records.c), which the fuzzer
 * reaches besides the handlers (handlers.h). */
#ifndef COHORTD_RECORDS_H
#define COHORTD_RECORDS_H

#include <stdbool.h>

struct query;
struct resource;
struct list_query;
struct strbuf;

#include <stdint.h>

struct record;

/* How a list is answered: a page or the whole collection, JSON or CSV,
 * with the total when asked, of the members asked for. */
struct list_form {
	bool all; /* limit=all: every match, streamed, no next */
	bool csv;
	bool count;     /* count=exact, or Prefer: count=exact */
	uint32_t pick;  /* fields=: the members shown (RECORD_ALL: every one) */
	uint64_t shape; /* the filters and sort, which a cursor must match */
};

/* Reads a list's limit, after, cursor, sort, fields, count, format and
 * filters (nested: under /patients/{id}, where patient_id is the path's)
 * into q and form, and the parameters a next link must repeat into kept,
 * in the order given; refuses the rest in qs->errors (list_query.c). A
 * query string may repeat a filter (grade=gte.3&grade=lte.4) and nothing
 * else. */
void records_parse_list_query(const struct resource *res, bool nested, struct query *qs,
			      struct list_query *q, struct list_form *form, struct strbuf *kept);
/* Only filters of res (an export's): every other parameter is left
 * unused for the caller to refuse. */
void records_parse_filters(const struct resource *res, struct query *qs, struct list_query *q);
/* The cursor of the page after rec under q's sort (malloc'd, URL-safe). */
char *list_cursor(const struct list_query *q, const struct list_form *form,
		  const struct record *rec);

#endif

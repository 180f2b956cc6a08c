/* The reading of a list's query string (records.c), which the fuzzer
 * reaches besides the handlers (handlers.h). */
#ifndef COHORTD_RECORDS_H
#define COHORTD_RECORDS_H

#include <stdbool.h>

struct query;
struct resource;
struct list_query;
struct strbuf;

/* How a list is answered: a page or the whole collection, JSON or CSV. */
struct list_form {
	bool all; /* limit=all: every match, streamed, no next */
	bool csv;
};

/* Reads a list's limit, after, format and filters (nested: under
 * /patients/{id}, where patient_id is the path's) into q and form, and the
 * parameters a next link must repeat into kept, in the order given; refuses
 * the rest in qs->errors. */
void records_parse_list_query(const struct resource *res, bool nested, struct query *qs,
			      struct list_query *q, struct list_form *form, struct strbuf *kept);

#endif

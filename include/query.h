/* A request's query string, parsed once: every parameter in order, with
 * repeated and surplus parameters already refused, and the errors of a bad
 * query collected in the problem body's errors[] shape. Keys and values are
 * borrowed from the request and live as long as it does. */
#ifndef COHORTD_QUERY_H
#define COHORTD_QUERY_H

#include <jansson.h>
#include <stdbool.h>

#define QUERY_MAX_PARAMS 16

struct request;

struct query_param {
	const char *key;
	const char *value; /* "" for a bare key */
	bool used;         /* taken by the handler; others are unknown */
};

struct query {
	struct query_param params[QUERY_MAX_PARAMS];
	int n;
	json_t *errors; /* array of {"field", "message"} */
	bool repeats;   /* a key may come more than once (lists' filters) */
};

void query_parse(struct request *req, struct query *q);
/* The same, keeping a repeated key as several parameters: the caller
 * refuses the repeats it does not take. */
void query_parse_repeatable(struct request *req, struct query *q);
/* Appends key=value, percent-encoded, to sb: the query string of a next
 * link ("&" between parameters). */
struct strbuf;
void query_keep(struct strbuf *sb, const char *key, const char *value);
/* The same built by hand (the fuzzer): an empty query, then each parameter
 * in order, under the same rules. */
void query_init(struct query *q);
void query_add(struct query *q, const char *key, const char *value);
/* The value of key (marking it used), or NULL. */
const char *query_take(struct query *q, const char *key);
void query_error(struct query *q, const char *key, const char *message);
/* Adds "is not a parameter of this route" for every parameter not taken. */
void query_refuse_unused(struct query *q, const char *why);
/* When errors were found, answers 400 with them and returns true. */
bool query_reply_errors(struct request *req, struct query *q);
void query_free(struct query *q);

#endif

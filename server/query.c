/* Query strings: collected once per request, with the rules every route
 * shares (no repeated parameter unless the route takes repeats, a bounded
 * number of them, unknown ones named) enforced here rather than in each
 * handler. */
#include "query.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "util.h"
#include "validate.h"

static int collect(void *cls, const char *key, const char *value)
{
	struct query *q = cls;
	for (int i = 0; i < q->n && !q->repeats; i++) {
		if (strcmp(q->params[i].key, key) == 0) {
			query_error(q, key, "is given more than once");
			return 0;
		}
	}
	if (q->n == QUERY_MAX_PARAMS) {
		query_error(q, key, "is one query parameter too many");
		return 1;
	}
	q->params[q->n++] = (struct query_param){.key = key, .value = value ? value : ""};
	return 0;
}

void query_init(struct query *q)
{
	memset(q, 0, sizeof *q);
	q->errors = json_array(); /* NULL when out of memory (noted: util.h) */
}

void query_add(struct query *q, const char *key, const char *value)
{
	collect(q, key, value);
}

void query_parse(struct request *req, struct query *q)
{
	query_init(q);
	request_query_each(req, collect, q);
}

void query_parse_repeatable(struct request *req, struct query *q)
{
	query_init(q);
	q->repeats = true;
	request_query_each(req, collect, q);
}

const char *query_take(struct query *q, const char *key)
{
	for (int i = 0; i < q->n && !q->repeats; i++) {
		if (strcmp(q->params[i].key, key) == 0) {
			q->params[i].used = true;
			return q->params[i].value;
		}
	}
	return NULL;
}

void query_error(struct query *q, const char *key, const char *message)
{
	char field[256];
	utf8_sanitize(key, field, sizeof field); /* a key is the client's bytes */
	json_array_append_new(q->errors,
			      json_pack("{s:s, s:s}", "field", field, "message", message));
}

void query_refuse_unused(struct query *q, const char *why)
{
	for (int i = 0; i < q->n; i++)
		if (!q->params[i].used)
			query_error(q, q->params[i].key, why);
}

bool query_reply_errors(struct request *req, struct query *q)
{
	if (json_array_size(q->errors) == 0)
		return false;
	reply_problem_errors(req, 400, PROBLEM_INVALID_PARAMETER, json_incref(q->errors),
			     "the query string is not valid: see errors");
	return true;
}

void query_free(struct query *q)
{
	json_decref(q->errors);
	q->errors = NULL;
}

/* Appends key=value, percent-encoded, to the query string of a next link. */
void query_keep(struct strbuf *sb, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	strbuf_puts(sb, sb->len ? "&" : "");
	strbuf_puts(sb, key);
	strbuf_puts(sb, "=");
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			strbuf_append(sb, (const char *)p, 1);
		} else {
			char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			strbuf_append(sb, esc, 3);
		}
	}
}

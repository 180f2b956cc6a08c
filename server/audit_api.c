/* The audit trail over HTTP, for admins: the rows themselves (filtered and
 * paginated), every version of one record, and a walk of the hash chain. */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "model.h"
#include "query.h"
#include "router.h"
#include "store_trust.h"
#include "util.h"
#include "validate.h"

#define AUDIT_DEFAULT_LIMIT 100
#define AUDIT_MAX_LIMIT     1000

static json_t *parsed_or_null(const char *text)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	return j ? j : json_null();
}

static json_t *row_json(const struct audit_row *row)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:s?, s:s, s:s, s:s}", "seq",
			 (json_int_t)row->seq, "at", row->at, "actor", row->actor, "action",
			 row->action, "entity", row->entity, "entity_id",
			 (json_int_t)row->entity_id, "before", parsed_or_null(row->before), "after",
			 parsed_or_null(row->after), "reason", row->reason, "request_id",
			 row->request_id, "prev_hash", row->prev_hash, "hash", row->hash);
}

/* Two digits at s, or -1. */
static int two_digits(const char *s)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* Reads a UTC time (2026-01-31T12:00:00Z, with or without milliseconds,
 * or a date alone: midnight) into the form the audit stores, so that text
 * comparison is time comparison: 2026-01-31T12:00:00.000Z. The date must be
 * a real one and the clock real too (hours 00-23, minutes and seconds
 * 00-59); anything else is refused, never read as another time. */
static bool time_param(const char *text, char out[32])
{
	size_t n = strlen(text);
	if (n == 10 && valid_date(text, n)) {
		snprintf(out, 32, "%sT00:00:00.000Z", text);
		return true;
	}
	if (n < 20 || n > 24 || n == 21 || !valid_date(text, 10) || text[10] != 'T' ||
	    text[13] != ':' || text[16] != ':' || text[n - 1] != 'Z')
		return false;
	int h = two_digits(text + 11), m = two_digits(text + 14), sec = two_digits(text + 17);
	if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59)
		return false;
	/* .1 to .123: milliseconds, padded to three digits */
	char ms[4] = "000";
	if (n > 20 && text[19] != '.')
		return false;
	for (size_t i = 20; i + 1 < n; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		ms[i - 20] = text[i];
	}
	snprintf(out, 32, "%.19s.%sZ", text, ms);
	return true;
}

void audit_list(struct request *req)
{
	static const char *const entities[] = {"patients", "courses", "outcomes", "toxicities",
					       NULL};
	struct audit_filter f = {.limit = AUDIT_DEFAULT_LIMIT};
	char from[32], to[32];
	struct query qs;
	struct strbuf kept = {0};
	int64_t n;
	query_parse(req, &qs);
	for (int i = 0; i < qs.n; i++) {
		struct query_param *p = &qs.params[i];
		p->used = true;
		if (strcmp(p->key, "after") == 0) {
			if (!parse_int64(p->value, &n) || n < 0)
				query_error(&qs, p->key, "must be an audit sequence number (>= 0)");
			else
				f.after = n;
			continue;
		}
		if (strcmp(p->key, "limit") == 0) {
			if (!parse_int64(p->value, &n) || n < 1 || n > AUDIT_MAX_LIMIT)
				query_error(&qs, p->key, "must be an integer from 1 to 1000");
			else
				f.limit = (int)n;
		} else if (strcmp(p->key, "entity") == 0) {
			if (!in_choices(p->value, entities))
				query_error(&qs, p->key,
					    "must be patients, courses, outcomes or toxicities");
			else
				f.entity = p->value;
		} else if (strcmp(p->key, "id") == 0) {
			if (!parse_int64(p->value, &n) || n < 1)
				query_error(&qs, p->key, "must be a record id (>= 1)");
			else
				f.entity_id = n;
		} else if (strcmp(p->key, "actor") == 0) {
			f.actor = p->value;
		} else if (strcmp(p->key, "from") == 0 || strcmp(p->key, "to") == 0) {
			bool is_from = p->key[0] == 'f';
			if (!time_param(p->value, is_from ? from : to))
				query_error(
					&qs, p->key,
					"must be a real UTC time (2026-01-31T12:00:00Z, or with "
					"milliseconds: .123Z) or a date");
			else if (is_from)
				f.from = from;
			else
				f.to = to;
		} else {
			p->used = false;
			continue;
		}
		strbuf_printf(&kept, "%s%s=%s", kept.len ? "&" : "", p->key, p->value);
	}
	query_refuse_unused(&qs, "is not a parameter of this list");
	if (query_reply_errors(req, &qs))
		goto out;

	struct audit_row *rows = NULL;
	int count = 0;
	bool more = false;
	int rc = store_audit_list(req->db, &f, &rows, &count, &more);
	if (rc != DB_OK) {
		reply_db_error(req, rc);
		goto out;
	}
	json_t *items = json_array();
	for (int i = 0; i < count; i++)
		json_array_append_new(items, row_json(&rows[i]));
	json_t *next = json_null();
	if (more) {
		char *url = xasprintf("/audit?%s%safter=%lld", kept.data ? kept.data : "",
				      kept.len ? "&" : "", (long long)rows[count - 1].seq);
		if (url)
			reply_header(req, "Link", "<%s>; rel=\"next\"", url);
		json_decref(next);
		next = url ? json_string(url) : NULL;
		free(url);
	}
	store_audit_list_free(rows, count);
	reply_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next", next));
out:
	query_free(&qs);
	strbuf_free(&kept);
}

/* Every version of one record, oldest first: what it was after each
 * create and update, and what it was when deleted. Kept after deletion. */
void audit_history(struct request *req)
{
	const struct resource *res = req->route->res;
	struct audit_filter f = {.entity = res->name, .entity_id = req->ids[0], .limit = 200};
	json_t *versions = json_array();
	bool more = true;
	while (more) {
		struct audit_row *rows = NULL;
		int count = 0;
		int rc = store_audit_list(req->db, &f, &rows, &count, &more);
		if (rc != DB_OK) {
			json_decref(versions);
			reply_db_error(req, rc);
			return;
		}
		for (int i = 0; i < count; i++) {
			const struct audit_row *row = &rows[i];
			bool deleted = strcmp(row->action, "delete") == 0;
			json_t *record = parsed_or_null(deleted ? row->before : row->after);
			json_t *version = json_object_get(record, "version");
			json_array_append_new(versions,
					      json_pack("{s:O, s:s, s:s, s:s, s:s?, s:s, s:I, s:o}",
							"version", version ? version : json_null(),
							"action", row->action, "at", row->at,
							"actor", row->actor, "reason", row->reason,
							"request_id", row->request_id, "seq",
							(json_int_t)row->seq, "record", record));
			f.after = row->seq;
		}
		store_audit_list_free(rows, count);
	}
	if (json_array_size(versions) == 0) {
		json_decref(versions);
		reply_problem(req, 404, PROBLEM_NOT_FOUND, "no %s %lld has ever existed",
			      res->singular, (long long)req->ids[0]);
		return;
	}
	reply_json(req, 200,
		   json_pack("{s:s, s:I, s:o}", "entity", res->name, "id", (json_int_t)req->ids[0],
			     "versions", versions));
}

void audit_check_chain(struct request *req)
{
	if (reply_defer(req)) /* it reads the whole trail */
		return;
	struct audit_check check;
	int rc = audit_verify(req->db, &check);
	if (rc != DB_OK) {
		reply_db_error(req, rc);
		return;
	}
	reply_json(req, 200,
		   json_pack("{s:b, s:I, s:s?, s:o}", "intact", check.first_broken == 0, "rows",
			     (json_int_t)check.rows, "head", check.head[0] ? check.head : NULL,
			     "first_broken",
			     check.first_broken ? json_integer(check.first_broken) : json_null()));
}

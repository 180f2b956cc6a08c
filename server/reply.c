/* Every answer the server gives is built here: JSON bodies, empty answers,
 * extra headers, and the one RFC 9457 problem+json envelope that every
 * error uses. Handlers never format error JSON themselves. When memory runs
 * out the answer is a static 503 problem, which needs none (util.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "http.h"
#include "util.h"
#include "validate.h"

const char *http_status_title(unsigned status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 507: return "Insufficient Storage";
	default: return "Error";
	}
}

static void reply_reset_body(struct request *req)
{
	if (!req->out_static)
		free(req->out);
	req->out = NULL;
	req->out_len = 0;
	req->out_static = false;
}

static void header_value_free(struct reply_header *h)
{
	if (h->value != h->inline_value)
		free(h->value);
	h->value = NULL;
}

/* Formats into h's inline space when it fits, else into a new allocation;
 * false when that fails (h is then unchanged). */
static bool header_value_format(struct reply_header *h, const char *fmt, va_list ap)
{
	char room[REPLY_INLINE_VALUE];
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(room, sizeof room, fmt, ap);
	if (n < 0) {
		va_end(again);
		return false;
	}
	if ((size_t)n < sizeof room) {
		va_end(again);
		header_value_free(h);
		memcpy(h->inline_value, room, (size_t)n + 1);
		h->value = h->inline_value;
		return true;
	}
	char *value = xmalloc((size_t)n + 1);
	if (value)
		vsnprintf(value, (size_t)n + 1, fmt, again);
	va_end(again);
	if (!value)
		return false;
	header_value_free(h);
	h->value = value;
	return true;
}

void reply_header(struct request *req, const char *name, const char *fmt, ...)
{
	if (req->nheaders == REPLY_MAX_HEADERS)
		abort(); /* our own table is too small: a programming error */
	struct reply_header *h = &req->headers[req->nheaders];
	h->name = name;
	h->value = NULL;
	va_list ap;
	va_start(ap, fmt);
	bool ok = header_value_format(h, fmt, ap);
	va_end(ap);
	if (ok)
		req->nheaders++;
}

void reply_vary(struct request *req, const char *name)
{
	for (int i = 0; i < req->nheaders; i++) {
		if (strcmp(req->headers[i].name, "Vary") != 0)
			continue;
		if (list_holds(req->headers[i].value, name))
			return; /* named already */
		char was[REPLY_INLINE_VALUE];
		copy_cut(was, sizeof was, req->headers[i].value);
		reply_header_set(req, i, "%s, %s", was, name);
		return;
	}
	reply_header(req, "Vary", "%s", name);
}

void reply_header_set(struct request *req, int i, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	header_value_format(&req->headers[i], fmt, ap);
	va_end(ap);
}

void reply_headers_truncate(struct request *req, int n)
{
	while (req->nheaders > n)
		header_value_free(&req->headers[--req->nheaders]);
}

char *reply_json_text(const json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
	size_t n = text ? strlen(text) : 0;
	char *line = text ? xrealloc(text, n + 2) : NULL;
	if (!line) {
		free(text);
		return NULL;
	}
	memcpy(line + n, "\n", 2);
	return line;
}

static void reply_body(struct request *req, unsigned status, const char *content_type, json_t *body)
{
	reply_reset_body(req);
	req->status = status;
	req->content_type = content_type;
	req->out = body ? reply_json_text(body) : NULL;
	json_decref(body);
	if (!req->out) {
		/* body is NULL or could not be dumped: Jansson ran out of memory */
		reply_out_of_memory(req);
		return;
	}
	req->out_len = strlen(req->out);
}

size_t reply_out_of_memory_body(const char *request_id, char *out)
{
	/* request ids are plain (http_glue.c): nothing to escape */
	int n = snprintf(out, REPLY_OOM_PROBLEM,
			 "{\"type\":\"" PROBLEM_UNAVAILABLE "\",\"title\":\"Service Unavailable\","
			 "\"status\":503,\"detail\":\"the server ran short of memory while "
			 "answering; nothing was written; retry shortly\",\"instance\":"
			 "\"urn:cohortd:request:%s\",\"request_id\":\"%s\"}",
			 request_id, request_id);
	return n > 0 && n < REPLY_OOM_PROBLEM ? (size_t)n : 0;
}

void reply_out_of_memory(struct request *req)
{
	alloc_failure_note();
	if (req->stream_done)
		req->stream_done(req->stream_cls);
	req->stream = NULL;
	req->stream_cls = NULL;
	req->stream_done = NULL;
	reply_headers_truncate(req, 0);
	reply_header(req, "Retry-After", "1");
	size_t len = reply_out_of_memory_body(req->request_id, req->oom_problem);
	reply_static(req, 503, "application/problem+json", req->oom_problem, len);
}

void reply_check_memory(struct request *req)
{
	if (alloc_failure_seen() && !alloc_commit_seen())
		reply_out_of_memory(req);
}

void reply_json(struct request *req, unsigned status, json_t *body)
{
	reply_body(req, status, "application/json", body);
}

void reply_json_as(struct request *req, unsigned status, const char *content_type, json_t *body)
{
	reply_body(req, status, content_type, body);
}

bool reply_defer(struct request *req)
{
	if (!req->deferrable)
		return false;
	req->deferred = true;
	return true;
}

void reply_discard(struct request *req)
{
	reply_reset_body(req);
	reply_headers_truncate(req, 0);
	req->status = 0;
	req->content_type = NULL;
}

void reply_empty(struct request *req, unsigned status)
{
	reply_reset_body(req);
	req->status = status;
	req->content_type = NULL;
}

void reply_static(struct request *req, unsigned status, const char *content_type, const void *data,
		  size_t len)
{
	reply_reset_body(req);
	req->status = status;
	req->content_type = content_type;
	req->out = (char *)data;
	req->out_len = len;
	req->out_static = true;
}

void reply_stream(struct request *req, unsigned status, const char *content_type,
		  reply_stream_fn fn, void *cls, void (*done)(void *cls))
{
	reply_reset_body(req);
	req->status = status;
	req->content_type = content_type;
	req->stream = fn;
	req->stream_cls = cls;
	req->stream_done = done;
}

static long file_read(void *cls, char *buf, size_t max)
{
	FILE *f = cls;
	size_t n = fread(buf, 1, max, f);
	if (n > 0)
		return (long)n;
	return ferror(f) ? REPLY_STREAM_ERROR : REPLY_STREAM_END;
}

static void file_done(void *cls)
{
	fclose(cls);
}

void reply_stream_file(struct request *req, unsigned status, const char *content_type, FILE *f)
{
	reply_stream(req, status, content_type, file_read, f, file_done);
}

void reply_owned(struct request *req, unsigned status, const char *content_type, char *data,
		 size_t len)
{
	if (!data) {
		reply_out_of_memory(req);
		return;
	}
	reply_reset_body(req);
	req->status = status;
	req->content_type = content_type;
	req->out = data;
	req->out_len = len;
}

/* FHIR's issue type for an HTTP status (the IssueType value set). */
static const char *issue_code(unsigned status)
{
	switch (status) {
	case 400: return "invalid";
	case 401: return "login";
	case 403: return "forbidden";
	case 404: return "not-found";
	case 405:
	case 406:
	case 415: return "not-supported";
	case 409: return "conflict";
	case 413: return "too-costly";
	case 422: return "processing";
	case 429: return "throttled";
	case 503: return "transient";
	default: return status >= 500 ? "exception" : "processing";
	}
}

/* Under /fhir the one error envelope is FHIR's: an OperationOutcome with the
 * same status, an issue for the problem (its type and request id in
 * details) and one for each field or parameter it names. */
static json_t *operation_outcome(struct request *req, unsigned status, const char *type,
				 const char *detail, json_t *members)
{
	json_t *issues = json_array();
	char what[256];
	snprintf(what, sizeof what, "%s (%s, request %s)", http_status_title(status),
		 type ? type : "about:blank", req->request_id);
	json_array_append_new(issues, json_pack("{s:s, s:s, s:s, s:{s:s}}", "severity", "error",
						"code", issue_code(status), "diagnostics", detail,
						"details", "text", what));
	json_t *errors = members ? json_object_get(members, "errors") : NULL;
	size_t i;
	json_t *e;
	json_array_foreach(errors, i, e)
	{
		const char *name = json_string_value(json_object_get(e, "field"));
		if (!name)
			name = json_string_value(json_object_get(e, "parameter"));
		char line[512];
		snprintf(line, sizeof line, "%s: %s", name ? name : "?",
			 json_string_value(json_object_get(e, "message"))
				 ? json_string_value(json_object_get(e, "message"))
				 : "");
		json_array_append_new(issues,
				      json_pack("{s:s, s:s, s:s}", "severity", "error", "code",
						issue_code(status), "diagnostics", line));
	}
	json_t *o = json_pack("{s:s, s:o}", "resourceType", "OperationOutcome", "issue", issues);
	if (o && valid_fhir_id(req->request_id, strlen(req->request_id)))
		json_object_set_new(o, "id", json_string(req->request_id));
	return o;
}

bool reply_is_fhir(const struct request *req)
{
	return req->path && strncmp(req->path, "/fhir", 5) == 0 &&
	       (req->path[5] == '\0' || req->path[5] == '/');
}

/* members (an object, stolen, or NULL) is merged into the problem. */
static void reply_problem_v(struct request *req, unsigned status, const char *type, json_t *members,
			    const char *fmt, va_list ap)
{
	char raw[512], detail[512];
	vsnprintf(raw, sizeof raw, fmt, ap);
	utf8_sanitize(raw, detail, sizeof detail);
	if (reply_is_fhir(req)) {
		json_t *o = operation_outcome(req, status, type, detail, members);
		json_decref(members);
		reply_body(req, status, "application/fhir+json", o);
		return;
	}
	char instance[160];
	snprintf(instance, sizeof instance, "urn:cohortd:request:%s", req->request_id);
	json_t *p = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "type", type ? type : "about:blank",
			      "title", http_status_title(status), "status", (int)status, "detail",
			      detail, "instance", instance, "request_id", req->request_id);
	if (p && members)
		json_object_update(p, members);
	json_decref(members);
	reply_body(req, status, "application/problem+json", p);
}

void reply_problem(struct request *req, unsigned status, const char *type, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_problem_v(req, status, type, NULL, fmt, ap);
	va_end(ap);
}

void reply_problem_errors(struct request *req, unsigned status, const char *type, json_t *errors,
			  const char *fmt, ...)
{
	json_t *members = errors ? json_pack("{s:o}", "errors", errors) : NULL;
	va_list ap;
	va_start(ap, fmt);
	reply_problem_v(req, status, type, members, fmt, ap);
	va_end(ap);
}

void reply_problem_members(struct request *req, unsigned status, const char *type, json_t *members,
			   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_problem_v(req, status, type, members, fmt, ap);
	va_end(ap);
}

void reply_db_error(struct request *req, int rc)
{
	if (alloc_failure_seen() && rc != DB_NOTFOUND) {
		reply_out_of_memory(req);
		return;
	}
	switch (rc) {
	case DB_NOTFOUND:
		reply_problem(req, 404, PROBLEM_NOT_FOUND, "no record at %s", req->path);
		break;
	case DB_BUSY:
		reply_header(req, "Retry-After", "1");
		reply_problem(req, 503, PROBLEM_UNAVAILABLE, "the database is busy; retry shortly");
		break;
	case DB_READONLY:
		reply_problem(req, 503, PROBLEM_UNAVAILABLE,
			      "the database cannot be written at the moment");
		break;
	case DB_FULL:
		reply_problem(req, 507, PROBLEM_STORAGE_FULL,
			      "the database has no space left; nothing was written");
		break;
	case DB_CONSTRAINT:
		reply_problem(req, 422, PROBLEM_VALIDATION,
			      "the record breaks a rule of the database schema");
		break;
	default:
		reply_problem(req, 500, PROBLEM_INTERNAL,
			      "the database failed; nothing was written");
	}
}

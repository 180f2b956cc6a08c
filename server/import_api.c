/* POST /import: an NDJSON body, imported line by line in one transaction
 * (import.c). Answers the counts, or the first bad line's problems with
 * nothing written. A body past REQUEST_SPOOL_BYTES arrives in a temporary
 * file (http.h), so an import of any size holds a line at a time in memory. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "import.h"

/* The request body, line by line. */
struct body_lines {
	const char *start, *at, *end;
};

static bool rewind_body(void *cls)
{
	struct body_lines *b = cls;
	b->at = b->start;
	return true;
}

static bool next_body_line(void *cls, const char **line, size_t *len)
{
	struct body_lines *b = cls;
	if (b->at >= b->end)
		return false;
	const char *nl = memchr(b->at, '\n', (size_t)(b->end - b->at));
	*line = b->at;
	*len = nl ? (size_t)(nl - b->at) : (size_t)(b->end - b->at);
	b->at += *len + 1;
	return true;
}

void import_ndjson(struct request *req)
{
	struct audit_context ctx = {req->actor, req->reason ? req->reason : "bulk import",
				    req->request_id};
	struct import_session s;
	int rc = import_begin(&s, req->db, &ctx);
	const char *body = req->body ? req->body : "";
	struct body_lines lines = {body, body, body + (req->body ? req->body_len : 0)};
	/* a large body was spooled to a file as it came (request_body_append) */
	struct import_file spooled = {req->body_file, NULL, 0};
	if (rc == DB_OK && req->body_file)
		rc = fflush(req->body_file) == 0 && import_file_rewind(&spooled)
			     ? import_stream(&s, import_file_next, import_file_rewind, &spooled)
			     : DB_ERROR;
	else if (rc == DB_OK)
		rc = import_stream(&s, next_body_line, rewind_body, &lines);
	free(spooled.buf);
	if (rc == DB_OK && s.counts.patients == 0 && !s.status) {
		json_array_append_new(s.errors, json_pack("{s:i, s:s, s:s}", "line", 0, "field", "",
							  "message", "the body holds no patient"));
		s.status = 422;
	}
	if (rc == 1 || s.status) {
		reply_problem_errors(req, (unsigned)s.status,
				     s.status == 409 ? PROBLEM_DUPLICATE : PROBLEM_VALIDATION,
				     json_incref(s.errors),
				     "line %lld was refused; nothing was imported",
				     (long long)s.counts.lines);
		import_end(&s, 0);
		return;
	}
	/* the answer is made before the commit (util.h) */
	json_t *counts =
		json_pack("{s:I, s:{s:I, s:I, s:I, s:I}, s:I}", "lines", (json_int_t)s.counts.lines,
			  "imported", "patients", (json_int_t)s.counts.patients, "courses",
			  (json_int_t)s.counts.courses, "outcomes", (json_int_t)s.counts.outcomes,
			  "toxicities", (json_int_t)s.counts.toxicities, "records",
			  (json_int_t)(s.counts.patients + s.counts.courses + s.counts.outcomes +
				       s.counts.toxicities));
	char *answer = counts ? reply_json_text(counts) : NULL;
	json_decref(counts);
	if (rc == DB_OK && answer)
		rc = import_end(&s, 1);
	else
		import_end(&s, 0);
	if (rc != DB_OK || !answer) {
		free(answer);
		reply_db_error(req, rc == DB_OK ? DB_ERROR : rc);
		return;
	}
	reply_owned(req, 200, "application/json", answer, strlen(answer));
}

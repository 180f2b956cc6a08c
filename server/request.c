/* The request half of an exchange, as data (http.h): header fields and
 * query parameters looked up in what the glue (or a test) put in the
 * request, and the one place a request is freed. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "util.h"

const char *request_header(const struct request *req, const char *name)
{
	for (int i = 0; i < req->nin_headers; i++)
		if (strcasecmp(req->in_headers[i].name, name) == 0)
			return req->in_headers[i].value;
	return NULL;
}

const char *request_query(const struct request *req, const char *name)
{
	for (int i = 0; i < req->nin_query; i++)
		if (strcmp(req->in_query[i].name, name) == 0)
			return req->in_query[i].value;
	return NULL;
}

int request_query_each(const struct request *req,
		       int (*fn)(void *cls, const char *key, const char *value), void *cls)
{
	for (int i = 0; i < req->nin_query; i++) {
		int rc = fn(cls, req->in_query[i].name, req->in_query[i].value);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Moves what is in memory to a temporary file (unlinked at once: nothing is
 * left behind, whatever happens to the process). */
static bool spool(struct request *req)
{
	req->body_file = tmpfile();
	if (!req->body_file)
		return false;
	if (req->body_len && fwrite(req->body, 1, req->body_len, req->body_file) != req->body_len)
		return false;
	free(req->body);
	req->body = NULL;
	req->body_cap = 0;
	return true;
}

bool request_body_append(struct request *req, const char *data, size_t n)
{
	if (!req->body_file && req->body_len + n > REQUEST_SPOOL_BYTES && !spool(req))
		return false;
	if (req->body_file) {
		if (n && fwrite(data, 1, n, req->body_file) != n)
			return false;
		req->body_len += n;
		return true;
	}
	if (req->body_len + n + 1 > req->body_cap) {
		size_t cap = req->body_cap ? req->body_cap : 4096;
		while (cap < req->body_len + n + 1)
			cap *= 2;
		char *body = xrealloc(req->body, cap);
		if (!body)
			return false;
		req->body = body;
		req->body_cap = cap;
	}
	memcpy(req->body + req->body_len, data, n);
	req->body_len += n;
	req->body[req->body_len] = '\0';
	return true;
}

void request_free(struct request *req)
{
	if (!req)
		return;
	if (req->body_file)
		fclose(req->body_file);
	if (req->stream_done)
		req->stream_done(req->stream_cls);
	if (req->staged_free)
		req->staged_free(req->staged);
	free(req->body);
	json_decref(req->json);
	if (!req->out_static)
		free(req->out);
	reply_headers_truncate(req, 0);
	free(req->fields_alloc);
	free(req);
}

/* The request half of an exchange, as data (http.h): header fields and
 * query parameters looked up in what the glue (or a test) put in the
 * request, and the one place a request is freed. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

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

void request_free(struct request *req)
{
	if (!req)
		return;
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

/* CORS for an allow-list of origins. An allowed origin is echoed back
 * (never "*", since requests carry tokens), and the headers scripts need to
 * read exposed; with an allow-list every answer has Vary: Origin, so that
 * caches keep answers per origin. */
#include "cors.h"

#include <string.h>
#include <strings.h>

#include "http.h"

static const char *const *allowed;
static int nallowed;

void cors_configure(const char *const *origins, int count)
{
	allowed = origins;
	nallowed = count;
}

static const char *allowed_origin(struct request *req)
{
	const char *origin = request_header(req, "Origin");
	if (!origin)
		return NULL;
	for (int i = 0; i < nallowed; i++)
		if (strcmp(origin, allowed[i]) == 0)
			return origin;
	return NULL;
}

bool cors_is_preflight(struct request *req)
{
	return strcmp(req->method, "OPTIONS") == 0 && request_header(req, "Origin") &&
	       request_header(req, "Access-Control-Request-Method");
}

void cors_preflight(struct request *req, const char *allow)
{
	const char *origin = allowed_origin(req);
	if (origin) {
		reply_header(req, "Access-Control-Allow-Origin", "%s", origin);
		reply_header(req, "Access-Control-Allow-Methods", "%s", allow);
		reply_header(req, "Access-Control-Allow-Headers",
			     "Authorization, Content-Type, If-Match, If-None-Match, "
			     "Idempotency-Key, Change-Reason, X-Request-ID");
		reply_header(req, "Access-Control-Max-Age", "600");
	}
	reply_vary(req, "Origin");
	reply_header(req, "Allow", "%s", allow);
	reply_empty(req, 204);
}

void cors_decorate(struct request *req)
{
	/* with an allow-list, every answer depends on the Origin it was asked
	 * from (it has Access-Control-Allow-Origin or not): caches are told so,
	 * whatever this request's Origin was */
	if (nallowed > 0)
		reply_vary(req, "Origin");
	const char *origin = allowed_origin(req);
	if (!origin)
		return;
	/* A preflight answered by cors_preflight has its headers already; a
	 * second Access-Control-Allow-Origin would make browsers refuse it. */
	for (int i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, "Access-Control-Allow-Origin") == 0)
			return;
	reply_header(req, "Access-Control-Allow-Origin", "%s", origin);
	reply_header(req, "Access-Control-Expose-Headers",
		     "ETag, Location, Link, X-Request-ID, Retry-After, Idempotent-Replayed");
}

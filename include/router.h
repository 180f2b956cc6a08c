/* The route table is data: each route names a method, a path pattern, the
 * handler, the resource it serves, and flags for preconditions that the
 * dispatcher enforces once (JSON body, writes) so handlers never re-check.
 * Patterns are literal segments and {id}, which matches a positive integer. */
#ifndef COHORTD_ROUTER_H
#define COHORTD_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct request;
struct resource;

enum route_flags {
	ROUTE_JSON_BODY = 1 << 0,   /* a JSON object body is required (POST) */
	ROUTE_MERGE_PATCH = 1 << 1, /* a JSON merge patch body is required (PATCH) */
	ROUTE_WRITES = 1 << 2,      /* changes data */
	ROUTE_QUERY = 1 << 3,       /* takes query parameters; elsewhere any is a 400 */
	ROUTE_REASON = 1 << 4,      /* needs a Change-Reason header (audited change) */
	ROUTE_NDJSON = 1 << 5,      /* an application/x-ndjson body, up to the import limit */
	ROUTE_OWN_COMMITS = 1 << 6, /* commits as it goes (an import): never in a batch */
	/* a small read that changes nothing, whatever the token: the token's
	 * lookup may ride with the handler's first statement (router.c) */
	ROUTE_AUTH_AHEAD = 1 << 7,
};

typedef void (*route_handler)(struct request *req);
/* True when the request is to go on to its handler; false when it has its
 * answer already. */
typedef bool (*route_prepare)(struct request *req);

struct route {
	const char *method;
	const char *pattern;
	route_handler handler;
	unsigned flags;
	const struct resource *res;
	int role; /* the least enum role (auth.h) that may call it; ROLE_NONE: anyone */
	/* Work done on the HTTP worker once every precondition holds, before a
	 * write is handed to the writer (a create validates its body there):
	 * NULL for none. */
	route_prepare prepare;
};

enum route_match {
	ROUTE_FOUND,
	ROUTE_NOT_FOUND,    /* no pattern matches the path */
	ROUTE_WRONG_METHOD, /* a pattern matches, not with this method */
};

/* Finds the route for method and path in table. On ROUTE_FOUND sets *found
 * and ids; on ROUTE_WRONG_METHOD writes the methods the path allows, e.g.
 * "GET, HEAD, POST", into allow. HEAD matches GET routes. */
enum route_match router_match(const struct route *table, size_t count, const char *method,
			      const char *path, const struct route **found, int64_t ids[2],
			      int *nids, char *allow, size_t allow_len);

/* Runs the request through the table: matching, CORS, authentication and
 * role, the flag preconditions, the body's media type and JSON parse, then
 * the handler. */
void router_dispatch(struct request *req);
/* router_dispatch in two steps, for a write handed to the write pool: the
 * route and its preconditions (token, role, query, Change-Reason, body) on
 * the HTTP worker, true when the handler is to run; then, on the pool,
 * the handler and the CORS headers of its answer. */
bool router_prepare(struct request *req);
void router_run(struct request *req);

/* Set once at start: the route table (routes.c), the role of a request
 * without a token (ROLE_NONE: such requests get 401), the origins allowed
 * to call from browsers, and the largest import. */
void router_configure(const struct route *table, size_t count, int anonymous_role,
		      const char *const *cors_origins, int ncors, size_t max_import);
/* The table given to router_configure, and its length. */
const struct route *router_table(size_t *count);

/* The largest body the route for method and path accepts: the import limit
 * for NDJSON routes, REQUEST_MAX_BODY elsewhere. */
size_t router_body_limit(const char *method, const char *path);

#endif

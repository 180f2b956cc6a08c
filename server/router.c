/* Matching a request to the route table, and the checks every route of a
 * kind shares, enforced once here: the body's media type and JSON syntax
 * for routes that take one, 404 / 405 with Allow, OPTIONS, HEAD as GET,
 * CORS, authentication and roles, and the reason an audited change needs. */
#include "router.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "cors.h"
#include "db.h"
#include "http.h"
#include "query.h"
#include "util.h"
#include "validate.h"

/* Matches one path against one pattern, capturing {id} segments; any other
 * {word} segment is a FHIR id's characters (valid_fhir_id), which the
 * handler reads from the path. */
static bool pattern_matches(const char *pattern, const char *path, int64_t ids[2], int *nids)
{
	int n = 0;
	while (*pattern && *path) {
		if (*pattern == '{' && strncmp(pattern, "{id}", 4) != 0 && strchr(pattern, '}')) {
			size_t len = strcspn(path, "/");
			if (!valid_fhir_id(path, len))
				return false;
			pattern = strchr(pattern, '}') + 1;
			path += len;
			continue;
		}
		if (strncmp(pattern, "{id}", 4) == 0) {
			const char *end = path;
			while (*end >= '0' && *end <= '9')
				end++;
			char digits[24];
			size_t len = (size_t)(end - path);
			if (len == 0 || len >= sizeof digits || n == 2)
				return false;
			memcpy(digits, path, len);
			digits[len] = '\0';
			int64_t id;
			if (!parse_int64(digits, &id) || id < 1)
				return false;
			ids[n++] = id;
			pattern += 4;
			path = end;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	if (*pattern || *path)
		return false;
	*nids = n;
	return true;
}

/* Appends method to a ", "-separated Allow list unless it is there. */
static void allow_add(char *allow, size_t len, const char *method)
{
	if (list_holds(allow, method))
		return;
	size_t used = strlen(allow);
	snprintf(allow + used, len - used, "%s%s", used ? ", " : "", method);
}

enum route_match router_match(const struct route *table, size_t count, const char *method,
			      const char *path, const struct route **found, int64_t ids[2],
			      int *nids, char *allow, size_t allow_len)
{
	bool path_known = false;
	const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
	if (allow_len)
		allow[0] = '\0';
	for (size_t i = 0; i < count; i++) {
		int64_t got[2];
		int n = 0;
		if (!pattern_matches(table[i].pattern, path, got, &n))
			continue;
		if (strcmp(table[i].method, want) == 0) {
			*found = &table[i];
			memcpy(ids, got, sizeof got);
			*nids = n;
			return ROUTE_FOUND;
		}
		path_known = true;
		allow_add(allow, allow_len, table[i].method);
		if (strcmp(table[i].method, "GET") == 0)
			allow_add(allow, allow_len, "HEAD");
	}
	return path_known ? ROUTE_WRONG_METHOD : ROUTE_NOT_FOUND;
}

/* True when the Content-Type header names media type `want` (parameters
 * such as charset=utf-8 allowed, case-insensitive). */
static bool media_type_is(const char *header, const char *want)
{
	if (!header)
		return false;
	while (*header == ' ')
		header++;
	size_t n = strlen(want);
	if (strncasecmp(header, want, n) != 0)
		return false;
	header += n;
	while (*header == ' ')
		header++;
	return *header == '\0' || *header == ';';
}

static bool body_acceptable(struct request *req)
{
	const char *ct = request_header(req, "Content-Type");
	bool ok = media_type_is(ct, "application/json");
	if (req->route->flags & ROUTE_MERGE_PATCH)
		ok = ok || media_type_is(ct, "application/merge-patch+json");
	if (!ok) {
		reply_problem(req, 415, PROBLEM_UNSUPPORTED_MEDIA_TYPE,
			      "the body must be %s; got %s",
			      (req->route->flags & ROUTE_MERGE_PATCH)
				      ? "application/merge-patch+json or application/json"
				      : "application/json",
			      ct ? "another media type" : "no Content-Type");
		return false;
	}
	json_error_t err;
	req->json = json_loadb(req->body ? req->body : "", req->body_len,
			       JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY, &err);
	if (!req->json) {
		reply_problem(req, 400, PROBLEM_MALFORMED_JSON,
			      "the body is not valid JSON: %s (line %d, column %d)", err.text,
			      err.line, err.column);
		return false;
	}
	return true;
}

/* A route that takes no parameters refuses any, rather than ignoring a
 * filter the client believes applies. */
static bool query_absent(struct request *req)
{
	struct query q;
	query_parse(req, &q);
	query_refuse_unused(&q, "is not a parameter of this route");
	bool refused = query_reply_errors(req, &q);
	query_free(&q);
	return !refused;
}

static const struct route *table;
static size_t table_count;
static int anonymous_role = ROLE_NONE;
static size_t import_limit = 32 * 1024 * 1024;

void router_configure(const struct route *routes, size_t count, int anon,
		      const char *const *cors_origins, int ncors, size_t max_import)
{
	table = routes;
	table_count = count;
	anonymous_role = anon;
	import_limit = max_import;
	cors_configure(cors_origins, ncors);
}

const struct route *router_table(size_t *count)
{
	*count = table_count;
	return table;
}

size_t router_body_limit(const char *method, const char *path)
{
	const struct route *route = NULL;
	int64_t ids[2];
	int nids;
	char allow[128];
	if (router_match(table, table_count, method, path, &route, ids, &nids, allow,
			 sizeof allow) == ROUTE_FOUND &&
	    (route->flags & ROUTE_NDJSON))
		return import_limit;
	return REQUEST_MAX_BODY;
}

/* The answer to a token that was looked up: 401 when it is not valid, a
 * DB_ code's answer when the lookup failed; 403 when its role is below the
 * route's. True when the request may go on. */
static bool token_acceptable(struct request *req, int rc, enum role role)
{
	const char *authorization = request_header(req, "Authorization");
	if (rc == DB_NOTFOUND) {
		reply_header(req, "WWW-Authenticate",
			     authorization ? "Bearer realm=\"cohortd\", error=\"invalid_token\""
					   : "Bearer realm=\"cohortd\"");
		reply_problem(req, 401, PROBLEM_UNAUTHORIZED, "%s",
			      authorization ? "the bearer token is not valid (unknown or revoked)"
					    : "this route needs Authorization: Bearer <token>");
		return false;
	}
	if (rc != DB_OK) {
		reply_db_error(req, rc);
		return false;
	}
	req->role = role;
	if (req->role < req->route->role) {
		reply_problem(req, 403, PROBLEM_FORBIDDEN, "%s needs the %s role; %s has %s",
			      req->route->pattern, role_name(req->route->role), req->actor,
			      role_name(req->role));
		return false;
	}
	return true;
}

/* Who is asking, and may they? 401 without a valid token (unless anonymous
 * access is on), 403 when the token's role is below the route's. On a
 * ROUTE_AUTH_AHEAD route the lookup may be sent ahead: the request then
 * goes on, and settle_authorisation answers it. */
static bool authorised(struct request *req)
{
	const char *authorization = request_header(req, "Authorization");
	if (!authorization && anonymous_role != ROLE_NONE) {
		snprintf(req->actor, sizeof req->actor, "anonymous");
		return token_acceptable(req, DB_OK, anonymous_role);
	}
	enum role role = ROLE_NONE;
	int rc = (req->route->flags & ROUTE_AUTH_AHEAD)
			 ? auth_lookup_ahead(req->db, authorization, req->actor, &role,
					     &req->auth_pending, req->auth_hash)
			 : auth_lookup(req->db, authorization, req->actor, &role);
	if (rc == DB_OK && req->auth_pending)
		return true;
	return token_acceptable(req, rc, role);
}

/* The answer of a token's lookup sent ahead, once the handler has run (its
 * first statement carried the lookup) or a precondition has answered: a
 * refusal replaces what was answered meanwhile, as if the token had been
 * checked first. True when nothing was pending or the token is accepted. */
static bool settle_authorisation(struct request *req)
{
	struct db_stmt *pending = req->auth_pending;
	if (!pending)
		return true;
	req->auth_pending = NULL;
	enum role role = ROLE_NONE;
	int rc = auth_lookup_finish(pending, req->auth_hash, req->actor, &role);
	if (rc == DB_OK && role >= (enum role)req->route->role) {
		req->role = role;
		return true;
	}
	reply_discard(req);
	return token_acceptable(req, rc, role);
}

/* The reason for an audited change: required where the route says so,
 * optional elsewhere, and always visible text of at most 500 characters. */
static bool reason_acceptable(struct request *req)
{
	const char *reason = request_header(req, "Change-Reason");
	size_t chars = 0;
	const char *problem = NULL;
	if (!reason || !*reason)
		problem = (req->route->flags & ROUTE_REASON) ? "is required for this change" : NULL;
	else if (!valid_text(reason, strlen(reason), &chars) || chars > 500)
		problem = "must be 1 to 500 characters of visible text";
	if (problem) {
		json_t *errors =
			json_pack("[{s:s, s:s}]", "field", "Change-Reason", "message", problem);
		reply_problem_errors(req, 422, PROBLEM_VALIDATION, errors,
				     "the Change-Reason header %s", problem);
		return false;
	}
	req->reason = reason && *reason ? reason : NULL;
	return true;
}

/* Everything before the handler: the route, and every precondition its
 * flags declare. True when the handler is to run; false when the request
 * has its answer already. */
static bool preconditions_hold(struct request *req)
{
	char allow[128];
	enum route_match m = router_match(table, table_count, req->method, req->path, &req->route,
					  req->ids, &req->nids, allow, sizeof allow);
	if (m == ROUTE_WRONG_METHOD && strcmp(req->method, "OPTIONS") == 0) {
		char with_options[160];
		snprintf(with_options, sizeof with_options, "%s, OPTIONS", allow);
		if (cors_is_preflight(req)) {
			cors_preflight(req, with_options);
			return false;
		}
		reply_header(req, "Allow", "%s", with_options);
		reply_empty(req, 204);
		return false;
	}
	if (req->body_too_large) {
		reply_problem(req, 413, PROBLEM_BODY_TOO_LARGE, "the body is larger than %zu bytes",
			      router_body_limit(req->method, req->path));
		return false;
	}
	if (m == ROUTE_NOT_FOUND) {
		reply_problem(req, 404, PROBLEM_NOT_FOUND, "no resource at %s", req->path);
		return false;
	}
	if (m == ROUTE_WRONG_METHOD) {
		reply_header(req, "Allow", "%s", allow);
		reply_problem(req, 405, PROBLEM_METHOD_NOT_ALLOWED,
			      "%s is not allowed on %s; allowed: %s", req->method, req->path,
			      allow);
		return false;
	}
	req->db = db_for_thread();
	if (!req->db) {
		reply_problem(req, 503, PROBLEM_UNAVAILABLE, "the database cannot be opened");
		return false;
	}
	if (req->route->role != ROLE_NONE && !authorised(req))
		return false;
	if (!(req->route->flags & ROUTE_QUERY) && !query_absent(req))
		return false;
	if ((req->route->flags & ROUTE_WRITES) && !reason_acceptable(req))
		return false;
	if ((req->route->flags & (ROUTE_JSON_BODY | ROUTE_MERGE_PATCH)) && !body_acceptable(req))
		return false;
	if ((req->route->flags & ROUTE_NDJSON) &&
	    !media_type_is(request_header(req, "Content-Type"), "application/x-ndjson")) {
		reply_problem(req, 415, PROBLEM_UNSUPPORTED_MEDIA_TYPE,
			      "the body must be application/x-ndjson: one patient a line");
		return false;
	}
	if ((req->route->flags & ROUTE_WRITES) && db_opened_read_only()) {
		reply_problem(req, 503, PROBLEM_UNAVAILABLE,
			      "the database was opened read-only; nothing can be written until "
			      "cohortd is restarted on a writable file");
		return false;
	}
	if (req->route->prepare && !req->route->prepare(req))
		return false;
	if ((req->route->flags & ROUTE_WRITES) && !(req->db = db_writer())) {
		reply_problem(req, 503, PROBLEM_UNAVAILABLE, "the database cannot be opened");
		return false;
	}
	return true;
}

bool router_prepare(struct request *req)
{
	if (preconditions_hold(req))
		return true;
	settle_authorisation(req); /* a refused token outranks a precondition */
	return false;
}

void router_run(struct request *req)
{
	req->route->handler(req);
	if (!settle_authorisation(req)) {
		req->deferred = false;
		cors_decorate(req);
		return;
	}
	if (req->deferred)
		return; /* to be run again on the slow-read pool */
	if (req->status == 0)
		reply_problem(req, 500, PROBLEM_INTERNAL, "the handler gave no answer");
	cors_decorate(req);
}

void router_dispatch(struct request *req)
{
	if (router_prepare(req))
		router_run(req);
	else
		cors_decorate(req);
}

/* One HTTP exchange as the handlers see it: data, independent of
 * libmicrohttpd. The glue (server/http_glue.c, the only file that includes
 * microhttpd.h) fills the request half (method, path, header fields, query
 * parameters, body), calls the dispatcher, and sends the reply half; a test
 * or a fuzzer can fill it as well and call the dispatcher without a socket.
 * request.c reads the request half, reply.c writes the reply half.
 *
 * Ownership: a struct request lives from the first callback of a connection's
 * request to its completion callback, which frees everything hanging off it
 * (body, parsed JSON, reply body and headers) in one place: request_free(). */
#ifndef COHORTD_HTTP_H
#define COHORTD_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define REQUEST_MAX_BODY  (1024 * 1024)
#define REPLY_MAX_HEADERS 16
/* A reply header value up to this long (NUL included) is kept in the
 * request itself: adding one never allocates, so an answer prepared before
 * a commit stays complete after it (util.h). */
#define REPLY_INLINE_VALUE 128
/* Room for the out-of-memory problem, request id included. */
#define REPLY_OOM_PROBLEM 512

struct route;
struct db;

/* A streamed body's source: fills buf with up to max bytes and returns how
 * many, or REPLY_STREAM_END, or REPLY_STREAM_ERROR. */
#define REPLY_STREAM_END   (-1)
#define REPLY_STREAM_ERROR (-2)
typedef long (*reply_stream_fn)(void *cls, char *buf, size_t max);

/* A header field or query parameter as received; both strings live as
 * long as the request. */
struct request_field {
	const char *name;
	const char *value; /* "" for a bare query key or an empty header */
};

/* Fields held in the request itself; more take an allocation. */
#define REQUEST_INLINE_FIELDS 16

struct reply_header {
	const char *name; /* a literal */
	char *value;      /* inline_value, or malloc'd when longer */
	char inline_value[REPLY_INLINE_VALUE];
};

struct request {
	/* filled by the glue (or a test) */
	const char *method;
	const char *path;                       /* percent-decoded */
	const struct request_field *in_headers; /* in the order received */
	int nin_headers;
	const struct request_field *in_query; /* in the order received */
	int nin_query;
	struct request_field inline_fields[REQUEST_INLINE_FIELDS];
	struct request_field *fields_alloc; /* when more than fit inline; freed with the request */
	void *conn; /* the glue's own handle for the connection; nobody else's */
	char *body;
	size_t body_len;
	size_t body_cap;
	/* the body, once past REQUEST_SPOOL_BYTES: in an unlinked temporary
	 * file instead of body (request_body_append) */
	FILE *body_file;
	size_t body_limit; /* REQUEST_MAX_BODY, or the import limit */
	bool body_too_large;
	bool body_lost;            /* memory for the body ran out: answered 503 */
	bool replied;              /* the glue has queued the reply */
	bool in_pool;              /* handed to a pool; the connection waits, suspended */
	bool write_committed;      /* the pool committed its batch with this write's work */
	struct request *pool_next; /* a pool's queue (pools.c) */
	bool deferrable;           /* a slow-read pool would take it (reply_defer) */
	bool deferred;             /* the handler asked for it: run it again there */
	char request_id[129];      /* the client's X-Request-ID when sane, else a UUID */
	struct timespec started;

	/* filled by the dispatcher */
	const struct route *route;
	int64_t ids[2]; /* the {id} segments of the path, in order */
	int nids;
	json_t *json; /* the parsed body of a ROUTE_JSON_BODY route */
	struct db *db;
	char actor[65];     /* the token's name, or "anonymous" */
	int role;           /* enum role (auth.h) */
	const char *reason; /* the Change-Reason header, checked */
	/* the token's lookup sent ahead with the handler's first read
	 * (auth_lookup_ahead): settled by the dispatcher before the answer goes */
	struct db_stmt *auth_pending;
	char auth_hash[65];

	/* the reply */
	unsigned status;
	const char *content_type;
	char *out;
	size_t out_len;
	bool out_static; /* out points at memory that outlives the request */
	struct reply_header headers[REPLY_MAX_HEADERS];
	int nheaders;
	char oom_problem[REPLY_OOM_PROBLEM]; /* reply_out_of_memory's body */
	reply_stream_fn stream;              /* a streamed body instead of out */
	void *stream_cls;
	void (*stream_done)(void *cls);

	/* what a handler's preparation left for it (records_stage), freed with
	 * the request by staged_free */
	void *staged;
	void (*staged_free)(void *staged);
};

/* --- the request (request.c) ------------------------------------------ */

/* The first header field of that name (any case), or NULL. */
const char *request_header(const struct request *req, const char *name);
/* The first query parameter of that name (exact), or NULL. */
const char *request_query(const struct request *req, const char *name);
/* Calls fn for each query parameter in order; stops when fn returns non-zero
 * and returns that value. */
int request_query_each(const struct request *req,
		       int (*fn)(void *cls, const char *key, const char *value), void *cls);

/* A body larger than this (only a bulk import's may be) is kept in a
 * temporary file, not in memory. */
#define REQUEST_SPOOL_BYTES (4u << 20)
/* Appends n bytes to the body: in memory, or past REQUEST_SPOOL_BYTES in
 * req->body_file. False when memory or disk ran out (the body is then
 * incomplete: the request is answered 503). */
bool request_body_append(struct request *req, const char *data, size_t n);

/* Frees the request and everything hanging off it. */
void request_free(struct request *req);

/* --- replies: every answer goes through one of these ----------------- */

/* Every JSON answer is compact and ends with a newline (a shell prompt, a
 * log line and a streaming reader all expect it). */
/* Steals body. */
void reply_json(struct request *req, unsigned status, json_t *body);
/* The same, of another JSON media type (a literal): application/fhir+json. */
void reply_json_as(struct request *req, unsigned status, const char *content_type, json_t *body);
/* body's text as a JSON answer carries it, newline included (free it);
 * NULL when memory ran out. */
char *reply_json_text(const json_t *body);
void reply_empty(struct request *req, unsigned status);
/* Forgets the reply made so far, body and headers: a write whose batch
 * could not be committed is answered anew (writers.c). */
void reply_discard(struct request *req);
/* A handler about to do long work (a statistic not cached) asks for it to
 * be run again on the slow-read pool (pools.h), away from the HTTP
 * workers: true when it will be (the handler returns at once, answering
 * nothing); false when it is to do the work itself (no pool, or on it). */
bool reply_defer(struct request *req);
void reply_static(struct request *req, unsigned status, const char *content_type, const void *data,
		  size_t len);
/* A body written as it is sent: fn fills buf with up to max bytes and
 * returns how many, or REPLY_STREAM_END when done, or REPLY_STREAM_ERROR
 * (the connection is then closed). done frees cls once the answer is over. */
void reply_stream(struct request *req, unsigned status, const char *content_type,
		  reply_stream_fn fn, void *cls, void (*done)(void *cls));

/* A body streamed from f, an open file read from where it stands, closed
 * once the answer is over (stolen). */
void reply_stream_file(struct request *req, unsigned status, const char *content_type, FILE *f);
/* Steals data (malloc'd). */
void reply_owned(struct request *req, unsigned status, const char *content_type, char *data,
		 size_t len);
/* name must be a literal. A value too long to keep inline that cannot be
 * allocated is left out (and the failure noted: util.h). */
void reply_header(struct request *req, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Adds name to the answer's one Vary header (made if there is none), once:
 * "Vary: Accept, Accept-Encoding, Origin". name must be a literal. */
void reply_vary(struct request *req, const char *name);
/* Replaces the value of header i. */
void reply_header_set(struct request *req, int i, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Drops the headers added after the first n. */
void reply_headers_truncate(struct request *req, int n);
/* The 503 problem of a request that ran out of memory, made without
 * allocating (in req->oom_problem): no headers but Retry-After, no stream. */
void reply_out_of_memory(struct request *req);
/* Writes that body for request_id into out (REPLY_OOM_PROBLEM bytes), for
 * the glue when not even a struct request can be had; returns its length. */
size_t reply_out_of_memory_body(const char *request_id, char *out);
/* Called by the glue just before the answer is sent: when an allocation
 * failed during the request (util.h) and no write was committed, the answer
 * may be incomplete, and reply_out_of_memory replaces it. */
void reply_check_memory(struct request *req);

/* RFC 9457 problem+json. type is a URN from the list below or NULL for
 * about:blank; title is derived from the status. */
void reply_problem(struct request *req, unsigned status, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same, with an errors[] array (stolen) naming fields or parameters. */
void reply_problem_errors(struct request *req, unsigned status, const char *type, json_t *errors,
			  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same, with the members of an object (stolen) added to the problem. */
void reply_problem_members(struct request *req, unsigned status, const char *type, json_t *members,
			   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A request under /fhir: its problems are FHIR OperationOutcomes
 * (application/fhir+json), with the same statuses. */
bool reply_is_fhir(const struct request *req);
/* Maps a DB_ code to 404/409/503/507/500 with a fitting problem. */
void reply_db_error(struct request *req, int rc);

#define PROBLEM_MALFORMED_JSON         "urn:cohortd:problem:malformed-json"
#define PROBLEM_MALFORMED_REQUEST      "urn:cohortd:problem:malformed-request"
#define PROBLEM_UNSUPPORTED_CODING     "urn:cohortd:problem:unsupported-transfer-coding"
#define PROBLEM_INVALID_PARAMETER      "urn:cohortd:problem:invalid-parameter"
#define PROBLEM_NOT_FOUND              "urn:cohortd:problem:not-found"
#define PROBLEM_METHOD_NOT_ALLOWED     "urn:cohortd:problem:method-not-allowed"
#define PROBLEM_DUPLICATE              "urn:cohortd:problem:duplicate"
#define PROBLEM_HAS_DEPENDANTS         "urn:cohortd:problem:has-dependants"
#define PROBLEM_PRECONDITION_FAILED    "urn:cohortd:problem:precondition-failed"
#define PROBLEM_BODY_TOO_LARGE         "urn:cohortd:problem:body-too-large"
#define PROBLEM_UNSUPPORTED_MEDIA_TYPE "urn:cohortd:problem:unsupported-media-type"
#define PROBLEM_VALIDATION             "urn:cohortd:problem:validation"
#define PROBLEM_INTERNAL               "urn:cohortd:problem:internal"
#define PROBLEM_UNAVAILABLE            "urn:cohortd:problem:unavailable"
#define PROBLEM_STORAGE_FULL           "urn:cohortd:problem:storage-full"
#define PROBLEM_UNAUTHORIZED           "urn:cohortd:problem:unauthorized"
#define PROBLEM_FORBIDDEN              "urn:cohortd:problem:forbidden"
#define PROBLEM_IDEMPOTENCY_IN_FLIGHT  "urn:cohortd:problem:idempotency-key-in-flight"
#define PROBLEM_IDEMPOTENCY_MISMATCH   "urn:cohortd:problem:idempotency-key-reused"

const char *http_status_title(unsigned status);

#endif

/* The libmicrohttpd glue, and the only file that includes microhttpd.h.
 * It owns the daemon's limits (connections, per-IP, timeouts, header
 * memory), buffers each request body up to its route's limit
 * (REQUEST_MAX_BODY, or --max-import for NDJSON imports), hands the
 * request to the dispatcher, and sends the reply. A larger body is refused
 * (413) without being stored: from its Content-Length before any of it is
 * read when the client waits on Expect: 100-continue or declares more than
 * DRAIN_MAX_BODY past the limit (the connection is then closed); otherwise,
 * and for chunked bodies, it is discarded as it arrives, up to that, so that a
 * client still sending reads the 413 instead of a reset connection.
 * Requests are counted so that stopping can wait for the ones in flight.
 *
 * libmicrohttpd's connection timeout (--timeout) measures inactivity only,
 * so a client sending a byte every few seconds would hold a request open
 * for ever. A request must therefore arrive whole within --request-timeout
 * of its connection's opening (or of the previous answer on it), plus a
 * second per BODY_MIN_RATE bytes of body received, else its connection is
 * closed: by the access handler when a piece of body comes late
 * (libmicrohttpd cannot queue an answer before the body is in, so no 408
 * can be sent), by a sweeper thread that looks twice a second while the
 * headers are still coming. (Apache's mod_reqtimeout counts the same way.)
 *
 * The thread's allocation-failure flag (util.h) is cleared before each
 * dispatch and checked just before the answer is queued. Each callback that
 * can run a handler gives the worker's database connection back
 * (db_thread_done) before it returns, so that the sweeper may end an idle
 * worker's read snapshot. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "compress.h"
#include "cors.h"
#include "db.h"
#include "digest.h"
#include "framing.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "pools.h"
#include "router.h"
#include "server.h"
#include "util.h"

#define DRAIN_SECONDS 10
/* Per connection: request line, headers and reply headers (bodies are ours).
 * Kept small so that 1,000 open connections stay within a few MiB. */
#define CONNECTION_MEMORY (16 * 1024)
/* how much of a too-large body is read (and dropped) before answering */
#define DRAIN_MAX_BODY ((size_t)16 * REQUEST_MAX_BODY)
/* bytes of body that earn a request one more second past --request-timeout */
#define BODY_MIN_RATE ((size_t)64 * 1024)

struct server {
	struct MHD_Daemon *daemon;
	pthread_t sweeper;
};

/* Per connection (its socket context): since when its current request is
 * being received, and whether the access handler has seen it yet (then
 * its headers are in). Listed so that the sweeper can find the ones whose
 * headers are late; a connection leaves the list before its socket is
 * closed, so the sweeper never touches a socket number reused since. */
struct conn_clock {
	struct conn_clock *prev, *next;
	int fd;
	atomic_llong since_ms;
	atomic_bool awaiting_headers;
	bool cut;
	/* the current request's target decoded to a control character
	 * (unescape, below); cleared when the request completes */
	bool target_control;
};

static pthread_mutex_t clocks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn_clock clocks = {&clocks, &clocks, -1, 0, false, false, false};
static long long request_timeout_ms = 30 * 1000;
static atomic_bool sweeping;
static atomic_bool stopping; /* server_stop: new connections are turned away */

static bool write_pool;     /* writes go to the pool (pools.h), set at start */
static bool slow_read_pool; /* long reads go to theirs (reply_defer), set at start */

/* The ETag headers of the reply, in their "-gz" form. */
static void etags_to_gzip_form(struct request *req)
{
	for (int i = 0; i < req->nheaders; i++) {
		char *v = req->headers[i].value;
		size_t n = strlen(v);
		if (strcmp(req->headers[i].name, "ETag") == 0 && n >= 2 && v[n - 1] == '"')
			reply_header_set(req, i, "%.*s-gz\"", (int)(n - 1), v);
	}
}

/* gzip when the client accepts it and the answer is text worth it; Vary
 * tells caches that the encoding depends on Accept-Encoding. */
static void maybe_compress(struct request *req)
{
	const char *accept = request_header(req, "Accept-Encoding");
	if (req->status == 304) {
		const char *inm = request_header(req, "If-None-Match");
		if (gzip_accepted(accept) && inm && strstr(inm, "-gz\""))
			etags_to_gzip_form(req);
		return;
	}
	if (!compressible_type(req->content_type) || req->stream)
		return;
	reply_vary(req, "Accept-Encoding");
	if (req->out_len < COMPRESS_MIN_BYTES || !gzip_accepted(accept) ||
	    strcmp(req->method, "HEAD") == 0)
		return;
	size_t len = 0;
	char *gz = gzip_bytes(req->out, req->out_len, &len);
	if (!gz || len >= req->out_len) {
		free(gz);
		return;
	}
	if (!req->out_static)
		free(req->out);
	req->out = gz;
	req->out_len = len;
	req->out_static = false;
	reply_header(req, "Content-Encoding", "gzip");
	etags_to_gzip_form(req);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct request *req = cls;
	long n = req->stream(req->stream_cls, buf, max);
	db_thread_done(); /* a stream reads its pages as it goes (records.c) */
	if (n == REPLY_STREAM_END)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	req->out_len += (size_t)n;
	return (ssize_t)n;
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct request *req)
{
	struct MHD_Response *resp;
	maybe_compress(req);
	reply_check_memory(req);
	if (req->stream) {
		/* the request lives until the completion callback, after the last read */
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read,
							 req, NULL);
	} else if (req->out_static || !req->out) {
		resp = MHD_create_response_from_buffer(req->out_len, req->out,
						       MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_buffer_with_free_callback(req->out_len, req->out,
									  free);
		if (resp)
			req->out = NULL; /* the response frees it now */
	}
	if (!resp)
		return MHD_NO;
	if (req->content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, req->content_type);
	for (int i = 0; i < req->nheaders; i++)
		MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value);
	MHD_add_response_header(resp, "X-Request-ID", req->request_id);
	enum MHD_Result r = MHD_queue_response(conn, req->status, resp);
	MHD_destroy_response(resp);
	req->status = r == MHD_YES ? req->status : 0;
	return r;
}

/* Too large: from now on the body is counted (in body_len) and dropped. */
static void drop_body(struct request *req)
{
	req->body_too_large = true;
	free(req->body);
	req->body = NULL;
}

/* Too large, and not to be drained (Expect: 100-continue, a declared size
 * past the limit plus DRAIN_MAX_BODY, or a body still coming past that):
 * answer now if libmicrohttpd lets us (it then closes the connection without
 * reading the rest), else go on discarding and answer at the end. */
static void refuse_large_body(struct MHD_Connection *conn, struct request *req)
{
	alloc_failure_clear();
	router_dispatch(req);
	db_thread_done();
	if (send_reply(conn, req) == MHD_YES)
		req->replied = true;
}

/* The client's X-Request-ID when it is 1-128 of A-Z a-z 0-9 . _ : -,
 * else a fresh UUID: every answer carries it, as do audit rows and problems. */
static void assign_request_id(const char *id, char out[129])
{
	size_t n = id ? strlen(id) : 0;
	bool sane = n >= 1 && n <= 128;
	for (size_t i = 0; sane && i < n; i++)
		sane = (id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= 'a' && id[i] <= 'z') ||
		       (id[i] >= '0' && id[i] <= '9') || strchr("._:-", id[i]);
	if (sane)
		memcpy(out, id, n + 1);
	else
		request_uuid(out);
}

/* The state of a connection whose request could not even be given its
 * struct request: answered at once with the static 503, its body dropped. */
static char no_memory;

static enum MHD_Result refuse_for_memory(struct MHD_Connection *conn, void **state)
{
	*state = &no_memory;
	char id[129], body[REPLY_OOM_PROBLEM];
	assign_request_id(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-ID"), id);
	size_t len = reply_out_of_memory_body(id, body);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/problem+json");
	MHD_add_response_header(resp, "Retry-After", "1");
	MHD_add_response_header(resp, "X-Request-ID", id);
	enum MHD_Result r = MHD_queue_response(conn, 503, resp);
	MHD_destroy_response(resp);
	return r;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct conn_clock *clock_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return info ? info->socket_context : NULL;
}

/* The body earns time as it comes, like mod_reqtimeout's MinRate, so that
 * a large import over a slow link is not cut off; a body is capped in size,
 * so its time is too. */
static bool past_deadline(struct MHD_Connection *conn, const struct request *req)
{
	struct conn_clock *c = clock_of(conn);
	long long allowed = request_timeout_ms + (long long)(req->body_len / BODY_MIN_RATE) * 1000;
	return c && now_ms() - atomic_load(&c->since_ms) > allowed;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	struct conn_clock *c = *socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		c = xcalloc(1, sizeof *c);
		if (!c)
			return; /* out of memory: this connection goes without a deadline */
		c->fd = info ? info->connect_fd : -1;
		atomic_store(&c->since_ms, now_ms());
		atomic_store(&c->awaiting_headers, true);
		pthread_mutex_lock(&clocks_lock);
		c->next = clocks.next;
		c->prev = &clocks;
		clocks.next->prev = c;
		clocks.next = c;
		pthread_mutex_unlock(&clocks_lock);
		*socket_context = c;
	} else if (c) {
		pthread_mutex_lock(&clocks_lock);
		c->prev->next = c->next;
		c->next->prev = c->prev;
		pthread_mutex_unlock(&clocks_lock);
		free(c);
		*socket_context = NULL;
	}
}

/* Shuts down the connections whose request headers are not all in by the
 * deadline; libmicrohttpd then sees the socket fail and closes it. Flushes
 * the request log, and ends the read snapshots of idle workers (db.h). */
static void *sweep(void *cls)
{
	(void)cls;
	struct timespec pause = {0, 500 * 1000 * 1000};
	while (atomic_load(&sweeping)) {
		nanosleep(&pause, NULL);
		long long now = now_ms();
		pthread_mutex_lock(&clocks_lock);
		for (struct conn_clock *c = clocks.next; c != &clocks; c = c->next) {
			if (!c->cut && c->fd >= 0 && atomic_load(&c->awaiting_headers) &&
			    now - atomic_load(&c->since_ms) > request_timeout_ms) {
				shutdown(c->fd, SHUT_RDWR);
				c->cut = true;
			}
		}
		pthread_mutex_unlock(&clocks_lock);
		log_flush(); /* request lines wait at most this long */
		db_release_idle_snapshots();
	}
	return NULL;
}

/* libmicrohttpd's own percent-decoding of the path and of each query key
 * and value, noting a decoded control character: the handler sees C
 * strings, so a %00 would otherwise leave it the shorter path before it. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	size_t n = MHD_http_unescape(s);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7F) {
			struct conn_clock *clock = clock_of(conn);
			if (clock)
				clock->target_control = true;
			break;
		}
	}
	return n;
}

/* Was this field's line folded (obs-fold)? libmicrohttpd before 1.0 parses
 * each header line in place, the name ending where its colon was (now a
 * NUL) and the value after the optional whitespace, but joins a
 * continuation line to a new copy of the name: a value that does not
 * follow its name within one line was folded. From 1.0 on the library
 * refuses folded lines itself (MHD_OPTION_CLIENT_DISCIPLINE_LVL, below). */
static bool field_folded(const char *key, size_t key_len, const char *value)
{
#if MHD_VERSION < 0x01000000
	uintptr_t k = (uintptr_t)key, v = (uintptr_t)value;
	if (v <= k + key_len || v - k - key_len - 1 > 64)
		return true;
	if (key[key_len] != '\0')
		return true;
	for (const char *p = key + key_len + 1; p < value; p++)
		if (*p != ' ' && *p != '\t')
			return true;
	return false;
#else
	(void)key, (void)key_len, (void)value;
	return false;
#endif
}

/* The head as data: the glue's view of the request's header fields and
 * query parameters, copied into the request (pointers into libmicrohttpd's
 * memory, which lives as long as the request), each header field also run
 * through the framing checks. */
struct head_walk {
	struct request_field *into; /* the next free field */
	int *count;
	struct framing *framing; /* header fields are checked too; NULL for the query */
};

static enum MHD_Result take_field(void *cls, enum MHD_ValueKind kind, const char *key,
				  size_t key_len, const char *value, size_t value_len)
{
	(void)kind;
	struct head_walk *w = cls;
	if (w->framing)
		framing_field(w->framing, key, key_len, value ? value : "", value ? value_len : 0,
			      value && field_folded(key, key_len, value));
	*w->into++ = (struct request_field){key, value ? value : ""};
	(*w->count)++;
	return MHD_YES;
}

/* Fills the request's fields; false when memory for them ran out. */
static bool take_head(struct MHD_Connection *conn, struct request *req, struct framing *f)
{
	int nh = MHD_get_connection_values(conn, MHD_HEADER_KIND, NULL, NULL);
	int nq = MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, NULL, NULL);
	nh = nh > 0 ? nh : 0;
	nq = nq > 0 ? nq : 0;
	struct request_field *room = req->inline_fields;
	if (nh + nq > REQUEST_INLINE_FIELDS) {
		room = req->fields_alloc = xcalloc((size_t)(nh + nq), sizeof *room);
		if (!room)
			return false;
	}
	req->in_headers = room;
	req->in_query = room + nh;
	struct head_walk w = {room, &req->nin_headers, f};
	MHD_get_connection_values_n(conn, MHD_HEADER_KIND, take_field, &w);
	w = (struct head_walk){room + nh, &req->nin_query, NULL};
	MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, take_field, &w);
	return true;
}

/* The head's framing (framing.h), checked before anything else: a refusal
 * is answered at once, with Connection: close, and no byte of the body is
 * read (libmicrohttpd closes the connection after the answer). */
static bool framing_refused(struct MHD_Connection *conn, struct request *req, struct framing *f)
{
	struct conn_clock *c = clock_of(conn);
	if (c && c->target_control)
		framing_target_control(f);
	unsigned status = framing_end(f);
	if (!status)
		return false;
	drop_body(req);
	alloc_failure_clear();
	reply_problem(req, status,
		      status == 501 ? PROBLEM_UNSUPPORTED_CODING : PROBLEM_MALFORMED_REQUEST, "%s",
		      f->detail);
	reply_header(req, "Connection", "close");
	if (send_reply(conn, req) == MHD_YES)
		req->replied = true;
	return true;
}

/* Hands req to a pool; suspended before it is handed over, so that the
 * pool's resume always finds it suspended. */
static void hand_over(struct MHD_Connection *conn, struct request *req, enum pool_kind kind)
{
	req->in_pool = true;
	db_thread_done();
	MHD_suspend_connection(conn);
	pool_submit(kind, req);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **state)
{
	(void)cls;
	if (*state == &no_memory) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	struct request *req = *state;
	if (!req) {
		req = xcalloc(1, sizeof *req);
		if (!req)
			return refuse_for_memory(conn, state);
		req->conn = conn;
		req->method = method;
		req->path = url;
		clock_gettime(CLOCK_MONOTONIC, &req->started);
		*state = req;
		struct conn_clock *c = clock_of(conn);
		if (c)
			atomic_store(&c->awaiting_headers, false);
		metrics_request_begun();
		struct framing f;
		framing_begin(&f, version);
		if (!take_head(conn, req, &f)) {
			request_uuid(req->request_id);
			req->body_lost = true; /* answered 503 once the body is in */
			return MHD_YES;
		}
		assign_request_id(request_header(req, "X-Request-ID"), req->request_id);
		if (framing_refused(conn, req, &f))
			return MHD_YES;
		const char *length = request_header(req, "Content-Length");
		int64_t declared;
		req->body_limit = router_body_limit(method, url);
		if (length && parse_int64(length, &declared) &&
		    (uint64_t)declared > req->body_limit) {
			/* Decided from the header, before any of the body is read: a
			 * client waiting on Expect: 100-continue never sends it. */
			const char *expect = request_header(req, "Expect");
			drop_body(req);
			if (expect || (uint64_t)declared > req->body_limit + DRAIN_MAX_BODY)
				refuse_large_body(conn, req);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		/* past the deadline with the body still coming: closed, since
		 * libmicrohttpd cannot queue an answer before the body is in */
		if (past_deadline(conn, req))
			return MHD_NO;
		if (!req->body_too_large && req->body_len + n > req->body_limit)
			drop_body(req);
		if (req->body_lost)
			return MHD_YES;
		if (req->body_too_large) {
			size_t drain = req->body_limit + DRAIN_MAX_BODY;
			bool crossing = req->body_len <= drain && req->body_len + n > drain;
			req->body_len += n;
			if (crossing && !req->replied)
				refuse_large_body(conn, req);
			return MHD_YES;
		}
		if (!request_body_append(req, upload_data, n)) {
			/* the rest is read and dropped; the answer is a 503 */
			free(req->body);
			req->body = NULL;
			req->body_lost = true;
		}
		return MHD_YES;
	}
	if (req->replied)
		return MHD_YES;
	alloc_failure_clear();
	if (req->in_pool) {
		/* called again once a pool has resumed the connection; the
		 * pool has checked the answer against its own thread's
		 * allocation failures (pools.c) */
		req->in_pool = false;
		if (req->write_committed)
			alloc_commit_note();
		req->replied = true;
		return send_reply(conn, req);
	}
	if (req->body_lost) {
		reply_out_of_memory(req);
	} else if (req->body_too_large && req->status != 0) {
		/* refused from its Content-Length already (refuse_large_body) */
	} else if (!router_prepare(req)) {
		cors_decorate(req); /* answered by a precondition */
	} else if (write_pool && (req->route->flags & ROUTE_WRITES)) {
		/* the preconditions were checked here, in parallel with the pool;
		 * the handler runs there, unless memory ran short meanwhile */
		if (alloc_failure_seen()) {
			reply_out_of_memory(req);
		} else {
			hand_over(conn, req, POOL_WRITES);
			return MHD_YES;
		}
	} else {
		req->deferrable = slow_read_pool;
		router_run(req);
		if (req->deferred) {
			req->deferred = req->deferrable = false;
			hand_over(conn, req, POOL_SLOW_READS);
			return MHD_YES;
		}
	}
	db_thread_done();
	req->replied = true;
	return send_reply(conn, req);
}

/* A pool is done with req: its connection goes back to the HTTP worker
 * that owns it, which sends the reply (on_request, above). */
static void pool_done(struct request *req)
{
	MHD_resume_connection(req->conn);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
			 enum MHD_RequestTerminationCode code)
{
	(void)cls;
	struct conn_clock *c = clock_of(conn);
	if (c) {
		/* the next request on this connection starts its clock now */
		atomic_store(&c->since_ms, now_ms());
		atomic_store(&c->awaiting_headers, true);
		c->target_control = false;
	}
	struct request *req = *state;
	*state = NULL;
	if (!req || req == (void *)&no_memory)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double seconds = (double)(now.tv_sec - req->started.tv_sec) +
			 (double)(now.tv_nsec - req->started.tv_nsec) / 1e9;
	metrics_observe(req->route, req->method, req->status, seconds);
	/* what was asked and answered: never a token, a body, or a raw path
	 * (the route template names what was served) */
	log_request(req->request_id, req->method, req->route ? req->route->pattern : NULL,
		    req->status, req->out_len, (long long)(seconds * 1e6),
		    req->actor[0] ? req->actor : NULL, code != MHD_REQUEST_TERMINATED_COMPLETED_OK);
	request_free(req);
	metrics_request_ended();
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_write(LOG_WARN, "http", json_pack("{s:s}", "detail", msg));
}

/* Once the server is stopping, a new connection is closed as it comes, and
 * the listening socket stays open until the end. (libmicrohttpd's own
 * MHD_quiesce_daemon, used before, races with its epoll workers: both take
 * the listening socket out of a worker's epoll set, and the one that finds
 * it gone aborts the process; an open defect of libmicrohttpd, seen here
 * once as "Failed to remove listen FD from epoll set" at a stop.) */
static enum MHD_Result accept_connection(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	(void)cls;
	(void)addr;
	(void)addrlen;
	return atomic_load(&stopping) ? MHD_NO : MHD_YES;
}

struct server *server_start(const struct config *cfg, unsigned *port_out)
{
	struct sockaddr_storage addr = {0};
	struct sockaddr_in *v4 = (struct sockaddr_in *)&addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG | MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME;
	if (inet_pton(AF_INET, cfg->bind, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)cfg->port);
	} else if (inet_pton(AF_INET6, cfg->bind, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)cfg->port);
		flags |= MHD_USE_IPv6;
	} else {
		log_write(LOG_ERROR, "--bind is not an IPv4 or IPv6 address",
			  json_pack("{s:s}", "bind", cfg->bind));
		return NULL;
	}

	struct server *srv = xcalloc(1, sizeof *srv);
	if (!srv)
		return NULL;
	request_timeout_ms = (long long)cfg->request_timeout_seconds * 1000;
	/* one option and its value to a line */
	/* clang-format off */
	atomic_store(&stopping, false);
	srv->daemon = MHD_start_daemon(
		flags, (uint16_t)cfg->port, accept_connection, NULL, on_request, NULL,
		MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->connection_limit,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)cfg->per_ip_limit,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->timeout_seconds,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
#if MHD_VERSION >= 0x01000000
		MHD_OPTION_CLIENT_DISCIPLINE_LVL, (int)1,
#endif
		MHD_OPTION_END);
	/* clang-format on */
	if (!srv->daemon) {
		log_write(LOG_ERROR, "cannot listen",
			  json_pack("{s:s, s:i}", "bind", cfg->bind, "port", (int)cfg->port));
		free(srv);
		return NULL;
	}
	write_pool =
		cfg->write_threads > 0 && pool_start(POOL_WRITES, cfg->write_threads, pool_done);
	slow_read_pool = cfg->stats_threads > 0 &&
			 pool_start(POOL_SLOW_READS, cfg->stats_threads, pool_done);
	atomic_store(&sweeping, true);
	if (pthread_create(&srv->sweeper, NULL, sweep, NULL) != 0)
		abort();
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	*port_out = info ? info->port : cfg->port;
	return srv;
}

/* Stop accepting (accept_connection), give the requests in flight up to
 * DRAIN_SECONDS to be answered, then stop the workers. */
void server_stop(struct server *srv)
{
	if (!srv)
		return;
	atomic_store(&stopping, true);
	struct timespec pause = {0, 10 * 1000 * 1000};
	for (int i = 0; i < DRAIN_SECONDS * 100 && metrics_requests_in_flight() > 0; i++)
		nanosleep(&pause, NULL);
	/* every handed-over write answered and its connection resumed: the
	 * daemon must not be stopped with a connection suspended */
	if (write_pool)
		pool_stop(POOL_WRITES);
	if (slow_read_pool)
		pool_stop(POOL_SLOW_READS);
	write_pool = slow_read_pool = false;
	MHD_stop_daemon(srv->daemon);
	log_flush();
	atomic_store(&sweeping, false);
	pthread_join(srv->sweeper, NULL);
	free(srv);
}

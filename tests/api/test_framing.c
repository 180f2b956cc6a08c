/* Request framing (RFC 9112) on a raw socket, as a proxy in front of
 * cohortd would pass it on: conflicting Content-Length fields, Content-Length
 * with Transfer-Encoding, transfer codings other than chunked, whitespace
 * before a header's colon, obs-fold, a missing or doubled Host, a doubled
 * Authorization. Each is refused with its status and the connection closed,
 * nothing is written (records and audit rows), and a request smuggled in
 * the body of the first is never answered. Every request carries a valid
 * patient, so a head that was let through would create one. Control
 * characters decoded from any part of the request target are refused too,
 * never served as the shorter path a NUL would leave. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"

#define MALFORMED "urn:cohortd:problem:malformed-request"
#define CODING    "urn:cohortd:problem:unsupported-transfer-coding"

struct raw {
	char *data; /* everything the server sent, NUL-terminated */
	size_t len;
	bool closed;  /* the server closed the connection */
	int answers;  /* status lines received */
	int status;   /* of the first */
	int others;   /* status lines with another status than the first */
	json_t *json; /* the first answer's body, when JSON */
};

static void raw_free(struct raw *r)
{
	free(r->data);
	json_decref(r->json);
}

/* Sends request and reads what comes back until the server closes the
 * connection or is silent for two seconds. */
static struct raw exchange(const char *request, size_t len)
{
	struct raw r = {0};
	int fd = api_connect();
	struct timeval tv = {.tv_sec = 2};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	for (size_t sent = 0; sent < len;) {
		ssize_t n = send(fd, request + sent, len - sent, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	size_t cap = 1 << 16;
	r.data = calloc(1, cap + 1);
	for (;;) {
		ssize_t n = recv(fd, r.data + r.len, cap - r.len, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			r.closed = true;
			break;
		}
		if (n < 0)
			break; /* silent: still open */
		r.len += (size_t)n;
		ck_assert_uint_lt(r.len, cap);
	}
	close(fd);
	r.data[r.len] = '\0';
	sscanf(r.data, "HTTP/1.1 %d", &r.status);
	for (const char *p = r.data; (p = strstr(p, "HTTP/1.1 ")) != NULL; p++) {
		int status = 0;
		if (p != r.data && p[-1] != '\n')
			continue;
		r.answers++;
		sscanf(p, "HTTP/1.1 %d", &status);
		r.others += status != r.status;
	}
	const char *body = strstr(r.data, "\r\n\r\n");
	if (body)
		r.json = json_loadb(body + 4, r.len - (size_t)(body + 4 - r.data),
				    JSON_DISABLE_EOF_CHECK, NULL);
	return r;
}

/* The value of a header in the first answer, or NULL (static buffer). */
static const char *raw_header(const struct raw *r, const char *name)
{
	static char value[256];
	size_t n = strlen(name);
	const char *end = strstr(r->data, "\r\n\r\n");
	for (const char *p = strstr(r->data, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
			const char *v = p + 3 + n + strspn(p + 3 + n, " ");
			snprintf(value, sizeof value, "%.*s", (int)strcspn(v, "\r"), v);
			return value;
		}
	}
	return NULL;
}

/* A valid patient's JSON (a new code each time). */
static char *patient_body(void)
{
	json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s}", "code", unique_code("FR"), "histology",
			      "melanoma", "setting", "metastatic", "regimen", "il2_alone",
			      "enrolled_on", "1986-02-03");
	char *s = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	return s;
}

/* POST /patients with the given header lines (each ending in CRLF) between
 * the request line and the blank line, then body. */
static char *post_patient(const char *version, const char *lines, const char *body)
{
	char *req = NULL;
	ck_assert_int_gt(asprintf(&req,
				  "POST /patients %s\r\n%sAuthorization: Bearer %s\r\n"
				  "Content-Type: application/json\r\n\r\n%s",
				  version, lines, api_admin_token(), body),
			 0);
	return req;
}

/* Sends request; asserts one answer with status (and type, when a
 * problem+json is expected), the connection closed, and nothing written. */
static void assert_framing_refused(const char *request, int status, const char *type)
{
	char *before = db_fingerprint();
	struct raw r = exchange(request, strlen(request));
	ck_assert_msg(r.status == status, "%d, not %d, for:\n%s\n---\n%s", r.status, status,
		      request, r.data);
	ck_assert_msg(r.closed, "the connection was left open after:\n%s", request);
	/* libmicrohttpd 0.9.75 sends the head of its own refusals twice */
	ck_assert_msg(r.answers == 1 || (!type && r.others == 0), "%d answers to:\n%s\n---\n%s",
		      r.answers, request, r.data);
	if (type) {
		ck_assert_str_eq(raw_header(&r, "Content-Type"), "application/problem+json");
		ck_assert_str_eq(raw_header(&r, "Connection"), "close");
		ck_assert_ptr_nonnull(raw_header(&r, "X-Request-ID"));
		ck_assert_ptr_nonnull(r.json);
		ck_assert_str_eq(json_string_value(json_object_get(r.json, "type")), type);
		ck_assert_int_eq(json_integer_value(json_object_get(r.json, "status")), status);
		ck_assert_str_eq(json_string_value(json_object_get(r.json, "request_id")),
				 raw_header(&r, "X-Request-ID"));
		traffic_record_raw(request, r.data, r.len);
	}
	assert_unchanged(before);
	raw_free(&r);
}

/* The head with lines, a valid patient body and its true length. */
static void assert_head_refused(const char *lines_fmt, int status, const char *type)
{
	char *body = patient_body(), *lines = NULL, *req;
	ck_assert_int_gt(asprintf(&lines, lines_fmt, strlen(body)), 0);
	req = post_patient("HTTP/1.1", lines, body);
	assert_framing_refused(req, status, type);
	free(req);
	free(lines);
	free(body);
}

START_TEST(test_content_length_twice_with_different_values_is_400_and_closed)
{
	assert_head_refused("Host: x\r\nContent-Length: %zu\r\nContent-Length: 2\r\n", 400,
			    MALFORMED);
	assert_head_refused("Host: x\r\nContent-Length: 0\r\nContent-Length: %zu\r\n", 400,
			    MALFORMED);
}
END_TEST

START_TEST(test_content_length_list_of_different_values_is_400_and_closed)
{
	/* libmicrohttpd 0.9.75 refuses a list itself, with its own HTML page
	 * (README: what the library answers); the status and the close hold */
	assert_head_refused("Host: x\r\nContent-Length: %zu, 2\r\n", 400, NULL);
}
END_TEST

/* The head (version, lines with %zu for the body's length) is served: one
 * answer, 201, and one patient more. */
static void assert_head_served(const char *version, const char *lines_fmt)
{
	char *body = patient_body(), *lines = NULL, *req;
	ck_assert_int_gt(asprintf(&lines, lines_fmt, strlen(body), strlen(body)), 0);
	req = post_patient(version, lines, body);
	int64_t before = db_count("patients");
	struct raw r = exchange(req, strlen(req));
	ck_assert_msg(r.status == 201, "%s\n---\n%s", req, r.data);
	ck_assert_int_eq(r.answers, 1);
	ck_assert_int_eq(db_count("patients"), before + 1);
	raw_free(&r);
	free(req);
	free(lines);
	free(body);
}

START_TEST(test_content_length_twice_with_one_value_is_served)
{
	assert_head_served("HTTP/1.1", "Host: x\r\nContent-Length: %zu\r\nContent-Length: %zu\r\n");
}
END_TEST

START_TEST(test_transfer_encoding_with_content_length_is_400_and_closed)
{
	char *body = patient_body(), *req = NULL;
	ck_assert_int_gt(
		asprintf(&req,
			 "POST /patients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%s\r\n0\r\n\r\n",
			 api_admin_token(), strlen(body), strlen(body), body),
		0);
	assert_framing_refused(req, 400, MALFORMED);
	free(req);
	free(body);
}
END_TEST

/* A chunked body of body, under the given Transfer-Encoding lines. */
static char *chunked_post(const char *encoding_lines, const char *body)
{
	char *req = NULL;
	ck_assert_int_gt(
		asprintf(&req,
			 "POST /patients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
			 "Content-Type: application/json\r\n%s\r\n%zx\r\n%s\r\n0\r\n\r\n",
			 api_admin_token(), encoding_lines, strlen(body), body),
		0);
	return req;
}

START_TEST(test_transfer_codings_other_than_chunked_are_501_and_closed)
{
	static const char *const codings[] = {
		"Transfer-Encoding: gzip\r\n", "Transfer-Encoding: gzip, chunked\r\n",
		"Transfer-Encoding: identity\r\n",
		"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", NULL};
	for (const char *const *c = codings; *c; c++) {
		char *body = patient_body(), *req = chunked_post(*c, body);
		assert_framing_refused(req, 501, CODING);
		free(req);
		free(body);
	}
}
END_TEST

START_TEST(test_chunked_not_last_or_twice_is_400_and_closed)
{
	static const char *const codings[] = {
		"Transfer-Encoding: chunked, gzip\r\n",
		"Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n",
		"Transfer-Encoding: chunked, chunked\r\n", "Transfer-Encoding: \r\n", NULL};
	for (const char *const *c = codings; *c; c++) {
		char *body = patient_body(), *req = chunked_post(*c, body);
		assert_framing_refused(req, 400, MALFORMED);
		free(req);
		free(body);
	}
}
END_TEST

START_TEST(test_chunked_alone_is_served)
{
	char *body = patient_body(), *req = chunked_post("Transfer-Encoding: chunked\r\n", body);
	int64_t before = db_count("patients");
	struct raw r = exchange(req, strlen(req));
	ck_assert_msg(r.status == 201, "%s", r.data);
	ck_assert_int_eq(db_count("patients"), before + 1);
	raw_free(&r);
	free(req);
	free(body);
}
END_TEST

START_TEST(test_whitespace_before_a_colon_is_400_and_closed)
{
	assert_head_refused("Host : x\r\nContent-Length: %zu\r\n", 400, MALFORMED);
	assert_head_refused("Host: x\r\nContent-Length\t: %zu\r\n", 400, MALFORMED);
	assert_head_refused("Host: x\r\nX-Note : a\r\nContent-Length: %zu\r\n", 400, MALFORMED);
}
END_TEST

START_TEST(test_obs_fold_is_400_and_closed)
{
	assert_head_refused("Host: x\r\nX-Note: a\r\n b\r\nContent-Length: %zu\r\n", 400,
			    MALFORMED);
	assert_head_refused("Host: x\r\nContent-Length: %zu\r\nX-Note: a\r\n\tb\r\n", 400,
			    MALFORMED);
}
END_TEST

START_TEST(test_http11_without_host_or_with_two_is_400_and_closed)
{
	assert_head_refused("Content-Length: %zu\r\n", 400, MALFORMED);
	assert_head_refused("Host: a\r\nHost: b\r\nContent-Length: %zu\r\n", 400, MALFORMED);
	assert_head_refused("Host: a\r\nHost: a\r\nContent-Length: %zu\r\n", 400, MALFORMED);
}
END_TEST

START_TEST(test_http10_without_host_is_served)
{
	assert_head_served("HTTP/1.0", "Content-Length: %zu\r\n");
}
END_TEST

START_TEST(test_two_authorization_headers_are_400_and_closed)
{
	char *lines = NULL;
	ck_assert_int_gt(asprintf(&lines,
				  "Host: x\r\nAuthorization: Bearer %s\r\nContent-Length: %%zu\r\n",
				  api_admin_token()),
			 0);
	assert_head_refused(lines, 400, MALFORMED);
	free(lines);
}
END_TEST

/* A second request in the body of the first, the way each smuggling
 * pattern hides it: only the first is ever answered. */
START_TEST(test_a_request_smuggled_in_a_body_is_never_answered)
{
	char *inner_body = patient_body(), *inner = NULL;
	ck_assert_int_gt(
		asprintf(&inner,
			 "POST /patients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			 api_admin_token(), strlen(inner_body), inner_body),
		0);
	char *cl_cl = NULL, *cl_te = NULL, *te_te = NULL;
	/* CL.CL: a front end taking the first length forwards the inner request as
	 * the next one; one taking the second, as this body */
	ck_assert_int_gt(
		asprintf(&cl_cl,
			 "POST /patients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
			 "Content-Type: application/json\r\nContent-Length: 0\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 api_admin_token(), strlen(inner), inner),
		0);
	/* CL.TE: the chunked body ends at once; the length covers the inner request */
	ck_assert_int_gt(
		asprintf(&cl_te,
			 "POST /patients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n%s",
			 api_admin_token(), strlen(inner) + 5, inner),
		0);
	/* TE.TE: an obfuscated second coding one side ignores */
	ck_assert_int_gt(
		asprintf(&te_te,
			 "POST /patients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
			 "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
			 "Transfer-Encoding: cow\r\n\r\n0\r\n\r\n%s",
			 api_admin_token(), inner),
		0);
	assert_framing_refused(cl_cl, 400, MALFORMED);
	assert_framing_refused(cl_te, 400, MALFORMED);
	assert_framing_refused(te_te, 400, MALFORMED);
	free(cl_cl);
	free(cl_te);
	free(te_te);
	free(inner);
	free(inner_body);
}
END_TEST

/* --- control characters in the request target ---------------------------- */

START_TEST(test_control_characters_anywhere_in_the_target_are_400)
{
	int64_t id = make_patient(NULL);
	char paths[16][96];
	int n = 0;
	snprintf(paths[n++], 96, "/patients%%00/%lld", (long long)id);
	snprintf(paths[n++], 96, "/patients/%lld%%00", (long long)id);
	snprintf(paths[n++], 96, "/patients/%lld%%00/history", (long long)id);
	snprintf(paths[n++], 96, "/patients/%%00%lld", (long long)id);
	snprintf(paths[n++], 96, "/%%00patients/%lld", (long long)id);
	snprintf(paths[n++], 96, "/patients/%lld/courses%%0a", (long long)id);
	snprintf(paths[n++], 96, "/patients%%09");
	snprintf(paths[n++], 96, "/stats/response%%7f");
	snprintf(paths[n++], 96, "/stats%%0d/response");
	snprintf(paths[n++], 96, "/healthz%%00");
	snprintf(paths[n++], 96, "/patients?code=a%%00b");
	snprintf(paths[n++], 96, "/patients?co%%00de=a");
	snprintf(paths[n++], 96, "/patients?code=%%1b");
	snprintf(paths[n++], 96, "/patients?%%00=1");
	for (int i = 0; i < n; i++) {
		struct resp *r = http_get(paths[i]);
		ck_assert_msg(r->status == 400, "%s: %ld %s", paths[i], r->status, r->body);
		assert_problem(r, 400, MALFORMED);
		resp_free(r);
	}
	/* and on a write: nothing changes */
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld%%00", (long long)id);
	assert_refused("PATCH", path, (const char *const[]){"Content-Type: application/json", NULL},
		       "{\"age\":50}", 400, MALFORMED, NULL);
	assert_refused("DELETE", path, NULL, NULL, 400, MALFORMED, NULL);
}
END_TEST

START_TEST(test_encoded_characters_that_are_not_controls_still_route)
{
	int64_t id = make_patient(NULL);
	char path[64];
	/* %61 is an a, and %20 a space: neither is a control character */
	snprintf(path, sizeof path, "/p%%61tients/%lld", (long long)id);
	struct resp *r = http_get("/p%61tients?limit=1");
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
	r = http_get("/patients%20");
	assert_problem(r, 404, "urn:cohortd:problem:not-found");
	resp_free(r);
	r = http_get(path);
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
}
END_TEST

/* The connection goes on after a request that was served, and after a
 * framing refusal the next connection is served as ever. */
START_TEST(test_serving_goes_on_after_refusals)
{
	assert_head_refused("Host: a\r\nHost: b\r\nContent-Length: %zu\r\n", 400, MALFORMED);
	struct resp *r = http_get("/healthz");
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("test_framing", &tc);
	tcase_add_test(tc, test_content_length_twice_with_different_values_is_400_and_closed);
	tcase_add_test(tc, test_content_length_list_of_different_values_is_400_and_closed);
	tcase_add_test(tc, test_content_length_twice_with_one_value_is_served);
	tcase_add_test(tc, test_transfer_encoding_with_content_length_is_400_and_closed);
	tcase_add_test(tc, test_transfer_codings_other_than_chunked_are_501_and_closed);
	tcase_add_test(tc, test_chunked_not_last_or_twice_is_400_and_closed);
	tcase_add_test(tc, test_chunked_alone_is_served);
	tcase_add_test(tc, test_whitespace_before_a_colon_is_400_and_closed);
	tcase_add_test(tc, test_obs_fold_is_400_and_closed);
	tcase_add_test(tc, test_http11_without_host_or_with_two_is_400_and_closed);
	tcase_add_test(tc, test_http10_without_host_is_served);
	tcase_add_test(tc, test_two_authorization_headers_are_400_and_closed);
	tcase_add_test(tc, test_a_request_smuggled_in_a_body_is_never_answered);
	tcase_add_test(tc, test_control_characters_anywhere_in_the_target_are_400);
	tcase_add_test(tc, test_encoded_characters_that_are_not_controls_still_route);
	tcase_add_test(tc, test_serving_goes_on_after_refusals);
	return run_suite(s);
}

/* HTTP-level behaviour that every route shares: 404 for paths no route
 * matches (including malformed ids and a trailing slash), 405 with the exact
 * Allow header, OPTIONS, HEAD, entity tags (ETag on every record answer,
 * If-None-Match -> 304, If-Match -> 412 on a stale version), Location, a
 * large body to an unknown route, keep-alive reuse, and concurrent writes. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define NOT_FOUND     "urn:cohortd:problem:not-found"
#define NOT_ALLOWED   "urn:cohortd:problem:method-not-allowed"
#define PRECONDITION  "urn:cohortd:problem:precondition-failed"
#define TOO_LARGE     "urn:cohortd:problem:body-too-large"
#define INVALID_PARAM "urn:cohortd:problem:invalid-parameter"

static const char *const json_ct[] = {"Content-Type: application/json", NULL};

/* --- helpers -------------------------------------------------------------- */

static struct resp *get_with(const char *path, const char *header)
{
	const char *const headers[] = {header, NULL};
	return http("GET", path, headers, NULL, 0);
}

static void patient_path(char *out, size_t len, int64_t id)
{
	snprintf(out, len, "/patients/%lld", (long long)id);
}

/* Asserts a 405 with exactly this Allow header; nothing written. */
static void assert_not_allowed(const char *method, const char *path, const char *allow)
{
	char *before = db_fingerprint();
	const char *body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
					   strcmp(method, "PATCH") == 0
				   ? "{}"
				   : NULL;
	struct resp *r = http(method, path, body ? json_ct : NULL, body, body ? 2 : 0);
	assert_problem(r, 405, NOT_ALLOWED);
	const char *got = resp_header(r, "Allow");
	ck_assert_msg(got != NULL, "%s %s: no Allow header", method, path);
	ck_assert_str_eq(got, allow);
	assert_unchanged(before);
	resp_free(r);
}

static void assert_no_route(const char *method, const char *path)
{
	struct resp *r = http(method, path, NULL, NULL, 0);
	assert_problem(r, 404, NOT_FOUND);
	resp_free(r);
}

static void assert_etag(const struct resp *r, int64_t version)
{
	char want[32];
	snprintf(want, sizeof want, "\"%lld\"", (long long)version);
	const char *etag = resp_header(r, "ETag");
	ck_assert_msg(etag != NULL, "no ETag: %s", r->headers);
	ck_assert_str_eq(etag, want);
}

/* --- routing: 404 ----------------------------------------------------- */

START_TEST(test_unknown_path_is_404)
{
	assert_no_route("GET", "/nope");
	assert_no_route("GET", "/dashboard"); /* "/" is the dashboard (test_dashboard.c) */
	assert_no_route("GET", "/dashboard/");
	assert_no_route("GET", "//");
	assert_no_route("GET", "/patient");
	assert_no_route("GET", "/PATIENTS");
	assert_no_route("GET", "/patients/1/nope");
	assert_no_route("GET", "/patients/1/courses/1");
	assert_no_route("DELETE", "/nope");
	assert_refused("POST", "/nope", json_ct, "{}", 404, NOT_FOUND, NULL);
}
END_TEST

START_TEST(test_malformed_ids_are_404)
{
	make_patient(NULL);
	assert_no_route("GET", "/patients/abc");
	assert_no_route("GET", "/patients/0");
	assert_no_route("GET", "/patients/01");
	assert_no_route("GET", "/patients/-1");
	assert_no_route("GET", "/patients/1.0");
	assert_no_route("GET", "/patients/1a");
	assert_no_route("GET", "/patients/99999999999999999999");
	assert_no_route("GET", "/patients/0/courses");
	assert_no_route("DELETE", "/patients/abc");
}
END_TEST

START_TEST(test_trailing_slash_is_404)
{
	assert_no_route("GET", "/patients/");
	assert_no_route("GET", "/healthz/");
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld/", (long long)id);
	assert_no_route("GET", path);
	assert_no_route("GET", "//patients");
}
END_TEST

START_TEST(test_unknown_id_is_404_on_every_method)
{
	assert_no_route("GET", "/patients/987654321");
	struct resp *r = http("HEAD", "/patients/987654321", NULL, NULL, 0);
	ck_assert_int_eq(r->status, 404);
	ck_assert_uint_eq(r->len, 0);
	ck_assert_str_eq(resp_header(r, "Content-Type"), "application/problem+json");
	resp_free(r);
	assert_refused("DELETE", "/patients/987654321", NULL, NULL, 404, NOT_FOUND, NULL);
	const char *const merge[] = {"Content-Type: application/merge-patch+json", NULL};
	assert_refused("PATCH", "/patients/987654321", merge, "{\"age\":3}", 404, NOT_FOUND, NULL);
	assert_no_route("GET", "/patients/987654321/courses");
}
END_TEST

START_TEST(test_query_string_is_checked_after_routing)
{
	int64_t id = make_patient(NULL);
	char path[96];
	snprintf(path, sizeof path, "/patients/%lld?x=1", (long long)id);
	/* a route that takes no parameters refuses one */
	assert_refused("GET", path, NULL, NULL, 400, INVALID_PARAM, "x");
	char *body = NULL;
	json_t *b = json_pack("{s:s, s:s, s:s, s:s, s:s}", "code", unique_code("Q"), "histology",
			      "melanoma", "setting", "metastatic", "regimen", "il2_alone",
			      "enrolled_on", "1985-01-10");
	body = json_dumps(b, JSON_COMPACT);
	assert_refused("POST", "/patients?dry_run=true", json_ct, body, 400, INVALID_PARAM,
		       "dry_run");
	/* but 404 and 405 come first */
	struct resp *r = http_get("/nope?limit=1");
	assert_problem(r, 404, NOT_FOUND);
	resp_free(r);
	assert_not_allowed("PUT", "/patients?limit=1", "GET, HEAD, POST");
	json_decref(b);
	free(body);
}
END_TEST

/* --- routing: 405 and OPTIONS --------------------------------------------- */

START_TEST(test_wrong_method_on_collection_is_405_with_allow)
{
	assert_not_allowed("PUT", "/patients", "GET, HEAD, POST");
	assert_not_allowed("DELETE", "/patients", "GET, HEAD, POST");
	assert_not_allowed("PATCH", "/patients", "GET, HEAD, POST");
	assert_not_allowed("PUT", "/courses", "GET, HEAD, POST");
	assert_not_allowed("DELETE", "/toxicities", "GET, HEAD, POST");
}
END_TEST

START_TEST(test_wrong_method_on_record_is_405_with_allow)
{
	int64_t id = make_patient(NULL);
	char path[64];
	patient_path(path, sizeof path, id);
	assert_not_allowed("POST", path, "GET, HEAD, PATCH, DELETE");
	assert_not_allowed("PUT", path, "GET, HEAD, PATCH, DELETE");
	/* a record that does not exist: the route is still known */
	assert_not_allowed("POST", "/outcomes/987654321", "GET, HEAD, PATCH, DELETE");
	snprintf(path, sizeof path, "/patients/%lld/courses", (long long)id);
	assert_not_allowed("POST", path, "GET, HEAD");
	assert_not_allowed("DELETE", path, "GET, HEAD");
}
END_TEST

START_TEST(test_wrong_method_on_operational_routes_is_405)
{
	assert_not_allowed("PATCH", "/healthz", "GET, HEAD");
	assert_not_allowed("POST", "/healthz", "GET, HEAD");
	assert_not_allowed("DELETE", "/readyz", "GET, HEAD");
	assert_not_allowed("PUT", "/openapi.yaml", "GET, HEAD");
}
END_TEST

START_TEST(test_made_up_method_is_405)
{
	assert_not_allowed("BREW", "/patients", "GET, HEAD, POST");
	assert_not_allowed("BREW", "/healthz", "GET, HEAD");
	int64_t id = make_patient(NULL);
	char path[64];
	patient_path(path, sizeof path, id);
	assert_not_allowed("PROPFIND", path, "GET, HEAD, PATCH, DELETE");
	/* methods are case-sensitive */
	assert_not_allowed("get", "/patients", "GET, HEAD, POST");
}
END_TEST

START_TEST(test_options_is_204_with_allow)
{
	static const struct {
		const char *path, *allow;
	} cases[] = {
		{"/patients", "GET, HEAD, POST, OPTIONS"},
		{"/patients/1", "GET, HEAD, PATCH, DELETE, OPTIONS"},
		{"/patients/1/toxicities", "GET, HEAD, OPTIONS"},
		{"/healthz", "GET, HEAD, OPTIONS"},
	};
	char *before = db_fingerprint();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct resp *r = http("OPTIONS", cases[i].path, NULL, NULL, 0);
		ck_assert_msg(r->status == 204, "OPTIONS %s -> %ld", cases[i].path, r->status);
		ck_assert_uint_eq(r->len, 0);
		const char *allow = resp_header(r, "Allow");
		ck_assert_ptr_nonnull(allow);
		ck_assert_str_eq(allow, cases[i].allow);
		resp_free(r);
	}
	assert_unchanged(before);
	assert_no_route("OPTIONS", "/nope");
}
END_TEST

/* --- HEAD ------------------------------------------------------------------- */

START_TEST(test_head_record_is_200_with_etag_and_no_body)
{
	int64_t id = make_patient(NULL);
	char path[64];
	patient_path(path, sizeof path, id);
	struct resp *g = http_get(path);
	ck_assert_int_eq(g->status, 200);
	struct resp *h = http("HEAD", path, NULL, NULL, 0);
	ck_assert_int_eq(h->status, 200);
	ck_assert_uint_eq(h->len, 0);
	assert_etag(h, 1);
	ck_assert_str_eq(resp_header(h, "Content-Type"), "application/json");
	const char *length = resp_header(h, "Content-Length");
	ck_assert_ptr_nonnull(length);
	ck_assert_int_eq(atol(length), (long)g->len);
	resp_free(g);
	resp_free(h);
}
END_TEST

START_TEST(test_head_on_collection_and_ops_has_no_body)
{
	make_patient(NULL);
	static const char *const paths[] = {"/patients", "/patients?limit=1", "/healthz"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		struct resp *r = http("HEAD", paths[i], NULL, NULL, 0);
		ck_assert_msg(r->status == 200, "HEAD %s -> %ld", paths[i], r->status);
		ck_assert_uint_eq(r->len, 0);
		resp_free(r);
	}
	struct resp *r = http("HEAD", "/nope", NULL, NULL, 0);
	ck_assert_int_eq(r->status, 404);
	ck_assert_uint_eq(r->len, 0);
	resp_free(r);
}
END_TEST

/* --- ETag ----------------------------------------------------------------- */

START_TEST(test_etag_is_the_quoted_version_on_post_get_patch)
{
	char *body;
	json_t *b = json_pack("{s:s, s:s, s:s, s:s, s:s}", "code", unique_code("H"), "histology",
			      "lung", "setting", "metastatic", "regimen", "il2_lak", "enrolled_on",
			      "1986-03-01");
	body = json_dumps(b, JSON_COMPACT);
	struct resp *r = http_post_json("/patients", body);
	ck_assert_int_eq(r->status, 201);
	assert_etag(r, 1);
	ck_assert_int_eq(json_integer_value(json_object_get(r->json, "version")), 1);
	char path[64];
	patient_path(path, sizeof path, json_integer_value(json_object_get(r->json, "id")));
	resp_free(r);

	r = http_get(path);
	assert_etag(r, 1);
	resp_free(r);
	r = http_patch_json(path, "{\"age\":60}");
	ck_assert_int_eq(r->status, 200);
	assert_etag(r, 2);
	ck_assert_int_eq(json_integer_value(json_object_get(r->json, "version")), 2);
	resp_free(r);
	r = http_patch_json(path, "{\"age\":61}");
	assert_etag(r, 3);
	resp_free(r);
	/* a patch that changes nothing keeps the version and its tag */
	r = http_patch_json(path, "{\"age\":61}");
	ck_assert_int_eq(r->status, 200);
	assert_etag(r, 3);
	resp_free(r);
	r = http_get(path);
	assert_etag(r, 3);
	ck_assert_int_eq(json_integer_value(json_object_get(r->json, "version")), 3);
	resp_free(r);
	json_decref(b);
	free(body);
}
END_TEST

START_TEST(test_etag_on_every_resource)
{
	int64_t p = make_patient(NULL);
	int64_t c = make_course(p, NULL);
	int64_t o = make_outcome(c, NULL);
	int64_t t = make_toxicity(c, NULL);
	char path[64];
	const struct {
		const char *base;
		int64_t id;
	} recs[] = {{"/courses", c}, {"/outcomes", o}, {"/toxicities", t}};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%lld", recs[i].base, (long long)recs[i].id);
		struct resp *r = http_get(path);
		ck_assert_int_eq(r->status, 200);
		assert_etag(r, 1);
		resp_free(r);
	}
}
END_TEST

/* --- If-None-Match ------------------------------------------------------ */

START_TEST(test_if_none_match_current_is_304_without_body)
{
	int64_t id = make_patient(NULL);
	char path[64];
	patient_path(path, sizeof path, id);
	static const char *const matching[] = {
		"If-None-Match: \"1\"",        "If-None-Match: W/\"1\"",       "If-None-Match: *",
		"If-None-Match: \"7\", \"1\"", "If-None-Match: \"9\",W/\"1\"",
	};
	for (size_t i = 0; i < sizeof matching / sizeof matching[0]; i++) {
		struct resp *r = get_with(path, matching[i]);
		ck_assert_msg(r->status == 304, "%s -> %ld", matching[i], r->status);
		ck_assert_uint_eq(r->len, 0);
		assert_etag(r, 1);
		resp_free(r);
	}
	/* HEAD too */
	const char *const inm[] = {"If-None-Match: \"1\"", NULL};
	struct resp *r = http("HEAD", path, inm, NULL, 0);
	ck_assert_int_eq(r->status, 304);
	resp_free(r);
}
END_TEST

START_TEST(test_if_none_match_stale_is_200)
{
	int64_t id = make_patient(NULL);
	char path[64];
	patient_path(path, sizeof path, id);
	struct resp *r = http_patch_json(path, "{\"age\":20}");
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
	static const char *const stale[] = {
		"If-None-Match: \"1\"", "If-None-Match: W/\"1\"", "If-None-Match: \"3\", \"1\"",
		"If-None-Match: 2",     "If-None-Match: \"2 \"",
	};
	for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
		r = get_with(path, stale[i]);
		ck_assert_msg(r->status == 200, "%s -> %ld", stale[i], r->status);
		assert_etag(r, 2);
		ck_assert_int_eq(json_integer_value(json_object_get(r->json, "age")), 20);
		resp_free(r);
	}
	r = get_with(path, "If-None-Match: \"2\"");
	ck_assert_int_eq(r->status, 304);
	resp_free(r);
}
END_TEST

/* --- If-Match ------------------------------------------------------------ */

START_TEST(test_if_match_stale_on_patch_is_412_and_unchanged)
{
	int64_t id = make_patient("{\"age\":40}");
	char path[64];
	patient_path(path, sizeof path, id);
	struct resp *r = http_patch_json(path, "{\"age\":41}");
	resp_free(r);
	static const char *const stale[] = {
		"If-Match: \"1\"",
		"If-Match: \"3\", \"1\"",
		"If-Match: W/\"2\"", /* If-Match compares strongly: a weak tag never matches */
		"If-Match: 2",
	};
	for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
		const char *const headers[] = {"Content-Type: application/merge-patch+json",
					       stale[i], NULL};
		/* even a patch that would be invalid: the precondition comes first */
		assert_refused("PATCH", path, headers, "{\"age\":42}", 412, PRECONDITION, NULL);
		assert_refused("PATCH", path, headers, "{\"age\":\"x\"}", 412, PRECONDITION, NULL);
	}
	const char *const headers[] = {"Content-Type: application/merge-patch+json",
				       "If-Match: \"1\"", NULL};
	r = http("PATCH", path, headers, "{\"age\":42}", 10);
	assert_etag(r, 2); /* the 412 says what is current */
	resp_free(r);
	json_t *got = get_json(path);
	ck_assert_int_eq(json_integer_value(json_object_get(got, "age")), 41);
	ck_assert_int_eq(json_integer_value(json_object_get(got, "version")), 2);
	json_decref(got);
}
END_TEST

START_TEST(test_if_match_stale_on_delete_is_412_and_unchanged)
{
	int64_t id = make_patient(NULL);
	char path[64];
	patient_path(path, sizeof path, id);
	const char *const stale[] = {"If-Match: \"2\"", NULL};
	assert_refused("DELETE", path, stale, NULL, 412, PRECONDITION, NULL);
	const char *const weak[] = {"If-Match: W/\"1\"", NULL};
	assert_refused("DELETE", path, weak, NULL, 412, PRECONDITION, NULL);
	json_t *got = get_json(path);
	ck_assert_int_eq(json_integer_value(json_object_get(got, "id")), id);
	json_decref(got);
	/* a course too: If-Match is checked before the dependants */
	int64_t c = make_course(id, NULL);
	make_toxicity(c, NULL);
	char cpath[64];
	snprintf(cpath, sizeof cpath, "/courses/%lld?cascade=true", (long long)c);
	assert_refused("DELETE", cpath, stale, NULL, 412, PRECONDITION, NULL);
}
END_TEST

START_TEST(test_if_match_current_or_star_proceeds)
{
	int64_t id = make_patient(NULL);
	char path[64];
	patient_path(path, sizeof path, id);
	const char *const current[] = {"Content-Type: application/merge-patch+json",
				       "If-Match: \"1\"", NULL};
	struct resp *r = http("PATCH", path, current, "{\"age\":50}", 10);
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	assert_etag(r, 2);
	resp_free(r);
	const char *const star[] = {"Content-Type: application/merge-patch+json", "If-Match: *",
				    NULL};
	r = http("PATCH", path, star, "{\"age\":51}", 10);
	ck_assert_int_eq(r->status, 200);
	assert_etag(r, 3);
	resp_free(r);
	const char *const list[] = {"Content-Type: application/merge-patch+json",
				    "If-Match: \"1\", \"3\"", NULL};
	r = http("PATCH", path, list, "{\"age\":52}", 10);
	ck_assert_int_eq(r->status, 200);
	assert_etag(r, 4);
	resp_free(r);
	json_t *got = get_json(path);
	ck_assert_int_eq(json_integer_value(json_object_get(got, "age")), 52);
	json_decref(got);

	const char *const del[] = {"If-Match: \"4\"", NULL};
	r = http("DELETE", path, del, NULL, 0);
	ck_assert_int_eq(r->status, 204);
	ck_assert_uint_eq(r->len, 0);
	resp_free(r);
	r = http_get(path);
	assert_problem(r, 404, NOT_FOUND);
	resp_free(r);

	id = make_patient(NULL);
	patient_path(path, sizeof path, id);
	const char *const any[] = {"If-Match: *", NULL};
	r = http("DELETE", path, any, NULL, 0);
	ck_assert_int_eq(r->status, 204);
	resp_free(r);
	r = http_get(path);
	ck_assert_int_eq(r->status, 404);
	resp_free(r);
}
END_TEST

/* --- Location ----------------------------------------------------------- */

START_TEST(test_location_resolves_with_get)
{
	int64_t p = make_patient(NULL);
	char body[160];
	snprintf(body, sizeof body,
		 "{\"patient_id\":%lld,\"started_on\":\"1985-03-01\",\"doses_given\":12}",
		 (long long)p);
	struct resp *r = http_post_json("/courses", body);
	ck_assert_int_eq(r->status, 201);
	char want[64], location[256];
	snprintf(want, sizeof want, "/courses/%lld",
		 (long long)json_integer_value(json_object_get(r->json, "id")));
	ck_assert_ptr_nonnull(resp_header(r, "Location"));
	snprintf(location, sizeof location, "%s", resp_header(r, "Location"));
	ck_assert_str_eq(location, want);
	struct resp *g = http_get(location);
	ck_assert_int_eq(g->status, 200);
	ck_assert(json_equal(g->json, r->json));
	ck_assert_int_eq(json_integer_value(json_object_get(g->json, "doses_given")), 12);
	resp_free(g);
	resp_free(r);
}
END_TEST

/* --- bodies and connections --------------------------------------------- */

START_TEST(test_two_mib_body_to_unknown_route_is_refused_and_server_lives)
{
	size_t len = 2 * 1024 * 1024;
	char *big = malloc(len + 1);
	memset(big, ' ', len);
	big[0] = '{';
	big[len - 1] = '}';
	big[len] = '\0';
	/* refused from its Content-Length before it is read or routed */
	char *before = db_fingerprint();
	struct resp *r = http("POST", "/nope", json_ct, big, len);
	assert_problem(r, 413, TOO_LARGE);
	resp_free(r);
	r = http("PUT", "/patients/1/nope", json_ct, big, len);
	assert_problem(r, 413, TOO_LARGE);
	resp_free(r);
	assert_unchanged(before);
	free(big);
	r = http_get("/healthz");
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
	make_patient(NULL);
}
END_TEST

START_TEST(test_many_requests_on_one_keep_alive_connection)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	char auth[200];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", api_admin_token());
	hdrs = curl_slist_append(hdrs, auth);
	long connects = 0;
	int created = 0;
	char url[256];
	static const char *const json_ct[] = {"Content-Type: application/json", NULL};
	for (int i = 0; i < 60; i++) {
		struct sink out = {0}, hdr = {0};
		curl_easy_reset(curl);
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink_write);
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
		curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, sink_write);
		curl_easy_setopt(curl, CURLOPT_HEADERDATA, &hdr);
		curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
		long want;
		char *body = NULL;
		switch (i % 4) {
		case 0:
			snprintf(url, sizeof url, "%s/healthz", api_base_url());
			want = 200;
			break;
		case 1: { /* a write */
			json_t *b =
				json_pack("{s:s, s:s, s:s, s:s, s:s}", "code", unique_code("KA"),
					  "histology", "melanoma", "setting", "metastatic",
					  "regimen", "il2_alone", "enrolled_on", "1985-01-10");
			body = json_dumps(b, JSON_COMPACT);
			json_decref(b);
			snprintf(url, sizeof url, "%s/patients", api_base_url());
			curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
			curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
			want = 201;
			break;
		}
		case 2: /* an error answer must not close the connection */
			snprintf(url, sizeof url, "%s/nope", api_base_url());
			want = 404;
			break;
		default: /* nor a refused body */
			snprintf(url, sizeof url, "%s/patients", api_base_url());
			curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
			curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "{\"code\":");
			want = 400;
		}
		curl_easy_setopt(curl, CURLOPT_URL, url);
		CURLcode rc = curl_easy_perform(curl);
		ck_assert_msg(rc == CURLE_OK, "request %d: %s", i, curl_easy_strerror(rc));
		long status = 0, n = 0;
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &n);
		ck_assert_msg(status == want, "request %d: %ld, wanted %ld: %s", i, status, want,
			      out.data ? out.data : "");
		bool post = i % 4 == 1 || i % 4 == 3;
		traffic_record(post ? "POST" : "GET", url + strlen(api_base_url()),
			       post ? json_ct : NULL, status, hdr.data, out.data, out.len);
		connects += n;
		created += status == 201;
		free(out.data);
		free(hdr.data);
		free(body);
	}
	ck_assert_int_eq(connects, 1);
	ck_assert_int_eq(created, 15);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
}
END_TEST

#define CONCURRENT 20

/* In a child process: wait for the start signal, POST one patient on its own
 * connection, report "status id" on the pipe. No Check assertions here. */
static void concurrent_child(int go_fd, int out_fd, const char *code)
{
	char one;
	if (read(go_fd, &one, 1) < 0)
		_exit(2);
	CURL *curl = curl_easy_init();
	struct sink out = {0}, hdr = {0};
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	char auth[200];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", api_admin_token());
	hdrs = curl_slist_append(hdrs, auth);
	char url[256], body[256];
	snprintf(url, sizeof url, "%s/patients", api_base_url());
	snprintf(body, sizeof body,
		 "{\"code\":\"%s\",\"histology\":\"renal_cell\",\"setting\":\"metastatic\","
		 "\"regimen\":\"il2_til\",\"enrolled_on\":\"1987-06-01\"}",
		 code);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, sink_write);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &hdr);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
	long status = 0;
	long long id = 0;
	if (curl_easy_perform(curl) == CURLE_OK) {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		static const char *const json_ct[] = {"Content-Type: application/json", NULL};
		traffic_record("POST", "/patients", json_ct, status, hdr.data, out.data, out.len);
		json_t *j = out.data ? json_loads(out.data, 0, NULL) : NULL;
		id = j ? (long long)json_integer_value(json_object_get(j, "id")) : 0;
		json_decref(j);
	}
	char line[64];
	int n = snprintf(line, sizeof line, "%ld %lld\n", status, id);
	if (write(out_fd, line, (size_t)n) != n)
		_exit(3);
	_exit(0);
}

START_TEST(test_concurrent_posts_all_succeed_with_distinct_ids)
{
	int go[2], results[2];
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(results), 0);
	int64_t before = db_count("patients");
	pid_t kids[CONCURRENT];
	for (int i = 0; i < CONCURRENT; i++) {
		char code[64];
		snprintf(code, sizeof code, "%s", unique_code("CC"));
		kids[i] = fork();
		ck_assert_int_ge(kids[i], 0);
		if (kids[i] == 0) {
			close(go[1]);
			close(results[0]);
			concurrent_child(go[0], results[1], code);
		}
	}
	close(go[0]);
	close(results[1]);
	close(go[1]); /* every child's read returns now: all start together */
	for (int i = 0; i < CONCURRENT; i++) {
		int status;
		ck_assert_int_eq(waitpid(kids[i], &status, 0), kids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", i);
	}
	FILE *in = fdopen(results[0], "r");
	long long ids[CONCURRENT];
	int n = 0;
	long status;
	long long id;
	while (n < CONCURRENT && fscanf(in, "%ld %lld", &status, &id) == 2) {
		ck_assert_msg(status == 201, "a concurrent POST answered %ld", status);
		ck_assert_int_gt(id, 0);
		for (int j = 0; j < n; j++)
			ck_assert_msg(ids[j] != id, "id %lld given twice", id);
		ids[n++] = id;
	}
	fclose(in);
	ck_assert_int_eq(n, CONCURRENT);
	ck_assert_int_eq(db_count("patients"), before + CONCURRENT);
	for (int i = 0; i < CONCURRENT; i++) {
		char path[64];
		patient_path(path, sizeof path, ids[i]);
		json_t *got = get_json(path);
		ck_assert_str_eq(json_string_value(json_object_get(got, "regimen")), "il2_til");
		json_decref(got);
	}
}
END_TEST

START_TEST(test_problem_instance_names_the_request)
{
	static const char *const given[] = {"X-Request-ID: trace-42.a_b:c", NULL};
	struct resp *r = http("DELETE", "/patients", given, NULL, 0);
	assert_problem(r, 405, NOT_ALLOWED);
	ck_assert_str_eq(json_string_value(json_object_get(r->json, "instance")),
			 "urn:cohortd:request:trace-42.a_b:c");
	ck_assert_int_eq(json_integer_value(json_object_get(r->json, "status")), 405);
	ck_assert_str_eq(json_string_value(json_object_get(r->json, "title")),
			 "Method Not Allowed");
	resp_free(r);
}
END_TEST

/* Every JSON answer, problem+json included, ends with one newline: a shell
 * prompt after curl, a log line and a line-reading client all expect it. */
START_TEST(test_every_json_answer_ends_with_a_newline)
{
	struct family f = make_family();
	char record[64], history[96];
	snprintf(record, sizeof record, "/patients/%lld", (long long)f.patient);
	snprintf(history, sizeof history, "/patients/%lld/history", (long long)f.patient);
	const char *const gets[] = {record,
				    "/patients?limit=2",
				    "/patients?limit=all",
				    "/toxicities?limit=all&min_grade=1",
				    history,
				    "/stats/summary",
				    "/stats/response",
				    "/healthz",
				    "/readyz",
				    "/audit?limit=2",
				    "/audit/verify",
				    "/no-such-route",
				    "/patients?limit=0",
				    NULL};
	for (const char *const *path = gets; *path; path++) {
		struct resp *r = http_get(*path);
		const char *ct = resp_header(r, "Content-Type");
		ck_assert_msg(ct && strstr(ct, "json"), "%s: %s", *path, ct ? ct : "no type");
		ck_assert_msg(r->len >= 2 && r->body[r->len - 1] == '\n' &&
				      r->body[r->len - 2] != '\n',
			      "%s does not end with one newline: %s", *path, r->body);
		ck_assert_msg(r->json != NULL, "%s: not JSON", *path);
		resp_free(r);
	}
	struct resp *r =
		http_post_json("/patients", "{\"code\":\"NL-1\",\"histology\":\"melanoma\","
					    "\"setting\":\"metastatic\",\"regimen\":\"il2_alone\","
					    "\"enrolled_on\":\"1985-01-10\"}");
	ck_assert_int_eq(r->status, 201);
	ck_assert(r->body[r->len - 1] == '\n');
	resp_free(r);
	r = http_patch_json(record, "{\"age\":61}");
	ck_assert_int_eq(r->status, 200);
	ck_assert(r->body[r->len - 1] == '\n');
	resp_free(r);
	r = http_post_json("/courses", "{}");
	ck_assert_int_eq(r->status, 422);
	ck_assert(r->body[r->len - 1] == '\n');
	resp_free(r);
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("test_http", &tc);
	tcase_add_test(tc, test_unknown_path_is_404);
	tcase_add_test(tc, test_malformed_ids_are_404);
	tcase_add_test(tc, test_trailing_slash_is_404);
	tcase_add_test(tc, test_unknown_id_is_404_on_every_method);
	tcase_add_test(tc, test_query_string_is_checked_after_routing);
	tcase_add_test(tc, test_wrong_method_on_collection_is_405_with_allow);
	tcase_add_test(tc, test_wrong_method_on_record_is_405_with_allow);
	tcase_add_test(tc, test_wrong_method_on_operational_routes_is_405);
	tcase_add_test(tc, test_made_up_method_is_405);
	tcase_add_test(tc, test_options_is_204_with_allow);
	tcase_add_test(tc, test_head_record_is_200_with_etag_and_no_body);
	tcase_add_test(tc, test_head_on_collection_and_ops_has_no_body);
	tcase_add_test(tc, test_etag_is_the_quoted_version_on_post_get_patch);
	tcase_add_test(tc, test_etag_on_every_resource);
	tcase_add_test(tc, test_if_none_match_current_is_304_without_body);
	tcase_add_test(tc, test_if_none_match_stale_is_200);
	tcase_add_test(tc, test_if_match_stale_on_patch_is_412_and_unchanged);
	tcase_add_test(tc, test_if_match_stale_on_delete_is_412_and_unchanged);
	tcase_add_test(tc, test_if_match_current_or_star_proceeds);
	tcase_add_test(tc, test_location_resolves_with_get);
	tcase_add_test(tc, test_two_mib_body_to_unknown_route_is_refused_and_server_lives);
	tcase_add_test(tc, test_many_requests_on_one_keep_alive_connection);
	tcase_add_test(tc, test_concurrent_posts_all_succeed_with_distinct_ids);
	tcase_add_test(tc, test_problem_instance_names_the_request);
	tcase_add_test(tc, test_every_json_answer_ends_with_a_newline);
	return run_suite(s);
}

/* Handlers in-process: a request made as data (method, path, header fields,
 * query parameters, body) goes straight to the dispatcher, with no socket
 * and no daemon, on a fresh database; the answer is read from the request.
 * What the API tests show over HTTP holds here for the dispatcher and the
 * handlers alone: routing, preconditions, a create and its read, every
 * broken rule named, a list with its next link, a statistic. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "resources.h"
#include "router.h"
#include "routes.h"
#include "store.h"

static char dir[64];

static void database_up(void)
{
	snprintf(dir, sizeof dir, "/tmp/cohortd-dispatch-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/test.db", dir);
	struct db *db = NULL;
	ck_assert_int_eq(db_open(path, &db), DB_OK);
	ck_assert_int_eq(db_migrate(db), DB_OK);
	db_close(db);
	log_set_level(LOG_ERROR);
	if (store_init(resources_all, RESOURCES_COUNT) != DB_OK)
		abort();
	ck_assert_int_eq(db_pool_init(path), DB_OK);
	/* an admin without a token: the dispatcher's role checks have their own tests */
	router_configure(routes, routes_count, ROLE_ADMIN, NULL, 0, 1024 * 1024);
}

static void database_down(void)
{
	db_pool_close();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A request as the glue would make it: "Name: value" header lines and
 * "key=value" query parameters (NULL-terminated, or NULL), and a body. */
static struct request *request(const char *method, const char *path, const char *const *headers,
			       const char *const *query, const char *body)
{
	struct request *req = calloc(1, sizeof *req);
	req->method = method;
	req->path = path;
	int n = 0;
	for (const char *const *h = headers; h && *h; h++) {
		char *name = strdup(*h), *colon = strchr(name, ':');
		*colon = '\0';
		req->inline_fields[n++] =
			(struct request_field){name, colon + 1 + strspn(colon + 1, " ")};
	}
	req->in_headers = req->inline_fields;
	req->nin_headers = n;
	req->in_query = req->inline_fields + n;
	for (const char *const *q = query; q && *q; q++) {
		char *key = strdup(*q), *eq = strchr(key, '=');
		*eq = '\0';
		req->inline_fields[n++] = (struct request_field){key, eq + 1};
	}
	req->nin_query = n - req->nin_headers;
	snprintf(req->request_id, sizeof req->request_id, "dispatch-test");
	if (body) {
		req->body = strdup(body);
		req->body_len = strlen(body);
	}
	req->body_limit = 1024 * 1024;
	return req;
}

/* The names and keys strdup'ed above, then the request. */
static void request_done(struct request *req)
{
	for (int i = 0; i < req->nin_headers + req->nin_query; i++)
		free((char *)req->inline_fields[i].name);
	request_free(req);
}

/* Dispatches and returns the answer's JSON body (a new reference, or NULL). */
static json_t *dispatch(struct request *req)
{
	router_dispatch(req);
	db_thread_done();
	ck_assert_uint_ne(req->status, 0);
	return req->out ? json_loadb(req->out, req->out_len, 0, NULL) : NULL;
}

static const char *header_of(const struct request *req, const char *name)
{
	for (int i = 0; i < req->nheaders; i++)
		if (strcmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

static const char *const json_body[] = {"Content-Type: application/json", NULL};

START_TEST(test_unknown_path_is_404_and_wrong_method_405)
{
	struct request *req = request("GET", "/nowhere", NULL, NULL, NULL);
	json_t *j = dispatch(req);
	ck_assert_uint_eq(req->status, 404);
	ck_assert_str_eq(req->content_type, "application/problem+json");
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")),
			 "urn:cohortd:problem:not-found");
	ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")), "dispatch-test");
	json_decref(j);
	request_done(req);
	req = request("PUT", "/patients", NULL, NULL, NULL);
	json_decref(dispatch(req));
	ck_assert_uint_eq(req->status, 405);
	ck_assert_str_eq(header_of(req, "Allow"), "GET, HEAD, POST");
	request_done(req);
}
END_TEST

START_TEST(test_create_then_read_a_patient)
{
	struct request *req = request(
		"POST", "/patients", json_body, NULL,
		"{\"code\":\"DISPATCH-1\",\"histology\":\"melanoma\",\"setting\":\"metastatic\","
		"\"regimen\":\"il2_alone\",\"enrolled_on\":\"1985-01-10\"}");
	json_t *j = dispatch(req);
	ck_assert_uint_eq(req->status, 201);
	ck_assert_str_eq(header_of(req, "ETag"), "\"1\"");
	json_int_t id = json_integer_value(json_object_get(j, "id"));
	ck_assert_int_gt(id, 0);
	ck_assert_str_eq(json_string_value(json_object_get(j, "sex")), "unknown");
	ck_assert(req->out[req->out_len - 1] == '\n');
	char location[64];
	snprintf(location, sizeof location, "/patients/%lld", (long long)id);
	ck_assert_str_eq(header_of(req, "Location"), location);
	json_decref(j);
	request_done(req);

	static const char *const current[] = {"If-None-Match: \"1\"", NULL};
	req = request("GET", location, current, NULL, NULL);
	json_decref(dispatch(req));
	ck_assert_uint_eq(req->status, 304);
	request_done(req);
	req = request("GET", location, NULL, NULL, NULL);
	j = dispatch(req);
	ck_assert_uint_eq(req->status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "code")), "DISPATCH-1");
	json_decref(j);
	request_done(req);
}
END_TEST

START_TEST(test_a_refused_create_names_every_problem)
{
	struct request *req = request("POST", "/outcomes", json_body, NULL,
				      "{\"course_id\":999,\"assessed_on\":\"2023-02-30\","
				      "\"response\":\"MR\",\"criteria\":\"recist_1_1\"}");
	json_t *j = dispatch(req);
	ck_assert_uint_eq(req->status, 422);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "errors")), 3);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "not_checked")), 2);
	json_decref(j);
	request_done(req);
	/* a body that is no JSON, and one of the wrong type */
	req = request("POST", "/patients", json_body, NULL, "{\"code\":");
	json_decref(dispatch(req));
	ck_assert_uint_eq(req->status, 400);
	request_done(req);
	req = request("POST", "/patients", NULL, NULL, "{}");
	json_decref(dispatch(req));
	ck_assert_uint_eq(req->status, 415);
	request_done(req);
}
END_TEST

START_TEST(test_a_list_pages_with_its_query)
{
	for (int i = 0; i < 3; i++) {
		char body[256];
		snprintf(body, sizeof body,
			 "{\"code\":\"LIST-%d\",\"histology\":\"melanoma\",\"setting\":"
			 "\"metastatic\","
			 "\"regimen\":\"il2_lak\",\"enrolled_on\":\"1985-01-10\"}",
			 i);
		struct request *req = request("POST", "/patients", json_body, NULL, body);
		json_decref(dispatch(req));
		ck_assert_uint_eq(req->status, 201);
		request_done(req);
	}
	static const char *const query[] = {"regimen=il2_lak", "limit=2", NULL};
	struct request *req = request("GET", "/patients", NULL, query, NULL);
	json_t *j = dispatch(req);
	ck_assert_uint_eq(req->status, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "items")), 2);
	const char *next = json_string_value(json_object_get(j, "next"));
	ck_assert_ptr_nonnull(next);
	ck_assert_ptr_nonnull(strstr(next, "regimen=il2_lak"));
	json_decref(j);
	request_done(req);
	static const char *const bad[] = {"limit=0", "colour=red", NULL};
	req = request("GET", "/patients", NULL, bad, NULL);
	j = dispatch(req);
	ck_assert_uint_eq(req->status, 400);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "errors")), 2);
	json_decref(j);
	request_done(req);
}
END_TEST

START_TEST(test_a_statistic_and_the_system_routes_answer)
{
	struct request *req = request("GET", "/stats/summary", NULL, NULL, NULL);
	json_t *j = dispatch(req);
	ck_assert_uint_eq(req->status, 200);
	ck_assert_ptr_nonnull(json_object_get(json_object_get(j, "overall"), "patients"));
	json_decref(j);
	request_done(req);
	req = request("GET", "/healthz", NULL, NULL, NULL);
	j = dispatch(req);
	ck_assert_uint_eq(req->status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "ok");
	json_decref(j);
	request_done(req);
}
END_TEST

Suite *suite(void)
{
	Suite *s = suite_create("dispatch");
	TCase *tc = tcase_create("dispatch");
	tcase_add_unchecked_fixture(tc, database_up, database_down);
	tcase_add_test(tc, test_unknown_path_is_404_and_wrong_method_405);
	tcase_add_test(tc, test_create_then_read_a_patient);
	tcase_add_test(tc, test_a_refused_create_names_every_problem);
	tcase_add_test(tc, test_a_list_pages_with_its_query);
	tcase_add_test(tc, test_a_statistic_and_the_system_routes_answer);
	suite_add_tcase(s, tc);
	return s;
}

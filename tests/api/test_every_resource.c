/* API tests of the answers openapi.yaml documents alike for the four record
 * resources, on each of them: 304 on revalidation, 400 for a query where the
 * route takes none, 412 for a stale If-Match, 413 for a body over 1 MiB, 415
 * for a body that is not JSON, 422 without a Change-Reason and 404 for a
 * missing record; and 400 for a query on the import and system routes. The
 * other suites show most of these on one resource; this one makes the
 * traffic the spec lane checks hold each answer of every operation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define VALIDATION          "urn:cohortd:problem:validation"
#define NOT_FOUND           "urn:cohortd:problem:not-found"
#define PRECONDITION_FAILED "urn:cohortd:problem:precondition-failed"
#define INVALID_PARAMETER   "urn:cohortd:problem:invalid-parameter"
#define TOO_LARGE           "urn:cohortd:problem:body-too-large"
#define UNSUPPORTED         "urn:cohortd:problem:unsupported-media-type"

static const char *const RESOURCES[] = {"/patients", "/courses", "/outcomes", "/toxicities"};
#define N_RESOURCES 4

/* One record of each resource (a patient, its course, and an outcome and a
 * toxicity of that course); paths[i] is "/<resource>/<id>". */
static void make_one_of_each(char paths[N_RESOURCES][64])
{
	int64_t p = make_patient(NULL);
	int64_t c = make_course(p, NULL);
	int64_t ids[N_RESOURCES] = {p, c, make_outcome(c, NULL), make_toxicity(c, NULL)};
	for (int i = 0; i < N_RESOURCES; i++)
		snprintf(paths[i], 64, "%s/%lld", RESOURCES[i], (long long)ids[i]);
}

START_TEST(test_get_with_the_current_etag_is_304_on_every_resource)
{
	char paths[N_RESOURCES][64];
	make_one_of_each(paths);
	static const char *const current[] = {"If-None-Match: \"1\"", NULL};
	for (int i = 0; i < N_RESOURCES; i++) {
		struct resp *r = http("GET", paths[i], current, NULL, 0);
		ck_assert_msg(r->status == 304, "%s: %ld", paths[i], r->status);
		ck_assert_uint_eq(r->len, 0);
		ck_assert_str_eq(resp_header(r, "ETag"), "\"1\"");
		resp_free(r);
	}
}
END_TEST

START_TEST(test_a_query_is_400_where_the_route_takes_none)
{
	char paths[N_RESOURCES][64];
	make_one_of_each(paths);
	for (int i = 0; i < N_RESOURCES; i++) {
		char path[320];
		snprintf(path, sizeof path, "%s?x=1", paths[i]);
		assert_refused("GET", path, NULL, NULL, 400, INVALID_PARAMETER, "x");
		snprintf(path, sizeof path, "%s/history?x=1", paths[i]);
		assert_refused("GET", path, NULL, NULL, 400, INVALID_PARAMETER, "x");
	}
	static const char *const system[] = {"/metrics?x=1", "/openapi.yaml?x=1", "/healthz?x=1",
					     "/readyz?x=1", "/audit/verify?x=1"};
	for (size_t i = 0; i < sizeof system / sizeof system[0]; i++)
		assert_refused("GET", system[i], NULL, NULL, 400, INVALID_PARAMETER, "x");
	static const char *const ndjson[] = {"Content-Type: application/x-ndjson", NULL};
	assert_refused("POST", "/import?x=1", ndjson, "\n", 400, INVALID_PARAMETER, "x");
}
END_TEST

START_TEST(test_a_stale_if_match_is_412_on_patch_and_delete_of_every_resource)
{
	char paths[N_RESOURCES][64];
	make_one_of_each(paths);
	static const char *const stale_patch[] = {"Content-Type: application/merge-patch+json",
						  "If-Match: \"2\"", NULL};
	static const char *const stale_delete[] = {"If-Match: \"2\"", NULL};
	for (int i = 0; i < N_RESOURCES; i++) {
		assert_refused("PATCH", paths[i], stale_patch, "{}", 412, PRECONDITION_FAILED,
			       NULL);
		assert_refused("DELETE", paths[i], stale_delete, NULL, 412, PRECONDITION_FAILED,
			       NULL);
	}
}
END_TEST

START_TEST(test_bodies_over_1_mib_or_not_json_are_413_and_415_on_every_write)
{
	char paths[N_RESOURCES][64];
	make_one_of_each(paths);
	size_t big_len = 1048576 + 1;
	char *big = malloc(big_len + 1);
	memset(big, ' ', big_len);
	big[0] = '{';
	big[big_len - 1] = '}';
	big[big_len] = '\0';
	static const char *const json[] = {"Content-Type: application/json", NULL};
	static const char *const merge[] = {"Content-Type: application/merge-patch+json", NULL};
	static const char *const text[] = {"Content-Type: text/plain", NULL};
	for (int i = 0; i < N_RESOURCES; i++) {
		char *before = db_fingerprint();
		struct resp *r = http("POST", RESOURCES[i], json, big, big_len);
		assert_problem(r, 413, TOO_LARGE);
		resp_free(r);
		r = http("PATCH", paths[i], merge, big, big_len);
		assert_problem(r, 413, TOO_LARGE);
		resp_free(r);
		assert_unchanged(before);
		assert_refused("POST", RESOURCES[i], text, "{}", 415, UNSUPPORTED, NULL);
		assert_refused("PATCH", paths[i], text, "{}", 415, UNSUPPORTED, NULL);
	}
	free(big);
}
END_TEST

START_TEST(test_delete_without_change_reason_is_422_on_every_resource)
{
	char paths[N_RESOURCES][64];
	make_one_of_each(paths);
	static const char *const no_reason[] = {"Change-Reason:", NULL};
	for (int i = 0; i < N_RESOURCES; i++)
		assert_refused("DELETE", paths[i], no_reason, NULL, 422, VALIDATION,
			       "Change-Reason");
}
END_TEST

/* A record's parent cannot change, not even to itself (a course's
 * patient_id; an outcome's or a toxicity's course_id), and the patient_id an
 * outcome or a toxicity derives from its course cannot be written, on create
 * or on patch, not even its right value. Nothing changes. */
START_TEST(test_a_parent_cannot_change_and_a_derived_id_cannot_be_written)
{
	int64_t p = make_patient(NULL), other_p = make_patient(NULL);
	int64_t c = make_course(p, NULL), other_c = make_course(other_p, NULL);
	int64_t ids[N_RESOURCES] = {p, c, make_outcome(c, NULL), make_toxicity(c, NULL)};
	static const char *const merge[] = {"Content-Type: application/merge-patch+json", NULL};
	static const char *const json_ct[] = {"Content-Type: application/json", NULL};
	for (int i = 1; i < N_RESOURCES; i++) {
		const char *parent = i == 1 ? "patient_id" : "course_id";
		int64_t same = i == 1 ? p : c, another = i == 1 ? other_p : other_c;
		char path[64], body[96];
		snprintf(path, sizeof path, "%s/%lld", RESOURCES[i], (long long)ids[i]);
		int64_t values[] = {same, another};
		for (int v = 0; v < 2; v++) {
			snprintf(body, sizeof body, "{\"%s\": %lld}", parent, (long long)values[v]);
			assert_refused("PATCH", path, merge, body, 422, VALIDATION, parent);
		}
		snprintf(body, sizeof body, "{\"%s\": null}", parent);
		assert_refused("PATCH", path, merge, body, 422, VALIDATION, parent);
		if (i == 1)
			continue;
		/* the derived patient_id, right as it is */
		snprintf(body, sizeof body, "{\"patient_id\": %lld}", (long long)p);
		assert_refused("PATCH", path, merge, body, 422, VALIDATION, "patient_id");
		json_t *create = json_pack("{s:I, s:I}", "course_id", (json_int_t)c, "patient_id",
					   (json_int_t)p);
		char *text = json_dumps(create, JSON_COMPACT);
		assert_refused("POST", RESOURCES[i], json_ct, text, 422, VALIDATION, "patient_id");
		free(text);
		json_decref(create);
	}
}
END_TEST

/* An empty object names every required field of the resource, and only
 * those (server-managed and derived fields are not asked for). */
START_TEST(test_an_empty_body_names_every_required_field_on_every_resource)
{
	static const char *const required[N_RESOURCES][6] = {
		{"code", "histology", "setting", "regimen", "enrolled_on", NULL},
		{"patient_id", "started_on", NULL},
		{"course_id", "assessed_on", "response", NULL},
		{"course_id", "term", "grade", "onset_on", "attribution", NULL},
	};
	for (int i = 0; i < N_RESOURCES; i++) {
		char *before = db_fingerprint();
		struct resp *r = http_post_json(RESOURCES[i], "{}");
		assert_problem(r, 422, VALIDATION);
		size_t n = 0;
		for (; required[i][n]; n++)
			assert_field_error(r, required[i][n]);
		ck_assert_uint_eq(json_array_size(json_object_get(r->json, "errors")), n);
		assert_unchanged(before);
		resp_free(r);
	}
}
END_TEST

/* Nothing depends on an outcome or a toxicity: ?cascade=true there is not
 * a parameter of the route (400), and the record stays. */
START_TEST(test_cascade_is_400_where_nothing_depends)
{
	char paths[N_RESOURCES][64];
	make_one_of_each(paths);
	for (int i = 2; i < N_RESOURCES; i++) {
		char path[96];
		snprintf(path, sizeof path, "%s?cascade=true", paths[i]);
		assert_refused("DELETE", path, NULL, NULL, 400, INVALID_PARAMETER, "cascade");
		resp_free(get_ok(paths[i]));
	}
}
END_TEST

START_TEST(test_patch_of_a_missing_record_is_404_on_every_resource)
{
	for (int i = 0; i < N_RESOURCES; i++) {
		char path[64];
		snprintf(path, sizeof path, "%s/999999", RESOURCES[i]);
		static const char *const merge[] = {"Content-Type: application/merge-patch+json",
						    NULL};
		assert_refused("PATCH", path, merge, "{}", 404, NOT_FOUND, NULL);
	}
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("test_every_resource", &tc);
	tcase_add_test(tc, test_get_with_the_current_etag_is_304_on_every_resource);
	tcase_add_test(tc, test_a_query_is_400_where_the_route_takes_none);
	tcase_add_test(tc, test_a_stale_if_match_is_412_on_patch_and_delete_of_every_resource);
	tcase_add_test(tc, test_bodies_over_1_mib_or_not_json_are_413_and_415_on_every_write);
	tcase_add_test(tc, test_delete_without_change_reason_is_422_on_every_resource);
	tcase_add_test(tc, test_patch_of_a_missing_record_is_404_on_every_resource);
	tcase_add_test(tc, test_cascade_is_400_where_nothing_depends);
	tcase_add_test(tc, test_an_empty_body_names_every_required_field_on_every_resource);
	tcase_add_test(tc, test_a_parent_cannot_change_and_a_derived_id_cannot_be_written);
	return run_suite(s);
}

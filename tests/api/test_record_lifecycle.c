/* The life of a record, the same for the four resources and so written
 * once, run over each: created (201, Location, ETag "1", every member in
 * order, timestamps), read (200, ETag; 304 while current), changed (200,
 * version and ETag up, the change kept), changed to what it is (no new
 * version, nothing written), guarded by If-Match (a stale or weak tag is
 * 412 on PATCH and DELETE and changes nothing; the current one, a list
 * holding it, or * proceeds), deleted (204 without a body, then 404 to
 * GET, PATCH and DELETE), and an id that never existed is 404 to all three.
 * Each resource's own rules have their own suites (test_patients.c ...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define NOT_FOUND    "urn:cohortd:problem:not-found"
#define PRECONDITION "urn:cohortd:problem:precondition-failed"

static const char *const MERGE_CT[] = {"Content-Type: application/merge-patch+json", NULL};

struct lifecycle {
	const char *collection;
	const char *const *members; /* every member, in answer order */
	const char *change;         /* a merge patch that changes one member */
	const char *changed;        /* that member */
	const char *const *noops;   /* merge patches that change nothing */
};

/* clang-format off */
static const char *const patient_members[] = {"id", "code", "sex", "age", "histology", "setting",
	"regimen", "enrolled_on", "last_contact_on", "vital_status", "died_on", "death_cause",
	"version", "created_at", "updated_at", NULL};
static const char *const course_members[] = {"id", "patient_id", "number", "started_on",
	"ended_on", "il2_dose", "il2_dose_unit", "doses_given", "stop_reason", "version",
	"created_at", "updated_at", NULL};
static const char *const outcome_members[] = {"id", "course_id", "patient_id", "assessed_on",
	"criteria", "response", "confirmed", "version", "created_at", "updated_at", NULL};
static const char *const toxicity_members[] = {"id", "course_id", "patient_id", "term", "grade",
	"onset_on", "resolved_on", "attribution", "serious", "outcome", "version", "created_at",
	"updated_at", NULL};
static const char *const patient_noops[] = {"{}", "{\"histology\": \"melanoma\"}",
	"{\"last_contact_on\": null}", "{\"sex\": \"unknown\", \"setting\": \"metastatic\"}", NULL};
static const char *const course_noops[] = {"{}", "{\"stop_reason\": null}",
	"{\"started_on\": \"1985-02-01\", \"il2_dose_unit\": \"IU/kg\"}", "{\"number\": 1}", NULL};
static const char *const outcome_noops[] = {"{}", "{\"response\": \"PR\", \"criteria\": \"who\"}",
	"{\"confirmed\": null}", NULL};
static const char *const toxicity_noops[] = {"{}", "{\"grade\": 3, \"serious\": false}",
	"{\"outcome\": null, \"resolved_on\": null}", NULL};
/* clang-format on */

static const struct lifecycle resources[] = {
	{"patients", patient_members, "{\"age\": 51}", "age", patient_noops},
	{"courses", course_members, "{\"doses_given\": 12}", "doses_given", course_noops},
	{"outcomes", outcome_members, "{\"response\": \"SD\"}", "response", outcome_noops},
	{"toxicities", toxicity_members, "{\"term\": \"Chills\"}", "term", toxicity_noops},
};

/* A new record of resource i, whose parents are made too; returns its id. */
static int64_t make_one(int i)
{
	int64_t patient = make_patient(NULL);
	if (i == 0)
		return patient;
	int64_t course = make_course(patient, NULL);
	return i == 1 ? course : i == 2 ? make_outcome(course, NULL) : make_toxicity(course, NULL);
}

static void assert_rfc3339(const char *t)
{
	size_t n = strlen(t);
	ck_assert_msg(n == 24 && t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':' &&
			      t[16] == ':' && t[19] == '.' && t[23] == 'Z',
		      "not RFC 3339 UTC with milliseconds: %s", t);
}

/* GETs path with headers; asserts the status and returns the answer. */
static struct resp *get_with(const char *path, const char *header, long status)
{
	const char *const headers[] = {header, NULL};
	struct resp *r = http("GET", path, header ? headers : NULL, NULL, 0);
	ck_assert_msg(r->status == status, "GET %s (%s): %ld, not %ld", path, header ? header : "",
		      r->status, status);
	return r;
}

START_TEST(test_created_read_and_revalidated)
{
	const struct lifecycle *l = &resources[_i];
	int64_t before = db_count(l->collection);
	int64_t id = make_one(_i);
	ck_assert_int_eq(db_count(l->collection), before + 1);
	char path[64];
	snprintf(path, sizeof path, "/%s/%lld", l->collection, (long long)id);
	struct resp *r = get_with(path, NULL, 200);
	ck_assert_str_eq(resp_header(r, "ETag"), "\"1\"");
	assert_keys_in_order(r->json, l->members);
	ck_assert_int_eq(json_integer_value(json_object_get(r->json, "id")), id);
	ck_assert_int_eq(json_integer_value(json_object_get(r->json, "version")), 1);
	const char *created = json_string_value(json_object_get(r->json, "created_at"));
	assert_rfc3339(created);
	ck_assert_str_eq(json_string_value(json_object_get(r->json, "updated_at")), created);
	resp_free(r);
	r = get_with(path, "If-None-Match: \"1\"", 304);
	ck_assert_uint_eq(r->len, 0);
	ck_assert_str_eq(resp_header(r, "ETag"), "\"1\"");
	resp_free(r);
}
END_TEST

START_TEST(test_changed_and_changed_to_what_it_is)
{
	const struct lifecycle *l = &resources[_i];
	int64_t id = make_one(_i);
	char path[64];
	snprintf(path, sizeof path, "/%s/%lld", l->collection, (long long)id);
	/* changing nothing: no new version, nothing written */
	struct resp *r = get_with(path, NULL, 200);
	json_t *original = json_incref(r->json);
	resp_free(r);
	for (const char *const *noop = l->noops; *noop; noop++) {
		char *fp_before = db_fingerprint();
		r = http_patch_json(path, *noop);
		ck_assert_msg(r->status == 200, "%s %s: %ld %s", path, *noop, r->status, r->body);
		ck_assert_str_eq(resp_header(r, "ETag"), "\"1\"");
		ck_assert_msg(json_equal(r->json, original), "%s %s changed the record", path,
			      *noop);
		assert_unchanged(fp_before);
		resp_free(r);
	}
	/* a change: version 2, kept */
	r = http_patch_json(path, l->change);
	ck_assert_msg(r->status == 200, "%s %s: %ld %s", path, l->change, r->status, r->body);
	ck_assert_str_eq(resp_header(r, "ETag"), "\"2\"");
	ck_assert_int_eq(json_integer_value(json_object_get(r->json, "version")), 2);
	json_t *change = json_loads(l->change, 0, NULL);
	ck_assert(json_equal(json_object_get(r->json, l->changed),
			     json_object_get(change, l->changed)));
	const char *updated = json_string_value(json_object_get(r->json, "updated_at"));
	assert_rfc3339(updated);
	ck_assert(strcmp(updated, json_string_value(json_object_get(original, "created_at"))) >= 0);
	resp_free(r);
	r = get_with(path, NULL, 200);
	ck_assert(json_equal(json_object_get(r->json, l->changed),
			     json_object_get(change, l->changed)));
	ck_assert_str_eq(resp_header(r, "ETag"), "\"2\"");
	resp_free(r);
	json_decref(change);
	json_decref(original);
}
END_TEST

START_TEST(test_if_match_guards_patch_and_delete)
{
	const struct lifecycle *l = &resources[_i];
	int64_t id = make_one(_i);
	char path[64];
	snprintf(path, sizeof path, "/%s/%lld", l->collection, (long long)id);
	struct resp *r = http_patch_json(path, l->change); /* now version 2 */
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
	static const char *const stale[] = {"If-Match: \"1\"", "If-Match: \"3\"",
					    "If-Match: W/\"2\"", "If-Match: 2", NULL};
	for (const char *const *tag = stale; *tag; tag++) {
		const char *const patch[] = {MERGE_CT[0], *tag, NULL};
		assert_refused("PATCH", path, patch, l->noops[0], 412, PRECONDITION, NULL);
		const char *const del[] = {*tag, NULL};
		assert_refused("DELETE", path, del, NULL, 412, PRECONDITION, NULL);
	}
	r = get_with(path, NULL, 200);
	ck_assert_str_eq(resp_header(r, "ETag"), "\"2\"");
	resp_free(r);
	/* the current tag, a list holding it, or any */
	static const char *const current[] = {"If-Match: \"2\"", "If-Match: \"1\", \"2\"",
					      "If-Match: *", NULL};
	for (const char *const *tag = current; *tag; tag++) {
		const char *const patch[] = {MERGE_CT[0], *tag, NULL};
		r = http("PATCH", path, patch, "{}", 2);
		ck_assert_msg(r->status == 200, "%s with %s: %ld", path, *tag, r->status);
		resp_free(r);
	}
	const char *const del[] = {"If-Match: \"2\"", NULL};
	r = http("DELETE", path, del, NULL, 0);
	ck_assert_int_eq(r->status, 204);
	resp_free(r);
}
END_TEST

START_TEST(test_deleted_then_gone_to_get_patch_and_delete)
{
	const struct lifecycle *l = &resources[_i];
	int64_t id = make_one(_i);
	char path[64];
	snprintf(path, sizeof path, "/%s/%lld", l->collection, (long long)id);
	int64_t before = db_count(l->collection);
	struct resp *r = http_delete(path);
	ck_assert_int_eq(r->status, 204);
	ck_assert_uint_eq(r->len, 0);
	ck_assert_ptr_null(resp_header(r, "Content-Type"));
	resp_free(r);
	ck_assert_int_eq(db_count(l->collection), before - 1);
	r = get_with(path, NULL, 404);
	assert_problem(r, 404, NOT_FOUND);
	resp_free(r);
	assert_refused("PATCH", path, MERGE_CT, l->change, 404, NOT_FOUND, NULL);
	assert_refused("DELETE", path, NULL, NULL, 404, NOT_FOUND, NULL);
}
END_TEST

START_TEST(test_an_id_that_never_existed_is_404)
{
	const struct lifecycle *l = &resources[_i];
	int64_t id = make_one(_i) + 1000000;
	char path[64];
	snprintf(path, sizeof path, "/%s/%lld", l->collection, (long long)id);
	struct resp *r = get_with(path, NULL, 404);
	assert_problem(r, 404, NOT_FOUND);
	resp_free(r);
	assert_refused("PATCH", path, MERGE_CT, l->change, 404, NOT_FOUND, NULL);
	assert_refused("DELETE", path, NULL, NULL, 404, NOT_FOUND, NULL);
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("test_record_lifecycle", &tc);
	int n = (int)(sizeof resources / sizeof resources[0]);
	tcase_add_loop_test(tc, test_created_read_and_revalidated, 0, n);
	tcase_add_loop_test(tc, test_changed_and_changed_to_what_it_is, 0, n);
	tcase_add_loop_test(tc, test_if_match_guards_patch_and_delete, 0, n);
	tcase_add_loop_test(tc, test_deleted_then_gone_to_get_patch_and_delete, 0, n);
	tcase_add_loop_test(tc, test_an_id_that_never_existed_is_404, 0, n);
	return run_suite(s);
}

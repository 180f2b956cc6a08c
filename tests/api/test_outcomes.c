/* Outcomes (tumour-response assessments) through the API: create with its
 * defaults and derived patient_id, every required field, the MR-only-under-WHO
 * rule, the adjuvant PD/NE rule, assessment dates against the course, the
 * server-managed patient_id and immutable course_id, types, merge patch,
 * read and delete. Every refused write is shown to change nothing. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALIDATION "urn:cohortd:problem:validation"
#define NOT_FOUND  "urn:cohortd:problem:not-found"

static const char *const JSON[] = {"Content-Type: application/json", NULL};
static const char *const MERGE[] = {"Content-Type: application/merge-patch+json", NULL};

static void refuse_post(const char *body, const char *field)
{
	assert_refused("POST", "/outcomes", JSON, body, 422, VALIDATION, field);
}

static void refuse_patch(int64_t id, const char *body, const char *field)
{
	char path[64];
	snprintf(path, sizeof path, "/outcomes/%lld", (long long)id);
	assert_refused("PATCH", path, MERGE, body, 422, VALIDATION, field);
}

START_TEST(test_outcome_create_is_201_with_location_etag_and_defaults)
{
	int64_t patient;
	int64_t course = make_course_of_new_patient(&patient, NULL);
	char body[256];
	snprintf(body, sizeof body,
		 "{\"course_id\": %lld, \"assessed_on\": \"1985-04-01\", \"response\": \"PR\"}",
		 (long long)course);
	struct resp *r = http_post_json("/outcomes", body);
	json_int_t id = assert_created(r, "outcomes");
	ck_assert_int_eq(resp_int(r, "course_id"), course);
	ck_assert_int_eq(resp_int(r, "patient_id"), patient);
	ck_assert_str_eq(resp_str(r, "assessed_on"), "1985-04-01");
	ck_assert_str_eq(resp_str(r, "criteria"), "who");
	ck_assert_str_eq(resp_str(r, "response"), "PR");
	ck_assert(json_is_false(json_object_get(r->json, "confirmed")));
	ck_assert_int_eq(resp_int(r, "version"), 1);
	ck_assert_ptr_nonnull(resp_str(r, "created_at"));
	ck_assert_str_eq(resp_str(r, "created_at"), resp_str(r, "updated_at"));

	/* The keys, in contract order. */
	static const char *const keys[] = {"id",         "course_id",  "patient_id", "assessed_on",
					   "criteria",   "response",   "confirmed",  "version",
					   "created_at", "updated_at", NULL};
	assert_keys_in_order(r->json, keys);

	struct resp *g = get_ok(record_path("outcomes", id));
	ck_assert_str_eq(resp_header(g, "ETag"), "\"1\"");
	ck_assert(json_equal(g->json, r->json));
	resp_free(g);
	resp_free(r);
}
END_TEST

START_TEST(test_outcome_stores_given_criteria_and_confirmed)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	char body[256];
	snprintf(body, sizeof body,
		 "{\"course_id\": %lld, \"assessed_on\": \"1985-05-02\", \"response\": \"CR\", "
		 "\"criteria\": \"recist_1_1\", \"confirmed\": true}",
		 (long long)course);
	struct resp *r = http_post_json("/outcomes", body);
	ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
	char path[64];
	snprintf(path, sizeof path, "/outcomes/%lld", (long long)resp_int(r, "id"));
	struct resp *g = get_ok(path);
	ck_assert_str_eq(resp_str(g, "criteria"), "recist_1_1");
	ck_assert_str_eq(resp_str(g, "response"), "CR");
	ck_assert(json_is_true(json_object_get(g->json, "confirmed")));
	resp_free(g);
	resp_free(r);
}
END_TEST

START_TEST(test_outcome_without_course_id_is_422)
{
	refuse_post("{\"assessed_on\": \"1985-04-01\", \"response\": \"PR\"}", "course_id");
}
END_TEST

START_TEST(test_outcome_without_assessed_on_is_422)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	char body[128];
	snprintf(body, sizeof body, "{\"course_id\": %lld, \"response\": \"PR\"}",
		 (long long)course);
	refuse_post(body, "assessed_on");
}
END_TEST

START_TEST(test_outcome_without_response_is_422)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	char body[128];
	snprintf(body, sizeof body, "{\"course_id\": %lld, \"assessed_on\": \"1985-04-01\"}",
		 (long long)course);
	refuse_post(body, "response");
}
END_TEST

START_TEST(test_outcome_mr_under_recist_is_422)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	char body[200];
	snprintf(body, sizeof body,
		 "{\"course_id\": %lld, \"assessed_on\": \"1985-04-01\", \"response\": \"MR\", "
		 "\"criteria\": \"recist_1_1\"}",
		 (long long)course);
	refuse_post(body, "response");
}
END_TEST

START_TEST(test_outcome_mr_under_who_is_201)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	int64_t implicit = make_outcome(course, "{\"response\": \"MR\"}");
	int64_t explicit_who =
		make_outcome(course, "{\"response\": \"MR\", \"criteria\": \"who\"}");
	char path[64];
	snprintf(path, sizeof path, "/outcomes/%lld", (long long)implicit);
	struct resp *g = get_ok(path);
	ck_assert_str_eq(resp_str(g, "response"), "MR");
	ck_assert_str_eq(resp_str(g, "criteria"), "who");
	resp_free(g);
	snprintf(path, sizeof path, "/outcomes/%lld", (long long)explicit_who);
	g = get_ok(path);
	ck_assert_str_eq(resp_str(g, "response"), "MR");
	resp_free(g);
}
END_TEST

START_TEST(test_outcome_adjuvant_patient_cr_pr_sd_mr_are_422)
{
	int64_t course = make_course_of_new_patient(NULL, "{\"setting\": \"adjuvant\"}");
	static const char *const refused[] = {"CR", "PR", "SD", "MR"};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		char body[200];
		snprintf(body, sizeof body,
			 "{\"course_id\": %lld, \"assessed_on\": \"1985-04-01\", \"response\": "
			 "\"%s\"}",
			 (long long)course, refused[i]);
		refuse_post(body, "response");
	}
}
END_TEST

START_TEST(test_outcome_adjuvant_patient_pd_ne_are_201)
{
	int64_t patient;
	int64_t course = make_course_of_new_patient(&patient, "{\"setting\": \"adjuvant\"}");
	int64_t pd = make_outcome(course, "{\"response\": \"PD\"}");
	int64_t ne = make_outcome(course, "{\"response\": \"NE\", \"criteria\": \"recist_1_1\"}");
	char path[64];
	snprintf(path, sizeof path, "/outcomes/%lld", (long long)pd);
	struct resp *g = get_ok(path);
	ck_assert_str_eq(resp_str(g, "response"), "PD");
	ck_assert_int_eq(resp_int(g, "patient_id"), patient);
	resp_free(g);
	snprintf(path, sizeof path, "/outcomes/%lld", (long long)ne);
	g = get_ok(path);
	ck_assert_str_eq(resp_str(g, "response"), "NE");
	resp_free(g);
}
END_TEST

START_TEST(test_outcome_assessed_before_course_start_is_422)
{
	int64_t course = make_course_of_new_patient(NULL, NULL); /* started 1985-02-01 */
	char body[200];
	snprintf(body, sizeof body,
		 "{\"course_id\": %lld, \"assessed_on\": \"1985-01-31\", \"response\": \"SD\"}",
		 (long long)course);
	refuse_post(body, "assessed_on");
}
END_TEST

START_TEST(test_outcome_assessed_on_course_start_day_is_201)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	int64_t id = make_outcome(course, "{\"assessed_on\": \"1985-02-01\"}");
	char path[64];
	snprintf(path, sizeof path, "/outcomes/%lld", (long long)id);
	struct resp *g = get_ok(path);
	ck_assert_str_eq(resp_str(g, "assessed_on"), "1985-02-01");
	resp_free(g);
}
END_TEST

START_TEST(test_outcome_invalid_assessed_on_date_is_422)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	static const char *const dates[] = {"1985-02-30", "1985-13-01", "1985-4-01", "04/01/1985"};
	for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
		char body[200];
		snprintf(body, sizeof body,
			 "{\"course_id\": %lld, \"assessed_on\": \"%s\", \"response\": \"SD\"}",
			 (long long)course, dates[i]);
		refuse_post(body, "assessed_on");
	}
}
END_TEST

START_TEST(test_outcome_for_missing_course_is_422)
{
	refuse_post(
		"{\"course_id\": 999999999, \"assessed_on\": \"1985-04-01\", \"response\": \"PR\"}",
		"course_id");
}
END_TEST

START_TEST(test_outcome_confirmed_wrong_type_is_422)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	static const char *const values[] = {"\"true\"", "1", "0", "\"yes\""};
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		char body[256];
		snprintf(body, sizeof body,
			 "{\"course_id\": %lld, \"assessed_on\": \"1985-04-01\", \"response\": "
			 "\"PR\", "
			 "\"confirmed\": %s}",
			 (long long)course, values[i]);
		refuse_post(body, "confirmed");
	}
}
END_TEST

START_TEST(test_outcome_enum_values_outside_the_set_are_422)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	char body[256];
	snprintf(body, sizeof body,
		 "{\"course_id\": %lld, \"assessed_on\": \"1985-04-01\", \"response\": \"cr\"}",
		 (long long)course);
	refuse_post(body, "response");
	snprintf(body, sizeof body,
		 "{\"course_id\": %lld, \"assessed_on\": \"1985-04-01\", \"response\": \"PR\", "
		 "\"criteria\": \"recist\"}",
		 (long long)course);
	refuse_post(body, "criteria");
	snprintf(body, sizeof body,
		 "{\"course_id\": \"%lld\", \"assessed_on\": \"1985-04-01\", \"response\": \"PR\"}",
		 (long long)course);
	refuse_post(body, "course_id");
}
END_TEST

START_TEST(test_outcome_patch_changes_fields_and_bumps_version)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	int64_t id = make_outcome(course, NULL);
	char path[64];
	snprintf(path, sizeof path, "/outcomes/%lld", (long long)id);
	struct resp *r = http_patch_json(path, "{\"response\": \"CR\", \"confirmed\": true, "
					       "\"assessed_on\": \"1985-06-15\"}");
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	ck_assert_str_eq(resp_header(r, "ETag"), "\"2\"");
	ck_assert_int_eq(resp_int(r, "version"), 2);
	resp_free(r);

	struct resp *g = get_ok(path);
	ck_assert_str_eq(resp_str(g, "response"), "CR");
	ck_assert(json_is_true(json_object_get(g->json, "confirmed")));
	ck_assert_str_eq(resp_str(g, "assessed_on"), "1985-06-15");
	ck_assert_str_eq(resp_str(g, "criteria"), "who");
	ck_assert_int_eq(resp_int(g, "course_id"), course);
	ck_assert_int_eq(resp_int(g, "version"), 2);
	resp_free(g);
}
END_TEST

START_TEST(test_outcome_patch_null_resets_criteria_and_confirmed)
{
	int64_t id = make_outcome(make_course_of_new_patient(NULL, NULL),
				  "{\"criteria\": \"recist_1_1\", \"confirmed\": true}");
	char path[64];
	snprintf(path, sizeof path, "/outcomes/%lld", (long long)id);
	struct resp *r = http_patch_json(path, "{\"criteria\": null, \"confirmed\": null}");
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	resp_free(r);
	struct resp *g = get_ok(path);
	ck_assert_str_eq(resp_str(g, "criteria"), "who");
	ck_assert(json_is_false(json_object_get(g->json, "confirmed")));
	ck_assert_int_eq(resp_int(g, "version"), 2);
	resp_free(g);
}
END_TEST

START_TEST(test_outcome_patch_null_required_field_is_422)
{
	int64_t id = make_outcome(make_course_of_new_patient(NULL, NULL), NULL);
	refuse_patch(id, "{\"response\": null}", "response");
	refuse_patch(id, "{\"assessed_on\": null}", "assessed_on");
}
END_TEST

START_TEST(test_outcome_patch_recist_on_mr_is_422)
{
	int64_t id = make_outcome(make_course_of_new_patient(NULL, NULL), "{\"response\": \"MR\"}");
	refuse_patch(id, "{\"criteria\": \"recist_1_1\"}", "response");
	/* Changing both together is fine. */
	char path[64];
	snprintf(path, sizeof path, "/outcomes/%lld", (long long)id);
	struct resp *r =
		http_patch_json(path, "{\"criteria\": \"recist_1_1\", \"response\": \"PR\"}");
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	ck_assert_str_eq(resp_str(r, "criteria"), "recist_1_1");
	resp_free(r);
}
END_TEST

START_TEST(test_outcome_patch_adjuvant_response_to_cr_is_422)
{
	int64_t id = make_outcome(make_course_of_new_patient(NULL, "{\"setting\": \"adjuvant\"}"),
				  "{\"response\": \"PD\"}");
	refuse_patch(id, "{\"response\": \"CR\"}", "response");
}
END_TEST

START_TEST(test_outcome_patch_assessed_before_course_start_is_422)
{
	int64_t id = make_outcome(make_course_of_new_patient(NULL, NULL), NULL);
	refuse_patch(id, "{\"assessed_on\": \"1985-01-15\"}", "assessed_on");
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("test_outcomes", &tc);
	tcase_add_test(tc, test_outcome_create_is_201_with_location_etag_and_defaults);
	tcase_add_test(tc, test_outcome_stores_given_criteria_and_confirmed);
	tcase_add_test(tc, test_outcome_without_course_id_is_422);
	tcase_add_test(tc, test_outcome_without_assessed_on_is_422);
	tcase_add_test(tc, test_outcome_without_response_is_422);
	tcase_add_test(tc, test_outcome_mr_under_recist_is_422);
	tcase_add_test(tc, test_outcome_mr_under_who_is_201);
	tcase_add_test(tc, test_outcome_adjuvant_patient_cr_pr_sd_mr_are_422);
	tcase_add_test(tc, test_outcome_adjuvant_patient_pd_ne_are_201);
	tcase_add_test(tc, test_outcome_assessed_before_course_start_is_422);
	tcase_add_test(tc, test_outcome_assessed_on_course_start_day_is_201);
	tcase_add_test(tc, test_outcome_invalid_assessed_on_date_is_422);
	tcase_add_test(tc, test_outcome_for_missing_course_is_422);
	tcase_add_test(tc, test_outcome_confirmed_wrong_type_is_422);
	tcase_add_test(tc, test_outcome_enum_values_outside_the_set_are_422);
	tcase_add_test(tc, test_outcome_patch_changes_fields_and_bumps_version);
	tcase_add_test(tc, test_outcome_patch_null_resets_criteria_and_confirmed);
	tcase_add_test(tc, test_outcome_patch_null_required_field_is_422);
	tcase_add_test(tc, test_outcome_patch_recist_on_mr_is_422);
	tcase_add_test(tc, test_outcome_patch_adjuvant_response_to_cr_is_422);
	tcase_add_test(tc, test_outcome_patch_assessed_before_course_start_is_422);
	return run_suite(s);
}

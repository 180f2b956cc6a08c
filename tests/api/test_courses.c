/* API tests of the course resource: create (201, Location, ETag, stored
 * values), number assignment (1, 2, ... per patient) and its uniqueness,
 * the field rules (required fields, patient must exist, start within the
 * patient's enrolment and death, end after start, dose with its unit,
 * doses_given, enums, dates), merge patch (change, null, immutable
 * patient_id, start not after its outcomes and toxicities, no-op), DELETE
 * (204, 409 with dependants, cascade) and If-Match. Every refused write is
 * shown to leave the database unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define VALIDATION          "urn:cohortd:problem:validation"
#define DUPLICATE           "urn:cohortd:problem:duplicate"
#define NOT_FOUND           "urn:cohortd:problem:not-found"
#define HAS_DEPENDANTS      "urn:cohortd:problem:has-dependants"
#define PRECONDITION_FAILED "urn:cohortd:problem:precondition-failed"
#define INVALID_PARAMETER   "urn:cohortd:problem:invalid-parameter"

static const char *const JSON_CT[] = {"Content-Type: application/json", NULL};
static const char *const MERGE_CT[] = {"Content-Type: application/merge-patch+json", NULL};

static const char *const COURSE_KEYS[] = {
	"id",         "patient_id",    "number",      "started_on",  "ended_on",
	"il2_dose",   "il2_dose_unit", "doses_given", "stop_reason", "version",
	"created_at", "updated_at",    NULL};

/* A valid create body for patient_id, extra (JSON object text) merged over
 * it and the member named drop (if any) removed. Caller frees. */
static char *course_body(int64_t patient_id, const char *extra, const char *drop)
{
	json_t *o = json_pack("{s:I, s:s}", "patient_id", (json_int_t)patient_id, "started_on",
			      "1985-02-01");
	return json_merged(o, extra, drop);
}

static json_t *get_course(int64_t id)
{
	return get_json(record_path("courses", id));
}

static void assert_gone(const char *collection, int64_t id)
{
	struct resp *r = http_get(record_path(collection, id));
	assert_problem(r, 404, NOT_FOUND);
	resp_free(r);
}

static void refuse_create(const char *body, long status, const char *type, const char *field)
{
	assert_refused("POST", "/courses", JSON_CT, body, status, type, field);
}

/* Builds the body from extra and refuses it with 422 on field. */
static void refuse_create_with(int64_t patient_id, const char *extra, const char *field)
{
	char *body = course_body(patient_id, extra, NULL);
	refuse_create(body, 422, VALIDATION, field);
	free(body);
}

static void refuse_patch(int64_t id, const char *body, const char *field)
{
	assert_refused("PATCH", record_path("courses", id), MERGE_CT, body, 422, VALIDATION, field);
}

static json_int_t number_of(int64_t course_id)
{
	json_t *c = get_course(course_id);
	json_int_t n = json_integer_value(json_object_get(c, "number"));
	json_decref(c);
	return n;
}

/* --- create ---------------------------------------------------------------- */

START_TEST(test_create_course_is_201_with_location_etag_and_stored_values)
{
	int64_t pid = make_patient(NULL);
	char *body = course_body(pid,
				 "{\"started_on\": \"1985-03-01\", \"ended_on\": \"1985-03-20\", "
				 "\"il2_dose\": 100000, \"il2_dose_unit\": \"U/kg\", "
				 "\"doses_given\": 28, \"stop_reason\": \"toxicity\"}",
				 NULL);
	struct resp *r = http_post_json("/courses", body);
	json_int_t id = assert_created(r, "courses");
	assert_keys_in_order(r->json, COURSE_KEYS);
	assert_member_int(r->json, "patient_id", pid);
	assert_member_int(r->json, "number", 1);
	assert_member_str(r->json, "started_on", "1985-03-01");
	assert_member_str(r->json, "ended_on", "1985-03-20");
	assert_member_number(r->json, "il2_dose", 100000);
	assert_member_str(r->json, "il2_dose_unit", "U/kg"); /* as recorded, not converted */
	assert_member_int(r->json, "doses_given", 28);
	assert_member_str(r->json, "stop_reason", "toxicity");
	assert_member_int(r->json, "version", 1);
	json_t *got = get_course(id);
	ck_assert_msg(json_equal(got, r->json), "GET differs from the POST answer");
	json_decref(got);
	resp_free(r);
	free(body);
}
END_TEST

START_TEST(test_create_minimal_course_leaves_optionals_null)
{
	int64_t pid = make_patient(NULL);
	char *body = course_body(pid, NULL, NULL);
	struct resp *r = http_post_json("/courses", body);
	ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
	json_t *c = get_course(json_integer_value(json_object_get(r->json, "id")));
	assert_member_int(c, "number", 1);
	assert_member_null(c, "ended_on");
	assert_member_null(c, "il2_dose");
	assert_member_null(c, "il2_dose_unit");
	assert_member_null(c, "doses_given");
	assert_member_null(c, "stop_reason");
	json_decref(c);
	resp_free(r);
	free(body);
}
END_TEST

START_TEST(test_course_numbers_are_assigned_per_patient)
{
	int64_t a = make_patient(NULL), b = make_patient(NULL);
	int64_t a1 = make_course(a, NULL);
	int64_t a2 = make_course(a, "{\"started_on\": \"1985-04-01\"}");
	int64_t b1 = make_course(b, NULL);
	int64_t a3 = make_course(a, "{\"started_on\": \"1985-06-01\"}");
	ck_assert_int_eq(number_of(a1), 1);
	ck_assert_int_eq(number_of(a2), 2);
	ck_assert_int_eq(number_of(a3), 3);
	ck_assert_int_eq(number_of(b1), 1);
	/* an explicit number is kept; the next assigned one follows the highest */
	int64_t a7 = make_course(a, "{\"number\": 7, \"started_on\": \"1985-08-01\"}");
	int64_t a8 = make_course(a, "{\"started_on\": \"1985-09-01\"}");
	ck_assert_int_eq(number_of(a7), 7);
	ck_assert_int_eq(number_of(a8), 8);
	int64_t b1000 = make_course(b, "{\"number\": 1000}");
	ck_assert_int_eq(number_of(b1000), 1000);
}
END_TEST

START_TEST(test_duplicate_course_number_for_same_patient_is_409)
{
	int64_t a = make_patient(NULL), b = make_patient(NULL);
	int64_t a1 = make_course(a, NULL);
	int64_t a2 = make_course(a, NULL);
	char *body = course_body(a, "{\"number\": 1}", NULL);
	refuse_create(body, 409, DUPLICATE, "number");
	free(body);
	/* the same number for another patient is fine */
	ck_assert_int_eq(number_of(make_course(b, "{\"number\": 1}")), 1);
	/* and a PATCH onto a taken number is refused too */
	assert_refused("PATCH", record_path("courses", a2), MERGE_CT, "{\"number\": 1}", 409,
		       DUPLICATE, "number");
	ck_assert_int_eq(number_of(a1), 1);
	ck_assert_int_eq(number_of(a2), 2);
}
END_TEST

START_TEST(test_course_number_out_of_range_is_422)
{
	int64_t pid = make_patient(NULL);
	static const char *const bad[] = {"0", "-1", "1001", "1.5", "\"2\"", NULL};
	for (int i = 0; bad[i]; i++) {
		char extra[64];
		snprintf(extra, sizeof extra, "{\"number\": %s}", bad[i]);
		refuse_create_with(pid, extra, "number");
	}
}
END_TEST

START_TEST(test_create_course_without_required_fields_is_422)
{
	int64_t pid = make_patient(NULL);
	static const char *const required[] = {"patient_id", "started_on", NULL};
	for (int i = 0; required[i]; i++) {
		char *body = course_body(pid, NULL, required[i]);
		refuse_create(body, 422, VALIDATION, required[i]);
		free(body);
		char extra[64];
		snprintf(extra, sizeof extra, "{\"%s\": null}", required[i]);
		refuse_create_with(pid, extra, required[i]);
	}
}
END_TEST

START_TEST(test_course_for_missing_patient_is_422)
{
	int64_t pid = make_patient(NULL);
	char *body = course_body(pid + 100000, NULL, NULL);
	refuse_create(body, 422, VALIDATION, "patient_id");
	free(body);
	/* a deleted patient is missing too */
	int64_t gone = make_patient(NULL);
	struct resp *r = http_delete(record_path("patients", gone));
	ck_assert_int_eq(r->status, 204);
	resp_free(r);
	body = course_body(gone, NULL, NULL);
	refuse_create(body, 422, VALIDATION, "patient_id");
	free(body);
	refuse_create_with(pid, "{\"patient_id\": 0}", "patient_id");
	refuse_create_with(pid, "{\"patient_id\": -3}", "patient_id");
	char extra[64];
	snprintf(extra, sizeof extra, "{\"patient_id\": \"%lld\"}", (long long)pid);
	refuse_create_with(pid, extra, "patient_id");
}
END_TEST

START_TEST(test_course_before_enrolment_is_422)
{
	int64_t pid = make_patient("{\"enrolled_on\": \"1986-05-10\"}");
	refuse_create_with(pid, "{\"started_on\": \"1986-05-09\"}", "started_on");
	refuse_create_with(pid, "{\"started_on\": \"1950-01-01\"}", "started_on");
	int64_t c = make_course(pid, "{\"started_on\": \"1986-05-10\"}");
	json_t *got = get_course(c);
	assert_member_str(got, "started_on", "1986-05-10");
	json_decref(got);
}
END_TEST

START_TEST(test_course_after_death_is_422)
{
	int64_t pid = make_patient("{\"vital_status\": \"dead\", \"died_on\": \"1985-03-15\"}");
	refuse_create_with(pid, "{\"started_on\": \"1985-03-16\"}", "started_on");
	refuse_create_with(pid, "{\"started_on\": \"1990-01-01\"}", "started_on");
	int64_t c = make_course(pid, "{\"started_on\": \"1985-03-15\"}");
	json_t *got = get_course(c);
	assert_member_str(got, "started_on", "1985-03-15");
	json_decref(got);
}
END_TEST

START_TEST(test_course_dose_and_unit_go_together)
{
	int64_t pid = make_patient(NULL);
	refuse_create_with(pid, "{\"il2_dose\": 720000}", "il2_dose_unit");
	refuse_create_with(pid, "{\"il2_dose\": 720000, \"il2_dose_unit\": null}", "il2_dose_unit");
	refuse_create_with(pid, "{\"il2_dose_unit\": \"IU/kg\"}", "il2_dose");
	refuse_create_with(pid, "{\"il2_dose\": null, \"il2_dose_unit\": \"U/kg\"}", "il2_dose");
	/* the dose must be a number above 0; the unit one of the two */
	static const char *const bad_dose[] = {"0", "-1", "-0.5", "\"720000\"", "true", NULL};
	for (int i = 0; bad_dose[i]; i++) {
		char extra[96];
		snprintf(extra, sizeof extra, "{\"il2_dose\": %s, \"il2_dose_unit\": \"IU/kg\"}",
			 bad_dose[i]);
		refuse_create_with(pid, extra, "il2_dose");
	}
	static const char *const bad_unit[] = {"\"iu/kg\"", "\"mg\"", "\"IU\"", "\"\"", "1", NULL};
	for (int i = 0; bad_unit[i]; i++) {
		char extra[96];
		snprintf(extra, sizeof extra, "{\"il2_dose\": 720000, \"il2_dose_unit\": %s}",
			 bad_unit[i]);
		refuse_create_with(pid, extra, "il2_dose_unit");
	}
	int64_t c = make_course(pid, "{\"il2_dose\": 0.5, \"il2_dose_unit\": \"IU/kg\"}");
	json_t *got = get_course(c);
	assert_member_number(got, "il2_dose", 0.5);
	assert_member_str(got, "il2_dose_unit", "IU/kg");
	json_decref(got);
	c = make_course(pid, "{\"il2_dose\": null, \"il2_dose_unit\": null}");
	got = get_course(c);
	assert_member_null(got, "il2_dose");
	assert_member_null(got, "il2_dose_unit");
	json_decref(got);
}
END_TEST

START_TEST(test_course_doses_given_must_be_0_to_30)
{
	int64_t pid = make_patient(NULL);
	static const char *const bad[] = {"-1", "31", "2.5", "\"3\"", NULL};
	for (int i = 0; bad[i]; i++) {
		char extra[64];
		snprintf(extra, sizeof extra, "{\"doses_given\": %s}", bad[i]);
		refuse_create_with(pid, extra, "doses_given");
	}
	json_t *got = get_course(make_course(pid, "{\"doses_given\": 0}"));
	assert_member_int(got, "doses_given", 0);
	json_decref(got);
	got = get_course(make_course(pid, "{\"doses_given\": 30}"));
	assert_member_int(got, "doses_given", 30);
	json_decref(got);
}
END_TEST

START_TEST(test_course_ended_before_started_is_422)
{
	int64_t pid = make_patient(NULL);
	refuse_create_with(pid, "{\"started_on\": \"1985-03-10\", \"ended_on\": \"1985-03-09\"}",
			   "ended_on");
	int64_t c =
		make_course(pid, "{\"started_on\": \"1985-03-10\", \"ended_on\": \"1985-03-10\"}");
	json_t *got = get_course(c);
	assert_member_str(got, "ended_on", "1985-03-10");
	json_decref(got);
	refuse_patch(c, "{\"ended_on\": \"1985-03-01\"}", "ended_on");
	refuse_patch(c, "{\"started_on\": \"1985-03-11\"}", "ended_on");
}
END_TEST

START_TEST(test_course_with_bad_enum_or_date_is_422)
{
	int64_t pid = make_patient(NULL);
	refuse_create_with(pid, "{\"stop_reason\": \"Completed\"}", "stop_reason");
	refuse_create_with(pid, "{\"stop_reason\": \"bored\"}", "stop_reason");
	static const char *const bad_dates[] = {"1985-02-30", "1985-13-01", "1985-2-01",
						"1899-12-31", "1985-02-29", "02/01/1985",
						NULL};
	for (int i = 0; bad_dates[i]; i++) {
		char extra[96];
		snprintf(extra, sizeof extra, "{\"started_on\": \"%s\"}", bad_dates[i]);
		refuse_create_with(pid, extra, "started_on");
		snprintf(extra, sizeof extra, "{\"ended_on\": \"%s\"}", bad_dates[i]);
		refuse_create_with(pid, extra, "ended_on");
	}
	static const char *const reasons[] = {
		"completed", "toxicity", "progression", "patient_choice", "death", "other", NULL};
	for (int i = 0; reasons[i]; i++) {
		char extra[64];
		snprintf(extra, sizeof extra, "{\"stop_reason\": \"%s\"}", reasons[i]);
		json_t *got = get_course(make_course(pid, extra));
		assert_member_str(got, "stop_reason", reasons[i]);
		json_decref(got);
	}
}
END_TEST

START_TEST(test_course_with_server_managed_or_unknown_member_is_422)
{
	int64_t pid = make_patient(NULL);
	refuse_create_with(pid, "{\"id\": 5}", "id");
	refuse_create_with(pid, "{\"version\": 1}", "version");
	refuse_create_with(pid, "{\"created_at\": \"2020-01-01T00:00:00Z\"}", "created_at");
	refuse_create_with(pid, "{\"updated_at\": \"2020-01-01T00:00:00Z\"}", "updated_at");
	refuse_create_with(pid, "{\"cycle\": 2}", "cycle");
	int64_t c = make_course(pid, NULL);
	refuse_patch(c, "{\"version\": 1}", "version");
	refuse_patch(c, "{\"dose\": 5}", "dose");
}
END_TEST

/* --- merge patch ------------------------------------------------------------ */

START_TEST(test_patch_course_changes_and_null_removes_optional_fields)
{
	int64_t pid = make_patient(NULL);
	int64_t c = make_course(pid, "{\"ended_on\": \"1985-02-20\", \"doses_given\": 12, "
				     "\"stop_reason\": \"completed\"}");
	json_t *before = get_course(c);
	json_t *p = patch_ok(record_path("courses", c),
			     "{\"doses_given\": 14, \"stop_reason\": \"toxicity\", "
			     "\"il2_dose\": 600000, \"il2_dose_unit\": \"U/kg\"}");
	assert_member_int(p, "version", 2);
	json_t *got = get_course(c);
	ck_assert(json_equal(got, p));
	assert_member_int(got, "doses_given", 14);
	assert_member_str(got, "stop_reason", "toxicity");
	assert_member_number(got, "il2_dose", 600000);
	assert_member_str(got, "il2_dose_unit", "U/kg");
	assert_member_int(got, "number", 1);
	assert_member_str(got, "created_at",
			  json_string_value(json_object_get(before, "created_at")));
	json_decref(p);
	json_decref(got);

	p = patch_ok(record_path("courses", c),
		     "{\"ended_on\": null, \"doses_given\": null, \"stop_reason\": null, "
		     "\"il2_dose\": null, \"il2_dose_unit\": null}");
	assert_member_int(p, "version", 3);
	json_decref(p);
	got = get_course(c);
	assert_member_null(got, "ended_on");
	assert_member_null(got, "doses_given");
	assert_member_null(got, "stop_reason");
	assert_member_null(got, "il2_dose");
	assert_member_null(got, "il2_dose_unit");
	json_decref(got);
	json_decref(before);
}
END_TEST

START_TEST(test_patch_course_breaking_dose_pairing_is_422)
{
	int64_t pid = make_patient(NULL);
	int64_t c = make_course(pid, NULL); /* 720000 IU/kg */
	/* what is left is a unit without a dose, or a dose without a unit */
	refuse_patch(c, "{\"il2_dose\": null}", "il2_dose");
	refuse_patch(c, "{\"il2_dose_unit\": null}", "il2_dose_unit");
	refuse_patch(c, "{\"il2_dose\": 0}", "il2_dose");
	refuse_patch(c, "{\"doses_given\": 31}", "doses_given");
	refuse_patch(c, "{\"started_on\": null}", "started_on");
	json_t *got = get_course(c);
	assert_member_number(got, "il2_dose", 720000);
	assert_member_str(got, "il2_dose_unit", "IU/kg");
	assert_member_int(got, "version", 1);
	json_decref(got);
}
END_TEST

START_TEST(test_patch_course_start_outside_patient_span_is_422)
{
	int64_t pid = make_patient("{\"vital_status\": \"dead\", \"died_on\": \"1985-12-31\"}");
	int64_t c = make_course(pid, NULL);
	refuse_patch(c, "{\"started_on\": \"1985-01-09\"}", "started_on");
	refuse_patch(c, "{\"started_on\": \"1986-01-01\"}", "started_on");
	json_t *p = patch_ok(record_path("courses", c), "{\"started_on\": \"1985-12-31\"}");
	assert_member_str(p, "started_on", "1985-12-31");
	json_decref(p);
	p = patch_ok(record_path("courses", c), "{\"started_on\": \"1985-01-10\"}");
	assert_member_str(p, "started_on", "1985-01-10");
	assert_member_int(p, "version", 3);
	json_decref(p);
}
END_TEST

START_TEST(test_patch_course_start_after_its_outcomes_is_422)
{
	int64_t pid = make_patient(NULL);
	int64_t c = make_course(pid, NULL); /* starts 1985-02-01 */
	make_outcome(c, "{\"assessed_on\": \"1985-03-01\"}");
	refuse_patch(c, "{\"started_on\": \"1985-03-02\"}", "started_on");
	json_t *p = patch_ok(record_path("courses", c), "{\"started_on\": \"1985-03-01\"}");
	json_decref(p);

	int64_t c2 = make_course(pid, "{\"started_on\": \"1985-05-01\"}");
	make_toxicity(c2, "{\"onset_on\": \"1985-05-03\"}");
	make_outcome(c2, "{\"assessed_on\": \"1985-07-01\"}");
	refuse_patch(c2, "{\"started_on\": \"1985-05-04\"}", "started_on");
	refuse_patch(c2, "{\"started_on\": \"1985-07-02\"}", "started_on");
	p = patch_ok(record_path("courses", c2), "{\"started_on\": \"1985-05-03\"}");
	assert_member_str(p, "started_on", "1985-05-03");
	json_decref(p);
}
END_TEST

/* --- delete ------------------------------------------------------------------ */

START_TEST(test_delete_course_with_dependants_is_409)
{
	int64_t pid = make_patient(NULL);
	int64_t with_outcome = make_course(pid, NULL);
	make_outcome(with_outcome, NULL);
	int64_t with_toxicity = make_course(pid, NULL);
	make_toxicity(with_toxicity, NULL);
	assert_refused("DELETE", record_path("courses", with_outcome), NULL, NULL, 409,
		       HAS_DEPENDANTS, NULL);
	assert_refused("DELETE", record_path("courses", with_toxicity), NULL, NULL, 409,
		       HAS_DEPENDANTS, NULL);
	char path[96];
	snprintf(path, sizeof path, "/courses/%lld?cascade=false", (long long)with_outcome);
	assert_refused("DELETE", path, NULL, NULL, 409, HAS_DEPENDANTS, NULL);
	snprintf(path, sizeof path, "/courses/%lld?cascade=maybe", (long long)with_outcome);
	assert_refused("DELETE", path, NULL, NULL, 400, INVALID_PARAMETER, "cascade");
	json_decref(get_course(with_outcome));
	json_decref(get_course(with_toxicity));
}
END_TEST

START_TEST(test_delete_course_with_cascade_removes_outcomes_and_toxicities)
{
	int64_t pid = make_patient(NULL);
	int64_t c = make_course(pid, NULL);
	int64_t o1 = make_outcome(c, NULL);
	int64_t o2 = make_outcome(c, "{\"assessed_on\": \"1985-05-01\", \"response\": \"CR\"}");
	int64_t t1 = make_toxicity(c, NULL);
	int64_t sibling = make_course(pid, "{\"started_on\": \"1985-06-01\"}");
	int64_t so = make_outcome(sibling, "{\"assessed_on\": \"1985-08-01\"}");
	int64_t st = make_toxicity(sibling, "{\"onset_on\": \"1985-06-02\"}");

	int64_t np = db_count("patients"), nc = db_count("courses"), no = db_count("outcomes"),
		nt = db_count("toxicities");
	char path[96];
	snprintf(path, sizeof path, "/courses/%lld?cascade=true", (long long)c);
	struct resp *r = http_delete(path);
	ck_assert_msg(r->status == 204, "%ld %s", r->status, r->body);
	resp_free(r);
	ck_assert_int_eq(db_count("patients"), np);
	ck_assert_int_eq(db_count("courses"), nc - 1);
	ck_assert_int_eq(db_count("outcomes"), no - 2);
	ck_assert_int_eq(db_count("toxicities"), nt - 1);
	assert_gone("courses", c);
	assert_gone("outcomes", o1);
	assert_gone("outcomes", o2);
	assert_gone("toxicities", t1);
	json_decref(get_json(record_path("patients", pid)));
	json_decref(get_course(sibling));
	json_decref(get_json(record_path("outcomes", so)));
	json_decref(get_json(record_path("toxicities", st)));
}
END_TEST

/* --- If-Match ---------------------------------------------------------------- */

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("test_courses", &tc);
	tcase_add_test(tc, test_create_course_is_201_with_location_etag_and_stored_values);
	tcase_add_test(tc, test_create_minimal_course_leaves_optionals_null);
	tcase_add_test(tc, test_course_numbers_are_assigned_per_patient);
	tcase_add_test(tc, test_duplicate_course_number_for_same_patient_is_409);
	tcase_add_test(tc, test_course_number_out_of_range_is_422);
	tcase_add_test(tc, test_create_course_without_required_fields_is_422);
	tcase_add_test(tc, test_course_for_missing_patient_is_422);
	tcase_add_test(tc, test_course_before_enrolment_is_422);
	tcase_add_test(tc, test_course_after_death_is_422);
	tcase_add_test(tc, test_course_dose_and_unit_go_together);
	tcase_add_test(tc, test_course_doses_given_must_be_0_to_30);
	tcase_add_test(tc, test_course_ended_before_started_is_422);
	tcase_add_test(tc, test_course_with_bad_enum_or_date_is_422);
	tcase_add_test(tc, test_course_with_server_managed_or_unknown_member_is_422);
	tcase_add_test(tc, test_patch_course_changes_and_null_removes_optional_fields);
	tcase_add_test(tc, test_patch_course_breaking_dose_pairing_is_422);
	tcase_add_test(tc, test_patch_course_start_outside_patient_span_is_422);
	tcase_add_test(tc, test_patch_course_start_after_its_outcomes_is_422);
	tcase_add_test(tc, test_delete_course_with_dependants_is_409);
	tcase_add_test(tc, test_delete_course_with_cascade_removes_outcomes_and_toxicities);
	return run_suite(s);
}

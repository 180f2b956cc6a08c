/* API tests of the patient resource: create (201, Location, ETag, stored
 * values, defaults), every field rule (required fields, enums, age, code
 * pattern and uniqueness, dates, the death rules), GET, merge patch (change,
 * null removes or resets, null on required, no-op, unknown and server-managed
 * members, rules against the patient's courses and outcomes), DELETE (204,
 * 404, 409 with dependants, cascade) and If-Match. Every refused write is
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

/* clang-format off */
static const char *const PATIENT_KEYS[] = {
	"id", "code", "sex", "age", "histology", "setting", "regimen", "enrolled_on",
	"last_contact_on", "vital_status", "died_on", "death_cause", "version", "created_at",
	"updated_at", NULL};
/* clang-format on */

/* A valid create body with a fresh code, extra (JSON object text) merged
 * over it and the member named drop (if any) removed. Caller frees. */
static char *patient_body(const char *extra, const char *drop)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "code", unique_code("PT"), "histology",
			      "melanoma", "setting", "metastatic", "regimen", "il2_alone",
			      "enrolled_on", "1985-01-10");
	return json_merged(o, extra, drop);
}

static json_t *get_patient(int64_t id)
{
	return get_json(record_path("patients", id));
}

static const char *str_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_string(v), "%s is not a string", key);
	return json_string_value(v);
}

static void assert_timestamp(json_t *o, const char *key)
{
	const char *t = str_of(o, key);
	size_t n = strlen(t);
	ck_assert_msg(n >= 20 && t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':' &&
			      t[16] == ':' && t[n - 1] == 'Z',
		      "%s is not RFC 3339 UTC: %s", key, t);
}

/* POSTs a create body that must be refused, proving the database unchanged. */
static void refuse_create(const char *body, long status, const char *type, const char *field)
{
	assert_refused("POST", "/patients", JSON_CT, body, status, type, field);
}

/* A create body with extra merged in, refused with 422 on field. */
static void refuse_create_with(const char *extra, const char *field)
{
	char *body = patient_body(extra, NULL);
	refuse_create(body, 422, VALIDATION, field);
	free(body);
}

static void refuse_patch(int64_t id, const char *body, const char *field)
{
	assert_refused("PATCH", record_path("patients", id), MERGE_CT, body, 422, VALIDATION,
		       field);
}

/* Creates via POST (asserting 201) and returns the id. */
static int64_t post_patient(const char *extra)
{
	char *body = patient_body(extra, NULL);
	struct resp *r = http_post_json("/patients", body);
	ck_assert_msg(r->status == 201, "POST %s -> %ld %s", body, r->status, r->body);
	int64_t id = json_integer_value(json_object_get(r->json, "id"));
	resp_free(r);
	free(body);
	return id;
}

/* --- create ---------------------------------------------------------------- */

START_TEST(test_create_patient_is_201_with_location_etag_and_defaults)
{
	char *body = patient_body(NULL, NULL);
	json_t *sent = json_loads(body, 0, NULL);
	struct resp *r = http_post_json("/patients", body);
	json_int_t id = assert_created(r, "patients");

	assert_keys_in_order(r->json, PATIENT_KEYS);
	assert_member_str(r->json, "code", str_of(sent, "code"));
	assert_member_str(r->json, "sex", "unknown");
	assert_member_null(r->json, "age");
	assert_member_str(r->json, "histology", "melanoma");
	assert_member_str(r->json, "setting", "metastatic");
	assert_member_str(r->json, "regimen", "il2_alone");
	assert_member_str(r->json, "enrolled_on", "1985-01-10");
	assert_member_null(r->json, "last_contact_on");
	assert_member_str(r->json, "vital_status", "alive");
	assert_member_null(r->json, "died_on");
	assert_member_null(r->json, "death_cause");
	assert_member_int(r->json, "version", 1);
	assert_timestamp(r->json, "created_at");
	assert_timestamp(r->json, "updated_at");
	assert_member_str(r->json, "updated_at", str_of(r->json, "created_at"));

	json_t *got = get_patient(id);
	ck_assert_msg(json_equal(got, r->json), "GET differs from the POST answer");
	json_decref(got);
	json_decref(sent);
	resp_free(r);
	free(body);
}
END_TEST

START_TEST(test_create_patient_stores_every_field)
{
	const char *code = "Ab.9_z-X";
	char extra[512];
	snprintf(
		extra, sizeof extra,
		"{\"code\": \"%s-%s\", \"sex\": \"female\", \"age\": 47, \"histology\": "
		"\"renal_cell\", \"setting\": \"adjuvant\", \"regimen\": \"il2_cyclophosphamide\", "
		"\"enrolled_on\": \"1986-03-04\", \"last_contact_on\": \"1988-02-29\", "
		"\"vital_status\": \"dead\", \"died_on\": \"1988-02-29\", "
		"\"death_cause\": \"Sepsis après IL-2\"}",
		code, unique_code("all"));
	int64_t id = post_patient(extra);
	json_t *want = json_loads(extra, 0, NULL);
	json_t *got = get_patient(id);
	const char *key;
	json_t *v;
	json_object_foreach(want, key, v)
	{
		ck_assert_msg(json_equal(json_object_get(got, key), v), "%s not stored as sent",
			      key);
	}
	assert_keys_in_order(got, PATIENT_KEYS);
	json_decref(want);
	json_decref(got);
}
END_TEST

START_TEST(test_create_patient_without_each_required_field_is_422)
{
	static const char *const required[] = {"code",    "histology",   "setting",
					       "regimen", "enrolled_on", NULL};
	for (int i = 0; required[i]; i++) {
		char *body = patient_body(NULL, required[i]);
		refuse_create(body, 422, VALIDATION, required[i]);
		free(body);
		/* null is no better than absent */
		char extra[64];
		snprintf(extra, sizeof extra, "{\"%s\": null}", required[i]);
		body = patient_body(extra, NULL);
		refuse_create(body, 422, VALIDATION, required[i]);
		free(body);
	}
}
END_TEST

START_TEST(test_create_patient_with_wrong_enum_value_is_422)
{
	static const char *const cases[][2] = {
		{"sex", "\"Male\""},
		{"sex", "\"\""},
		{"histology", "\"melanoma \""},
		{"histology", "\"kidney\""},
		{"setting", "\"neoadjuvant\""},
		{"regimen", "\"il2\""},
		{"regimen", "1"},
		{"vital_status", "\"deceased\""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char extra[128];
		snprintf(extra, sizeof extra, "{\"%s\": %s}", cases[i][0], cases[i][1]);
		char *body = patient_body(extra, NULL);
		refuse_create(body, 422, VALIDATION, cases[i][0]);
		free(body);
	}
}
END_TEST

START_TEST(test_create_patient_age_must_be_integer_0_to_120)
{
	static const char *const bad[] = {"-1", "121", "30.5", "\"30\"", "true", "1e2", NULL};
	for (int i = 0; bad[i]; i++) {
		char extra[64];
		snprintf(extra, sizeof extra, "{\"age\": %s}", bad[i]);
		char *body = patient_body(extra, NULL);
		refuse_create(body, 422, VALIDATION, "age");
		free(body);
	}
	json_t *p = get_patient(post_patient("{\"age\": 0}"));
	assert_member_int(p, "age", 0);
	json_decref(p);
	p = get_patient(post_patient("{\"age\": 120}"));
	assert_member_int(p, "age", 120);
	json_decref(p);
}
END_TEST

START_TEST(test_create_patient_code_pattern_violations_are_422)
{
	char long_code[80];
	memset(long_code, 'a', 65);
	long_code[65] = '\0';
	char long_extra[128];
	snprintf(long_extra, sizeof long_extra, "{\"code\": \"%s\"}", long_code);
	const char *const bad[] = {
		"{\"code\": \"has space\"}",
		"{\"code\": \" lead\"}",
		"{\"code\": \"\"}",
		long_extra,
		"{\"code\": \"a\\u0000b\"}",
		"{\"code\": \"x'); DROP TABLE patients;--\"}",
		"{\"code\": \"a/b\"}",
		"{\"code\": \"Jos\\u00e9\"}",
		"{\"code\": \"tab\\tx\"}",
		"{\"code\": 42}",
		NULL,
	};
	for (int i = 0; bad[i]; i++) {
		char *body = patient_body(bad[i], NULL);
		refuse_create(body, 422, VALIDATION, "code");
		free(body);
	}
	/* (assert_refused read the patients table afterwards: the SQL text was only data) */

	/* 64 characters of the full alphabet are fine */
	char ok_code[65];
	snprintf(ok_code, sizeof ok_code, "%s", unique_code("Zz09._-"));
	size_t n = strlen(ok_code);
	memset(ok_code + n, 'q', 64 - n);
	ok_code[64] = '\0';
	char extra[128];
	snprintf(extra, sizeof extra, "{\"code\": \"%s\"}", ok_code);
	json_t *p = get_patient(post_patient(extra));
	assert_member_str(p, "code", ok_code);
	json_decref(p);
}
END_TEST

START_TEST(test_create_patient_with_duplicate_code_is_409)
{
	char *body = patient_body(NULL, NULL);
	struct resp *r = http_post_json("/patients", body);
	ck_assert_int_eq(r->status, 201);
	resp_free(r);
	/* same code, other fields different */
	json_t *o = json_loads(body, 0, NULL);
	json_object_set_new(o, "histology", json_string("lung"));
	char *again = json_dumps(o, JSON_COMPACT);
	refuse_create(again, 409, DUPLICATE, "code");
	free(again);
	json_decref(o);
	free(body);
}
END_TEST

START_TEST(test_create_patient_with_server_managed_or_unknown_member_is_422)
{
	static const char *const cases[][2] = {
		{"id", "{\"id\": 99999}"},
		{"version", "{\"version\": 1}"},
		{"created_at", "{\"created_at\": \"2020-01-01T00:00:00Z\"}"},
		{"updated_at", "{\"updated_at\": \"2020-01-01T00:00:00Z\"}"},
		{"name", "{\"name\": \"John Doe\"}"},
		{"Code", "{\"Code\": \"abc\"}"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *body = patient_body(cases[i][1], NULL);
		refuse_create(body, 422, VALIDATION, cases[i][0]);
		free(body);
	}
}
END_TEST

START_TEST(test_create_patient_with_invalid_dates_is_422)
{
	static const char *const bad[] = {"2023-02-30", "2023-13-01", "1985-1-01",
					  "1899-12-31", "2023-02-29", "1985-01-10T00:00:00Z",
					  "",           NULL};
	for (int i = 0; bad[i]; i++) {
		char extra[96];
		snprintf(extra, sizeof extra, "{\"enrolled_on\": \"%s\"}", bad[i]);
		char *body = patient_body(extra, NULL);
		refuse_create(body, 422, VALIDATION, "enrolled_on");
		free(body);
		snprintf(extra, sizeof extra, "{\"last_contact_on\": \"%s\"}", bad[i]);
		body = patient_body(extra, NULL);
		refuse_create(body, 422, VALIDATION, "last_contact_on");
		free(body);
	}
	json_t *p = get_patient(post_patient("{\"enrolled_on\": \"2024-02-29\"}"));
	assert_member_str(p, "enrolled_on", "2024-02-29");
	json_decref(p);
	p = get_patient(post_patient("{\"enrolled_on\": \"1900-01-01\"}"));
	assert_member_str(p, "enrolled_on", "1900-01-01");
	json_decref(p);
}
END_TEST

START_TEST(test_last_contact_before_enrolment_is_422)
{
	refuse_create_with("{\"last_contact_on\": \"1985-01-09\"}", "last_contact_on");
	json_t *p = get_patient(post_patient("{\"last_contact_on\": \"1985-01-10\"}"));
	assert_member_str(p, "last_contact_on", "1985-01-10");
	json_decref(p);
}
END_TEST

/* --- the death rules ------------------------------------------------------- */

START_TEST(test_dead_patient_without_died_on_is_422)
{
	refuse_create_with("{\"vital_status\": \"dead\"}", "died_on");
	refuse_create_with("{\"vital_status\": \"dead\", \"died_on\": null}", "died_on");
}
END_TEST

START_TEST(test_died_on_when_not_dead_is_422)
{
	refuse_create_with("{\"died_on\": \"1986-01-01\"}", "died_on");
	refuse_create_with("{\"vital_status\": \"alive\", \"died_on\": \"1986-01-01\"}", "died_on");
	refuse_create_with("{\"vital_status\": \"unknown\", \"died_on\": \"1986-01-01\"}",
			   "died_on");
}
END_TEST

START_TEST(test_died_before_enrolment_is_422)
{
	refuse_create_with("{\"vital_status\": \"dead\", \"died_on\": \"1985-01-09\"}", "died_on");
	json_t *p = get_patient(
		post_patient("{\"vital_status\": \"dead\", \"died_on\": \"1985-01-10\"}"));
	assert_member_str(p, "vital_status", "dead");
	assert_member_str(p, "died_on", "1985-01-10");
	assert_member_null(p, "death_cause");
	json_decref(p);
}
END_TEST

START_TEST(test_death_cause_only_when_dead_is_422)
{
	refuse_create_with("{\"death_cause\": \"Sepsis\"}", "death_cause");
	refuse_create_with("{\"vital_status\": \"unknown\", \"death_cause\": \"Sepsis\"}",
			   "death_cause");
}
END_TEST

START_TEST(test_death_cause_must_be_1_to_500_visible_characters)
{
	static const char *const dead = "\"vital_status\": \"dead\", \"died_on\": \"1986-05-05\"";
	char *long_cause = malloc(502);
	memset(long_cause, 'x', 501);
	long_cause[501] = '\0';
	char *bad_long = malloc(700);
	snprintf(bad_long, 700, "{%s, \"death_cause\": \"%s\"}", dead, long_cause);
	char extra[128];
	const char *const bad[] = {
		"\"\"", "\"   \"", "\"a\\u0001b\"", "\"a\\u0000b\"", "\"line\\nbreak\"",
		"17",   NULL};
	for (int i = 0; bad[i]; i++) {
		snprintf(extra, sizeof extra, "{%s, \"death_cause\": %s}", dead, bad[i]);
		char *body = patient_body(extra, NULL);
		refuse_create(body, 422, VALIDATION, "death_cause");
		free(body);
	}
	refuse_create_with(bad_long, "death_cause");

	/* exactly 500 characters, multi-byte ones counted as one */
	char *ok = malloc(2048);
	char cause[1100] = "";
	for (int i = 0; i < 500; i++)
		strcat(cause, "\xc3\xa9"); /* é */
	snprintf(ok, 2048, "{%s, \"death_cause\": \"%s\"}", dead, cause);
	json_t *p = get_patient(post_patient(ok));
	assert_member_str(p, "death_cause", cause);
	json_decref(p);
	free(ok);
	free(bad_long);
	free(long_cause);
}
END_TEST

/* --- get --------------------------------------------------------------------- */

/* --- merge patch ------------------------------------------------------------ */

START_TEST(test_patch_patient_changes_field_and_bumps_version)
{
	int64_t id = make_patient(NULL);
	json_t *before = get_patient(id);
	struct resp *r =
		http_patch_json(record_path("patients", id),
				"{\"age\": 60, \"sex\": \"male\", \"regimen\": \"il2_lak\"}");
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	ck_assert_str_eq(resp_header(r, "ETag"), "\"2\"");
	assert_member_int(r->json, "version", 2);
	assert_keys_in_order(r->json, PATIENT_KEYS);
	json_t *after = get_patient(id);
	ck_assert_msg(json_equal(after, r->json), "GET differs from the PATCH answer");
	assert_member_int(after, "age", 60);
	assert_member_str(after, "sex", "male");
	assert_member_str(after, "regimen", "il2_lak");
	assert_member_str(after, "code", str_of(before, "code"));
	assert_member_str(after, "histology", "melanoma");
	assert_member_str(after, "created_at", str_of(before, "created_at"));
	ck_assert_str_ge(str_of(after, "updated_at"), str_of(before, "updated_at"));
	json_decref(before);
	json_decref(after);
	resp_free(r);

	/* plain application/json is accepted for PATCH as well */
	r = http("PATCH", record_path("patients", id), JSON_CT, "{\"age\": 61}", 11);
	ck_assert_int_eq(r->status, 200);
	assert_member_int(r->json, "version", 3);
	assert_member_int(r->json, "age", 61);
	resp_free(r);
}
END_TEST

START_TEST(test_patch_null_removes_optional_field)
{
	int64_t id = make_patient("{\"age\": 44, \"last_contact_on\": \"1990-01-01\"}");
	json_t *p =
		patch_ok(record_path("patients", id), "{\"age\": null, \"last_contact_on\": null}");
	assert_member_int(p, "version", 2);
	json_decref(p);
	p = get_patient(id);
	assert_member_null(p, "age");
	assert_member_null(p, "last_contact_on");
	json_decref(p);
}
END_TEST

START_TEST(test_patch_null_resets_defaulted_field)
{
	int64_t id = make_patient("{\"sex\": \"female\", \"vital_status\": \"unknown\"}");
	json_t *p =
		patch_ok(record_path("patients", id), "{\"sex\": null, \"vital_status\": null}");
	json_decref(p);
	p = get_patient(id);
	assert_member_str(p, "sex", "unknown");
	assert_member_str(p, "vital_status", "alive");
	assert_member_int(p, "version", 2);
	json_decref(p);
}
END_TEST

START_TEST(test_patch_null_on_required_field_is_422)
{
	static const char *const required[] = {"code",    "histology",   "setting",
					       "regimen", "enrolled_on", NULL};
	int64_t id = make_patient(NULL);
	for (int i = 0; required[i]; i++) {
		char body[64];
		snprintf(body, sizeof body, "{\"%s\": null}", required[i]);
		refuse_patch(id, body, required[i]);
	}
	json_t *p = get_patient(id);
	assert_member_int(p, "version", 1);
	json_decref(p);
}
END_TEST

START_TEST(test_patch_unknown_or_server_managed_member_is_422)
{
	int64_t id = make_patient(NULL);
	char body[128];
	snprintf(body, sizeof body, "{\"id\": %lld}", (long long)id); /* even unchanged */
	refuse_patch(id, body, "id");
	refuse_patch(id, "{\"version\": 1}", "version");
	refuse_patch(id, "{\"version\": 7}", "version");
	refuse_patch(id, "{\"created_at\": \"2020-01-01T00:00:00Z\"}", "created_at");
	refuse_patch(id, "{\"updated_at\": \"2020-01-01T00:00:00Z\"}", "updated_at");
	refuse_patch(id, "{\"nickname\": \"Bob\", \"age\": 30}", "nickname");
	json_t *p = get_patient(id);
	assert_member_null(p, "age");
	assert_member_int(p, "version", 1);
	json_decref(p);
}
END_TEST

START_TEST(test_patch_with_several_problems_reports_all_of_them)
{
	int64_t id = make_patient(NULL);
	char *before = db_fingerprint();
	struct resp *r =
		http_patch_json(record_path("patients", id),
				"{\"age\": 121, \"sex\": \"x\", \"foo\": 1, \"code\": \"a b\"}");
	assert_problem(r, 422, VALIDATION);
	assert_field_error(r, "age");
	assert_field_error(r, "sex");
	assert_field_error(r, "foo");
	assert_field_error(r, "code");
	assert_unchanged(before);
	resp_free(r);
}
END_TEST

START_TEST(test_patch_code_to_existing_code_is_409)
{
	char *body = patient_body(NULL, NULL);
	struct resp *r = http_post_json("/patients", body);
	ck_assert_int_eq(r->status, 201);
	char patch[128];
	snprintf(patch, sizeof patch, "{\"code\": \"%s\"}", str_of(r->json, "code"));
	resp_free(r);
	int64_t other = make_patient(NULL);
	assert_refused("PATCH", record_path("patients", other), MERGE_CT, patch, 409, DUPLICATE,
		       "code");
	free(body);
}
END_TEST

START_TEST(test_patch_keeps_the_death_rules)
{
	int64_t id = make_patient(NULL);
	refuse_patch(id, "{\"vital_status\": \"dead\"}", "died_on");
	refuse_patch(id, "{\"died_on\": \"1990-01-01\"}", "died_on");
	refuse_patch(id, "{\"death_cause\": \"Sepsis\"}", "death_cause");
	refuse_patch(id, "{\"vital_status\": \"dead\", \"died_on\": \"1985-01-09\"}", "died_on");

	json_t *p = patch_ok(record_path("patients", id),
			     "{\"vital_status\": \"dead\", \"died_on\": \"1990-01-01\", "
			     "\"death_cause\": \"Capillary leak syndrome\"}");
	assert_member_str(p, "died_on", "1990-01-01");
	json_decref(p);
	/* back to alive while died_on stays: refused */
	refuse_patch(id, "{\"vital_status\": \"alive\"}", "died_on");
	/* null on vital_status resets it to alive, which then forbids died_on */
	refuse_patch(id, "{\"vital_status\": null}", "died_on");
	refuse_patch(id, "{\"died_on\": null}", "died_on");
	p = patch_ok(record_path("patients", id),
		     "{\"vital_status\": null, \"died_on\": null, \"death_cause\": null}");
	assert_member_str(p, "vital_status", "alive");
	assert_member_null(p, "died_on");
	assert_member_null(p, "death_cause");
	assert_member_int(p, "version", 3);
	json_decref(p);
}
END_TEST

START_TEST(test_patch_enrolment_after_first_course_is_422)
{
	int64_t id = make_patient(NULL); /* enrolled 1985-01-10 */
	make_course(id, "{\"started_on\": \"1985-02-01\"}");
	make_course(id, "{\"started_on\": \"1985-06-01\"}");
	refuse_patch(id, "{\"enrolled_on\": \"1985-02-02\"}", "enrolled_on");
	refuse_patch(id, "{\"enrolled_on\": \"1985-07-01\"}", "enrolled_on");
	json_t *p = patch_ok(record_path("patients", id), "{\"enrolled_on\": \"1985-02-01\"}");
	assert_member_str(p, "enrolled_on", "1985-02-01");
	json_decref(p);
}
END_TEST

START_TEST(test_patch_death_before_last_course_is_422)
{
	int64_t id = make_patient(NULL);
	make_course(id, "{\"started_on\": \"1985-02-01\"}");
	make_course(id, "{\"started_on\": \"1985-06-01\"}");
	refuse_patch(id, "{\"vital_status\": \"dead\", \"died_on\": \"1985-05-31\"}", "died_on");
	json_t *p = patch_ok(record_path("patients", id),
			     "{\"vital_status\": \"dead\", \"died_on\": \"1985-06-01\"}");
	assert_member_str(p, "died_on", "1985-06-01");
	json_decref(p);
	refuse_patch(id, "{\"died_on\": \"1985-03-01\"}", "died_on");
}
END_TEST

START_TEST(test_patch_setting_to_adjuvant_with_responses_is_422)
{
	static const char *const responses[] = {"CR", "PR", "MR", "SD", NULL};
	for (int i = 0; responses[i]; i++) {
		int64_t id = make_patient(NULL);
		int64_t course = make_course(id, NULL);
		make_outcome(course, "{\"response\": \"PD\"}");
		char extra[64];
		snprintf(extra, sizeof extra, "{\"response\": \"%s\"}", responses[i]);
		make_outcome(course, extra);
		refuse_patch(id, "{\"setting\": \"adjuvant\"}", "setting");
	}
	/* only PD and NE: the patient may become adjuvant */
	int64_t id = make_patient(NULL);
	int64_t course = make_course(id, NULL);
	make_outcome(course, "{\"response\": \"PD\"}");
	make_outcome(course, "{\"response\": \"NE\"}");
	json_t *p = patch_ok(record_path("patients", id), "{\"setting\": \"adjuvant\"}");
	assert_member_str(p, "setting", "adjuvant");
	json_decref(p);
}
END_TEST

/* --- delete ------------------------------------------------------------------ */

START_TEST(test_delete_patient_with_courses_is_409)
{
	int64_t id = make_patient(NULL);
	int64_t course = make_course(id, NULL);
	assert_refused("DELETE", record_path("patients", id), NULL, NULL, 409, HAS_DEPENDANTS,
		       NULL);
	char path[96];
	snprintf(path, sizeof path, "/patients/%lld?cascade=false", (long long)id);
	assert_refused("DELETE", path, NULL, NULL, 409, HAS_DEPENDANTS, NULL);
	json_t *c = get_json(record_path("courses", course));
	json_decref(c);
	json_t *p = get_patient(id);
	json_decref(p);
}
END_TEST

START_TEST(test_delete_patient_with_cascade_removes_courses_outcomes_toxicities)
{
	int64_t id = make_patient(NULL);
	int64_t c1 = make_course(id, NULL);
	int64_t c2 = make_course(id, "{\"started_on\": \"1985-05-01\"}");
	int64_t o1 = make_outcome(c1, NULL);
	int64_t o2 = make_outcome(c2, "{\"assessed_on\": \"1985-07-01\"}");
	int64_t t1 = make_toxicity(c1, NULL);
	int64_t t2 = make_toxicity(c2, "{\"onset_on\": \"1985-05-02\"}");
	/* another patient's records must survive */
	int64_t keep = make_patient(NULL);
	int64_t keep_c = make_course(keep, NULL);
	int64_t keep_o = make_outcome(keep_c, NULL);
	int64_t keep_t = make_toxicity(keep_c, NULL);

	int64_t np = db_count("patients"), nc = db_count("courses"), no = db_count("outcomes"),
		nt = db_count("toxicities");
	char path[96];
	snprintf(path, sizeof path, "/patients/%lld?cascade=true", (long long)id);
	struct resp *r = http_delete(path);
	ck_assert_msg(r->status == 204, "%ld %s", r->status, r->body);
	resp_free(r);
	ck_assert_int_eq(db_count("patients"), np - 1);
	ck_assert_int_eq(db_count("courses"), nc - 2);
	ck_assert_int_eq(db_count("outcomes"), no - 2);
	ck_assert_int_eq(db_count("toxicities"), nt - 2);

	const char *gone[][2] = {{"patients", NULL},  {"courses", NULL},  {"courses", NULL},
				 {"outcomes", NULL},  {"outcomes", NULL}, {"toxicities", NULL},
				 {"toxicities", NULL}};
	int64_t gone_ids[] = {id, c1, c2, o1, o2, t1, t2};
	for (size_t i = 0; i < sizeof gone_ids / sizeof gone_ids[0]; i++) {
		r = http_get(record_path(gone[i][0], gone_ids[i]));
		assert_problem(r, 404, NOT_FOUND);
		resp_free(r);
	}
	json_decref(get_patient(keep));
	json_decref(get_json(record_path("courses", keep_c)));
	json_decref(get_json(record_path("outcomes", keep_o)));
	json_decref(get_json(record_path("toxicities", keep_t)));
}
END_TEST

START_TEST(test_delete_patient_with_bad_cascade_is_400)
{
	int64_t id = make_patient(NULL);
	make_course(id, NULL);
	static const char *const bad[] = {"maybe", "1", "", "TRUE", NULL};
	for (int i = 0; bad[i]; i++) {
		char path[96];
		snprintf(path, sizeof path, "/patients/%lld?cascade=%s", (long long)id, bad[i]);
		assert_refused("DELETE", path, NULL, NULL, 400, INVALID_PARAMETER, "cascade");
	}
	json_decref(get_patient(id));
}
END_TEST

/* --- If-Match ---------------------------------------------------------------- */

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("test_patients", &tc);
	tcase_add_test(tc, test_create_patient_is_201_with_location_etag_and_defaults);
	tcase_add_test(tc, test_create_patient_stores_every_field);
	tcase_add_test(tc, test_create_patient_without_each_required_field_is_422);
	tcase_add_test(tc, test_create_patient_with_wrong_enum_value_is_422);
	tcase_add_test(tc, test_create_patient_age_must_be_integer_0_to_120);
	tcase_add_test(tc, test_create_patient_code_pattern_violations_are_422);
	tcase_add_test(tc, test_create_patient_with_duplicate_code_is_409);
	tcase_add_test(tc, test_create_patient_with_server_managed_or_unknown_member_is_422);
	tcase_add_test(tc, test_create_patient_with_invalid_dates_is_422);
	tcase_add_test(tc, test_last_contact_before_enrolment_is_422);
	tcase_add_test(tc, test_dead_patient_without_died_on_is_422);
	tcase_add_test(tc, test_died_on_when_not_dead_is_422);
	tcase_add_test(tc, test_died_before_enrolment_is_422);
	tcase_add_test(tc, test_death_cause_only_when_dead_is_422);
	tcase_add_test(tc, test_death_cause_must_be_1_to_500_visible_characters);
	tcase_add_test(tc, test_patch_patient_changes_field_and_bumps_version);
	tcase_add_test(tc, test_patch_null_removes_optional_field);
	tcase_add_test(tc, test_patch_null_resets_defaulted_field);
	tcase_add_test(tc, test_patch_null_on_required_field_is_422);
	tcase_add_test(tc, test_patch_unknown_or_server_managed_member_is_422);
	tcase_add_test(tc, test_patch_with_several_problems_reports_all_of_them);
	tcase_add_test(tc, test_patch_code_to_existing_code_is_409);
	tcase_add_test(tc, test_patch_keeps_the_death_rules);
	tcase_add_test(tc, test_patch_enrolment_after_first_course_is_422);
	tcase_add_test(tc, test_patch_death_before_last_course_is_422);
	tcase_add_test(tc, test_patch_setting_to_adjuvant_with_responses_is_422);
	tcase_add_test(tc, test_delete_patient_with_courses_is_409);
	tcase_add_test(tc, test_delete_patient_with_cascade_removes_courses_outcomes_toxicities);
	tcase_add_test(tc, test_delete_patient_with_bad_cascade_is_400);
	return run_suite(s);
}

/* Toxicities (CTCAE adverse events) through the API: create with defaults
 * and derived patient_id, the grade range and type, grade 5 if and only if
 * the outcome is fatal, the term as 1-100 characters of visible text (UTF-8
 * counted in characters, control characters and NUL refused, SQL stored as
 * data), dates against the course and the onset, required attribution,
 * merge patch and delete. Every refused write is shown to change nothing. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALIDATION "urn:cohortd:problem:validation"
#define NOT_FOUND  "urn:cohortd:problem:not-found"

static const char *const JSON[] = {"Content-Type: application/json", NULL};
static const char *const MERGE[] = {"Content-Type: application/merge-patch+json", NULL};

static struct resp *get_toxicity(int64_t id)
{
	char path[64];
	snprintf(path, sizeof path, "/toxicities/%lld", (long long)id);
	return get_ok(path);
}

/* A create body for course with the defaults of make_toxicity, where any of
 * term_json (a JSON value text), grade_json and extra (members to add, with a
 * leading comma) may replace or add to them. Caller frees. */
static char *body_with(int64_t course, const char *term_json, const char *grade_json,
		       const char *extra)
{
	size_t n = 256 + strlen(term_json) + strlen(grade_json) + (extra ? strlen(extra) : 0);
	char *b = malloc(n);
	snprintf(b, n,
		 "{\"course_id\": %lld, \"term\": %s, \"grade\": %s, \"onset_on\": \"1985-02-02\", "
		 "\"attribution\": \"probable\"%s}",
		 (long long)course, term_json, grade_json, extra ? extra : "");
	return b;
}

static void refuse_post(const char *body, const char *field)
{
	assert_refused("POST", "/toxicities", JSON, body, 422, VALIDATION, field);
}

static void refuse_term(int64_t course, const char *term_json)
{
	char *b = body_with(course, term_json, "2", NULL);
	refuse_post(b, "term");
	free(b);
}

static void refuse_patch(int64_t id, const char *body, const char *field)
{
	char path[64];
	snprintf(path, sizeof path, "/toxicities/%lld", (long long)id);
	assert_refused("PATCH", path, MERGE, body, 422, VALIDATION, field);
}

/* Posts body, expects 201, returns the stored record as GET answers it. */
static struct resp *create_and_get(const char *body)
{
	struct resp *r = http_post_json("/toxicities", body);
	ck_assert_msg(r->status == 201, "POST %s -> %ld %s", body, r->status, r->body);
	int64_t id = resp_int(r, "id");
	resp_free(r);
	return get_toxicity(id);
}

START_TEST(test_toxicity_create_is_201_with_defaults_and_derived_patient_id)
{
	int64_t patient;
	int64_t course = make_course_of_new_patient(&patient, NULL);
	char body[256];
	snprintf(body, sizeof body,
		 "{\"course_id\": %lld, \"term\": \"Hypotension\", \"grade\": 3, "
		 "\"onset_on\": \"1985-02-03\", \"attribution\": \"definite\"}",
		 (long long)course);
	struct resp *r = http_post_json("/toxicities", body);
	json_int_t id = assert_created(r, "toxicities");
	ck_assert_int_eq(resp_int(r, "course_id"), course);
	ck_assert_int_eq(resp_int(r, "patient_id"), patient);
	ck_assert_str_eq(resp_str(r, "term"), "Hypotension");
	ck_assert_int_eq(resp_int(r, "grade"), 3);
	ck_assert_str_eq(resp_str(r, "onset_on"), "1985-02-03");
	ck_assert(json_is_null(json_object_get(r->json, "resolved_on")));
	ck_assert_str_eq(resp_str(r, "attribution"), "definite");
	ck_assert(json_is_false(json_object_get(r->json, "serious")));
	ck_assert_str_eq(resp_str(r, "outcome"), "unknown");
	ck_assert_int_eq(resp_int(r, "version"), 1);

	static const char *const keys[] = {"id",         "course_id", "patient_id",  "term",
					   "grade",      "onset_on",  "resolved_on", "attribution",
					   "serious",    "outcome",   "version",     "created_at",
					   "updated_at", NULL};
	assert_keys_in_order(r->json, keys);

	struct resp *g = get_ok(record_path("toxicities", id));
	ck_assert(json_equal(g->json, r->json));
	resp_free(g);
	resp_free(r);
}
END_TEST

START_TEST(test_toxicity_stores_every_optional_field)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	char *b = body_with(course, "\"Capillary leak syndrome\"", "4",
			    ", \"resolved_on\": \"1985-02-10\", \"serious\": true, "
			    "\"outcome\": \"recovered\"");
	struct resp *g = create_and_get(b);
	ck_assert_str_eq(resp_str(g, "term"), "Capillary leak syndrome");
	ck_assert_int_eq(resp_int(g, "grade"), 4);
	ck_assert_str_eq(resp_str(g, "resolved_on"), "1985-02-10");
	ck_assert_str_eq(resp_str(g, "attribution"), "probable");
	ck_assert(json_is_true(json_object_get(g->json, "serious")));
	ck_assert_str_eq(resp_str(g, "outcome"), "recovered");
	resp_free(g);
	free(b);
}
END_TEST

START_TEST(test_toxicity_grade_0_and_6_are_422)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	char *b = body_with(course, "\"Fever\"", "0", NULL);
	refuse_post(b, "grade");
	free(b);
	b = body_with(course, "\"Fever\"", "6", NULL);
	refuse_post(b, "grade");
	free(b);
	b = body_with(course, "\"Fever\"", "-1", NULL);
	refuse_post(b, "grade");
	free(b);
}
END_TEST

START_TEST(test_toxicity_grade_not_an_integer_is_422)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	static const char *const grades[] = {"2.5", "\"3\"", "3.0", "true"};
	for (size_t i = 0; i < sizeof grades / sizeof grades[0]; i++) {
		char *b = body_with(course, "\"Fever\"", grades[i], NULL);
		refuse_post(b, "grade");
		free(b);
	}
}
END_TEST

START_TEST(test_toxicity_grades_1_to_4_are_201)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	for (int g = 1; g <= 4; g++) {
		char grade[4];
		snprintf(grade, sizeof grade, "%d", g);
		char *b = body_with(course, "\"Nausea\"", grade, NULL);
		struct resp *r = create_and_get(b);
		ck_assert_int_eq(resp_int(r, "grade"), g);
		resp_free(r);
		free(b);
	}
}
END_TEST

START_TEST(test_toxicity_grade_5_without_fatal_is_422_on_outcome)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	char *b = body_with(course, "\"Sepsis\"", "5", NULL); /* outcome defaults to unknown */
	refuse_post(b, "outcome");
	free(b);
	b = body_with(course, "\"Sepsis\"", "5", ", \"outcome\": \"not_recovered\"");
	refuse_post(b, "outcome");
	free(b);
}
END_TEST

START_TEST(test_toxicity_fatal_with_grade_3_is_422_on_grade)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	char *b = body_with(course, "\"Sepsis\"", "3", ", \"outcome\": \"fatal\"");
	refuse_post(b, "grade");
	free(b);
}
END_TEST

START_TEST(test_toxicity_grade_5_with_fatal_is_201)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	char *b =
		body_with(course, "\"Sepsis\"", "5", ", \"outcome\": \"fatal\", \"serious\": true");
	struct resp *g = create_and_get(b);
	ck_assert_int_eq(resp_int(g, "grade"), 5);
	ck_assert_str_eq(resp_str(g, "outcome"), "fatal");
	resp_free(g);
	free(b);
}
END_TEST

START_TEST(test_toxicity_empty_term_is_422)
{
	refuse_term(make_course_of_new_patient(NULL, NULL), "\"\"");
}
END_TEST

START_TEST(test_toxicity_term_of_101_characters_is_422)
{
	char term[160];
	term[0] = '"';
	memset(term + 1, 'a', 101);
	snprintf(term + 102, sizeof term - 102, "\"");
	refuse_term(make_course_of_new_patient(NULL, NULL), term);
}
END_TEST

START_TEST(test_toxicity_term_of_only_spaces_is_422)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	refuse_term(course, "\"   \"");
	refuse_term(course, "\" \\u00a0 \""); /* no-break space is not visible either */
}
END_TEST

START_TEST(test_toxicity_term_with_control_character_is_422)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	refuse_term(course, "\"Hypo\\u0007tension\"");
	refuse_term(course, "\"Hypo\\ttension\"");
	refuse_term(course, "\"Hypotension\\n\"");
	refuse_term(course, "\"Hypo\\u007ftension\"");
	refuse_term(course, "\"Hypo\\u0085tension\"");
}
END_TEST

START_TEST(test_toxicity_term_with_nul_is_422)
{
	char *b = body_with(make_course_of_new_patient(NULL, NULL), "\"Hypo\\u0000tension\"", "2",
			    NULL);
	char *before = db_fingerprint();
	struct resp *r = http_post_json("/toxicities", b);
	assert_problem(r, 422, VALIDATION);
	assert_field_error(r, "term");
	ck_assert_ptr_nonnull(strstr(r->body, "visible text"));
	assert_unchanged(before);
	resp_free(r);
	free(b);
}
END_TEST

START_TEST(test_toxicity_term_of_exactly_100_characters_is_201)
{
	char term[160];
	term[0] = '"';
	memset(term + 1, 'x', 100);
	snprintf(term + 101, sizeof term - 101, "\"");
	char *b = body_with(make_course_of_new_patient(NULL, NULL), term, "1", NULL);
	struct resp *g = create_and_get(b);
	ck_assert_uint_eq(strlen(resp_str(g, "term")), 100);
	ck_assert(strspn(resp_str(g, "term"), "x") == 100);
	resp_free(g);
	free(b);
}
END_TEST

START_TEST(test_toxicity_term_of_100_multibyte_characters_is_201_and_101_is_422)
{
	/* "é" is two bytes in UTF-8: 100 of them are 200 bytes but 100 characters. */
	char term[512], want[512];
	size_t n = 0;
	term[n++] = '"';
	for (int i = 0; i < 100; i++) {
		term[n++] = (char)0xC3;
		term[n++] = (char)0xA9;
	}
	memcpy(want, term + 1, n - 1);
	want[n - 1] = '\0';
	term[n++] = '"';
	term[n] = '\0';
	int64_t course = make_course_of_new_patient(NULL, NULL);
	char *b = body_with(course, term, "1", NULL);
	struct resp *g = create_and_get(b);
	ck_assert_str_eq(resp_str(g, "term"), want);
	ck_assert_uint_eq(strlen(resp_str(g, "term")), 200);
	resp_free(g);
	free(b);
	/* and the statistics count it under the whole term (the counters kept
	 * for them once cut it to 103 bytes, in the middle of a character) */
	struct resp *stats = get_ok("/stats/toxicity?min_grade=1");
	char quoted[520];
	snprintf(quoted, sizeof quoted, "\"%s\"", want);
	ck_assert_msg(strstr(stats->body, quoted), "%s", stats->body);
	resp_free(stats);

	/* One more character is too long. */
	n--; /* drop the closing quote */
	term[n++] = (char)0xC3;
	term[n++] = (char)0xA9;
	term[n++] = '"';
	term[n] = '\0';
	refuse_term(course, term);
}
END_TEST

START_TEST(test_toxicity_sql_text_in_term_is_stored_verbatim)
{
	const char *sql = "x'); DROP TABLE toxicities;--";
	char *b = body_with(make_course_of_new_patient(NULL, NULL),
			    "\"x'); DROP TABLE toxicities;--\"", "2", NULL);
	struct resp *g = create_and_get(b);
	ck_assert_str_eq(resp_str(g, "term"), sql);
	resp_free(g);
	free(b);
	/* The table is still there and still answers. */
	ck_assert_int_ge(db_count("toxicities"), 1);
	struct resp *r = get_ok("/toxicities?limit=1");
	resp_free(r);
}
END_TEST

START_TEST(test_toxicity_onset_before_course_start_is_422)
{
	int64_t course = make_course_of_new_patient(NULL, NULL); /* started 1985-02-01 */
	char body[256];
	snprintf(body, sizeof body,
		 "{\"course_id\": %lld, \"term\": \"Fever\", \"grade\": 1, "
		 "\"onset_on\": \"1985-01-31\", \"attribution\": \"possible\"}",
		 (long long)course);
	refuse_post(body, "onset_on");
	/* The day the course started is fine. */
	int64_t id = make_toxicity(course, "{\"onset_on\": \"1985-02-01\"}");
	struct resp *g = get_toxicity(id);
	ck_assert_str_eq(resp_str(g, "onset_on"), "1985-02-01");
	resp_free(g);
}
END_TEST

START_TEST(test_toxicity_resolved_before_onset_is_422)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	char *b = body_with(course, "\"Fever\"", "2", ", \"resolved_on\": \"1985-02-01\"");
	refuse_post(b, "resolved_on");
	free(b);
	/* Resolved the day of onset is fine. */
	b = body_with(course, "\"Fever\"", "2", ", \"resolved_on\": \"1985-02-02\"");
	struct resp *g = create_and_get(b);
	ck_assert_str_eq(resp_str(g, "resolved_on"), "1985-02-02");
	resp_free(g);
	free(b);
}
END_TEST

START_TEST(test_toxicity_without_attribution_is_422)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	char body[256];
	snprintf(body, sizeof body,
		 "{\"course_id\": %lld, \"term\": \"Fever\", \"grade\": 1, \"onset_on\": "
		 "\"1985-02-02\"}",
		 (long long)course);
	refuse_post(body, "attribution");
	/* A value outside the set, or null, is refused as well. */
	int64_t id = make_toxicity(course, NULL);
	refuse_patch(id, "{\"attribution\": \"maybe\"}", "attribution");
	refuse_patch(id, "{\"attribution\": null}", "attribution");
}
END_TEST

START_TEST(test_toxicity_for_missing_course_is_422)
{
	char *b = body_with(999999999, "\"Fever\"", "1", NULL);
	refuse_post(b, "course_id");
	free(b);
}
END_TEST

START_TEST(test_toxicity_serious_defaults_false_and_must_be_boolean)
{
	int64_t course = make_course_of_new_patient(NULL, NULL);
	struct resp *g = get_toxicity(make_toxicity(course, NULL));
	ck_assert(json_is_false(json_object_get(g->json, "serious")));
	resp_free(g);
	char *b = body_with(course, "\"Fever\"", "1", ", \"serious\": \"yes\"");
	refuse_post(b, "serious");
	free(b);
	b = body_with(course, "\"Fever\"", "1", ", \"serious\": 1");
	refuse_post(b, "serious");
	free(b);
}
END_TEST

START_TEST(test_toxicity_patch_to_grade_5_needs_fatal_in_the_same_patch)
{
	int64_t id = make_toxicity(make_course_of_new_patient(NULL, NULL), NULL);
	refuse_patch(id, "{\"grade\": 5}", "outcome");
	refuse_patch(id, "{\"outcome\": \"fatal\"}", "grade");
	char path[64];
	snprintf(path, sizeof path, "/toxicities/%lld", (long long)id);
	struct resp *r = http_patch_json(path, "{\"grade\": 5, \"outcome\": \"fatal\"}");
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	ck_assert_str_eq(resp_header(r, "ETag"), "\"2\"");
	resp_free(r);
	struct resp *g = get_toxicity(id);
	ck_assert_int_eq(resp_int(g, "grade"), 5);
	ck_assert_str_eq(resp_str(g, "outcome"), "fatal");
	ck_assert_int_eq(resp_int(g, "version"), 2);
	resp_free(g);
}
END_TEST

START_TEST(test_toxicity_patch_null_resets_defaults_and_removes_resolved_on)
{
	int64_t id = make_toxicity(make_course_of_new_patient(NULL, NULL),
				   "{\"serious\": true, \"outcome\": "
				   "\"recovered\", \"resolved_on\": \"1985-02-05\"}");
	char path[64];
	snprintf(path, sizeof path, "/toxicities/%lld", (long long)id);
	struct resp *r = http_patch_json(path, "{\"serious\": null, \"outcome\": null, "
					       "\"resolved_on\": null}");
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	resp_free(r);
	struct resp *g = get_toxicity(id);
	ck_assert(json_is_false(json_object_get(g->json, "serious")));
	ck_assert_str_eq(resp_str(g, "outcome"), "unknown");
	ck_assert(json_is_null(json_object_get(g->json, "resolved_on")));
	resp_free(g);
	refuse_patch(id, "{\"term\": null}", "term");
}
END_TEST

START_TEST(test_toxicity_patch_resolved_before_onset_is_422)
{
	int64_t id = make_toxicity(make_course_of_new_patient(NULL, NULL),
				   "{\"resolved_on\": \"1985-02-09\"}");
	refuse_patch(id, "{\"onset_on\": \"1985-02-10\"}", "resolved_on");
	refuse_patch(id, "{\"onset_on\": \"1985-01-01\"}", "onset_on");
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("test_toxicities", &tc);
	tcase_add_test(tc, test_toxicity_create_is_201_with_defaults_and_derived_patient_id);
	tcase_add_test(tc, test_toxicity_stores_every_optional_field);
	tcase_add_test(tc, test_toxicity_grade_0_and_6_are_422);
	tcase_add_test(tc, test_toxicity_grade_not_an_integer_is_422);
	tcase_add_test(tc, test_toxicity_grades_1_to_4_are_201);
	tcase_add_test(tc, test_toxicity_grade_5_without_fatal_is_422_on_outcome);
	tcase_add_test(tc, test_toxicity_fatal_with_grade_3_is_422_on_grade);
	tcase_add_test(tc, test_toxicity_grade_5_with_fatal_is_201);
	tcase_add_test(tc, test_toxicity_empty_term_is_422);
	tcase_add_test(tc, test_toxicity_term_of_101_characters_is_422);
	tcase_add_test(tc, test_toxicity_term_of_only_spaces_is_422);
	tcase_add_test(tc, test_toxicity_term_with_control_character_is_422);
	tcase_add_test(tc, test_toxicity_term_with_nul_is_422);
	tcase_add_test(tc, test_toxicity_term_of_exactly_100_characters_is_201);
	tcase_add_test(tc, test_toxicity_term_of_100_multibyte_characters_is_201_and_101_is_422);
	tcase_add_test(tc, test_toxicity_sql_text_in_term_is_stored_verbatim);
	tcase_add_test(tc, test_toxicity_onset_before_course_start_is_422);
	tcase_add_test(tc, test_toxicity_resolved_before_onset_is_422);
	tcase_add_test(tc, test_toxicity_without_attribution_is_422);
	tcase_add_test(tc, test_toxicity_for_missing_course_is_422);
	tcase_add_test(tc, test_toxicity_serious_defaults_false_and_must_be_boolean);
	tcase_add_test(tc, test_toxicity_patch_to_grade_5_needs_fatal_in_the_same_patch);
	tcase_add_test(tc, test_toxicity_patch_null_resets_defaults_and_removes_resolved_on);
	tcase_add_test(tc, test_toxicity_patch_resolved_before_onset_is_422);
	return run_suite(s);
}

/* One refusal names every broken rule, whatever stage finds it: the fields'
 * own rules (types, ranges, enums, dates), the rules across fields of the
 * record, and the rules against other records (the parent must exist; a
 * course within its patient's time on study, an outcome or a toxicity not
 * before its course, an adjuvant patient's responses, a patient's changes
 * against its courses). For each resource, a request breaks rules of two
 * stages at once (each pair of stages), and the answer lists exactly those
 * problems; a rule left moot by a broken field or a missing parent is named
 * in not_checked with the field that made it so. Nothing is written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define VALIDATION "urn:cohortd:problem:validation"

/* The records the cases refer to: a metastatic patient enrolled on
 * 1985-01-10 with a course started 1985-02-01, and an adjuvant one with the
 * same course; each case's body names them as %P, %C, %A (the adjuvant
 * patient's course), and %O / %T (an outcome and a toxicity of %C). */
static int64_t P, C, A, O, T;

struct problem {
	const char *field;
	const char
		*says; /* a phrase of the message (errors) or the field it waits on (not_checked) */
};

struct rule_case {
	const char *name;
	const char *method;
	const char *path; /* %P, %C... replaced too */
	const char *body;
	struct problem errors[4];
	struct problem unchecked[4];
};

static const struct rule_case cases[] = {
	/* patients */
	{"patient: field + record",
	 "POST",
	 "/patients",
	 "{\"code\":\"no spaces\",\"histology\":\"melanoma\",\"setting\":\"metastatic\","
	 "\"regimen\":\"il2_alone\",\"enrolled_on\":\"1985-03-01\",\"last_contact_on\":\"1985-01-"
	 "01\"}",
	 {{"code", "A-Z"}, {"last_contact_on", "before enrolled_on"}},
	 {{0}}},
	{"patient: a broken field makes a record rule moot",
	 "POST",
	 "/patients",
	 "{\"code\":\"OK-1\",\"histology\":\"melanoma\",\"setting\":\"metastatic\","
	 "\"regimen\":\"il2_alone\",\"enrolled_on\":\"1985-02-30\",\"last_contact_on\":\"1985-01-"
	 "01\","
	 "\"vital_status\":\"gone\",\"death_cause\":\"Sepsis\"}",
	 {{"enrolled_on", "calendar date"}, {"vital_status", "one of"}},
	 {{"last_contact_on", "enrolled_on"},
	  {"died_on", "vital_status"},
	  {"death_cause", "vital_status"}}},
	{"patient: field + other records",
	 "PATCH",
	 "/patients/%P",
	 "{\"age\":\"old\",\"enrolled_on\":\"1985-05-01\"}",
	 {{"age", "integer"}, {"enrolled_on", "first course"}},
	 {{0}}},
	{"patient: record + other records",
	 "PATCH",
	 "/patients/%P",
	 "{\"vital_status\":\"dead\",\"enrolled_on\":\"1985-05-01\"}",
	 {{"died_on", "required when vital_status is dead"}, {"enrolled_on", "first course"}},
	 {{0}}},
	{"patient: adjuvant with responses, and a field",
	 "PATCH",
	 "/patients/%P",
	 "{\"setting\":\"adjuvant\",\"sex\":\"x\"}",
	 {{"setting", "cannot be adjuvant"}, {"sex", "one of"}},
	 {{0}}},
	/* courses */
	{"course: field + record",
	 "POST",
	 "/courses",
	 "{\"patient_id\":%P,\"started_on\":\"1985-04-10\",\"ended_on\":\"1985-04-01\","
	 "\"doses_given\":99}",
	 {{"doses_given", "between"}, {"ended_on", "before started_on"}},
	 {{0}}},
	{"course: field + other records",
	 "POST",
	 "/courses",
	 "{\"patient_id\":%P,\"started_on\":\"1985-01-01\",\"stop_reason\":\"bored\"}",
	 {{"stop_reason", "one of"}, {"started_on", "enrolment"}},
	 {{0}}},
	{"course: record + other records",
	 "POST",
	 "/courses",
	 "{\"patient_id\":%P,\"started_on\":\"1985-01-01\",\"il2_dose\":600000}",
	 {{"il2_dose_unit", "required when il2_dose"}, {"started_on", "enrolment"}},
	 {{0}}},
	{"course: no such patient makes its rules moot",
	 "POST",
	 "/courses",
	 "{\"patient_id\":999999999,\"started_on\":\"1985-01-01\",\"il2_dose_unit\":\"IU/kg\"}",
	 {{"il2_dose", "required when il2_dose_unit"}, {"patient_id", "no patient"}},
	 {{"started_on", "patient_id"}, {"started_on", "patient_id"}}},
	{"course: patch, field + record",
	 "PATCH",
	 "/courses/%C",
	 "{\"ended_on\":\"1985-01-01\",\"doses_given\":-1}",
	 {{"doses_given", "between"}, {"ended_on", "before started_on"}},
	 {{0}}},
	/* outcomes */
	{"outcome: field + record (the README's example)",
	 "POST",
	 "/outcomes",
	 "{\"course_id\":%C,\"assessed_on\":\"2023-02-30\",\"response\":\"MR\","
	 "\"criteria\":\"recist_1_1\"}",
	 {{"assessed_on", "calendar date"}, {"response", "MR"}},
	 {{"assessed_on", "assessed_on"}}},
	{"outcome: field + other records",
	 "POST",
	 "/outcomes",
	 "{\"course_id\":%C,\"assessed_on\":\"1985-01-15\",\"response\":\"CR\",\"confirmed\":"
	 "\"yes\"}",
	 {{"confirmed", "true or false"}, {"assessed_on", "before the course started"}},
	 {{0}}},
	{"outcome: record + other records",
	 "POST",
	 "/outcomes",
	 "{\"course_id\":%A,\"assessed_on\":\"1985-01-15\",\"response\":\"MR\","
	 "\"criteria\":\"recist_1_1\"}",
	 {{"response", "MR"},
	  {"assessed_on", "before the course started"},
	  {"response", "adjuvant"}},
	 {{0}}},
	{"outcome: no such course makes its rules moot",
	 "POST",
	 "/outcomes",
	 "{\"course_id\":999999999,\"assessed_on\":\"1985-01-15\",\"response\":\"CR\","
	 "\"criteria\":\"ecog\"}",
	 {{"criteria", "one of"}, {"course_id", "no course"}},
	 {{"response", "criteria"}, {"assessed_on", "course_id"}, {"response", "course_id"}}},
	{"outcome: patch, field + record",
	 "PATCH",
	 "/outcomes/%O",
	 "{\"response\":\"MR\",\"criteria\":\"recist_1_1\",\"confirmed\":1}",
	 {{"confirmed", "true or false"}, {"response", "MR"}},
	 {{0}}},
	/* toxicities */
	{"toxicity: field + record",
	 "POST",
	 "/toxicities",
	 "{\"course_id\":%C,\"term\":\"\",\"grade\":5,\"onset_on\":\"1985-02-05\","
	 "\"attribution\":\"definite\",\"outcome\":\"recovered\"}",
	 {{"term", "visible text"}, {"outcome", "fatal when grade is 5"}},
	 {{0}}},
	{"toxicity: field + other records",
	 "POST",
	 "/toxicities",
	 "{\"course_id\":%C,\"term\":\"Fever\",\"grade\":9,\"onset_on\":\"1985-01-20\","
	 "\"attribution\":\"definite\"}",
	 {{"grade", "between"}, {"onset_on", "before the course started"}},
	 {{"outcome", "grade"}}},
	{"toxicity: record + other records",
	 "POST",
	 "/toxicities",
	 "{\"course_id\":%C,\"term\":\"Fever\",\"grade\":2,\"onset_on\":\"1985-01-20\","
	 "\"resolved_on\":\"1985-01-02\",\"attribution\":\"definite\"}",
	 {{"resolved_on", "before onset_on"}, {"onset_on", "before the course started"}},
	 {{0}}},
	{"toxicity: a broken course_id makes its rules moot",
	 "POST",
	 "/toxicities",
	 "{\"course_id\":\"one\",\"term\":\"Fever\",\"grade\":2,\"onset_on\":\"1985-01-20\","
	 "\"resolved_on\":\"1985-01-02\",\"attribution\":\"definite\"}",
	 {{"course_id", "integer"}, {"resolved_on", "before onset_on"}},
	 {{"course_id", "course_id"}, {"onset_on", "course_id"}}},
	{"toxicity: patch, field + record",
	 "PATCH",
	 "/toxicities/%T",
	 "{\"grade\":5,\"resolved_on\":\"1985-13-01\"}",
	 {{"resolved_on", "calendar date"}, {"outcome", "fatal when grade is 5"}},
	 {{0}}},
};

/* text with %P, %C, %A, %O and %T replaced by the ids. */
static char *filled(const char *text)
{
	char *out = malloc(strlen(text) + 200), *o = out;
	for (const char *p = text; *p; p++) {
		const char *names = "PCAOT";
		const char *k = p[0] == '%' && p[1] ? strchr(names, p[1]) : NULL;
		if (!k) {
			*o++ = *p;
			continue;
		}
		int64_t ids[] = {P, C, A, O, T};
		o += sprintf(o, "%lld", (long long)ids[k - names]);
		p++;
	}
	*o = '\0';
	return out;
}

static size_t count(const struct problem *list)
{
	size_t n = 0;
	while (n < 4 && list[n].field)
		n++;
	return n;
}

/* Each expected problem matches one entry of got (each entry used once), and
 * there are no others. key is "message" or "because". */
static void assert_exactly(const char *name, json_t *got, const struct problem *want,
			   const char *key, const char *body)
{
	size_t n = count(want);
	ck_assert_msg(json_array_size(got) == n, "%s: %zu %s, not %zu:\n%s", name,
		      json_array_size(got), key, n, body);
	bool used[8] = {false};
	for (size_t w = 0; w < n; w++) {
		bool found = false;
		for (size_t g = 0; g < json_array_size(got) && !found; g++) {
			json_t *e = json_array_get(got, g);
			const char *field = json_string_value(json_object_get(e, "field"));
			const char *text = json_string_value(json_object_get(e, key));
			if (!used[g] && field && text && strcmp(field, want[w].field) == 0 &&
			    strstr(text, want[w].says)) {
				used[g] = found = true;
				/* a moot rule says what it is */
				if (strcmp(key, "because") == 0)
					ck_assert_msg(json_string_value(json_object_get(e, "rule")),
						      "%s: no rule", name);
			}
		}
		ck_assert_msg(found, "%s: no %s on %s saying \"%s\":\n%s", name, key, want[w].field,
			      want[w].says, body);
	}
}

static void run_case(const struct rule_case *c, const char *const *headers)
{
	char *path = filled(c->path), *body = filled(c->body);
	char *before = db_fingerprint();
	struct resp *r = http(c->method, path, headers, body, strlen(body));
	assert_problem(r, 422, VALIDATION);
	assert_exactly(c->name, json_object_get(r->json, "errors"), c->errors, "message", r->body);
	json_t *unchecked = json_object_get(r->json, "not_checked");
	if (count(c->unchecked) == 0)
		ck_assert_msg(!unchecked, "%s: not_checked in\n%s", c->name, r->body);
	else
		assert_exactly(c->name, unchecked, c->unchecked, "because", r->body);
	assert_unchanged(before);
	resp_free(r);
	free(path);
	free(body);
}

static void make_records(void)
{
	P = make_patient(NULL);
	C = make_course(P, NULL);
	O = make_outcome(C, NULL);
	T = make_toxicity(C, NULL);
	int64_t adjuvant = make_patient("{\"setting\":\"adjuvant\"}");
	A = make_course(adjuvant, NULL);
	make_outcome(C, "{\"response\":\"CR\"}"); /* P's response, against the adjuvant change */
}

START_TEST(test_each_case_names_every_broken_rule)
{
	make_records();
	static const char *const json[] = {"Content-Type: application/json", NULL};
	run_case(&cases[_i], json);
}
END_TEST

/* The cases that create (their indices in cases[]). */
static int creates[sizeof cases / sizeof cases[0]];
static int ncreates;

/* A create with an Idempotency-Key is validated in the write transaction,
 * not before it: the same answers. */
START_TEST(test_each_create_names_every_broken_rule_under_an_idempotency_key)
{
	make_records();
	char key[64];
	snprintf(key, sizeof key, "Idempotency-Key: every-rule-%d-%d", _i, getpid());
	const char *const headers[] = {"Content-Type: application/json", key, NULL};
	run_case(&cases[creates[_i]], headers);
}
END_TEST

/* A body that is not a record at all answers only that. */
START_TEST(test_a_body_that_is_no_record_answers_only_that)
{
	static const char *const bodies[] = {"[]", "\"x\"", "3"};
	for (size_t i = 0; i < 3; i++) {
		struct resp *r = http_post_json("/courses", bodies[i]);
		assert_problem(r, 422, VALIDATION);
		ck_assert_int_eq(json_array_size(json_object_get(r->json, "errors")), 1);
		ck_assert_ptr_null(json_object_get(r->json, "not_checked"));
		resp_free(r);
	}
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("test_every_broken_rule", &tc);
	int n = (int)(sizeof cases / sizeof cases[0]);
	tcase_add_loop_test(tc, test_each_case_names_every_broken_rule, 0, n);
	for (int i = 0; i < n; i++)
		if (strcmp(cases[i].method, "POST") == 0)
			creates[ncreates++] = i;
	tcase_add_loop_test(tc, test_each_create_names_every_broken_rule_under_an_idempotency_key,
			    0, ncreates);
	tcase_add_test(tc, test_a_body_that_is_no_record_answers_only_that);
	return run_suite(s);
}

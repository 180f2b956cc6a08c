/* Unit tests of body-to-record conversion: defaults, unknown and
 * server-managed members, types and ranges, merge-patch semantics, and the
 * within-record rules of each resource. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "resources.h"
#include "util.h"

static const char *valid_patient =
	"{\"code\":\"P-1\",\"histology\":\"melanoma\",\"setting\":\"metastatic\","
	"\"regimen\":\"il2_lak\",\"enrolled_on\":\"1985-01-10\"}";

/* The oracle: the record as a Jansson object, for comparing the writer with. */
static json_t *record_to_json(const struct resource *res, const struct record *rec)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int rc = json_object_set_new(o, "id", json_integer(rec->id));
	for (int i = 0; i < res->nfields && rc == 0; i++) {
		const struct value *v = &rec->v[i];
		json_t *j;
		switch (v->kind) {
		case VALUE_INT:
			j = res->fields[i].type == FIELD_BOOL ? json_boolean(v->i)
							      : json_integer(v->i);
			break;
		case VALUE_REAL: j = json_real(v->r); break;
		case VALUE_TEXT: j = json_string(v->s); break;
		default: j = json_null();
		}
		rc = json_object_set_new(o, res->fields[i].name, j);
	}
	if (rc == 0)
		rc = json_object_set_new(o, "version", json_integer(rec->version));
	if (rc == 0)
		rc = json_object_set_new(o, "created_at", json_string(rec->created_at));
	if (rc == 0)
		rc = json_object_set_new(o, "updated_at", json_string(rec->updated_at));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Parses text as a body for res (old may be NULL); returns the errors array
 * as compact JSON text (caller frees) and leaves the record in *rec. */
static char *convert(const struct resource *res, const char *text, const struct record *old,
		     struct record *rec)
{
	json_t *body = json_loads(text, JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);
	ck_assert_msg(body != NULL, "test JSON: %s", text);
	struct field_errors errs;
	field_errors_init(&errs);
	record_from_json(res, body, old, rec, &errs);
	char *out = json_dumps(errs.list, JSON_COMPACT);
	field_errors_free(&errs);
	json_decref(body);
	return out;
}

static void expect_error(const struct resource *res, const char *text, const char *field)
{
	struct record rec;
	char *errs = convert(res, text, NULL, &rec);
	char needle[128];
	snprintf(needle, sizeof needle, "\"field\":\"%s\"", field);
	ck_assert_msg(strstr(errs, needle) != NULL, "%s: expected error on %s, got %s", text, field,
		      errs);
	free(errs);
	record_clear(&rec);
}

START_TEST(test_defaults_fill_missing_fields)
{
	struct record rec;
	char *errs = convert(&patients_resource, valid_patient, NULL, &rec);
	ck_assert_str_eq(errs, "[]");
	ck_assert_str_eq(record_get(&rec, &patients_resource, "sex")->s, "unknown");
	ck_assert_str_eq(record_get(&rec, &patients_resource, "vital_status")->s, "alive");
	ck_assert_int_eq(record_get(&rec, &patients_resource, "age")->kind, VALUE_NULL);
	free(errs);
	record_clear(&rec);
}

START_TEST(test_every_problem_reported_at_once)
{
	struct record rec;
	char *errs = convert(&patients_resource, "{\"id\":1,\"nickname\":\"x\",\"age\":\"9\"}",
			     NULL, &rec);
	json_t *list = json_loads(errs, 0, NULL);
	/* id, nickname, age, and the five required fields */
	ck_assert_uint_eq(json_array_size(list), 8);
	json_decref(list);
	free(errs);
	record_clear(&rec);
}

START_TEST(test_unknown_and_server_fields_refused)
{
	static const char *const fields[] = {"id", "version", "created_at", "updated_at"};
	for (size_t i = 0; i < 4; i++) {
		char text[256];
		snprintf(text, sizeof text, "{\"%s\":1}", fields[i]);
		expect_error(&patients_resource, text, fields[i]);
	}
	expect_error(&patients_resource, "{\"name\":\"Jane\"}", "name");
	expect_error(&outcomes_resource, "{\"patient_id\":1}", "patient_id");
	expect_error(&toxicities_resource, "{\"patient_id\":1}", "patient_id");
}
END_TEST

START_TEST(test_wrong_types_and_ranges_are_named_per_field)
{
	expect_error(&patients_resource, "{\"age\":30.5}", "age");
	expect_error(&patients_resource, "{\"age\":\"30\"}", "age");
	expect_error(&patients_resource, "{\"age\":121}", "age");
	expect_error(&patients_resource, "{\"age\":-1}", "age");
	expect_error(&patients_resource, "{\"code\":7}", "code");
	expect_error(&patients_resource, "{\"sex\":\"F\"}", "sex");
	expect_error(&patients_resource, "{\"enrolled_on\":true}", "enrolled_on");
	expect_error(&patients_resource, "{\"enrolled_on\":\"2023-02-30\"}", "enrolled_on");
	expect_error(&patients_resource, "{\"histology\":[\"melanoma\"]}", "histology");
	expect_error(&outcomes_resource, "{\"confirmed\":\"true\"}", "confirmed");
	expect_error(&outcomes_resource, "{\"confirmed\":1}", "confirmed");
	expect_error(&courses_resource, "{\"il2_dose\":0}", "il2_dose");
	expect_error(&courses_resource, "{\"il2_dose\":\"600000\"}", "il2_dose");
	expect_error(&courses_resource, "{\"doses_given\":31}", "doses_given");
	expect_error(&toxicities_resource, "{\"term\":\"a\\u0000b\"}", "term");
	expect_error(&patients_resource, "{\"code\":\"a\\u0000b\"}", "code");
	expect_error(&patients_resource, "{\"sex\":\"male\\u0000x\"}", "sex");
}
END_TEST

START_TEST(test_body_must_be_object)
{
	expect_error(&patients_resource, "[]", "");
	expect_error(&patients_resource, "\"x\"", "");
}
END_TEST

START_TEST(test_dead_needs_date_and_alive_forbids_it)
{
	expect_error(
		&patients_resource,
		"{\"code\":\"P\",\"histology\":\"melanoma\",\"setting\":\"metastatic\","
		"\"regimen\":\"il2_lak\",\"enrolled_on\":\"1985-01-10\",\"vital_status\":\"dead\"}",
		"died_on");
	expect_error(&patients_resource,
		     "{\"code\":\"P\",\"histology\":\"melanoma\",\"setting\":\"metastatic\","
		     "\"regimen\":\"il2_lak\",\"enrolled_on\":\"1985-01-10\",\"died_on\":\"1986-01-"
		     "01\"}",
		     "died_on");
	expect_error(&patients_resource,
		     "{\"code\":\"P\",\"histology\":\"melanoma\",\"setting\":\"metastatic\","
		     "\"regimen\":\"il2_lak\",\"enrolled_on\":\"1985-01-10\",\"death_cause\":"
		     "\"Sepsis\"}",
		     "death_cause");
	expect_error(
		&patients_resource,
		"{\"code\":\"P\",\"histology\":\"melanoma\",\"setting\":\"metastatic\","
		"\"regimen\":\"il2_lak\",\"enrolled_on\":\"1985-01-10\",\"vital_status\":\"dead\","
		"\"died_on\":\"1984-01-01\"}",
		"died_on");
}
END_TEST

START_TEST(test_grade_five_iff_fatal)
{
	const char *base = "{\"course_id\":1,\"term\":\"Sepsis\",\"onset_on\":\"1985-01-10\","
			   "\"attribution\":\"probable\",";
	char text[256];
	snprintf(text, sizeof text, "%s\"grade\":5}", base);
	expect_error(&toxicities_resource, text, "outcome");
	snprintf(text, sizeof text, "%s\"grade\":4,\"outcome\":\"fatal\"}", base);
	expect_error(&toxicities_resource, text, "grade");
	snprintf(text, sizeof text, "%s\"grade\":5,\"outcome\":\"fatal\"}", base);
	struct record rec;
	char *errs = convert(&toxicities_resource, text, NULL, &rec);
	ck_assert_str_eq(errs, "[]");
	free(errs);
	record_clear(&rec);
}
END_TEST

START_TEST(test_mr_only_under_who)
{
	expect_error(&outcomes_resource,
		     "{\"course_id\":1,\"assessed_on\":\"1985-01-10\",\"criteria\":\"recist_1_1\","
		     "\"response\":\"MR\"}",
		     "response");
}
END_TEST

START_TEST(test_dose_needs_unit)
{
	expect_error(&courses_resource,
		     "{\"patient_id\":1,\"started_on\":\"1985-01-10\",\"il2_dose\":600000}",
		     "il2_dose_unit");
	expect_error(&courses_resource,
		     "{\"patient_id\":1,\"started_on\":\"1985-01-10\",\"il2_dose_unit\":\"U/kg\"}",
		     "il2_dose");
}
END_TEST

START_TEST(test_merge_patch_applies_over_old)
{
	struct record old, rec;
	char *errs = convert(&patients_resource, valid_patient, NULL, &old);
	free(errs);
	old.id = 7;
	old.version = 3;
	errs = convert(&patients_resource, "{\"age\":40,\"sex\":\"female\"}", &old, &rec);
	ck_assert_str_eq(errs, "[]");
	free(errs);
	ck_assert_int_eq(rec.id, 7);
	ck_assert_int_eq(record_get(&rec, &patients_resource, "age")->i, 40);
	ck_assert_str_eq(record_get(&rec, &patients_resource, "code")->s, "P-1");
	ck_assert(!record_fields_equal(&patients_resource, &rec, &old));

	/* null resets a defaulted field and clears an optional one */
	struct record again;
	errs = convert(&patients_resource, "{\"sex\":null,\"age\":null}", &rec, &again);
	ck_assert_str_eq(errs, "[]");
	free(errs);
	ck_assert_str_eq(record_get(&again, &patients_resource, "sex")->s, "unknown");
	ck_assert_int_eq(record_get(&again, &patients_resource, "age")->kind, VALUE_NULL);
	ck_assert(record_fields_equal(&patients_resource, &again, &old));
	record_clear(&again);
	record_clear(&rec);
	record_clear(&old);
}
END_TEST

START_TEST(test_merge_patch_refuses_null_required_and_immutable)
{
	struct record old, rec;
	char *errs = convert(&courses_resource, "{\"patient_id\":1,\"started_on\":\"1985-01-10\"}",
			     NULL, &old);
	ck_assert_str_eq(errs, "[]");
	free(errs);
	errs = convert(&courses_resource, "{\"started_on\":null}", &old, &rec);
	ck_assert(strstr(errs, "\"started_on\"") != NULL);
	free(errs);
	record_clear(&rec);
	errs = convert(&courses_resource, "{\"patient_id\":1}", &old, &rec);
	ck_assert(strstr(errs, "\"patient_id\"") != NULL);
	free(errs);
	record_clear(&rec);
	record_clear(&old);
}
END_TEST

/* The integer writer says what printf's %lld says, at both ends of the range. */
START_TEST(test_integers_are_written_as_printf_writes_them)
{
	static const long long values[] = {
		0,   1,     -1,     9,         10,        -10,           99,
		100, 12345, -98765, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1};
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		char want[32], got[24];
		int n = snprintf(want, sizeof want, "%lld", values[i]);
		ck_assert_uint_eq(format_int(got, values[i]), (size_t)n);
		ck_assert_str_eq(got, want);
		struct strbuf sb = {0};
		strbuf_puts(&sb, "x");
		strbuf_int(&sb, values[i]);
		ck_assert_str_eq(sb.data + 1, want);
		strbuf_free(&sb);
	}
	char cut[5];
	copy_cut(cut, sizeof cut, "1985-01-10");
	ck_assert_str_eq(cut, "1985");
	copy_cut(cut, sizeof cut, "ab");
	ck_assert_str_eq(cut, "ab");
}
END_TEST

START_TEST(test_record_json_has_every_member_in_order)
{
	struct record rec;
	char *errs = convert(&outcomes_resource,
			     "{\"course_id\":4,\"assessed_on\":\"1985-01-10\",\"response\":\"CR\"}",
			     NULL, &rec);
	free(errs);
	rec.id = 12;
	rec.version = 2;
	strcpy(rec.created_at, "2026-01-01T00:00:00.000Z");
	strcpy(rec.updated_at, "2026-01-02T00:00:00.000Z");
	struct strbuf sb = {0};
	record_write_json(&sb, &outcomes_resource, &rec, RECORD_JSON_API);
	char *text = strbuf_steal(&sb);
	ck_assert_str_eq(text,
			 "{\"id\":12,\"course_id\":4,\"patient_id\":null,"
			 "\"assessed_on\":\"1985-01-10\",\"criteria\":\"who\",\"response\":\"CR\","
			 "\"confirmed\":false,\"version\":2,"
			 "\"created_at\":\"2026-01-01T00:00:00.000Z\","
			 "\"updated_at\":\"2026-01-02T00:00:00.000Z\"}");
	free(text);
	record_clear(&rec);
}
END_TEST

/* The direct writer must say exactly what Jansson says, in both forms. */
static void expect_writer_matches_jansson(const struct resource *res, struct record *rec)
{
	json_t *j = record_to_json(res, rec);
	static const size_t flags[] = {JSON_COMPACT | JSON_REAL_PRECISION(15),
				       JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17)};
	static const enum record_json_form forms[] = {RECORD_JSON_API, RECORD_JSON_CANONICAL};
	for (int i = 0; i < 2; i++) {
		char *want = json_dumps(j, flags[i]);
		struct strbuf sb = {0};
		record_write_json(&sb, res, rec, forms[i]);
		ck_assert_str_eq(sb.data, want);
		free(want);
		strbuf_free(&sb);
	}
	json_decref(j);
}

START_TEST(test_record_writer_equals_jansson)
{
	struct record rec = {0};
	rec.id = 9;
	rec.version = 12;
	strcpy(rec.created_at, "2026-01-01T00:00:00.000Z");
	strcpy(rec.updated_at, "2026-01-02T00:00:00.000Z");
	/* strings that need escaping, UTF-8, a null, a boolean */
	const struct resource *res = &toxicities_resource;
	value_set_int(&rec.v[0], 4);
	value_set_int(&rec.v[1], 2);
	value_set_text(&rec.v[2], "Quote \" back\\slash \x01 ctl \t tab \xc3\xa9 / \xe2\x80\xa8");
	value_set_int(&rec.v[3], 5);
	value_set_text(&rec.v[4], "1985-02-02");
	value_set_int(&rec.v[6], 0);
	value_set_text(&rec.v[6], "definite");
	value_set_int(&rec.v[7], 1);
	value_set_text(&rec.v[8], "fatal");
	expect_writer_matches_jansson(res, &rec);
	record_clear(&rec);
	/* reals as Jansson prints them, at both precisions */
	static const double doses[] = {720000, 0.1, 1e20, 123456.789012345678, 3e-7};
	for (size_t i = 0; i < sizeof doses / sizeof doses[0]; i++) {
		struct record c = {.id = 1, .version = 1};
		value_set_int(&c.v[0], 1);
		value_set_int(&c.v[1], 1);
		value_set_text(&c.v[2], "1985-02-01");
		c.v[4].kind = VALUE_REAL;
		c.v[4].r = doses[i];
		value_set_text(&c.v[5], "IU/kg");
		expect_writer_matches_jansson(&courses_resource, &c);
		record_clear(&c);
	}
}
END_TEST

START_TEST(test_filter_values_parsed_by_type)
{
	const struct field *grade =
		&toxicities_resource.fields[resource_field_index(&toxicities_resource, "grade")];
	const struct field *serious =
		&toxicities_resource.fields[resource_field_index(&toxicities_resource, "serious")];
	struct value v;
	ck_assert(value_from_param(grade, "3", &v) && v.i == 3);
	ck_assert(!value_from_param(grade, "6", &v));
	ck_assert(!value_from_param(grade, "x", &v));
	ck_assert(value_from_param(serious, "true", &v) && v.i == 1);
	ck_assert(!value_from_param(serious, "yes", &v));
}
END_TEST

Suite *suite(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("model");
	tcase_add_test(tc, test_defaults_fill_missing_fields);
	tcase_add_test(tc, test_every_problem_reported_at_once);
	tcase_add_test(tc, test_unknown_and_server_fields_refused);
	tcase_add_test(tc, test_wrong_types_and_ranges_are_named_per_field);
	tcase_add_test(tc, test_body_must_be_object);
	tcase_add_test(tc, test_dead_needs_date_and_alive_forbids_it);
	tcase_add_test(tc, test_grade_five_iff_fatal);
	tcase_add_test(tc, test_mr_only_under_who);
	tcase_add_test(tc, test_dose_needs_unit);
	tcase_add_test(tc, test_merge_patch_applies_over_old);
	tcase_add_test(tc, test_merge_patch_refuses_null_required_and_immutable);
	tcase_add_test(tc, test_integers_are_written_as_printf_writes_them);
	tcase_add_test(tc, test_record_json_has_every_member_in_order);
	tcase_add_test(tc, test_record_writer_equals_jansson);
	tcase_add_test(tc, test_filter_values_parsed_by_type);
	suite_add_tcase(s, tc);
	return s;
}

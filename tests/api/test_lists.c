/* Lists through the API: the {items, next} shape, id order, the default and
 * explicit limit, cursor pagination with after (every record exactly once,
 * next and Link present only while more exist, other parameters kept and
 * re-encoded, after last), every filter of every resource, the nested
 * /patients/{id}/... lists, and every bad query parameter (400
 * invalid-parameter naming it). Lists see the records of the other tests in
 * the same server, so each test scopes its queries to patients it made. */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOT_FOUND         "urn:cohortd:problem:not-found"
#define INVALID_PARAMETER "urn:cohortd:problem:invalid-parameter"

/* One page: asserts the list shape and that Link and next agree. Returns the
 * response; *next (may be NULL) gets a copy of next or NULL. */
static struct resp *page(const char *path, char **next)
{
	struct resp *r = http_get(path);
	ck_assert_msg(r->status == 200, "GET %s -> %ld %s", path, r->status, r->body);
	const char *ct = resp_header(r, "Content-Type");
	ck_assert_msg(ct && strncmp(ct, "application/json", 16) == 0, "content type %s",
		      ct ? ct : "(none)");
	ck_assert_msg(json_is_object(r->json) && json_object_size(r->json) == 2, "shape: %s",
		      r->body);
	ck_assert(json_is_array(json_object_get(r->json, "items")));
	json_t *n = json_object_get(r->json, "next");
	ck_assert_msg(n != NULL && (json_is_null(n) || json_is_string(n)), "next: %s", r->body);
	const char *link = resp_header(r, "Link");
	if (json_is_string(n)) {
		char want[2200];
		snprintf(want, sizeof want, "<%s>; rel=\"next\"", json_string_value(n));
		ck_assert_msg(link != NULL, "no Link header with next %s", json_string_value(n));
		ck_assert_str_eq(link, want);
	} else {
		ck_assert_msg(link == NULL, "Link header %s without next", link);
	}
	if (next)
		*next = json_is_string(n) ? strdup(json_string_value(n)) : NULL;
	return r;
}

/* Follows next from path to the end; returns every item (new reference) and
 * the number of pages. Ids must rise strictly across all pages. */
static json_t *walk(const char *path, int *pages)
{
	json_t *all = json_array();
	char *cur = strdup(path);
	json_int_t last = 0;
	int n = 0;
	while (cur) {
		char *next;
		struct resp *r = page(cur, &next);
		size_t i;
		json_t *item;
		json_array_foreach(json_object_get(r->json, "items"), i, item)
		{
			json_int_t id = json_integer_value(json_object_get(item, "id"));
			ck_assert_msg(id > last, "ids out of order on %s: %lld after %lld", cur,
				      (long long)id, (long long)last);
			last = id;
			json_array_append(all, item);
		}
		resp_free(r);
		free(cur);
		cur = next;
		ck_assert_msg(++n < 2000, "pagination does not end");
	}
	if (pages)
		*pages = n;
	return all;
}

/* Asserts the list at path (all pages) holds exactly the ids given, in order. */
static void assert_ids(const char *path, int count, ...)
{
	json_t *items = walk(path, NULL);
	va_list ap;
	va_start(ap, count);
	ck_assert_msg(json_array_size(items) == (size_t)count, "%s: %zu items, want %d", path,
		      json_array_size(items), count);
	for (int i = 0; i < count; i++) {
		int64_t want = va_arg(ap, int64_t);
		json_int_t got =
			json_integer_value(json_object_get(json_array_get(items, i), "id"));
		ck_assert_msg(got == want, "%s: item %d is %lld, want %lld", path, i,
			      (long long)got, (long long)want);
	}
	va_end(ap);
	json_decref(items);
}

static bool holds_id(json_t *items, int64_t id)
{
	size_t i;
	json_t *item;
	json_array_foreach(items, i, item)
	{
		if (json_integer_value(json_object_get(item, "id")) == id)
			return true;
	}
	return false;
}

static void assert_bad_param(const char *path, const char *param)
{
	struct resp *r = http_get(path);
	assert_problem(r, 400, INVALID_PARAMETER);
	assert_field_error(r, param);
	resp_free(r);
}

static const char *fmt(const char *format, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *format, ...)
{
	static char buf[4][1024];
	static int n;
	char *b = buf[n++ % 4];
	va_list ap;
	va_start(ap, format);
	vsnprintf(b, sizeof buf[0], format, ap);
	va_end(ap);
	return b;
}

START_TEST(test_list_default_limit_is_50_and_next_fetches_the_rest)
{
	int64_t p = make_patient(NULL);
	int64_t c = make_course(p, NULL);
	int64_t ids[51];
	for (int i = 0; i < 51; i++)
		ids[i] = make_toxicity(c, NULL);
	char *next;
	struct resp *r = page(fmt("/toxicities?patient_id=%lld", (long long)p), &next);
	json_t *items = json_object_get(r->json, "items");
	ck_assert_uint_eq(json_array_size(items), 50);
	for (int i = 0; i < 50; i++)
		ck_assert_int_eq(
			json_integer_value(json_object_get(json_array_get(items, i), "id")),
			ids[i]);
	ck_assert_ptr_nonnull(next);
	ck_assert_str_eq(next, fmt("/toxicities?patient_id=%lld&after=%lld", (long long)p,
				   (long long)ids[49]));
	resp_free(r);

	char *after;
	r = page(next, &after);
	items = json_object_get(r->json, "items");
	ck_assert_uint_eq(json_array_size(items), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(items, 0), "id")),
			 ids[50]);
	ck_assert_ptr_null(after);
	ck_assert(json_is_null(json_object_get(r->json, "next")));
	resp_free(r);
	free(next);
}
END_TEST

START_TEST(test_list_limit_and_after_walk_every_record_exactly_once)
{
	int64_t p = make_patient(NULL);
	int64_t c = make_course(p, NULL);
	int64_t ids[7];
	for (int i = 0; i < 7; i++)
		ids[i] = make_outcome(c, NULL);
	int pages;
	json_t *items = walk(fmt("/outcomes?patient_id=%lld&limit=3", (long long)p), &pages);
	ck_assert_int_eq(pages, 3);
	ck_assert_uint_eq(json_array_size(items), 7);
	for (int i = 0; i < 7; i++)
		ck_assert_int_eq(
			json_integer_value(json_object_get(json_array_get(items, i), "id")),
			ids[i]);
	json_decref(items);

	/* Page by page: the cursor is the last id seen. */
	char *next;
	struct resp *r = page(fmt("/outcomes?patient_id=%lld&limit=3", (long long)p), &next);
	ck_assert_str_eq(next, fmt("/outcomes?patient_id=%lld&limit=3&after=%lld", (long long)p,
				   (long long)ids[2]));
	ck_assert_str_eq(resp_header(r, "Link"),
			 fmt("</outcomes?patient_id=%lld&limit=3&after=%lld>; rel=\"next\"",
			     (long long)p, (long long)ids[2]));
	resp_free(r);
	free(next);
	assert_ids(fmt("/outcomes?patient_id=%lld&limit=3&after=%lld", (long long)p,
		       (long long)ids[4]),
		   2, ids[5], ids[6]);
}
END_TEST

START_TEST(test_list_last_full_page_has_null_next)
{
	int64_t p = make_patient(NULL);
	int64_t c = make_course(p, NULL);
	for (int i = 0; i < 4; i++)
		make_outcome(c, NULL);
	int pages;
	json_t *items = walk(fmt("/outcomes?patient_id=%lld&limit=2", (long long)p), &pages);
	ck_assert_int_eq(pages, 2);
	ck_assert_uint_eq(json_array_size(items), 4);
	json_decref(items);
	items = walk(fmt("/outcomes?patient_id=%lld&limit=4", (long long)p), &pages);
	ck_assert_int_eq(pages, 1);
	ck_assert_uint_eq(json_array_size(items), 4);
	json_decref(items);
}
END_TEST

START_TEST(test_list_empty_result_has_no_items_and_null_next)
{
	int64_t p = make_patient(NULL);
	char *next = (char *)"unset";
	struct resp *r = page(fmt("/outcomes?patient_id=%lld", (long long)p), &next);
	ck_assert_uint_eq(json_array_size(json_object_get(r->json, "items")), 0);
	ck_assert_ptr_null(next);
	resp_free(r);
	/* A cursor past the end is an empty page, not an error. */
	r = page("/patients?after=9223372036854775000", &next);
	ck_assert_uint_eq(json_array_size(json_object_get(r->json, "items")), 0);
	ck_assert_ptr_null(next);
	resp_free(r);
}
END_TEST

START_TEST(test_list_next_keeps_other_params_in_order_with_after_last)
{
	int64_t p = make_patient(NULL);
	int64_t c1 = make_course(p, "{\"il2_dose_unit\": \"U/kg\"}");
	make_course(p, NULL); /* IU/kg */
	int64_t c3 = make_course(p, "{\"il2_dose_unit\": \"U/kg\"}");
	/* An after given first is dropped from its place and put last; the
	 * slash of U/kg is re-encoded. */
	char *next;
	struct resp *r = page(
		fmt("/courses?after=0&il2_dose_unit=U%%2Fkg&limit=1&patient_id=%lld", (long long)p),
		&next);
	ck_assert_uint_eq(json_array_size(json_object_get(r->json, "items")), 1);
	ck_assert_str_eq(next,
			 fmt("/courses?il2_dose_unit=U%%2Fkg&limit=1&patient_id=%lld&after=%lld",
			     (long long)p, (long long)c1));
	resp_free(r);
	assert_ids(next, 1, c3);
	free(next);
}
END_TEST

START_TEST(test_list_limit_bounds_1_and_1000_are_accepted)
{
	int64_t p = make_patient(NULL);
	int64_t c1 = make_course(p, NULL);
	int64_t c2 = make_course(p, NULL);
	char *next;
	struct resp *r = page(fmt("/courses?patient_id=%lld&limit=1", (long long)p), &next);
	ck_assert_uint_eq(json_array_size(json_object_get(r->json, "items")), 1);
	ck_assert_str_eq(next, fmt("/courses?patient_id=%lld&limit=1&after=%lld", (long long)p,
				   (long long)c1));
	resp_free(r);
	free(next);
	r = page(fmt("/courses?patient_id=%lld&limit=1000", (long long)p), &next);
	ck_assert_uint_eq(json_array_size(json_object_get(r->json, "items")), 2);
	ck_assert_ptr_null(next);
	resp_free(r);
	assert_ids(fmt("/courses?limit=1000&patient_id=%lld", (long long)p), 2, c1, c2);
}
END_TEST

/* Patient A and B differ in every filterable field; each filter, alone over
 * the whole list and together with code, keeps A and drops B. */
START_TEST(test_list_patient_filters_each_field)
{
	char code_a[64], code_b[64];
	snprintf(code_a, sizeof code_a, "%s", unique_code("LA"));
	snprintf(code_b, sizeof code_b, "%s", unique_code("LB"));
	char extra[400];
	snprintf(extra, sizeof extra,
		 "{\"code\": \"%s\", \"sex\": \"female\", \"histology\": \"sarcoma\", \"setting\": "
		 "\"adjuvant\", \"regimen\": \"il2_tnf\", \"vital_status\": \"dead\", \"died_on\": "
		 "\"1986-01-01\"}",
		 code_a);
	int64_t a = make_patient(extra);
	snprintf(extra, sizeof extra,
		 "{\"code\": \"%s\", \"sex\": \"male\", \"histology\": \"breast\", \"setting\": "
		 "\"metastatic\", \"regimen\": \"il2_lak\", \"vital_status\": \"unknown\"}",
		 code_b);
	int64_t b = make_patient(extra);

	assert_ids(fmt("/patients?code=%s", code_a), 1, a);
	assert_ids(fmt("/patients?code=%s", code_b), 1, b);
	static const char *const filters[][3] = {
		{"sex", "female", "male"},
		{"histology", "sarcoma", "breast"},
		{"setting", "adjuvant", "metastatic"},
		{"regimen", "il2_tnf", "il2_lak"},
		{"vital_status", "dead", "unknown"},
	};
	for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
		const char *f = filters[i][0];
		assert_ids(fmt("/patients?code=%s&%s=%s", code_a, f, filters[i][1]), 1, a);
		assert_ids(fmt("/patients?code=%s&%s=%s", code_a, f, filters[i][2]), 0);
		json_t *items = walk(fmt("/patients?%s=%s&limit=1000", f, filters[i][1]), NULL);
		ck_assert_msg(holds_id(items, a), "%s=%s misses patient %lld", f, filters[i][1],
			      (long long)a);
		ck_assert_msg(!holds_id(items, b), "%s=%s keeps patient %lld", f, filters[i][1],
			      (long long)b);
		size_t k;
		json_t *item;
		json_array_foreach(items, k, item)
		{
			ck_assert_str_eq(json_string_value(json_object_get(item, f)),
					 filters[i][1]);
		}
		json_decref(items);
	}
}
END_TEST

START_TEST(test_list_course_filters_each_field)
{
	int64_t p = make_patient(NULL);
	int64_t other = make_patient(NULL);
	int64_t c1 = make_course(p, "{\"stop_reason\": \"completed\"}");
	int64_t c2 = make_course(p, "{\"il2_dose_unit\": \"U/kg\", \"stop_reason\": \"toxicity\"}");
	int64_t c3 = make_course(p, "{\"il2_dose\": null, \"il2_dose_unit\": null}");
	int64_t c4 = make_course(other, "{\"stop_reason\": \"completed\"}");
	assert_ids(fmt("/courses?patient_id=%lld", (long long)p), 3, c1, c2, c3);
	assert_ids(fmt("/courses?patient_id=%lld", (long long)other), 1, c4);
	assert_ids(fmt("/courses?patient_id=%lld&il2_dose_unit=U%%2Fkg", (long long)p), 1, c2);
	assert_ids(fmt("/courses?patient_id=%lld&il2_dose_unit=IU/kg", (long long)p), 1, c1);
	assert_ids(fmt("/courses?patient_id=%lld&stop_reason=completed", (long long)p), 1, c1);
	assert_ids(fmt("/courses?patient_id=%lld&stop_reason=toxicity", (long long)p), 1, c2);
	assert_ids(fmt("/courses?patient_id=%lld&stop_reason=death", (long long)p), 0);
}
END_TEST

START_TEST(test_list_outcome_filters_each_field)
{
	int64_t p = make_patient(NULL);
	int64_t c1 = make_course(p, NULL);
	int64_t c2 = make_course(p, NULL);
	int64_t o1 = make_outcome(c1, "{\"response\": \"PR\", \"confirmed\": true}");
	int64_t o2 = make_outcome(c1, "{\"response\": \"SD\", \"criteria\": \"recist_1_1\"}");
	int64_t o3 = make_outcome(c2, "{\"response\": \"MR\"}");
	int64_t other = make_outcome(make_course(make_patient(NULL), NULL), NULL);
	long long pl = (long long)p;
	assert_ids(fmt("/outcomes?patient_id=%lld", pl), 3, o1, o2, o3);
	assert_ids(fmt("/outcomes?course_id=%lld", (long long)c1), 2, o1, o2);
	assert_ids(fmt("/outcomes?course_id=%lld", (long long)c2), 1, o3);
	assert_ids(fmt("/outcomes?patient_id=%lld&criteria=recist_1_1", pl), 1, o2);
	assert_ids(fmt("/outcomes?patient_id=%lld&criteria=who", pl), 2, o1, o3);
	assert_ids(fmt("/outcomes?patient_id=%lld&response=MR", pl), 1, o3);
	assert_ids(fmt("/outcomes?patient_id=%lld&response=CR", pl), 0);
	assert_ids(fmt("/outcomes?patient_id=%lld&confirmed=true", pl), 1, o1);
	assert_ids(fmt("/outcomes?patient_id=%lld&confirmed=false", pl), 2, o2, o3);
	assert_ids(fmt("/outcomes?course_id=%lld&response=SD&confirmed=false", (long long)c1), 1,
		   o2);
	json_t *items = walk("/outcomes?response=PR&limit=1000", NULL);
	ck_assert(holds_id(items, o1) && holds_id(items, other) && !holds_id(items, o2));
	json_decref(items);
}
END_TEST

START_TEST(test_list_toxicity_filters_each_field)
{
	int64_t p = make_patient(NULL);
	int64_t c1 = make_course(p, NULL);
	int64_t c2 = make_course(p, NULL);
	int64_t t1 = make_toxicity(c1, NULL); /* Hypotension 3 definite, not serious, unknown */
	int64_t t2 = make_toxicity(c1, "{\"term\": \"Capillary leak syndrome\", \"grade\": 4, "
				       "\"attribution\": \"probable\", \"serious\": true, "
				       "\"outcome\": \"recovered\"}");
	int64_t t3 = make_toxicity(c2, "{\"term\": \"Sepsis\", \"grade\": 5, \"attribution\": "
				       "\"possible\", \"serious\": true, \"outcome\": \"fatal\"}");
	int64_t t4 = make_toxicity(c2, "{\"term\": \"Fever\", \"grade\": 1, \"attribution\": "
				       "\"unrelated\", \"outcome\": \"recovering\"}");
	make_toxicity(make_course(make_patient(NULL), NULL), NULL);
	long long pl = (long long)p;
	assert_ids(fmt("/toxicities?patient_id=%lld", pl), 4, t1, t2, t3, t4);
	assert_ids(fmt("/toxicities?course_id=%lld", (long long)c1), 2, t1, t2);
	assert_ids(fmt("/toxicities?course_id=%lld", (long long)c2), 2, t3, t4);
	assert_ids(fmt("/toxicities?patient_id=%lld&term=Hypotension", pl), 1, t1);
	assert_ids(fmt("/toxicities?patient_id=%lld&term=hypotension", pl), 0);
	assert_ids(fmt("/toxicities?patient_id=%lld&grade=4", pl), 1, t2);
	assert_ids(fmt("/toxicities?patient_id=%lld&grade=2", pl), 0);
	assert_ids(fmt("/toxicities?patient_id=%lld&min_grade=4", pl), 2, t2, t3);
	assert_ids(fmt("/toxicities?patient_id=%lld&min_grade=3", pl), 3, t1, t2, t3);
	assert_ids(fmt("/toxicities?patient_id=%lld&min_grade=1", pl), 4, t1, t2, t3, t4);
	assert_ids(fmt("/toxicities?patient_id=%lld&min_grade=5", pl), 1, t3);
	assert_ids(fmt("/toxicities?patient_id=%lld&attribution=possible", pl), 1, t3);
	assert_ids(fmt("/toxicities?patient_id=%lld&serious=true", pl), 2, t2, t3);
	assert_ids(fmt("/toxicities?patient_id=%lld&serious=false", pl), 2, t1, t4);
	assert_ids(fmt("/toxicities?patient_id=%lld&outcome=recovering", pl), 1, t4);
	assert_ids(fmt("/toxicities?patient_id=%lld&outcome=unknown", pl), 1, t1);
	assert_ids(fmt("/toxicities?patient_id=%lld&min_grade=3&serious=true&attribution=probable",
		       pl),
		   1, t2);
}
END_TEST

START_TEST(test_list_term_with_space_is_decoded_and_next_re_encodes_it)
{
	int64_t p = make_patient(NULL);
	int64_t c = make_course(p, NULL);
	const char *cls = "{\"term\": \"Capillary leak syndrome\"}";
	int64_t t1 = make_toxicity(c, cls);
	make_toxicity(c, "{\"term\": \"Capillary leak\"}");
	int64_t t2 = make_toxicity(c, cls);
	char *next;
	struct resp *r =
		page(fmt("/toxicities?term=Capillary%%20leak%%20syndrome&patient_id=%lld&limit=1",
			 (long long)p),
		     &next);
	json_t *items = json_object_get(r->json, "items");
	ck_assert_uint_eq(json_array_size(items), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(items, 0), "id")), t1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "term")),
			 "Capillary leak syndrome");
	ck_assert_str_eq(next, fmt("/toxicities?term=Capillary%%20leak%%20syndrome&patient_id=%lld"
				   "&limit=1&after=%lld",
				   (long long)p, (long long)t1));
	resp_free(r);
	assert_ids(next, 1, t2);
	free(next);
	/* A form-encoded '+' is a space too; next re-encodes it as %20. */
	r = page(fmt("/toxicities?term=Capillary+leak+syndrome&patient_id=%lld&limit=1",
		     (long long)p),
		 &next);
	ck_assert_str_eq(next, fmt("/toxicities?term=Capillary%%20leak%%20syndrome&patient_id=%lld"
				   "&limit=1&after=%lld",
				   (long long)p, (long long)t1));
	resp_free(r);
	free(next);
	/* A term that needs more than a space encoded round-trips as well. */
	int64_t t3 = make_toxicity(c, "{\"term\": \"Rash & pruritus (50%)\"}");
	assert_ids(
		fmt("/toxicities?patient_id=%lld&term=Rash%%20%%26%%20pruritus%%20%%2850%%25%%29",
		    (long long)p),
		1, t3);
}
END_TEST

START_TEST(test_list_nested_lists_hold_only_that_patients_records)
{
	int64_t a = make_patient(NULL), b = make_patient(NULL);
	int64_t ca1 = make_course(a, NULL), ca2 = make_course(a, NULL);
	int64_t cb = make_course(b, NULL);
	int64_t oa1 = make_outcome(ca1, "{\"response\": \"CR\"}");
	int64_t oa2 = make_outcome(ca2, NULL);
	make_outcome(cb, "{\"response\": \"CR\"}");
	int64_t ta = make_toxicity(ca2, NULL);
	make_toxicity(cb, NULL);
	long long al = (long long)a;
	assert_ids(fmt("/patients/%lld/courses", al), 2, ca1, ca2);
	assert_ids(fmt("/patients/%lld/outcomes", al), 2, oa1, oa2);
	assert_ids(fmt("/patients/%lld/toxicities", al), 1, ta);
	assert_ids(fmt("/patients/%lld/courses", (long long)b), 1, cb);
	/* Filters work on nested lists too. */
	assert_ids(fmt("/patients/%lld/outcomes?response=CR", al), 1, oa1);
	assert_ids(fmt("/patients/%lld/outcomes?course_id=%lld", al, (long long)ca2), 1, oa2);
	assert_ids(fmt("/patients/%lld/toxicities?min_grade=4", al), 0);
	/* A patient without records has empty lists. */
	assert_ids(fmt("/patients/%lld/toxicities", (long long)make_patient(NULL)), 0);
}
END_TEST

START_TEST(test_list_nested_next_link_keeps_the_nested_path)
{
	int64_t a = make_patient(NULL);
	int64_t c = make_course(a, NULL);
	int64_t t1 = make_toxicity(c, NULL), t2 = make_toxicity(c, NULL);
	char *next;
	struct resp *r = page(fmt("/patients/%lld/toxicities?limit=1", (long long)a), &next);
	ck_assert_str_eq(next, fmt("/patients/%lld/toxicities?limit=1&after=%lld", (long long)a,
				   (long long)t1));
	resp_free(r);
	assert_ids(next, 1, t2);
	free(next);
}
END_TEST

START_TEST(test_list_nested_for_missing_patient_is_404)
{
	static const char *const kinds[] = {"courses", "outcomes", "toxicities"};
	for (size_t i = 0; i < 3; i++) {
		struct resp *r = http_get(fmt("/patients/987654321/%s", kinds[i]));
		assert_problem(r, 404, NOT_FOUND);
		resp_free(r);
	}
	/* A patient deleted since is gone from the nested routes too. */
	int64_t p = make_patient(NULL);
	struct resp *r = http_delete(fmt("/patients/%lld", (long long)p));
	ck_assert_int_eq(r->status, 204);
	resp_free(r);
	r = http_get(fmt("/patients/%lld/courses", (long long)p));
	assert_problem(r, 404, NOT_FOUND);
	resp_free(r);
}
END_TEST

START_TEST(test_list_nested_patient_id_param_is_400)
{
	int64_t p = make_patient(NULL);
	static const char *const kinds[] = {"courses", "outcomes", "toxicities"};
	for (size_t i = 0; i < 3; i++)
		assert_bad_param(fmt("/patients/%lld/%s?patient_id=%lld", (long long)p, kinds[i],
				     (long long)p),
				 "patient_id");
}
END_TEST

START_TEST(test_list_bad_limit_is_400)
{
	static const char *const values[] = {"0", "1001", "abc", "-1", "", "1.5", "10x", "01e2"};
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
		assert_bad_param(fmt("/patients?limit=%s", values[i]), "limit");
	assert_bad_param("/toxicities?limit=99999999999999999999", "limit");
}
END_TEST

START_TEST(test_list_bad_after_is_400)
{
	static const char *const values[] = {"-1", "abc", "", "1.0"};
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
		assert_bad_param(fmt("/outcomes?after=%s", values[i]), "after");
}
END_TEST

START_TEST(test_list_unknown_parameter_is_400)
{
	/* every field of a resource filters (test_list_queries); these are none */
	assert_bad_param("/patients?colour=red", "colour");
	assert_bad_param("/patients?min_code=A", "min_code"); /* min_ only for integer fields */
	assert_bad_param("/courses?grade=1", "grade");
	assert_bad_param("/outcomes?grade=3", "grade");
	assert_bad_param("/outcomes?min_grade=3", "min_grade");
	assert_bad_param("/toxicities?id=1", "id");
}
END_TEST

START_TEST(test_list_enum_value_outside_the_set_is_400)
{
	assert_bad_param("/patients?sex=robot", "sex");
	assert_bad_param("/patients?histology=Melanoma", "histology");
	assert_bad_param("/patients?setting=neoadjuvant", "setting");
	assert_bad_param("/patients?regimen=il2", "regimen");
	assert_bad_param("/patients?vital_status=gone", "vital_status");
	assert_bad_param("/courses?il2_dose_unit=mg", "il2_dose_unit");
	assert_bad_param("/courses?stop_reason=bored", "stop_reason");
	assert_bad_param("/outcomes?criteria=recist", "criteria");
	assert_bad_param("/outcomes?response=cr", "response");
	assert_bad_param("/toxicities?attribution=maybe", "attribution");
	assert_bad_param("/toxicities?outcome=dead", "outcome");
}
END_TEST

START_TEST(test_list_bad_filter_values_are_400)
{
	assert_bad_param("/courses?patient_id=abc", "patient_id");
	assert_bad_param("/courses?patient_id=0", "patient_id");
	assert_bad_param("/outcomes?course_id=-3", "course_id");
	assert_bad_param("/outcomes?confirmed=yes", "confirmed");
	assert_bad_param("/outcomes?confirmed=1", "confirmed");
	assert_bad_param("/toxicities?serious=TRUE", "serious");
	assert_bad_param("/toxicities?grade=6", "grade");
	assert_bad_param("/toxicities?grade=0", "grade");
	assert_bad_param("/toxicities?min_grade=0", "min_grade");
	assert_bad_param("/toxicities?min_grade=three", "min_grade");
	char path[300];
	int n = snprintf(path, sizeof path, "/toxicities?term=");
	memset(path + n, 'a', 101);
	path[n + 101] = '\0';
	assert_bad_param(path, "term");
}
END_TEST

START_TEST(test_list_repeated_parameter_is_400)
{
	/* a filter may repeat (every condition holds: test_list_queries), the
	 * rest may not */
	assert_bad_param("/patients?limit=1&limit=2", "limit");
	assert_bad_param("/patients?after=1&after=2", "after");
	assert_bad_param("/patients?format=json&format=csv", "format");
	assert_bad_param("/patients?fields=id&fields=code", "fields");
}
END_TEST

START_TEST(test_list_every_bad_parameter_is_reported_together)
{
	struct resp *r = http_get("/toxicities?limit=0&grade=9&colour=red&serious=maybe");
	assert_problem(r, 400, INVALID_PARAMETER);
	assert_field_error(r, "limit");
	assert_field_error(r, "grade");
	assert_field_error(r, "colour");
	assert_field_error(r, "serious");
	ck_assert_uint_eq(json_array_size(json_object_get(r->json, "errors")), 4);
	resp_free(r);
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("test_lists", &tc);
	tcase_add_test(tc, test_list_default_limit_is_50_and_next_fetches_the_rest);
	tcase_add_test(tc, test_list_limit_and_after_walk_every_record_exactly_once);
	tcase_add_test(tc, test_list_last_full_page_has_null_next);
	tcase_add_test(tc, test_list_empty_result_has_no_items_and_null_next);
	tcase_add_test(tc, test_list_next_keeps_other_params_in_order_with_after_last);
	tcase_add_test(tc, test_list_limit_bounds_1_and_1000_are_accepted);
	tcase_add_test(tc, test_list_patient_filters_each_field);
	tcase_add_test(tc, test_list_course_filters_each_field);
	tcase_add_test(tc, test_list_outcome_filters_each_field);
	tcase_add_test(tc, test_list_toxicity_filters_each_field);
	tcase_add_test(tc, test_list_term_with_space_is_decoded_and_next_re_encodes_it);
	tcase_add_test(tc, test_list_nested_lists_hold_only_that_patients_records);
	tcase_add_test(tc, test_list_nested_next_link_keeps_the_nested_path);
	tcase_add_test(tc, test_list_nested_for_missing_patient_is_404);
	tcase_add_test(tc, test_list_nested_patient_id_param_is_400);
	tcase_add_test(tc, test_list_bad_limit_is_400);
	tcase_add_test(tc, test_list_bad_after_is_400);
	tcase_add_test(tc, test_list_unknown_parameter_is_400);
	tcase_add_test(tc, test_list_enum_value_outside_the_set_is_400);
	tcase_add_test(tc, test_list_bad_filter_values_are_400);
	tcase_add_test(tc, test_list_repeated_parameter_is_400);
	tcase_add_test(tc, test_list_every_bad_parameter_is_reported_together);
	return run_suite(s);
}

/* The lists' query language (issue 20): every operator on each type of
 * field (numbers and dates compared, enumerations and integers in a set,
 * presence, a text prefix, a range by a repeated filter), sort on each
 * field and direction with ties broken by id, the keyset cursor across
 * pages under each sort (every record once, also while records are added
 * and deleted between pages, and refused when made for another query),
 * the count (count=exact and Prefer), fields= in JSON and CSV, and every
 * refusal (400 invalid-parameter naming its parameter). Each test scopes
 * its lists to records it made: one patient's nested lists, or a code
 * prefix of its own. */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INVALID_PARAMETER "urn:cohortd:problem:invalid-parameter"

static const char *fmt(const char *format, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *format, ...)
{
	static char buf[4][2048];
	static int n;
	char *b = buf[n++ % 4];
	va_list ap;
	va_start(ap, format);
	vsnprintf(b, sizeof buf[0], format, ap);
	va_end(ap);
	return b;
}

static void assert_bad_param(const char *path, const char *param)
{
	struct resp *r = http_get(path);
	assert_problem(r, 400, INVALID_PARAMETER);
	assert_field_error(r, param);
	resp_free(r);
}

/* Every page from path on, following next; the ids in the order given,
 * into ids (at most max); returns how many. Asserts Link equals next. */
static int walk_ids(const char *path, int64_t *ids, int max)
{
	char *cur = strdup(path);
	int n = 0, pages = 0;
	while (cur) {
		struct resp *r = http_get(cur);
		ck_assert_msg(r->status == 200, "GET %s -> %ld %s", cur, r->status, r->body);
		size_t i;
		json_t *item;
		json_array_foreach(json_object_get(r->json, "items"), i, item)
		{
			ck_assert_int_lt(n, max);
			ids[n++] = json_integer_value(json_object_get(item, "id"));
		}
		json_t *next = json_object_get(r->json, "next");
		const char *link = resp_header(r, "Link");
		ck_assert((link != NULL) == json_is_string(next));
		free(cur);
		cur = json_is_string(next) ? strdup(json_string_value(next)) : NULL;
		resp_free(r);
		ck_assert_int_lt(++pages, 500);
	}
	return n;
}

static void expect_ids(const char *path, int n, ...)
{
	int64_t got[256];
	int count = walk_ids(path, got, 256);
	va_list ap;
	va_start(ap, n);
	char want_text[512] = "", got_text[512] = "";
	bool same = count == n;
	for (int i = 0; i < n; i++) {
		int64_t id = va_arg(ap, int64_t);
		snprintf(want_text + strlen(want_text), sizeof want_text - strlen(want_text),
			 " %lld", (long long)id);
		same = same && got[i] == id;
	}
	va_end(ap);
	for (int i = 0; i < count; i++)
		snprintf(got_text + strlen(got_text), sizeof got_text - strlen(got_text), " %lld",
			 (long long)got[i]);
	ck_assert_msg(same, "%s: ids%s, want%s", path, got_text, want_text);
}

/* One patient's toxicities: t[0..7], terms, grades and onsets chosen for
 * ties (two grade 3 on one day, two on 1985-03-01), one resolved_on left
 * null. */
static int64_t patient_id, tox[8];

static void make_toxicities(void)
{
	int64_t course = make_course_of_new_patient(&patient_id, NULL);
	static const struct {
		const char *term;
		int grade;
		const char *onset, *resolved;
	} t[8] = {
		{"Hypotension", 3, "1985-02-10", "1985-02-20"},
		{"Fever", 1, "1985-03-01", "1985-03-02"},
		{"Hypoxia", 4, "1985-02-10", NULL},
		{"Chills", 2, "1985-03-01", "1985-03-05"},
		{"Hypotension", 5, "1985-04-01", NULL},
		{"Nausea", 3, "1985-02-03", "1985-02-04"},
		{"Anemia", 2, "1985-05-20", "1985-06-01"},
		{"Hyponatremia", 3, "1985-02-10", "1985-02-11"},
	};
	for (int i = 0; i < 8; i++) {
		char extra[256];
		if (t[i].resolved)
			snprintf(extra, sizeof extra,
				 "{\"term\": \"%s\", \"grade\": %d, \"onset_on\": \"%s\", "
				 "\"resolved_on\": \"%s\"%s}",
				 t[i].term, t[i].grade, t[i].onset, t[i].resolved,
				 t[i].grade == 5 ? ", \"outcome\": \"fatal\"" : "");
		else
			snprintf(extra, sizeof extra,
				 "{\"term\": \"%s\", \"grade\": %d, \"onset_on\": \"%s\"%s}",
				 t[i].term, t[i].grade, t[i].onset,
				 t[i].grade == 5 ? ", \"outcome\": \"fatal\"" : "");
		tox[i] = make_toxicity(course, extra);
	}
}

static const char *toxicities(const char *query)
{
	return fmt("/patients/%lld/toxicities?%s", (long long)patient_id, query);
}

START_TEST(test_comparisons_on_numbers_and_dates_and_ranges_by_repeating)
{
	make_toxicities();
	int64_t *t = tox;
	expect_ids(toxicities("grade=gte.4"), 2, t[2], t[4]);
	expect_ids(toxicities("grade=gt.4"), 1, t[4]);
	expect_ids(toxicities("grade=lte.1"), 1, t[1]);
	expect_ids(toxicities("grade=lt.3"), 3, t[1], t[3], t[6]);
	expect_ids(toxicities("grade=eq.3"), 3, t[0], t[5], t[7]);
	expect_ids(toxicities("grade=3"), 3, t[0], t[5], t[7]);
	expect_ids(toxicities("grade=in.(2,5)"), 3, t[3], t[4], t[6]);
	expect_ids(toxicities("grade=in.2,5"), 3, t[3], t[4], t[6]);
	/* a range: the filter repeated, every condition holds */
	expect_ids(toxicities("onset_on=gte.1985-02-10&onset_on=lt.1985-04-01"), 5, t[0], t[1],
		   t[2], t[3], t[7]);
	expect_ids(toxicities("onset_on=gt.1985-02-10&grade=gte.2&onset_on=lte.1985-04-01"), 2,
		   t[3], t[4]);
	expect_ids(toxicities("resolved_on=is.null"), 2, t[2], t[4]);
	expect_ids(toxicities("resolved_on=not.is.null&grade=3"), 3, t[0], t[5], t[7]);
	expect_ids(toxicities("term=like.Hypo*"), 4, t[0], t[2], t[4], t[7]);
	expect_ids(toxicities("term=like.Hypot*&grade=lt.5"), 1, t[0]);
	expect_ids(toxicities("term=in.Fever,Anemia"), 2, t[1], t[6]);
	expect_ids(toxicities("min_grade=4"), 2, t[2], t[4]); /* the older spelling */
	/* nothing matches: an empty page */
	expect_ids(toxicities("grade=gt.5"), 0);
	expect_ids(toxicities("onset_on=lt.1985-01-01"), 0);
}
END_TEST

START_TEST(test_enumerations_presence_and_code_prefix_on_patients)
{
	char prefix[32];
	snprintf(prefix, sizeof prefix, "%s", unique_code("QP"));
	int64_t p[4];
	static const char *const bodies[4] = {
		"{\"code\": \"%s-1\", \"histology\": \"melanoma\", \"last_contact_on\": "
		"\"1986-01-01\", \"enrolled_on\": \"1985-03-01\"}",
		"{\"code\": \"%s-2\", \"histology\": \"renal_cell\", \"enrolled_on\": "
		"\"1986-04-01\"}",
		"{\"code\": \"%s-3\", \"histology\": \"sarcoma\", \"enrolled_on\": \"1986-05-01\"}",
		"{\"code\": \"%s-4\", \"histology\": \"melanoma\", \"enrolled_on\": "
		"\"1986-03-02\"}",
	};
	for (int i = 0; i < 4; i++)
		p[i] = make_patient(fmt(bodies[i], prefix));
	expect_ids(fmt("/patients?code=like.%s*", prefix), 4, p[0], p[1], p[2], p[3]);
	expect_ids(fmt("/patients?code=like.%s-3*", prefix), 1, p[2]);
	expect_ids(fmt("/patients?code=like.%s*&histology=melanoma,renal_cell", prefix), 3, p[0],
		   p[1], p[3]);
	expect_ids(fmt("/patients?code=like.%s*&histology=in.(sarcoma)", prefix), 1, p[2]);
	expect_ids(fmt("/patients?code=like.%s*&last_contact_on=is.null", prefix), 3, p[1], p[2],
		   p[3]);
	expect_ids(fmt("/patients?code=like.%s*&last_contact_on=not.is.null", prefix), 1, p[0]);
	/* "patients enrolled after March 1986 without a last contact" */
	expect_ids(fmt("/patients?code=like.%s*&enrolled_on=gte.1986-03-01&last_contact_on=is.null",
		       prefix),
		   3, p[1], p[2], p[3]);
	expect_ids(fmt("/patients?code=eq.%s-2", prefix), 1, p[1]);
}
END_TEST

/* The order a sort asks for, by the test's own rule: keys compared in
 * turn (a null the largest), then id in the last key's direction. */
struct tox_row {
	int64_t id;
	int grade;
	char onset[11], resolved[11], term[32];
};

static const char *sort_spec;

static int key_cmp(const struct tox_row *a, const struct tox_row *b, const char *key)
{
	if (strcmp(key, "grade") == 0)
		return (a->grade > b->grade) - (a->grade < b->grade);
	if (strcmp(key, "term") == 0)
		return strcmp(a->term, b->term);
	if (strcmp(key, "onset_on") == 0)
		return strcmp(a->onset, b->onset);
	if (strcmp(key, "resolved_on") == 0) {
		if (!a->resolved[0] || !b->resolved[0])
			return !a->resolved[0] - !b->resolved[0]; /* null largest */
		return strcmp(a->resolved, b->resolved);
	}
	return (a->id > b->id) - (a->id < b->id);
}

static int by_spec(const void *x, const void *y)
{
	const struct tox_row *a = x, *b = y;
	char spec[128];
	snprintf(spec, sizeof spec, "%s", sort_spec);
	bool desc = false;
	char *save = NULL;
	for (char *k = strtok_r(spec, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
		desc = k[0] == '-';
		int c = key_cmp(a, b, k + desc);
		if (c)
			return desc ? -c : c;
	}
	int c = (a->id > b->id) - (a->id < b->id);
	return desc ? -c : c;
}

static size_t read_rows(struct tox_row *rows)
{
	json_t *j = get_json(toxicities("limit=100"));
	size_t i, n = 0;
	json_t *item;
	json_array_foreach(json_object_get(j, "items"), i, item)
	{
		struct tox_row *r = &rows[n++];
		memset(r, 0, sizeof *r);
		r->id = json_integer_value(json_object_get(item, "id"));
		r->grade = (int)json_integer_value(json_object_get(item, "grade"));
		snprintf(r->term, sizeof r->term, "%s",
			 json_string_value(json_object_get(item, "term")));
		snprintf(r->onset, sizeof r->onset, "%s",
			 json_string_value(json_object_get(item, "onset_on")));
		json_t *res = json_object_get(item, "resolved_on");
		if (json_is_string(res))
			snprintf(r->resolved, sizeof r->resolved, "%s", json_string_value(res));
	}
	json_decref(j);
	return n;
}

START_TEST(test_every_sort_pages_every_record_once_in_order)
{
	make_toxicities();
	static const char *const sorts[] = {"grade",
					    "-grade",
					    "onset_on",
					    "-onset_on",
					    "-onset_on,grade",
					    "onset_on,-grade",
					    "term",
					    "-term,onset_on",
					    "resolved_on",
					    "-resolved_on",
					    "grade,resolved_on,-onset_on",
					    "id",
					    "-id"};
	struct tox_row rows[16];
	size_t n = read_rows(rows);
	ck_assert_uint_eq(n, 8);
	for (size_t s = 0; s < sizeof sorts / sizeof *sorts; s++) {
		sort_spec = sorts[s];
		qsort(rows, n, sizeof *rows, by_spec);
		for (int limit = 1; limit <= 3; limit++) {
			int64_t got[16];
			int count = walk_ids(toxicities(fmt("sort=%s&limit=%d", sorts[s], limit)),
					     got, 16);
			ck_assert_msg(count == (int)n, "sort=%s limit=%d: %d records", sorts[s],
				      limit, count);
			for (size_t i = 0; i < n; i++)
				ck_assert_msg(got[i] == rows[i].id,
					      "sort=%s limit=%d: place %zu is %lld, want %lld",
					      sorts[s], limit, i, (long long)got[i],
					      (long long)rows[i].id);
		}
	}
}
END_TEST

/* The order a sort asks for, read from the records themselves (JSON):
 * a null the largest; numbers by value; text, dates and enumerations by
 * their characters (the values below order alike under any collation). */
static const char *const *generic_keys;

static int value_cmp(json_t *a, json_t *b)
{
	bool na = !a || json_is_null(a), nb = !b || json_is_null(b);
	if (na || nb)
		return na - nb;
	if (json_is_number(a))
		return (json_number_value(a) > json_number_value(b)) -
		       (json_number_value(a) < json_number_value(b));
	if (json_is_boolean(a))
		return json_is_true(a) - json_is_true(b);
	return strcmp(json_string_value(a), json_string_value(b));
}

static int by_keys(const void *x, const void *y)
{
	json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	bool desc = false;
	for (int i = 0; generic_keys[i]; i++) {
		desc = generic_keys[i][0] == '-';
		const char *k = generic_keys[i] + desc;
		int c = value_cmp(json_object_get(a, k), json_object_get(b, k));
		if (c)
			return desc ? -c : c;
	}
	int c = value_cmp(json_object_get(a, "id"), json_object_get(b, "id"));
	return desc ? -c : c;
}

/* Every field of the list at base (a query string's start), each way, paged
 * two at a time, against the test's own ordering of its records. */
static void every_field_both_ways(const char *base_in, int expect)
{
	char base[256]; /* fmt's buffers go round */
	snprintf(base, sizeof base, "%s", base_in);
	json_t *all = get_json(fmt("%s&limit=100", base));
	json_t *items = json_object_get(all, "items");
	size_t n = json_array_size(items);
	ck_assert_int_eq((int)n, expect);
	json_t *rows[16];
	for (size_t i = 0; i < n; i++)
		rows[i] = json_array_get(items, i);
	const char *field;
	json_t *value;
	int sorts = 0;
	json_object_foreach(json_array_get(items, 0), field, value)
	{
		if (strcmp(field, "version") == 0 || strcmp(field, "created_at") == 0 ||
		    strcmp(field, "updated_at") == 0)
			continue;
		for (int desc = 0; desc < 2; desc++) {
			char key[64];
			snprintf(key, sizeof key, "%s%s", desc ? "-" : "", field);
			const char *keys[] = {key, NULL};
			generic_keys = keys;
			qsort(rows, n, sizeof *rows, by_keys);
			int64_t got[16];
			int count = walk_ids(fmt("%s&sort=%s&limit=2", base, key), got, 16);
			ck_assert_int_eq(count, (int)n);
			for (size_t i = 0; i < n; i++)
				ck_assert_msg(got[i] == json_integer_value(
								json_object_get(rows[i], "id")),
					      "%s sort=%s: place %zu is %lld", base, key, i,
					      (long long)got[i]);
			sorts++;
		}
	}
	ck_assert_int_gt(sorts, 6);
	json_decref(all);
}

START_TEST(test_each_field_of_each_list_sorts_both_ways)
{
	char prefix[32];
	snprintf(prefix, sizeof prefix, "%s", unique_code("QS"));
	static const char *const bodies[5] = {
		"{\"code\": \"%s-3\", \"sex\": \"male\", \"age\": 40, \"histology\": \"sarcoma\", "
		"\"setting\": \"adjuvant\", \"regimen\": \"il2_tnf\", \"enrolled_on\": "
		"\"1985-03-01\", \"last_contact_on\": \"1986-01-01\"}",
		"{\"code\": \"%s-1\", \"sex\": \"female\", \"age\": 40, \"histology\": \"breast\", "
		"\"enrolled_on\": \"1985-03-01\", \"vital_status\": \"dead\", \"died_on\": "
		"\"1987-01-01\", \"death_cause\": \"Beta\"}",
		"{\"code\": \"%s-5\", \"age\": 61, \"histology\": \"melanoma\", \"enrolled_on\": "
		"\"1986-02-01\", \"vital_status\": \"dead\", \"died_on\": \"1986-05-01\", "
		"\"death_cause\": \"Alpha\"}",
		"{\"code\": \"%s-2\", \"sex\": \"male\", \"histology\": \"breast\", "
		"\"enrolled_on\": "
		"\"1985-01-01\", \"last_contact_on\": \"1986-01-01\"}",
		"{\"code\": \"%s-4\", \"sex\": \"female\", \"age\": 33, \"histology\": "
		"\"melanoma\", "
		"\"regimen\": \"il2_lak\", \"enrolled_on\": \"1985-06-01\"}",
	};
	int64_t p[5];
	for (int i = 0; i < 5; i++)
		p[i] = make_patient(fmt(bodies[i], prefix));
	every_field_both_ways(fmt("/patients?code=like.%s*", prefix), 5);

	/* courses, outcomes and toxicities of one patient (its nested lists) */
	int64_t c1 = make_course(p[4], "{\"started_on\": \"1985-07-01\", \"il2_dose\": 600000, "
				       "\"doses_given\": 12, \"stop_reason\": \"toxicity\"}");
	int64_t c2 = make_course(p[4], "{\"started_on\": \"1985-09-01\", \"ended_on\": "
				       "\"1985-09-10\", \"il2_dose\": 720000}");
	make_course(p[4], "{\"started_on\": \"1985-11-01\", \"doses_given\": 7}");
	every_field_both_ways(fmt("/patients/%lld/courses?format=json", (long long)p[4]), 3);
	make_outcome(c1, "{\"assessed_on\": \"1985-08-01\", \"response\": \"SD\"}");
	make_outcome(c2, "{\"assessed_on\": \"1985-10-01\", \"response\": \"PR\", \"confirmed\": "
			 "true, \"criteria\": \"recist_1_1\"}");
	make_outcome(c1, "{\"assessed_on\": \"1985-08-01\", \"response\": \"MR\", \"confirmed\": "
			 "false}");
	every_field_both_ways(fmt("/patients/%lld/outcomes?format=json", (long long)p[4]), 3);
	make_toxicity(c2, "{\"term\": \"Fever\", \"grade\": 2, \"onset_on\": \"1985-09-02\"}");
	make_toxicity(c1, "{\"term\": \"Chills\", \"grade\": 2, \"onset_on\": \"1985-07-02\", "
			  "\"resolved_on\": \"1985-07-04\", \"serious\": true}");
	make_toxicity(c1, "{\"term\": \"Anemia\", \"grade\": 4, \"onset_on\": \"1985-07-02\", "
			  "\"attribution\": \"possible\", \"outcome\": \"recovering\"}");
	every_field_both_ways(fmt("/patients/%lld/toxicities?format=json", (long long)p[4]), 3);
}
END_TEST

/* Filters, sort and pages together: the toxicities of grade 2 or worse,
 * newest first, two a page: every one once, in order. */
START_TEST(test_filters_and_sort_together_page_in_order)
{
	make_toxicities();
	struct tox_row rows[16];
	size_t n = read_rows(rows), kept = 0;
	for (size_t i = 0; i < n; i++)
		if (rows[i].grade >= 2 && strcmp(rows[i].onset, "1985-05-01") < 0)
			rows[kept++] = rows[i];
	sort_spec = "-onset_on,term";
	qsort(rows, kept, sizeof *rows, by_spec);
	int64_t got[16];
	int count = walk_ids(
		toxicities("grade=gte.2&onset_on=lt.1985-05-01&sort=-onset_on,term&limit=2"), got,
		16);
	ck_assert_int_eq(count, (int)kept);
	for (size_t i = 0; i < kept; i++)
		ck_assert_int_eq(got[i], rows[i].id);
}
END_TEST

/* Under each sort, records added before and after the cursor and one
 * deleted between two pages: the rest of the walk is exactly the records
 * that now come after the cursor's record, in order. */
START_TEST(test_every_sort_survives_changes_between_pages)
{
	static const char *const sorts[] = {"grade",           "-grade",      "term",
					    "-onset_on,grade", "resolved_on", "-resolved_on",
					    "onset_on,-term"};
	for (size_t s = 0; s < sizeof sorts / sizeof *sorts; s++) {
		make_toxicities();
		json_t *first = get_json(toxicities(fmt("sort=%s&limit=3", sorts[s])));
		json_t *items = json_object_get(first, "items");
		ck_assert_uint_eq(json_array_size(items), 3);
		int64_t last = json_integer_value(json_object_get(json_array_get(items, 2), "id"));
		char *next = strdup(json_string_value(json_object_get(first, "next")));
		json_decref(first);
		json_t *c = get_json(fmt("/toxicities/%lld", (long long)tox[0]));
		int64_t course = json_integer_value(json_object_get(c, "course_id"));
		json_decref(c);
		make_toxicity(course,
			      "{\"term\": \"Aaa\", \"grade\": 1, \"onset_on\": \"1985-02-02\"}");
		make_toxicity(course, "{\"term\": \"Zzz\", \"grade\": 5, \"outcome\": \"fatal\", "
				      "\"onset_on\": \"1985-06-01\"}");
		/* delete one not yet seen (the last in this sort) */
		struct tox_row rows[16];
		sort_spec = sorts[s];
		size_t n = read_rows(rows);
		qsort(rows, n, sizeof *rows, by_spec);
		int64_t gone = rows[n - 1].id == last ? rows[n - 2].id : rows[n - 1].id;
		struct resp *d = http_delete(fmt("/toxicities/%lld", (long long)gone));
		ck_assert_int_eq(d->status, 204);
		resp_free(d);
		n = read_rows(rows);
		qsort(rows, n, sizeof *rows, by_spec);
		/* where the cursor's record stands now */
		size_t at = 0;
		while (at < n && rows[at].id != last)
			at++;
		ck_assert_uint_lt(at, n);
		int64_t got[16];
		int count = walk_ids(next, got, 16);
		free(next);
		ck_assert_msg(count == (int)(n - at - 1), "sort=%s: %d after the cursor, want %zu",
			      sorts[s], count, n - at - 1);
		for (int i = 0; i < count; i++)
			ck_assert_msg(got[i] == rows[at + 1 + (size_t)i].id,
				      "sort=%s: place %d is %lld, want %lld", sorts[s], i,
				      (long long)got[i], (long long)rows[at + 1 + (size_t)i].id);
	}
}
END_TEST

START_TEST(test_cursor_survives_records_added_and_deleted_between_pages)
{
	make_toxicities();
	/* sort=-onset_on, two a page: t6 (05-20), then t4 (04-01) */
	json_t *first = get_json(toxicities("sort=-onset_on&limit=2"));
	json_t *items = json_object_get(first, "items");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(items, 0), "id")),
			 tox[6]);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(items, 1), "id")),
			 tox[4]);
	char *next = strdup(json_string_value(json_object_get(first, "next")));
	json_decref(first);
	/* between pages: one added before the cursor (not to be seen), one
	 * after it (to be seen), and one not yet seen deleted */
	json_t *c = get_json(fmt("/toxicities/%lld", (long long)tox[0]));
	int64_t course = json_integer_value(json_object_get(c, "course_id"));
	json_decref(c);
	int64_t before =
		make_toxicity(course, "{\"term\": \"Rash\", \"onset_on\": \"1985-06-01\"}");
	int64_t after = make_toxicity(course, "{\"term\": \"Rash\", \"onset_on\": \"1985-02-05\"}");
	struct resp *d = http_delete(fmt("/toxicities/%lld", (long long)tox[1]));
	ck_assert_int_eq(d->status, 204);
	resp_free(d);
	int64_t rest[16];
	int n = walk_ids(next, rest, 16);
	free(next);
	/* t3 (03-01) then t0, t2, t7 (02-10, id descending), after (02-05), t5 */
	int64_t want[] = {tox[3], tox[7], tox[2], tox[0], after, tox[5]};
	ck_assert_int_eq(n, 6);
	for (int i = 0; i < n; i++) {
		ck_assert_msg(rest[i] == want[i], "place %d: %lld, want %lld", i,
			      (long long)rest[i], (long long)want[i]);
		ck_assert(rest[i] != before);
	}
}
END_TEST

START_TEST(test_a_cursor_is_refused_off_its_own_query)
{
	make_toxicities();
	json_t *j = get_json(toxicities("sort=grade&limit=2"));
	const char *next = json_string_value(json_object_get(j, "next"));
	const char *cursor = strstr(next, "cursor=") + 7;
	/* another sort, another filter: made for another query */
	assert_bad_param(toxicities(fmt("sort=-grade&limit=2&cursor=%s", cursor)), "cursor");
	assert_bad_param(toxicities(fmt("sort=grade&grade=gte.2&cursor=%s", cursor)), "cursor");
	/* the same query with another limit or fields is the same list */
	struct resp *r =
		http_get(toxicities(fmt("sort=grade&limit=5&fields=id&cursor=%s", cursor)));
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
	/* not a cursor at all, a cursor without sort, after with sort */
	assert_bad_param(toxicities("sort=grade&cursor=abc"), "cursor");
	assert_bad_param(toxicities("sort=grade&cursor=!!"), "cursor");
	assert_bad_param(toxicities(fmt("cursor=%s", cursor)), "cursor");
	assert_bad_param(toxicities("sort=grade&after=3"), "after");
	json_decref(j);
}
END_TEST

START_TEST(test_count_in_the_body_and_a_header_on_request)
{
	make_toxicities();
	struct resp *r = http_get(toxicities("grade=gte.3&count=exact&limit=2"));
	ck_assert_int_eq(r->status, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(r->json, "total")), 5);
	ck_assert_uint_eq(json_array_size(json_object_get(r->json, "items")), 2);
	ck_assert_str_eq(resp_header(r, "X-Total-Count"), "5");
	ck_assert_ptr_null(resp_header(r, "Preference-Applied"));
	resp_free(r);
	const char *prefer[] = {"Prefer: count=exact", NULL};
	r = http("GET", toxicities("term=like.Hypo*"), prefer, NULL, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(r->json, "total")), 4);
	ck_assert_str_eq(resp_header(r, "X-Total-Count"), "4");
	ck_assert_str_eq(resp_header(r, "Preference-Applied"), "count=exact");
	resp_free(r);
	/* without asking: no total */
	r = http_get(toxicities("grade=gte.3"));
	ck_assert_ptr_null(json_object_get(r->json, "total"));
	ck_assert_ptr_null(resp_header(r, "X-Total-Count"));
	resp_free(r);
	r = http_get(toxicities("grade=gt.5&count=exact"));
	ck_assert_int_eq(json_integer_value(json_object_get(r->json, "total")), 0);
	resp_free(r);
}
END_TEST

START_TEST(test_fields_trim_json_and_csv)
{
	make_toxicities();
	json_t *j = get_json(toxicities("fields=term,id,grade&limit=1"));
	json_t *item = json_array_get(json_object_get(j, "items"), 0);
	static const char *const keys[] = {"id", "term", "grade", NULL}; /* the record's order */
	assert_keys_in_order(item, keys);
	json_decref(j);
	const char *csv[] = {"Accept: text/csv", NULL};
	struct resp *r =
		http("GET", toxicities("fields=onset_on,id&limit=2&sort=grade"), csv, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	char want[128];
	snprintf(want, sizeof want, "id,onset_on\r\n%lld,1985-03-01\r\n", (long long)tox[1]);
	ck_assert_msg(strncmp(r->body, want, strlen(want)) == 0, "CSV: %s", r->body);
	resp_free(r);
	assert_bad_param(toxicities("fields=colour"), "fields");
	assert_bad_param(toxicities("fields="), "fields");
	assert_bad_param(toxicities("fields=id,,term"), "fields");
}
END_TEST

START_TEST(test_every_misfit_operator_and_bad_value_is_400)
{
	assert_bad_param("/patients?histology=gte.melanoma", "histology");
	assert_bad_param("/patients?code=lt.A", "code");
	assert_bad_param("/toxicities?serious=gt.0", "serious");
	assert_bad_param("/toxicities?grade=like.3*", "grade");
	assert_bad_param("/toxicities?term=like.Hypo", "term");
	assert_bad_param("/toxicities?term=like.H*po*", "term");
	assert_bad_param("/toxicities?term=like.*", "term");
	assert_bad_param("/toxicities?onset_on=gte.1985-02-30", "onset_on");
	assert_bad_param("/toxicities?onset_on=gte.", "onset_on");
	assert_bad_param("/toxicities?grade=gte.x", "grade");
	assert_bad_param("/toxicities?grade=in.()", "grade");
	assert_bad_param("/toxicities?grade=in.1,,2", "grade");
	assert_bad_param("/toxicities?grade=in.1,2,3,4,5,1,2,3,4,5,1,2,3,4,5,1,2,3,4,5,1", "grade");
	assert_bad_param("/toxicities?onset_on=in.1985-01-01", "onset_on");
	assert_bad_param("/toxicities?term=is.null", "term"); /* required: never null */
	assert_bad_param("/patients?histology=melanoma,nope", "histology");
	assert_bad_param("/toxicities?sort=colour", "sort");
	assert_bad_param("/toxicities?sort=grade,-grade", "sort");
	assert_bad_param("/toxicities?sort=grade,term,onset_on,resolved_on,serious", "sort");
	assert_bad_param("/toxicities?sort=", "sort");
	assert_bad_param("/toxicities?sort=grade,", "sort");
	assert_bad_param("/toxicities?count=maybe", "count");
	assert_bad_param("/toxicities?sort=grade&sort=term", "sort");
	assert_bad_param("/toxicities?count=exact&count=exact", "count");
	assert_bad_param("/toxicities?limit=all&sort=grade", "limit");
	assert_bad_param("/toxicities?colour=red", "colour");
	/* nothing was written by any of them: they are reads */
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("test_list_queries", &tc);
	tcase_add_test(tc, test_comparisons_on_numbers_and_dates_and_ranges_by_repeating);
	tcase_add_test(tc, test_enumerations_presence_and_code_prefix_on_patients);
	tcase_add_test(tc, test_every_sort_pages_every_record_once_in_order);
	tcase_add_test(tc, test_each_field_of_each_list_sorts_both_ways);
	tcase_add_test(tc, test_filters_and_sort_together_page_in_order);
	tcase_add_test(tc, test_every_sort_survives_changes_between_pages);
	tcase_add_test(tc, test_cursor_survives_records_added_and_deleted_between_pages);
	tcase_add_test(tc, test_a_cursor_is_refused_off_its_own_query);
	tcase_add_test(tc, test_count_in_the_body_and_a_header_on_request);
	tcase_add_test(tc, test_fields_trim_json_and_csv);
	tcase_add_test(tc, test_every_misfit_operator_and_bad_value_is_400);
	return run_suite(s);
}

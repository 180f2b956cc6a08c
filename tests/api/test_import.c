/* POST /import: NDJSON, one patient a line with its records nested, all in
 * one transaction or none of it, every record validated and audited like a
 * POST; and the size limit that --max-import raises. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define PROBLEM_VALIDATION "urn:cohortd:problem:validation"

static const char *const ndjson[] = {"Content-Type: application/x-ndjson", NULL};

/* One patient line with a course, an outcome and two toxicities. */
static char *line(const char *code, const char *patch)
{
	char *out = malloc(1024);
	snprintf(
		out, 1024,
		"{\"code\":\"%s\",\"histology\":\"melanoma\",\"setting\":\"metastatic\","
		"\"regimen\":\"il2_lak\",\"enrolled_on\":\"1985-01-10\"%s,\"courses\":[{"
		"\"started_on\":\"1985-02-01\",\"il2_dose\":100000,\"il2_dose_unit\":\"U/kg\","
		"\"outcomes\":[{\"assessed_on\":\"1985-04-01\",\"response\":\"PR\"}],"
		"\"toxicities\":[{\"term\":\"Hypotension\",\"grade\":3,\"onset_on\":\"1985-02-02\","
		"\"attribution\":\"definite\"},{\"term\":\"Chills\",\"grade\":1,"
		"\"onset_on\":\"1985-02-01\",\"attribution\":\"definite\"}]}]}",
		code, patch ? patch : "");
	return out;
}

static struct resp *import(const char *body)
{
	return http("POST", "/import", ndjson, body, strlen(body));
}

static int64_t audit_rows(void)
{
	return db_count("audit");
}

/* /audit/verify walks the whole chain, rows long, and finds it intact. */
static void assert_chain_intact(int64_t rows)
{
	json_t *v = get_json("/audit/verify");
	ck_assert(json_is_true(json_object_get(v, "intact")));
	ck_assert_int_eq(json_integer_value(json_object_get(v, "rows")), rows);
	json_decref(v);
}

/* The answer's first error names line and field. */
static void assert_line_error(const struct resp *r, int64_t line, const char *field)
{
	json_t *e = json_array_get(json_object_get(r->json, "errors"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "line")), line);
	ck_assert_str_eq(json_string_value(json_object_get(e, "field")), field);
}

/* Imports body, which must answer 200 with answer and add that many
 * patients, toxicities and audit rows (one a record). */
static void assert_imported(const char *body, const char *answer, int64_t patients,
			    int64_t toxicities, int64_t records)
{
	int64_t patients0 = db_count("patients"), toxicities0 = db_count("toxicities");
	int64_t audit0 = audit_rows();
	struct resp *r = import(body);
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	/* the answer, and the newline every JSON answer ends with */
	ck_assert_uint_eq(r->len, strlen(answer) + 1);
	ck_assert(strncmp(r->body, answer, strlen(answer)) == 0 && r->body[r->len - 1] == '\n');
	ck_assert_int_eq(db_count("patients"), patients0 + patients);
	ck_assert_int_eq(db_count("toxicities"), toxicities0 + toxicities);
	ck_assert_int_eq(audit_rows(), audit0 + records);
	resp_free(r);
}

START_TEST(test_import_writes_every_record_and_audits_each)
{
	char code1[64], code2[64];
	snprintf(code1, sizeof code1, "%s", unique_code("IMP"));
	snprintf(code2, sizeof code2, "%s", unique_code("IMP"));
	char *a = line(code1, NULL), *b = line(code2, ",\"sex\":\"female\"");
	char *body = malloc(4096);
	snprintf(body, 4096, "%s\n\n%s\n", a, b);
	assert_imported(body,
			"{\"lines\":3,\"imported\":{\"patients\":2,\"courses\":2,"
			"\"outcomes\":2,\"toxicities\":4},\"records\":10}",
			2, 4, 10);
	/* the nested records point at their parents */
	char path[128];
	snprintf(path, sizeof path, "/patients?code=%s", code2);
	struct resp *r = http_get(path);
	json_t *p = json_array_get(json_object_get(r->json, "items"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(p, "sex")), "female");
	snprintf(path, sizeof path, "/patients/%lld/toxicities",
		 (long long)json_integer_value(json_object_get(p, "id")));
	resp_free(r);
	r = http_get(path);
	ck_assert_uint_eq(json_array_size(json_object_get(r->json, "items")), 2);
	resp_free(r);
	free(a);
	free(b);
	free(body);
}
END_TEST

/* The import makes each record's id, timestamps and audit row on its
 * staging thread, ahead of the writes (import.c): they must come out as a
 * POST's would. Ids follow every id used before, a deleted one included;
 * each audit row is a create whose after is the record as served, under
 * the import's request; the chain still verifies, row for row. */
START_TEST(test_imported_records_get_the_ids_and_audit_rows_a_post_would)
{
	int64_t gone = make_patient(NULL);
	char path[128];
	snprintf(path, sizeof path, "/patients/%lld", (long long)gone);
	struct resp *r = http_delete(path);
	ck_assert_int_eq(r->status, 204);
	resp_free(r);
	int64_t seq = audit_rows(); /* seq runs 1, 2, ... with no gap */
	char *first = line(unique_code("IMP"), NULL), a[4096];
	/* a course numbered by hand, then one to be numbered after it */
	snprintf(a, sizeof a,
		 "%s\n{\"code\":\"%s\",\"histology\":\"renal_cell\",\"setting\":\"metastatic\","
		 "\"regimen\":\"il2_alone\",\"enrolled_on\":\"1986-03-01\",\"courses\":["
		 "{\"number\":3,\"started_on\":\"1986-03-10\"},{\"started_on\":\"1986-06-10\"}]}\n",
		 first, unique_code("IMP"));
	free(first);
	r = import(a);
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	char request_id[64];
	snprintf(request_id, sizeof request_id, "%s", resp_header(r, "X-Request-ID"));
	resp_free(r);

	snprintf(path, sizeof path, "/audit?after=%lld&limit=100", (long long)seq);
	json_t *page = get_json(path);
	json_t *rows = json_object_get(page, "items");
	const char *entities[] = {"patients",   "courses",  "outcomes", "toxicities",
				  "toxicities", "patients", "courses",  "courses"};
	const int64_t numbers[] = {0, 1, 0, 0, 0, 0, 3, 4};
	ck_assert_uint_eq(json_array_size(rows), 8);
	int64_t patient = 0, course = 0;
	for (size_t i = 0; i < 8; i++) {
		json_t *row = json_array_get(rows, i);
		ck_assert_int_eq(json_integer_value(json_object_get(row, "seq")),
				 seq + 1 + (int64_t)i);
		ck_assert_str_eq(json_string_value(json_object_get(row, "action")), "create");
		ck_assert_str_eq(json_string_value(json_object_get(row, "entity")), entities[i]);
		ck_assert_str_eq(json_string_value(json_object_get(row, "request_id")), request_id);
		ck_assert_str_eq(json_string_value(json_object_get(row, "reason")), "bulk import");
		ck_assert(json_is_null(json_object_get(row, "before")));
		int64_t id = json_integer_value(json_object_get(row, "entity_id"));
		snprintf(path, sizeof path, "/%s/%lld", entities[i], (long long)id);
		json_t *record = get_json(path);
		json_t *after = json_object_get(row, "after");
		ck_assert_msg(json_equal(after, record), "%s: audited %s, served %s", path,
			      json_dumps(after, JSON_COMPACT), json_dumps(record, JSON_COMPACT));
		ck_assert_int_eq(json_integer_value(json_object_get(record, "version")), 1);
		ck_assert_str_eq(json_string_value(json_object_get(record, "created_at")),
				 json_string_value(json_object_get(record, "updated_at")));
		if (numbers[i])
			ck_assert_int_eq(json_integer_value(json_object_get(record, "number")),
					 numbers[i]);
		if (i == 0 || i == 5) {
			ck_assert_int_gt(id, i == 0 ? gone : patient);
			patient = id;
		} else if (i == 1 || i > 5) {
			course = id;
			ck_assert_int_eq(json_integer_value(json_object_get(record, "patient_id")),
					 patient);
		} else {
			ck_assert_int_eq(json_integer_value(json_object_get(record, "course_id")),
					 course);
			ck_assert_int_eq(json_integer_value(json_object_get(record, "patient_id")),
					 patient);
		}
		json_decref(record);
	}
	json_decref(page);
	assert_chain_intact(audit_rows());
}
END_TEST

/* Imports body, which must be refused 422 and change nothing (no record,
 * no audit row); the answer, for the caller to read further. */
static struct resp *import_refused(const char *body)
{
	char *before = db_fingerprint();
	int64_t audit = audit_rows();
	struct resp *r = import(body);
	assert_problem(r, 422, PROBLEM_VALIDATION);
	char *after = db_fingerprint();
	ck_assert_str_eq(before, after);
	ck_assert_int_eq(audit_rows(), audit);
	free(before);
	free(after);
	return r;
}

START_TEST(test_bad_line_in_the_middle_writes_nothing_and_names_line_and_field)
{
	char *a = line(unique_code("IMP"), NULL);
	char *b = line(unique_code("IMP"), NULL);
	char *c = line(unique_code("IMP"), NULL);
	/* line 2: the second toxicity of its first course is grade 5 but not fatal */
	char *bad = strstr(b, "\"grade\":1");
	memcpy(bad, "\"grade\":5", 9);
	char *body = malloc(8192);
	snprintf(body, 8192, "%s\n%s\n%s\n", a, b, c);
	struct resp *r = import_refused(body);
	assert_line_error(r, 2, "courses[0].toxicities[1].outcome");
	resp_free(r);
	free(a);
	free(b);
	free(c);
	free(body);
}
END_TEST

/* Every rule the schema's CHECK constraints state, broken once in an
 * import line: each is refused 422 naming the line and the field, and
 * nothing is written. The import writes its rows with SQLite's CHECKs off
 * (they cost its writer a tenth of its time), so these rules hold only
 * because the validation a POST runs refuses them first: this is what
 * shows it does, rule by rule. */
struct check_case {
	const char *field; /* as the answer names it */
	/* the fields of the line's patient, course, outcome and toxicity;
	 * NULL: valid ones */
	const char *rec[4];
};

#define PATIENT  "\"histology\":\"melanoma\",\"setting\":\"metastatic\",\"regimen\":\"il2_lak\","
#define ENROLLED "\"enrolled_on\":\"1985-01-10\""
#define COURSE   "\"started_on\":\"1985-02-01\""
#define OUTCOME  "\"assessed_on\":\"1985-04-01\""
#define TOXICITY "\"term\":\"Hypotension\",\"onset_on\":\"1985-02-02\""
#define TOX_3    TOXICITY ",\"grade\":3,\"attribution\":\"definite\""
#define COURSES  "courses[0]."

static const struct check_case check_cases[] = {
	/* patients */
	{"code", {"\"code\":\"no spaces\"," PATIENT ENROLLED}},
	{"code",
	 {"\"code\":\""
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "4\"," PATIENT ENROLLED}},
	{"sex", {"\"sex\":\"f\",\"code\":\"@\"," PATIENT ENROLLED}},
	{"age", {"\"age\":121,\"code\":\"@\"," PATIENT ENROLLED}},
	{"age", {"\"age\":-1,\"code\":\"@\"," PATIENT ENROLLED}},
	{"histology",
	 {"\"code\":\"@\",\"histology\":\"glioma\",\"setting\":\"metastatic\","
	  "\"regimen\":\"il2_lak\"," ENROLLED}},
	{"setting",
	 {"\"code\":\"@\",\"histology\":\"melanoma\",\"setting\":\"local\","
	  "\"regimen\":\"il2_lak\"," ENROLLED}},
	{"regimen",
	 {"\"code\":\"@\",\"histology\":\"melanoma\",\"setting\":\"metastatic\","
	  "\"regimen\":\"il2\"," ENROLLED}},
	{"enrolled_on", {"\"code\":\"@\"," PATIENT "\"enrolled_on\":\"1985-02-30\""}},
	{"enrolled_on", {"\"code\":\"@\"," PATIENT "\"enrolled_on\":\"1985-2-01\""}},
	{"last_contact_on",
	 {"\"code\":\"@\"," PATIENT ENROLLED ",\"last_contact_on\":\"1985-01-09\""}},
	{"vital_status", {"\"code\":\"@\"," PATIENT ENROLLED ",\"vital_status\":\"gone\""}},
	{"died_on",
	 {"\"code\":\"@\"," PATIENT ENROLLED ",\"vital_status\":\"dead\","
	  "\"died_on\":\"1985-01-09\""}},
	{"died_on", {"\"code\":\"@\"," PATIENT ENROLLED ",\"vital_status\":\"dead\""}},
	{"died_on", {"\"code\":\"@\"," PATIENT ENROLLED ",\"died_on\":\"1986-01-09\""}},
	{"death_cause",
	 {"\"code\":\"@\"," PATIENT ENROLLED ",\"vital_status\":\"dead\","
	  "\"died_on\":\"1986-01-09\",\"death_cause\":\"\""}},
	{"death_cause", {"\"code\":\"@\"," PATIENT ENROLLED ",\"death_cause\":\"Sepsis\""}},
	/* courses */
	{COURSES "number", {NULL, COURSE ",\"number\":0"}},
	{COURSES "started_on", {NULL, "\"started_on\":\"1985-13-01\""}},
	{COURSES "ended_on", {NULL, COURSE ",\"ended_on\":\"1985-01-31\""}},
	{COURSES "il2_dose", {NULL, COURSE ",\"il2_dose\":0,\"il2_dose_unit\":\"U/kg\""}},
	{COURSES "il2_dose_unit", {NULL, COURSE ",\"il2_dose\":1000,\"il2_dose_unit\":\"mg\""}},
	{COURSES "il2_dose_unit", {NULL, COURSE ",\"il2_dose\":1000"}},
	{COURSES "il2_dose", {NULL, COURSE ",\"il2_dose_unit\":\"U/kg\""}},
	{COURSES "doses_given", {NULL, COURSE ",\"doses_given\":31"}},
	{COURSES "doses_given", {NULL, COURSE ",\"doses_given\":-1"}},
	{COURSES "stop_reason", {NULL, COURSE ",\"stop_reason\":\"boredom\""}},
	/* outcomes */
	{COURSES "outcomes[0].assessed_on",
	 {NULL, NULL,
	  "\"assessed_on\":\"1985-04-31\","
	  "\"response\":\"PR\""}},
	{COURSES "outcomes[0].criteria",
	 {NULL, NULL,
	  OUTCOME ",\"response\":\"PR\","
		  "\"criteria\":\"irrc\""}},
	{COURSES "outcomes[0].response", {NULL, NULL, OUTCOME ",\"response\":\"VGPR\""}},
	{COURSES "outcomes[0].confirmed",
	 {NULL, NULL,
	  OUTCOME ",\"response\":\"PR\","
		  "\"confirmed\":2"}},
	{COURSES "outcomes[0].response",
	 {NULL, NULL,
	  OUTCOME ",\"response\":\"MR\","
		  "\"criteria\":\"recist_1_1\""}},
	/* toxicities */
	{COURSES "toxicities[0].term",
	 {NULL, NULL, NULL,
	  "\"term\":\"\",\"onset_on\":\"1985-02-02\",\"grade\":3,\"attribution\":\"definite\""}},
	{COURSES "toxicities[0].term",
	 {NULL, NULL, NULL,
	  "\"term\":\""
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "012345678901234567890123456789x\",\"onset_on\":\"1985-02-02\",\"grade\":3,"
	  "\"attribution\":\"definite\""}},
	{COURSES "toxicities[0].grade",
	 {NULL, NULL, NULL,
	  TOXICITY ",\"grade\":0,"
		   "\"attribution\":\"definite\""}},
	{COURSES "toxicities[0].grade",
	 {NULL, NULL, NULL,
	  TOXICITY ",\"grade\":6,"
		   "\"attribution\":\"definite\""}},
	{COURSES "toxicities[0].onset_on",
	 {NULL, NULL, NULL,
	  "\"term\":\"Chills\",\"onset_on\":\"1985-02-29\",\"grade\":3,\"attribution\":"
	  "\"definite\""}},
	{COURSES "toxicities[0].resolved_on",
	 {NULL, NULL, NULL, TOX_3 ",\"resolved_on\":\"1985-02-01\""}},
	{COURSES "toxicities[0].attribution",
	 {NULL, NULL, NULL,
	  TOXICITY ",\"grade\":3,"
		   "\"attribution\":\"sure\""}},
	{COURSES "toxicities[0].serious", {NULL, NULL, NULL, TOX_3 ",\"serious\":2"}},
	{COURSES "toxicities[0].outcome", {NULL, NULL, NULL, TOX_3 ",\"outcome\":\"cured\""}},
	{COURSES "toxicities[0].outcome",
	 {NULL, NULL, NULL,
	  TOXICITY ",\"grade\":5,"
		   "\"attribution\":\"definite\""}},
	{COURSES "toxicities[0].grade", {NULL, NULL, NULL, TOX_3 ",\"outcome\":\"fatal\""}},
};

/* The line of c, its patient's code (where the case writes @) made unique. */
static char *check_line(const struct check_case *c)
{
	char code[80], patient[600];
	snprintf(code, sizeof code, "%s", unique_code("CHK"));
	if (c->rec[0]) {
		const char *at = strchr(c->rec[0], '@');
		if (at)
			snprintf(patient, sizeof patient, "%.*s%s%s", (int)(at - c->rec[0]),
				 c->rec[0], code, at + 1);
		else
			snprintf(patient, sizeof patient, "%s", c->rec[0]);
	} else {
		snprintf(patient, sizeof patient, "\"code\":\"%s\"," PATIENT ENROLLED, code);
	}
	char *out = malloc(2048);
	snprintf(out, 2048, "{%s,\"courses\":[{%s,\"outcomes\":[{%s}],\"toxicities\":[{%s}]}]}",
		 patient, c->rec[1] ? c->rec[1] : COURSE,
		 c->rec[2] ? c->rec[2] : OUTCOME ",\"response\":\"PR\"",
		 c->rec[3] ? c->rec[3] : TOX_3);
	return out;
}

START_TEST(test_every_rule_of_the_schema_is_refused_before_it_is_written)
{
	/* the valid line around the broken one goes in: the defaults are valid */
	struct check_case valid = {0};
	char *good = check_line(&valid);
	struct resp *r = import(good);
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	resp_free(r);
	free(good);
	for (size_t i = 0; i < sizeof check_cases / sizeof check_cases[0]; i++) {
		const struct check_case *c = &check_cases[i];
		/* the broken line among valid ones, in a batch of its own size */
		char *lines[70], *body = NULL;
		size_t len = 0;
		for (int k = 0; k < 70; k++) {
			lines[k] = check_line(k == 40 ? c : &valid);
			len += strlen(lines[k]) + 1;
		}
		body = malloc(len + 1);
		body[0] = '\0';
		for (int k = 0; k < 70; k++) {
			strcat(strcat(body, lines[k]), "\n");
			free(lines[k]);
		}
		r = import_refused(body);
		json_t *e = json_array_get(json_object_get(r->json, "errors"), 0);
		ck_assert_msg(json_integer_value(json_object_get(e, "line")) == 41 &&
				      json_string_value(json_object_get(e, "field")) &&
				      strcmp(json_string_value(json_object_get(e, "field")),
					     c->field) == 0,
			      "case %zu: expected line 41, %s: %s", i, c->field, r->body);
		resp_free(r);
		free(body);
	}
}
END_TEST

START_TEST(test_malformed_line_and_nested_ids_are_refused)
{
	char *before = db_fingerprint();
	struct resp *r = import("{\"code\":\"X1\",\n");
	assert_problem(r, 422, PROBLEM_VALIDATION);
	json_t *e = json_array_get(json_object_get(r->json, "errors"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "line")), 1);
	resp_free(r);
	char *a = line(unique_code("IMP"), NULL);
	char *with_parent = malloc(2048);
	/* a nested course may not name its patient: the import does */
	char *courses = strstr(a, "\"courses\":[{");
	snprintf(with_parent, 2048, "%.*s\"courses\":[{\"patient_id\":1,%s", (int)(courses - a), a,
		 courses + strlen("\"courses\":[{"));
	r = import(with_parent);
	assert_problem(r, 422, PROBLEM_VALIDATION);
	assert_field_error(r, "courses[0].patient_id");
	resp_free(r);
	r = import("[1,2]\n");
	assert_problem(r, 422, PROBLEM_VALIDATION);
	resp_free(r);
	assert_unchanged(before);
	free(a);
	free(with_parent);
}
END_TEST

START_TEST(test_duplicate_code_is_409_and_writes_nothing)
{
	char code[64];
	snprintf(code, sizeof code, "%s", unique_code("IMP"));
	char *a = line(code, NULL), *b = line(unique_code("IMP"), NULL), *dup = line(code, NULL);
	char *body = malloc(8192);
	snprintf(body, 8192, "%s\n%s\n%s\n", a, b, dup);
	char *before = db_fingerprint();
	struct resp *r = import(body);
	assert_problem(r, 409, "urn:cohortd:problem:duplicate");
	assert_line_error(r, 3, "code");
	char *after = db_fingerprint();
	ck_assert_str_eq(before, after);
	resp_free(r);
	free(before);
	free(after);
	free(a);
	free(b);
	free(dup);
	free(body);
}
END_TEST

START_TEST(test_empty_body_is_422_and_wrong_media_type_is_415)
{
	assert_refused("POST", "/import", ndjson, "", 422, PROBLEM_VALIDATION, "");
	assert_refused("POST", "/import", ndjson, "\n\n", 422, PROBLEM_VALIDATION, "");
	static const char *const json_ct[] = {"Content-Type: application/json", NULL};
	assert_refused("POST", "/import", json_ct, "{}", 415,
		       "urn:cohortd:problem:unsupported-media-type", NULL);
}
END_TEST

START_TEST(test_import_needs_an_editor)
{
	char *token = api_token_create("reader", "import-reader");
	char auth[200];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	const char *headers[] = {"Content-Type: application/x-ndjson", auth, NULL};
	char *a = line(unique_code("IMP"), NULL);
	assert_refused("POST", "/import", headers, a, 403, "urn:cohortd:problem:forbidden", NULL);
	free(a);
	free(token);
}
END_TEST

/* A body of n bytes: NDJSON lines of padding that would be refused anyway. */
static char *big_body(size_t n)
{
	char *body = malloc(n + 1);
	memset(body, ' ', n);
	for (size_t i = 1023; i < n; i += 1024)
		body[i] = '\n';
	body[n] = '\0';
	return body;
}

START_TEST(test_fifty_megabytes_is_413_by_default)
{
	char *body = big_body((size_t)50 * 1000 * 1000);
	char *before = db_fingerprint();
	struct resp *r = http("POST", "/import", ndjson, body, strlen(body));
	assert_problem(r, 413, "urn:cohortd:problem:body-too-large");
	char *after = db_fingerprint();
	ck_assert_str_eq(before, after);
	resp_free(r);
	free(before);
	free(after);
	free(body);
}
END_TEST

/* Run against a server started with --max-import 64: the same body is read. */
START_TEST(test_max_import_raises_the_limit)
{
	char *body = big_body((size_t)50 * 1000 * 1000);
	char *a = line(unique_code("IMP"), NULL);
	memcpy(body, a, strlen(a));
	body[strlen(a)] = '\n';
	struct resp *r = http("POST", "/import", ndjson, body, strlen(body));
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	ck_assert_int_eq(json_integer_value(
				 json_object_get(json_object_get(r->json, "imported"), "patients")),
			 1);
	resp_free(r);
	free(a);
	free(body);
}
END_TEST

/* n lines of new patients; line bad_at (1-based, 0 for none) gets the
 * toxicity grade 5 that is not fatal, and line dup_at the code of line 1. */
static char *many_lines(int n, int bad_at, int dup_at)
{
	size_t cap = (size_t)n * 1024, len = 0;
	char *body = malloc(cap), first[64];
	snprintf(first, sizeof first, "%s", unique_code("BIG"));
	for (int i = 1; i <= n; i++) {
		char *l = line(i == 1 || i == dup_at ? first : unique_code("BIG"), NULL);
		if (i == bad_at)
			memcpy(strstr(l, "\"grade\":1"), "\"grade\":5", 9);
		len += (size_t)snprintf(body + len, cap - len, "%s\n", l);
		free(l);
	}
	return body;
}

/* Lines are parsed and validated ahead of the writes (on a second thread):
 * a refusal far past that window still names its own line, and nothing of
 * the lines before it stays. */
START_TEST(test_refusal_deep_into_a_long_import_writes_nothing)
{
	char *before = db_fingerprint();
	char *body = many_lines(3000, 2500, 0);
	struct resp *r = import(body);
	assert_problem(r, 422, PROBLEM_VALIDATION);
	assert_line_error(r, 2500, "courses[0].toxicities[1].outcome");
	resp_free(r);
	free(body);
	/* a duplicate is found only by the write itself */
	body = many_lines(3000, 0, 2999);
	r = import(body);
	assert_problem(r, 409, "urn:cohortd:problem:duplicate");
	assert_line_error(r, 2999, "code");
	resp_free(r);
	free(body);
	assert_unchanged(before);
}
END_TEST

/* A body of n lines from line(), where line `at` is replaced by `odd`. */
static char *lines_with(int n, int at, const char *odd)
{
	size_t cap = (size_t)n * 1024 + strlen(odd), len = 0;
	char *body = malloc(cap);
	for (int i = 1; i <= n; i++) {
		char *l = i == at ? strdup(odd) : line(unique_code("BAT"), NULL);
		len += (size_t)snprintf(body + len, cap - len, "%s\n", l);
		free(l);
	}
	return body;
}

/* line() for a new code with one piece of it replaced. */
static char *line_changed(const char *from, const char *to)
{
	char *l = line(unique_code("BAT"), NULL), *at = strstr(l, from);
	ck_assert_ptr_nonnull(at);
	char *out = malloc(strlen(l) + strlen(to) + 1);
	sprintf(out, "%.*s%s%s", (int)(at - l), l, to, at + strlen(from));
	free(l);
	return out;
}

/* Text comes back as it was sent, whatever the engine does with it on the
 * way: 70 lines are enough for PostgreSQL's COPY (db_postgresql.c), whose
 * text format gives backslash and "\N" (NULL) a meaning of their own. The
 * audit rows, whose JSON holds more backslashes, verify. */
START_TEST(test_imported_text_keeps_every_character)
{
	/* as JSON text: back\\slash \\N \\\\t \"quoted\" and two letters beyond ASCII */
	static const char term[] = "back\\\\slash \\\\N \\\\\\\\t \\\"quoted\\\" \\u00e9\\u4e2d";
	char *odd = line_changed("Hypotension", term);
	char *body = lines_with(70, 7, odd);
	int64_t toxicities0 = db_count("toxicities");
	struct resp *r = import(body);
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	resp_free(r);
	ck_assert_int_eq(db_count("toxicities"), toxicities0 + 140);
	json_t *sent = json_loads(odd, 0, NULL);
	const char *code = json_string_value(json_object_get(sent, "code"));
	char path[200];
	snprintf(path, sizeof path, "/patients?code=%s", code);
	json_t *page = get_json(path);
	json_int_t id = json_integer_value(
		json_object_get(json_array_get(json_object_get(page, "items"), 0), "id"));
	json_decref(page);
	snprintf(path, sizeof path, "/patients/%lld/toxicities", (long long)id);
	page = get_json(path);
	const char *stored = json_string_value(
		json_object_get(json_array_get(json_object_get(page, "items"), 0), "term"));
	const char *expected = json_string_value(json_object_get(
		json_array_get(json_object_get(json_array_get(json_object_get(sent, "courses"), 0),
					       "toxicities"),
			       0),
		"term"));
	ck_assert_str_eq(stored, expected);
	ck_assert_ptr_nonnull(strstr(stored, "\\N"));
	json_decref(page);
	json_decref(sent);
	assert_chain_intact(audit_rows());
	free(odd);
	free(body);
}
END_TEST

/* Ready lines are written 64 at a time, several rows to a statement, and
 * each record's rules against its parent are checked from the line itself
 * before that (import.c). Far into a long import, in its fourth batch or
 * later, a refusal by each route names its line, its field and the message
 * a POST gives, and leaves nothing: a code already in the database and two
 * courses of one number (found by the write, which is then redone line by
 * line), a toxicity before its course, a course before its patient's
 * enrolment, and a response an adjuvant patient cannot have (found from
 * the parent in the line). Then the same import without them goes in
 * whole, counted and audited row for row. */
START_TEST(test_refusals_found_by_the_batched_writes_name_their_line)
{
	char taken[64];
	snprintf(taken, sizeof taken, "%s", unique_code("BAT"));
	char patient[160];
	snprintf(patient, sizeof patient, "{\"code\":\"%s\"}", taken);
	make_patient(patient);
	char *in_use = line(taken, NULL);
	char two_ones[512];
	snprintf(two_ones, sizeof two_ones,
		 "{\"code\":\"%s\",\"histology\":\"melanoma\",\"setting\":\"metastatic\","
		 "\"regimen\":\"il2_lak\",\"enrolled_on\":\"1985-01-10\",\"courses\":["
		 "{\"number\":1,\"started_on\":\"1985-02-01\"},"
		 "{\"number\":1,\"started_on\":\"1985-06-01\"}]}",
		 unique_code("BAT"));
	char *early_toxicity =
		line_changed("\"onset_on\":\"1985-02-02\"", "\"onset_on\":\"1985-01-20\"");
	char *early_course =
		line_changed("\"started_on\":\"1985-02-01\"", "\"started_on\":\"1985-01-05\"");
	char *adjuvant_pr = line_changed("\"metastatic\"", "\"adjuvant\"");
	const struct {
		int at;
		const char *line;
		long status;
		const char *field, *message;
	} cases[] = {
		{230, in_use, 409, "code", "is already used by another record"},
		{201, two_ones, 409, "courses[1].number", "is already used by another record"},
		{260, early_toxicity, 422, "courses[0].toxicities[0].onset_on",
		 "must not be before the course started (1985-02-01)"},
		{199, early_course, 422, "courses[0].started_on",
		 "must not be before the patient's enrolment (1985-01-10)"},
		{300, adjuvant_pr, 422, "courses[0].outcomes[0].response",
		 "an adjuvant patient has no evaluable disease: only PD (recurrence) or NE"},
	};
	char *before = db_fingerprint();
	int64_t audit = audit_rows();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *body = lines_with(320, cases[i].at, cases[i].line);
		struct resp *r = import(body);
		ck_assert_msg(r->status == cases[i].status, "line %d: %ld %s", cases[i].at,
			      r->status, r->body);
		json_t *errors = json_object_get(r->json, "errors");
		ck_assert_uint_eq(json_array_size(errors), 1);
		assert_line_error(r, cases[i].at, cases[i].field);
		ck_assert_str_eq(
			json_string_value(json_object_get(json_array_get(errors, 0), "message")),
			cases[i].message);
		char *after = db_fingerprint();
		ck_assert_str_eq(before, after);
		ck_assert_int_eq(audit_rows(), audit);
		free(after);
		resp_free(r);
		free(body);
	}
	char *body = lines_with(320, 0, "");
	assert_imported(body,
			"{\"lines\":320,\"imported\":{\"patients\":320,\"courses\":320,"
			"\"outcomes\":320,\"toxicities\":640},\"records\":1600}",
			320, 640, 1600);
	assert_chain_intact(audit + 1600);
	free(body);
	free(before);
	free(in_use);
	free(early_toxicity);
	free(early_course);
	free(adjuvant_pr);
}
END_TEST

/* cohortd import --db on the test database, from the file at path or, with
 * from_pipe, from a pipe on its standard input (which cannot be read
 * twice); its exit status, with what it printed in out. */
static int import_offline(const char *path, bool from_pipe, char *out, size_t cap)
{
	const char *bin = getenv("COHORTD_BIN");
	char cmd[2048];
	if (from_pipe)
		snprintf(cmd, sizeof cmd, "cat '%s' | '%s' import --db '%s' - 2>&1", path,
			 bin ? bin : "./cohortd", api_db_path());
	else
		snprintf(cmd, sizeof cmd, "'%s' import --db '%s' '%s' 2>&1",
			 bin ? bin : "./cohortd", api_db_path(), path);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	ck_assert_int_eq(fclose(f), 0);
}

/* The offline import gives the answer POST /import gives: a code already in
 * the database, met by the batched writes, names its line and field with
 * nothing written, whether the input can be read again (a file) or not (a
 * pipe); a clean file then goes in whole. */
START_TEST(test_offline_import_names_the_refused_line_from_a_file_and_a_pipe)
{
	char taken[64], patient[160], path[] = "/tmp/cohortd-import-XXXXXX", out[8192];
	snprintf(taken, sizeof taken, "%s", unique_code("OFF"));
	snprintf(patient, sizeof patient, "{\"code\":\"%s\"}", taken);
	make_patient(patient);
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	char *in_use = line(taken, NULL);
	char *body = lines_with(320, 230, in_use);
	write_text(path, body);
	char *before = db_fingerprint();
	int64_t audit = audit_rows();
	for (int from_pipe = 0; from_pipe < 2; from_pipe++) {
		int status = import_offline(path, from_pipe, out, sizeof out);
		ck_assert_msg(status == 1, "%d: %s", status, out);
		ck_assert_msg(strstr(out, "cohortd: line 230 refused, nothing imported:") != NULL,
			      "%s", out);
		ck_assert_msg(strstr(out, "\"field\": \"code\"") != NULL, "%s", out);
		ck_assert_msg(strstr(out, "\"message\": \"is already used by another record\"") !=
				      NULL,
			      "%s", out);
		char *after = db_fingerprint();
		ck_assert_str_eq(before, after);
		free(after);
		ck_assert_int_eq(audit_rows(), audit);
	}
	free(body);
	body = lines_with(320, 0, "");
	write_text(path, body);
	ck_assert_int_eq(import_offline(path, false, out, sizeof out), 0);
	ck_assert_str_eq(out, "imported 320 patients, 320 courses, 320 outcomes, 640 toxicities\n");
	ck_assert_int_eq(audit_rows(), audit + 1600);
	assert_chain_intact(audit_rows());
	unlink(path);
	free(body);
	free(before);
	free(in_use);
}
END_TEST

static long long file_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long long n = ftell(f);
	fclose(f);
	return n;
}

/* The writer does not checkpoint at commit: a thread of its own copies the
 * WAL into the database file once it has grown by 10,000 pages, while the
 * server goes on answering. An import of 60,000 records (about 60 MB of
 * WAL) must end up in the main file with the server still running, even
 * though a reader (another process's, here) held a snapshot from before
 * the import when it committed: the checkpoint asked for then was held
 * back by it, and must be tried again once that reader is done. */
START_TEST(test_large_import_is_checkpointed_in_the_background)
{
	SKIP_ON_POSTGRESQL("watches SQLite's WAL file and checkpoints");
	int64_t patients = db_count("patients");
	char *body = many_lines(12000, 0, 0);
	sqlite3 *reader;
	ck_assert_int_eq(sqlite3_open_v2(api_db_path(), &reader, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM patients", NULL, NULL, NULL),
		SQLITE_OK);
	struct resp *r = import(body);
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	ck_assert_str_eq(r->body, "{\"lines\":12000,\"imported\":{\"patients\":12000,"
				  "\"courses\":12000,\"outcomes\":12000,\"toxicities\":24000},"
				  "\"records\":60000}\n");
	resp_free(r);
	free(body);
	ck_assert_int_eq(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(reader);
	long long size = 0;
	for (int i = 0; i < 1200 && (size = file_size(api_db_path())) < 40LL << 20; i++) {
		struct timespec pause = {0, 100 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	ck_assert_msg(size >= 40LL << 20, "the database file holds %lld bytes", size);
	ck_assert_int_eq(db_count("patients"), patients + 12000);
	r = http_get("/readyz");
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
}
END_TEST

/* The server's peak resident memory so far (VmHWM), in bytes. */
static long long server_peak_rss(void)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", api_pid());
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	long long kib = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %lld kB", &kib) == 1)
			break;
	fclose(f);
	ck_assert_int_ge(kib, 0);
	return kib * 1024;
}

/* A body past 4 MiB goes to a temporary file as it arrives, and the import
 * reads it a line at a time: 43 MB of NDJSON (100,000 patients, 500,000
 * records) raise the server's peak memory by less than IMPORT_MEMORY, the
 * writer's page cache (up to 16 MiB, filled as it goes) and 8 MiB for the
 * rest; held whole, the body alone would raise it by 43 MB. And the import
 * commits every 10,000 lines (--import-chunk's default), its WAL copied
 * into the database behind it and started over once it reaches a quarter
 * of the database: the database and its WAL never take more than 1.5
 * times the disk of the database at the end, until that WAL is
 * all copied in (in one transaction the WAL grows as large as the import,
 * and the copy doubles the disk). */
#define IMPORT_MEMORY (24LL << 20)

/* The most disk the database and its WAL took together, sampled every
 * 20 ms until stop. */
struct disk_watch {
	volatile bool stop;
	long long most;
};

static void *watch_disk(void *arg)
{
	struct disk_watch *w = arg;
	char wal[600];
	snprintf(wal, sizeof wal, "%s-wal", api_db_path());
	while (!w->stop) {
		long long wal_size = file_size(wal);
		long long both = file_size(api_db_path()) + (wal_size > 0 ? wal_size : 0);
		if (both > w->most)
			w->most = both;
		struct timespec pause = {0, 20 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	return NULL;
}
START_TEST(test_a_large_body_is_never_held_in_memory)
{
	SKIP_ON_POSTGRESQL("measures SQLite's database file and WAL");
	int64_t patients = db_count("patients");
	char *body = many_lines(100000, 0, 0);
	size_t len = strlen(body);
	ck_assert_uint_gt(len, (size_t)40 << 20);
	long long before = server_peak_rss();
	struct disk_watch disk = {0};
	pthread_t watcher;
	ck_assert_int_eq(pthread_create(&watcher, NULL, watch_disk, &disk), 0);
	http_timeout(240); /* 500,000 records: a minute in the sanitizer build */
	struct resp *r = import(body);
	http_timeout(0);
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	ck_assert_int_eq(json_integer_value(json_object_get(r->json, "records")), 500000);
	resp_free(r);
	free(body);
	ck_assert_int_eq(db_count("patients"), patients + 100000);
	long long grew = server_peak_rss() - before;
#ifdef __SANITIZE_ADDRESS__
	/* AddressSanitizer holds freed memory in quarantine and shadows all of
	 * it: the server's peak says nothing of its own use in that lane */
	grew = 0;
#endif
	ck_assert_msg(grew < IMPORT_MEMORY, "the peak grew by %lld bytes for a %zu-byte body", grew,
		      len);
	/* the database at the end: its pages, whether the WAL is copied in yet
	 * or not; the disk is watched until it is */
	sqlite3 *db;
	sqlite3_stmt *st;
	ck_assert_int_eq(sqlite3_open_v2(api_db_path(), &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_prepare_v2(db,
				   "SELECT page_count * page_size FROM pragma_page_count(), "
				   "pragma_page_size()",
				   -1, &st, NULL),
		SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	long long final = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	for (int i = 0; i < 600 && file_size(api_db_path()) < final; i++) {
		struct timespec pause = {0, 100 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	disk.stop = true;
	pthread_join(watcher, NULL);
	ck_assert_int_ge(file_size(api_db_path()), final);
	ck_assert_msg(disk.most < final * 3 / 2,
		      "the database and its WAL took %lld bytes, the database %lld at the end",
		      disk.most, final);
}
END_TEST

static void start_with_big_imports(void)
{
	static const char *const args[] = {"--max-import", "64", NULL};
	api_start_with(args);
}

/* --- imports that commit as they go -------------------------------------- */

#define CHUNK      "100"
#define CHUNK_HOLD 150 /* ms the server pauses after each chunk's commit */

static const char *const chunked[] = {"--import-chunk", CHUNK, NULL};

static void start_with_small_chunks(void)
{
	char hold[32];
	snprintf(hold, sizeof hold, "import-chunk:%d", CHUNK_HOLD);
	setenv("COHORTD_INJECT_PAUSE", hold, 1);
	api_start_with(chunked);
	unsetenv("COHORTD_INJECT_PAUSE");
}

/* Every statistic as a client reads it, one after the other. */
static char *statistics_answers(void)
{
	static const char *const routes[] = {"/stats/summary",
					     "/stats/response",
					     "/stats/toxicity",
					     "/stats/mortality",
					     "/stats/survival",
					     "/stats/durable-response",
					     "/stats/response?group_by=regimen"};
	size_t cap = 1, len = 0;
	char *out = calloc(1, 1);
	for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
		struct resp *r = get_ok(routes[i]);
		cap += strlen(routes[i]) + r->len + 2;
		out = realloc(out, cap);
		len += (size_t)sprintf(out + len, "%s %.*s\n", routes[i], (int)r->len, r->body);
		resp_free(r);
	}
	return out;
}

/* An import the test sends from a thread of its own, and the most patients
 * the database held while it ran. */
struct watched_import {
	const char *body;
	long status;
	char *answer;
	volatile bool done;
	int64_t most_patients;
};

static void *send_import(void *arg)
{
	struct watched_import *w = arg;
	struct resp *r = import(w->body);
	w->status = r->status;
	w->answer = strdup(r->body ? r->body : "");
	resp_free(r);
	w->done = true;
	return NULL;
}

/* Sends body and watches the database's patients until the answer comes. */
static void import_watched(struct watched_import *w)
{
	pthread_t thread;
	w->done = false;
	w->most_patients = 0;
	ck_assert_int_eq(pthread_create(&thread, NULL, send_import, w), 0);
	while (!w->done) {
		int64_t n = db_count("patients");
		if (n > w->most_patients)
			w->most_patients = n;
		struct timespec pause = {0, 20 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	pthread_join(thread, NULL);
}

static int64_t unfinished_marks(void)
{
	return db_count("import_unfinished");
}

/* An import of 350 lines with --import-chunk 100 commits three times before
 * its end: a reader sees its first patients while it runs. Refused at line
 * 330, by validation, or at line 340 by the write itself (a code already
 * used: the import is then taken back and run again carefully to name the
 * line), all it committed is taken back: the records, their audit rows
 * (the chain stays intact), every statistic's answer byte for byte, and
 * the ids, which the next record gets as if the import had never run. */
START_TEST(test_a_refusal_after_committed_chunks_takes_the_whole_import_back)
{
	char taken[64];
	snprintf(taken, sizeof taken, "%s", unique_code("BAT"));
	char patient[160];
	snprintf(patient, sizeof patient, "{\"code\":\"%s\"}", taken);
	int64_t last = make_patient(patient);
	char *before = db_fingerprint();
	char *stats = statistics_answers();
	int64_t audit = audit_rows();
	char *bad_grade = line_changed("\"grade\":3", "\"grade\":9");
	char *in_use = line(taken, NULL);
	const struct {
		int at;
		const char *line;
		long status;
		const char *field;
	} cases[] = {
		{330, bad_grade, 422, "courses[0].toxicities[0].grade"},
		{340, in_use, 409, "code"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *body = lines_with(350, cases[i].at, cases[i].line);
		struct watched_import w = {.body = body};
		import_watched(&w);
		ck_assert_msg(w.status == cases[i].status, "%ld %s", w.status, w.answer);
		ck_assert_msg(w.most_patients >= 1 + 100, "%lld patients seen during the import",
			      (long long)w.most_patients);
		json_t *answer = json_loads(w.answer, 0, NULL);
		json_t *e = json_array_get(json_object_get(answer, "errors"), 0);
		ck_assert_int_eq(json_integer_value(json_object_get(e, "line")), cases[i].at);
		ck_assert_str_eq(json_string_value(json_object_get(e, "field")), cases[i].field);
		json_decref(answer);
		char *after = db_fingerprint();
		ck_assert_str_eq(before, after);
		free(after);
		char *stats_after = statistics_answers();
		ck_assert_str_eq(stats, stats_after);
		free(stats_after);
		ck_assert_int_eq(unfinished_marks(), 0);
		free(w.answer);
		free(body);
	}
	assert_chain_intact(audit);
	ck_assert_int_eq(make_patient(NULL), last + 1);
	free(bad_grade);
	free(in_use);
	free(stats);
	free(before);
}
END_TEST

/* The same import without a refusal goes in whole across its chunks,
 * counted and audited row for row, and leaves no mark. */
START_TEST(test_an_import_in_chunks_goes_in_whole)
{
	char *body = lines_with(350, 0, "");
	assert_imported(body,
			"{\"lines\":350,\"imported\":{\"patients\":350,\"courses\":350,"
			"\"outcomes\":350,\"toxicities\":700},\"records\":1750}",
			350, 700, 1750);
	ck_assert_int_eq(unfinished_marks(), 0);
	assert_chain_intact(audit_rows());
	free(body);
}
END_TEST

/* The server killed in the middle of an import, after two of its chunks
 * were committed (it pauses after each for HOLD ms): the next start takes
 * them back before it serves, says so in its log, and the registry, its
 * audit chain and its statistics are as they were before the import. */
START_TEST(test_an_import_cut_short_by_a_crash_is_taken_back_at_the_next_start)
{
	setenv("COHORTD_INJECT_PAUSE", "import-chunk:60000", 1);
	api_start_with(chunked);
	unsetenv("COHORTD_INJECT_PAUSE");
	make_patient(NULL);
	char *before = db_fingerprint();
	char *stats = statistics_answers();
	char *body = lines_with(350, 0, "");
	/* sent on a socket of its own: no answer will come */
	int fd = api_connect();
	char head[512];
	int hn = snprintf(
		head, sizeof head,
		"POST /import HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
		"Authorization: Bearer %s\r\nContent-Length: %zu\r\n\r\n",
		api_admin_token(), strlen(body));
	ck_assert_int_eq(write(fd, head, (size_t)hn), hn);
	ck_assert_int_eq(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	for (int i = 0; i < 1000 && db_count("patients") < 1 + 100; i++) {
		struct timespec pause = {0, 20 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	ck_assert_int_ge(db_count("patients"), 1 + 100); /* the first chunk is in */
	api_crash();
	close(fd);
	ck_assert_int_eq(unfinished_marks(), 1);
	api_launch(NULL);
	char *after = db_fingerprint();
	ck_assert_str_eq(before, after);
	char *stats_after = statistics_answers();
	ck_assert_str_eq(stats, stats_after);
	ck_assert_int_eq(unfinished_marks(), 0);
	size_t log_len;
	char *log = read_file(api_log_path(), &log_len);
	ck_assert_ptr_nonnull(
		strstr(log, "\"msg\":\"an import that did not finish was taken back\""));
	assert_chain_intact(audit_rows());
	free(log);
	free(stats_after);
	free(after);
	free(stats);
	free(before);
	free(body);
	api_stop();
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("import", &tc);
	tcase_add_test(tc, test_import_writes_every_record_and_audits_each);
	tcase_add_test(tc, test_imported_text_keeps_every_character);
	tcase_add_test(tc, test_imported_records_get_the_ids_and_audit_rows_a_post_would);
	tcase_add_test(tc, test_bad_line_in_the_middle_writes_nothing_and_names_line_and_field);
	tcase_add_test(tc, test_every_rule_of_the_schema_is_refused_before_it_is_written);
	tcase_add_test(tc, test_malformed_line_and_nested_ids_are_refused);
	tcase_add_test(tc, test_duplicate_code_is_409_and_writes_nothing);
	tcase_add_test(tc, test_empty_body_is_422_and_wrong_media_type_is_415);
	tcase_add_test(tc, test_import_needs_an_editor);
	tcase_add_test(tc, test_fifty_megabytes_is_413_by_default);
	TCase *big = tcase_create("import-limit");
	tcase_add_unchecked_fixture(big, start_with_big_imports, api_stop);
	tcase_set_timeout(big, 300);
	tcase_add_test(big, test_max_import_raises_the_limit);
	tcase_add_test(big, test_refusal_deep_into_a_long_import_writes_nothing);
	tcase_add_test(big, test_refusals_found_by_the_batched_writes_name_their_line);
	tcase_add_test(big, test_offline_import_names_the_refused_line_from_a_file_and_a_pipe);
	suite_add_tcase(s, big);
	TCase *chunks = tcase_create("import-chunks");
	tcase_add_unchecked_fixture(chunks, start_with_small_chunks, api_stop);
	tcase_set_timeout(chunks, 120);
	suite_add_tcase(s, chunks);
	tcase_add_test(chunks, test_a_refusal_after_committed_chunks_takes_the_whole_import_back);
	tcase_add_test(chunks, test_an_import_in_chunks_goes_in_whole);
	TCase *crash = tcase_create("import-crash");
	tcase_set_timeout(crash, 120);
	suite_add_tcase(s, crash);
	tcase_add_test(crash, test_an_import_cut_short_by_a_crash_is_taken_back_at_the_next_start);
	/* 60,000 audited records take minutes under valgrind's memcheck: a meson
	 * test of its own, skipped in that lane (tests/meson.build) */
	TCase *real_time = tcase_create("import-real-time");
	tcase_set_tags(real_time, "real-time");
	tcase_add_unchecked_fixture(real_time, start_with_big_imports, api_stop);
	tcase_set_timeout(real_time, 300);
	tcase_add_test(real_time, test_large_import_is_checkpointed_in_the_background);
	tcase_add_test(real_time, test_a_large_body_is_never_held_in_memory);
	suite_add_tcase(s, real_time);
	return run_suite(s);
}

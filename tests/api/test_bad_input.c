/* Bad input on the write routes: what a broken, hostile or careless client can
 * send in a body. Malformed, truncated, empty, duplicate-key and too deeply
 * nested JSON, bodies over 1 MiB (Content-Length and chunked), wrong types for
 * every kind of field, impossible dates, unknown and server-managed fields,
 * NUL bytes (escaped and raw), invalid UTF-8, SQL text, numbers beyond int64
 * and double, non-object bodies, and the Content-Type check. Every refused
 * request is checked for its exact status, problem type and errors[] field,
 * and for leaving the database exactly as it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MALFORMED  "urn:cohortd:problem:malformed-json"
#define VALIDATION "urn:cohortd:problem:validation"
#define TOO_LARGE  "urn:cohortd:problem:body-too-large"
#define MEDIA_TYPE "urn:cohortd:problem:unsupported-media-type"

#define ONE_MIB 1048576

static const char *const json_ct[] = {"Content-Type: application/json", NULL};
static const char *const merge_ct[] = {"Content-Type: application/merge-patch+json", NULL};

/* --- helpers -------------------------------------------------------------- */

/* A valid create body for each resource, with extra merged over it. */
static char *patient_body(const char *extra)
{
	return json_merged(json_pack("{s:s, s:s, s:s, s:s, s:s}", "code", unique_code("BAD"),
				     "histology", "melanoma", "setting", "metastatic", "regimen",
				     "il2_alone", "enrolled_on", "1985-01-10"),
			   extra, NULL);
}

static char *course_body(int64_t patient_id, const char *extra)
{
	return json_merged(json_pack("{s:I, s:s, s:f, s:s}", "patient_id", (json_int_t)patient_id,
				     "started_on", "1985-02-01", "il2_dose", 720000.0,
				     "il2_dose_unit", "IU/kg"),
			   extra, NULL);
}

static char *outcome_body(int64_t course_id, const char *extra)
{
	return json_merged(json_pack("{s:I, s:s, s:s}", "course_id", (json_int_t)course_id,
				     "assessed_on", "1985-04-01", "response", "PR"),
			   extra, NULL);
}

static char *toxicity_body(int64_t course_id, const char *extra)
{
	return json_merged(json_pack("{s:I, s:s, s:i, s:s, s:s}", "course_id",
				     (json_int_t)course_id, "term", "Hypotension", "grade", 3,
				     "onset_on", "1985-02-02", "attribution", "definite"),
			   extra, NULL);
}

/* Sends body_len bytes (NULs allowed) and asserts the refusal and that the
 * database did not change. field may be NULL. */
static void refused_bytes(const char *method, const char *path, const char *const *headers,
			  const char *body, size_t body_len, long status, const char *type,
			  const char *field)
{
	char *before = db_fingerprint();
	struct resp *r = http(method, path, headers, body, body_len);
	assert_problem(r, status, type);
	if (field)
		assert_field_error(r, field);
	assert_unchanged(before);
	resp_free(r);
}

/* A JSON body refused as malformed (400), nothing written. */
static void refused_malformed(const char *method, const char *path, const char *body)
{
	const char *const *ct = strcmp(method, "PATCH") == 0 ? merge_ct : json_ct;
	refused_bytes(method, path, ct, body, strlen(body), 400, MALFORMED, NULL);
}

/* A body refused with 422 whose errors[] names exactly one problem, on field;
 * the message must contain hint when hint is not NULL. Nothing written. */
static void refused_only(const char *method, const char *path, const char *body, const char *field,
			 const char *hint)
{
	const char *const *ct = strcmp(method, "PATCH") == 0 ? merge_ct : json_ct;
	char *before = db_fingerprint();
	struct resp *r = http(method, path, ct, body, strlen(body));
	ck_assert_msg(r->status == 422, "%s %s %s -> %ld %s", method, path, body, r->status,
		      r->body);
	assert_problem(r, 422, VALIDATION);
	json_t *errors = json_object_get(r->json, "errors");
	ck_assert_msg(json_array_size(errors) == 1, "%s: expected one error on %s: %s", body, field,
		      r->body);
	json_t *e = json_array_get(errors, 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "field")), field);
	const char *msg = json_string_value(json_object_get(e, "message"));
	ck_assert_msg(msg && *msg, "empty message: %s", r->body);
	if (hint)
		ck_assert_msg(strstr(msg, hint) != NULL, "message \"%s\" lacks \"%s\"", msg, hint);
	assert_unchanged(before);
	resp_free(r);
}

/* POSTs a patient body with extra merged; expects exactly one error on field. */
static void patient_refused(const char *extra, const char *field)
{
	char *body = patient_body(extra);
	refused_only("POST", "/patients", body, field, NULL);
	free(body);
}

static int64_t get_version(const char *path)
{
	json_t *j = get_json(path);
	int64_t v = json_integer_value(json_object_get(j, "version"));
	json_decref(j);
	return v;
}

/* A body of exactly len bytes: {"code":"aaa..."} (valid JSON). Caller frees. */
static char *padded_body(size_t len)
{
	static const char head[] = "{\"code\":\"", tail[] = "\"}";
	ck_assert_uint_gt(len, sizeof head + sizeof tail);
	char *b = malloc(len + 1);
	memcpy(b, head, sizeof head - 1);
	memset(b + sizeof head - 1, 'a', len - (sizeof head - 1) - (sizeof tail - 1));
	memcpy(b + len - (sizeof tail - 1), tail, sizeof tail - 1);
	b[len] = '\0';
	return b;
}

static char *repeat_wrap(const char *open, const char *middle, const char *close, int n)
{
	size_t lo = strlen(open), lm = strlen(middle), lc = strlen(close);
	char *b = malloc((size_t)n * (lo + lc) + lm + 1), *p = b;
	for (int i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, middle, lm);
	p += lm;
	for (int i = 0; i < n; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	return b;
}

/* --- JSON syntax -------------------------------------------------------- */

START_TEST(test_malformed_json_is_400)
{
	static const char *const bodies[] = {
		"{\"code\":}",
		"{code:\"a\"}",
		"{'code':'a'}",
		"{\"code\":\"a\",}",
		"{\"code\" \"a\"}",
		"{\"code\":\"a\"}}",
		"{\"code\":\"a\"} {\"code\":\"b\"}",
		"{\"age\":0x10}",
		"{\"age\":010}",
		"{\"age\":+1}",
		"{\"age\":NaN}",
		"{\"age\":Infinity}",
		"{\"code\":\"a\\x41\"}",
		"{\"code\":\"tab\there\"}",
		"/* comment */ {}",
		"nul",
		"tru",
		"<xml/>",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
		refused_malformed("POST", "/patients", bodies[i]);
}
END_TEST

START_TEST(test_every_truncation_of_a_valid_body_is_400)
{
	char *body = patient_body("{\"age\":42,\"sex\":\"female\",\"death_cause\":null}");
	size_t len = strlen(body);
	char *before = db_fingerprint();
	for (size_t n = 1; n < len; n++) {
		struct resp *r = http("POST", "/patients", json_ct, body, n);
		ck_assert_msg(r->status == 400, "prefix %zu of %s -> %ld", n, body, r->status);
		assert_problem(r, 400, MALFORMED);
		resp_free(r);
	}
	refused_malformed("POST", "/patients", "{\"code\":\"a");
	assert_unchanged(before);
	free(body);
}
END_TEST

START_TEST(test_empty_body_is_400)
{
	refused_malformed("POST", "/patients", "");
	refused_malformed("POST", "/patients", "   \r\n\t ");
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	refused_malformed("PATCH", path, "");
	ck_assert_int_eq(get_version(path), 1);
}
END_TEST

START_TEST(test_duplicate_keys_are_400)
{
	refused_malformed("POST", "/patients", "{\"code\":\"a\",\"code\":\"b\"}");
	/* a duplicate is refused even when both values are the same */
	char *body = patient_body(NULL);
	size_t len = strlen(body);
	char *dup = malloc(len + 32);
	snprintf(dup, len + 32, "%.*s,\"setting\":\"metastatic\"}", (int)(len - 1), body);
	refused_malformed("POST", "/patients", dup);
	/* and inside a nested object */
	refused_malformed("POST", "/patients", "{\"code\":{\"x\":1,\"x\":2}}");
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	refused_malformed("PATCH", path, "{\"age\":40,\"age\":41}");
	ck_assert_int_eq(get_version(path), 1);
	free(dup);
	free(body);
}
END_TEST

START_TEST(test_ten_thousand_nested_arrays_are_400)
{
	char *body = repeat_wrap("[", "", "]", 10000);
	refused_malformed("POST", "/patients", body);
	free(body);
}
END_TEST

START_TEST(test_ten_thousand_nested_objects_are_400)
{
	char *body = repeat_wrap("{\"a\":", "1", "}", 10000);
	refused_malformed("POST", "/patients", body);
	free(body);
	/* the same depth as a member's value */
	char *inner = repeat_wrap("[", "", "]", 10000);
	size_t n = strlen(inner) + 32;
	body = malloc(n);
	snprintf(body, n, "{\"code\":%s}", inner);
	refused_malformed("POST", "/patients", body);
	free(inner);
	free(body);
}
END_TEST

START_TEST(test_nesting_depth_limit_is_2048)
{
	/* the object plus 2047 arrays is parsed (then refused as a wrong type);
	 * one level more is malformed */
	char *inner = repeat_wrap("[", "", "]", 2047);
	size_t n = strlen(inner) + 32;
	char *body = malloc(n);
	snprintf(body, n, "{\"code\":%s}", inner);
	char *before = db_fingerprint();
	struct resp *r = http_post_json("/patients", body);
	assert_problem(r, 422, VALIDATION);
	assert_field_error(r, "code");
	resp_free(r);
	free(inner);
	free(body);

	inner = repeat_wrap("[", "", "]", 2048);
	n = strlen(inner) + 32;
	body = malloc(n);
	snprintf(body, n, "{\"code\":%s}", inner);
	refused_malformed("POST", "/patients", body);
	assert_unchanged(before);
	free(inner);
	free(body);
}
END_TEST

START_TEST(test_malformed_json_is_400_on_every_collection)
{
	static const char *const paths[] = {"/patients", "/courses", "/outcomes", "/toxicities"};
	int64_t p = make_patient(NULL);
	int64_t c = make_course(p, NULL);
	int64_t o = make_outcome(c, NULL);
	int64_t t = make_toxicity(c, NULL);
	int64_t ids[] = {p, c, o, t};
	for (size_t i = 0; i < 4; i++) {
		char path[64];
		refused_malformed("POST", paths[i], "{\"x\":");
		snprintf(path, sizeof path, "%s/%lld", paths[i], (long long)ids[i]);
		refused_malformed("PATCH", path, "{\"x\":");
		ck_assert_int_eq(get_version(path), 1);
	}
}
END_TEST

/* --- body size ------------------------------------------------------------ */

START_TEST(test_two_mib_body_with_content_length_is_413)
{
	char *body = padded_body(2 * ONE_MIB);
	refused_bytes("POST", "/patients", json_ct, body, 2 * ONE_MIB, 413, TOO_LARGE, NULL);
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	refused_bytes("PATCH", path, merge_ct, body, 2 * ONE_MIB, 413, TOO_LARGE, NULL);
	ck_assert_int_eq(get_version(path), 1);
	free(body);
	/* the server goes on serving */
	struct resp *r = http_get("/healthz");
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
}
END_TEST

/* Sends only a request head on a raw connection and returns what the
 * server answers before any body byte is sent (or "" on timeout). */
static char *answer_to_head(const char *head)
{
	int fd = api_connect();
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	ck_assert_int_eq(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	char *reply = calloc(1, 4096);
	size_t got = 0;
	ssize_t n;
	while (got < 4095 && (n = read(fd, reply + got, 4095 - got)) > 0)
		got += (size_t)n;
	close(fd);
	traffic_record_raw(head, reply, got);
	return reply;
}

START_TEST(test_declared_oversize_is_refused_before_the_body_is_sent)
{
	char *before = db_fingerprint();
	/* A client waiting on Expect: 100-continue gets the 413 instead of 100. */
	char *reply = answer_to_head("POST /patients HTTP/1.1\r\nHost: t\r\n"
				     "Content-Type: application/json\r\n"
				     "Content-Length: 2097152\r\nExpect: 100-continue\r\n\r\n");
	ck_assert_msg(strncmp(reply, "HTTP/1.1 413", 12) == 0, "got: %s", reply);
	ck_assert_ptr_nonnull(strstr(reply, "urn:cohortd:problem:body-too-large"));
	free(reply);
	/* 50 MiB declared: refused from the header alone, connection closed. */
	reply = answer_to_head(
		"POST /patients HTTP/1.1\r\nHost: t\r\n"
		"Content-Type: application/json\r\nContent-Length: 52428800\r\n\r\n");
	ck_assert_msg(strncmp(reply, "HTTP/1.1 413", 12) == 0, "got: %s", reply);
	free(reply);
	assert_unchanged(before);
}
END_TEST

START_TEST(test_two_mib_chunked_body_is_413)
{
	static const char *const chunked[] = {"Content-Type: application/json",
					      "Transfer-Encoding: chunked", NULL};
	char *body = padded_body(2 * ONE_MIB);
	refused_bytes("POST", "/patients", chunked, body, 2 * ONE_MIB, 413, TOO_LARGE, NULL);
	free(body);
	struct resp *r = http_get("/healthz");
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
}
END_TEST

START_TEST(test_chunked_body_within_limit_is_accepted)
{
	static const char *const chunked[] = {"Content-Type: application/json",
					      "Transfer-Encoding: chunked", NULL};
	char *body = patient_body(NULL);
	struct resp *r = http("POST", "/patients", chunked, body, strlen(body));
	ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld",
		 (long long)json_integer_value(json_object_get(r->json, "id")));
	json_t *sent = json_loads(body, 0, NULL), *got = get_json(path);
	ck_assert_str_eq(json_string_value(json_object_get(got, "code")),
			 json_string_value(json_object_get(sent, "code")));
	json_decref(sent);
	json_decref(got);
	resp_free(r);
	free(body);
}
END_TEST

START_TEST(test_body_of_exactly_one_mib_is_read_and_one_byte_more_is_413)
{
	static const char *const chunked[] = {"Content-Type: application/json",
					      "Transfer-Encoding: chunked", NULL};
	char *body = padded_body(ONE_MIB);
	/* read and parsed: the code is simply too long */
	refused_bytes("POST", "/patients", json_ct, body, ONE_MIB, 422, VALIDATION, "code");
	refused_bytes("POST", "/patients", chunked, body, ONE_MIB, 422, VALIDATION, "code");
	free(body);
	body = padded_body(ONE_MIB + 1);
	refused_bytes("POST", "/patients", json_ct, body, ONE_MIB + 1, 413, TOO_LARGE, NULL);
	refused_bytes("POST", "/patients", chunked, body, ONE_MIB + 1, 413, TOO_LARGE, NULL);
	free(body);
}
END_TEST

/* --- wrong types -------------------------------------------------------- */

START_TEST(test_wrong_types_on_patient_fields_are_422)
{
	static const struct {
		const char *extra, *field;
	} cases[] = {
		/* string */
		{"{\"code\":123}", "code"},
		{"{\"code\":true}", "code"},
		{"{\"code\":{}}", "code"},
		{"{\"code\":[\"P1\"]}", "code"},
		{"{\"code\":1.5}", "code"},
		{"{\"death_cause\":1}", "death_cause"},
		{"{\"death_cause\":[\"sepsis\"]}", "death_cause"},
		/* integer */
		{"{\"age\":\"30\"}", "age"},
		{"{\"age\":30.5}", "age"},
		{"{\"age\":30.0}", "age"},
		{"{\"age\":true}", "age"},
		{"{\"age\":{}}", "age"},
		{"{\"age\":[30]}", "age"},
		/* enums */
		{"{\"sex\":1}", "sex"},
		{"{\"sex\":true}", "sex"},
		{"{\"sex\":[\"male\"]}", "sex"},
		{"{\"histology\":0}", "histology"},
		{"{\"setting\":{\"v\":\"metastatic\"}}", "setting"},
		{"{\"regimen\":false}", "regimen"},
		{"{\"vital_status\":1}", "vital_status"},
		/* dates */
		{"{\"enrolled_on\":true}", "enrolled_on"},
		{"{\"enrolled_on\":19850110}", "enrolled_on"},
		{"{\"enrolled_on\":{\"year\":1985}}", "enrolled_on"},
		{"{\"enrolled_on\":[1985,1,10]}", "enrolled_on"},
		{"{\"last_contact_on\":false}", "last_contact_on"},
		{"{\"died_on\":0}", "died_on"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		patient_refused(cases[i].extra, cases[i].field);
}
END_TEST

START_TEST(test_wrong_types_on_course_fields_are_422)
{
	static const struct {
		const char *extra, *field;
	} cases[] = {
		{"{\"number\":\"1\"}", "number"},
		{"{\"number\":1.0}", "number"},
		{"{\"started_on\":true}", "started_on"},
		{"{\"ended_on\":20}", "ended_on"},
		{"{\"il2_dose\":\"720000\"}", "il2_dose"},
		{"{\"il2_dose\":true}", "il2_dose"},
		{"{\"il2_dose\":[720000]}", "il2_dose"},
		{"{\"il2_dose_unit\":1}", "il2_dose_unit"},
		{"{\"doses_given\":\"15\"}", "doses_given"},
		{"{\"doses_given\":14.5}", "doses_given"},
		{"{\"stop_reason\":[]}", "stop_reason"},
	};
	int64_t p = make_patient(NULL);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *body = course_body(p, cases[i].extra);
		refused_only("POST", "/courses", body, cases[i].field, NULL);
		free(body);
	}
	char body[128];
	snprintf(body, sizeof body, "{\"patient_id\":\"%lld\",\"started_on\":\"1985-02-01\"}",
		 (long long)p);
	refused_only("POST", "/courses", body, "patient_id", NULL);
	refused_only("POST", "/courses", "{\"patient_id\":{},\"started_on\":\"1985-02-01\"}",
		     "patient_id", NULL);
}
END_TEST

START_TEST(test_wrong_types_on_outcome_and_toxicity_fields_are_422)
{
	static const struct {
		const char *extra, *field;
	} outcome_cases[] =
		{
			{"{\"course_id\":\"1\"}", "course_id"},
			{"{\"assessed_on\":true}", "assessed_on"},
			{"{\"criteria\":1}", "criteria"},
			{"{\"response\":{}}", "response"},
			{"{\"confirmed\":\"true\"}", "confirmed"},
			{"{\"confirmed\":1}", "confirmed"},
			{"{\"confirmed\":[]}", "confirmed"},
		},
	  toxicity_cases[] = {
		  {"{\"term\":5}", "term"},
		  {"{\"term\":[\"Sepsis\"]}", "term"},
		  {"{\"grade\":\"3\"}", "grade"},
		  {"{\"grade\":3.0}", "grade"},
		  {"{\"onset_on\":true}", "onset_on"},
		  {"{\"resolved_on\":[]}", "resolved_on"},
		  {"{\"attribution\":1}", "attribution"},
		  {"{\"serious\":0}", "serious"},
		  {"{\"serious\":\"false\"}", "serious"},
		  {"{\"outcome\":true}", "outcome"},
	  };
	int64_t c = make_course(make_patient(NULL), NULL);
	for (size_t i = 0; i < sizeof outcome_cases / sizeof outcome_cases[0]; i++) {
		char *body = outcome_body(c, outcome_cases[i].extra);
		refused_only("POST", "/outcomes", body, outcome_cases[i].field, NULL);
		free(body);
	}
	for (size_t i = 0; i < sizeof toxicity_cases / sizeof toxicity_cases[0]; i++) {
		char *body = toxicity_body(c, toxicity_cases[i].extra);
		refused_only("POST", "/toxicities", body, toxicity_cases[i].field, NULL);
		free(body);
	}
}
END_TEST

START_TEST(test_wrong_type_in_patch_is_422_and_changes_nothing)
{
	int64_t id = make_patient("{\"age\":50}");
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	refused_only("PATCH", path, "{\"age\":\"51\"}", "age", NULL);
	refused_only("PATCH", path, "{\"enrolled_on\":true}", "enrolled_on", NULL);
	refused_only("PATCH", path, "{\"sex\":[\"male\"]}", "sex", NULL);
	json_t *got = get_json(path);
	ck_assert_int_eq(json_integer_value(json_object_get(got, "age")), 50);
	ck_assert_str_eq(json_string_value(json_object_get(got, "sex")), "unknown");
	ck_assert_int_eq(json_integer_value(json_object_get(got, "version")), 1);
	json_decref(got);
}
END_TEST

START_TEST(test_every_problem_is_reported_in_one_answer)
{
	const char *body = "{\"code\":1,\"age\":\"x\",\"histology\":\"melanoma\","
			   "\"setting\":\"metastatic\",\"regimen\":\"il2_alone\","
			   "\"enrolled_on\":\"2023-02-30\",\"name\":\"Jane\",\"id\":5}";
	char *before = db_fingerprint();
	struct resp *r = http_post_json("/patients", body);
	assert_problem(r, 422, VALIDATION);
	ck_assert_uint_eq(json_array_size(json_object_get(r->json, "errors")), 5);
	assert_field_error(r, "code");
	assert_field_error(r, "age");
	assert_field_error(r, "enrolled_on");
	assert_field_error(r, "name");
	assert_field_error(r, "id");
	assert_unchanged(before);
	resp_free(r);
}
END_TEST

/* --- dates ---------------------------------------------------------------- */

START_TEST(test_impossible_dates_are_422)
{
	static const char *const dates[] = {
		"2023-02-30",           "2023-02-29",     "1900-02-29",  "2023-04-31", "2023-13-01",
		"2023-00-10",           "2023-01-00",     "2023-01-32",  "1985-1-01",  "1985-01-1",
		"1899-12-31",           "0000-01-01",     "85-01-10",    "1985/01/10", "10-01-1985",
		"1985-01-10T00:00:00Z", "1985-01-10 ",    " 1985-01-10", "",           "1985-01-1a",
		"+985-01-10",           "１９８５-01-10",
	};
	for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
		char extra[96];
		snprintf(extra, sizeof extra, "{\"enrolled_on\":\"%s\"}", dates[i]);
		char *body = patient_body(extra);
		refused_only("POST", "/patients", body, "enrolled_on", "calendar date");
		free(body);
	}
}
END_TEST

START_TEST(test_impossible_dates_are_422_on_every_date_field)
{
	int64_t p = make_patient(NULL);
	int64_t c = make_course(p, NULL);
	char *body = patient_body("{\"last_contact_on\":\"2023-02-30\"}");
	refused_only("POST", "/patients", body, "last_contact_on", NULL);
	free(body);
	body = patient_body("{\"vital_status\":\"dead\",\"died_on\":\"1987-02-29\"}");
	refused_only("POST", "/patients", body, "died_on", NULL);
	free(body);
	body = course_body(p, "{\"started_on\":\"1985-02-30\"}");
	refused_only("POST", "/courses", body, "started_on", NULL);
	free(body);
	body = course_body(p, "{\"ended_on\":\"1985-06-31\"}");
	refused_only("POST", "/courses", body, "ended_on", NULL);
	free(body);
	body = outcome_body(c, "{\"assessed_on\":\"1985-04-31\"}");
	refused_only("POST", "/outcomes", body, "assessed_on", NULL);
	free(body);
	body = toxicity_body(c, "{\"onset_on\":\"1985-02-29\"}");
	refused_only("POST", "/toxicities", body, "onset_on", NULL);
	free(body);
	body = toxicity_body(c, "{\"resolved_on\":\"1985-09-31\"}");
	refused_only("POST", "/toxicities", body, "resolved_on", NULL);
	free(body);
	char path[64];
	snprintf(path, sizeof path, "/courses/%lld", (long long)c);
	refused_only("PATCH", path, "{\"ended_on\":\"1985-11-31\"}", "ended_on", NULL);
	ck_assert_int_eq(get_version(path), 1);
}
END_TEST

START_TEST(test_leap_day_2024_is_accepted)
{
	int64_t id = make_patient("{\"enrolled_on\":\"2024-02-29\"}");
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	json_t *got = get_json(path);
	ck_assert_str_eq(json_string_value(json_object_get(got, "enrolled_on")), "2024-02-29");
	json_decref(got);
	id = make_patient("{\"enrolled_on\":\"2000-02-29\"}");
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	got = get_json(path);
	ck_assert_str_eq(json_string_value(json_object_get(got, "enrolled_on")), "2000-02-29");
	json_decref(got);
}
END_TEST

/* --- unknown and server-managed fields --------------------------------- */

START_TEST(test_unknown_fields_are_422)
{
	patient_refused("{\"name\":\"Jane Doe\"}", "name");
	patient_refused("{\"name\":null}", "name");
	patient_refused("{\"Code\":\"X1\"}", "Code");
	patient_refused("{\"\":1}", "");
	patient_refused("{\"is_admin\":true}", "is_admin");
	int64_t p = make_patient(NULL);
	char *body = course_body(p, "{\"dose\":1}");
	refused_only("POST", "/courses", body, "dose", "not a field");
	free(body);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)p);
	refused_only("PATCH", path, "{\"name\":\"Jane Doe\"}", "name", "not a field");
	ck_assert_int_eq(get_version(path), 1);
}
END_TEST

START_TEST(test_server_managed_fields_are_422_on_create)
{
	static const char *const extras[] = {
		"{\"id\":1}",
		"{\"id\":null}",
		"{\"version\":1}",
		"{\"created_at\":\"2020-01-01T00:00:00Z\"}",
		"{\"updated_at\":\"2020-01-01T00:00:00Z\"}",
	};
	static const char *const fields[] = {"id", "id", "version", "created_at", "updated_at"};
	for (size_t i = 0; i < sizeof extras / sizeof extras[0]; i++) {
		char *body = patient_body(extras[i]);
		refused_only("POST", "/patients", body, fields[i], "set by the server");
		free(body);
	}
	int64_t p = make_patient(NULL);
	int64_t c = make_course(p, NULL);
	char extra[64];
	snprintf(extra, sizeof extra, "{\"patient_id\":%lld}", (long long)p);
	char *body = outcome_body(c, extra);
	refused_only("POST", "/outcomes", body, "patient_id", "set by the server");
	free(body);
	body = toxicity_body(c, extra);
	refused_only("POST", "/toxicities", body, "patient_id", "set by the server");
	free(body);
	body = course_body(p, "{\"version\":7}");
	refused_only("POST", "/courses", body, "version", "set by the server");
	free(body);
}
END_TEST

START_TEST(test_server_managed_fields_are_422_on_patch)
{
	int64_t id = make_patient(NULL);
	char path[64], body[96];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	json_t *orig = get_json(path);
	/* even the values the record already has */
	snprintf(body, sizeof body, "{\"id\":%lld}", (long long)id);
	refused_only("PATCH", path, body, "id", "set by the server");
	refused_only("PATCH", path, "{\"version\":1}", "version", "set by the server");
	refused_only("PATCH", path, "{\"version\":99}", "version", "set by the server");
	snprintf(body, sizeof body, "{\"created_at\":\"%s\"}",
		 json_string_value(json_object_get(orig, "created_at")));
	refused_only("PATCH", path, body, "created_at", "set by the server");
	refused_only("PATCH", path, "{\"updated_at\":null}", "updated_at", "set by the server");
	json_t *now = get_json(path);
	ck_assert(json_equal(orig, now));
	json_decref(orig);
	json_decref(now);
}
END_TEST

/* --- NUL bytes, UTF-8 ------------------------------------------------- */

START_TEST(test_escaped_nul_in_a_string_is_422_on_that_field)
{
	patient_refused("{\"code\":\"P\\u0000X\"}", "code");
	patient_refused("{\"sex\":\"male\\u0000\"}", "sex");
	patient_refused("{\"enrolled_on\":\"1985-01-10\\u0000\"}", "enrolled_on");
	patient_refused("{\"vital_status\":\"dead\",\"died_on\":\"1990-01-01\","
			"\"death_cause\":\"sep\\u0000sis\"}",
			"death_cause");
	int64_t c = make_course(make_patient(NULL), NULL);
	char *body = toxicity_body(c, "{\"term\":\"Hypo\\u0000tension\"}");
	refused_only("POST", "/toxicities", body, "term", "visible text");
	free(body);
	body = toxicity_body(c, "{\"term\":\"\\u0000\"}");
	refused_only("POST", "/toxicities", body, "term", "visible text");
	free(body);
}
END_TEST

START_TEST(test_escaped_nul_in_a_key_is_400)
{
	refused_malformed("POST", "/patients", "{\"co\\u0000de\":\"P1\"}");
	refused_malformed("POST", "/patients", "{\"id\\u0000\":1}");
}
END_TEST

START_TEST(test_raw_nul_byte_in_body_is_400)
{
	static const struct {
		const char *body;
		size_t len;
	} cases[] = {
		{"{\"code\":\"a\0b\"}", 14},
		{"{\"code\"\0:\"a\"}", 13},
		{"\0", 1},
		{"\0{}", 3},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		refused_bytes("POST", "/patients", json_ct, cases[i].body, cases[i].len, 400,
			      MALFORMED, NULL);
	/* a valid body followed by a NUL */
	char *body = patient_body(NULL);
	size_t len = strlen(body);
	refused_bytes("POST", "/patients", json_ct, body, len + 1, 400, MALFORMED, NULL);
	free(body);
}
END_TEST

START_TEST(test_invalid_utf8_is_400)
{
	static const char *const strings[] = {
		"P\xff",            /* never valid */
		"caf\xe9",          /* Latin-1 */
		"\xc0\xaf",         /* overlong '/' */
		"\xe0\x80\xaf",     /* overlong, 3 bytes */
		"\xe2\x82",         /* truncated sequence */
		"\xed\xa0\x80",     /* UTF-16 surrogate */
		"\xf4\x90\x80\x80", /* past U+10FFFF */
		"\x80",             /* lone continuation byte */
	};
	char body[128];
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		snprintf(body, sizeof body, "{\"code\":\"%s\"}", strings[i]);
		refused_malformed("POST", "/patients", body);
		snprintf(body, sizeof body, "{\"%s\":1}", strings[i]);
		refused_malformed("POST", "/patients", body);
	}
	/* an escaped lone surrogate is no better */
	refused_malformed("POST", "/patients", "{\"code\":\"\\ud800\"}");
	int64_t c = make_course(make_patient(NULL), NULL);
	char *tox = toxicity_body(c, NULL);
	char *bad = strstr(tox, "Hypotension");
	ck_assert_ptr_nonnull(bad);
	bad[0] = (char)0xff;
	refused_malformed("POST", "/toxicities", tox);
	free(tox);
}
END_TEST

/* Bytes that are not UTF-8 in a path or a query key are quoted back with
 * U+FFFD in their place: the answer is still JSON, and the server lives on.
 * (Found by fuzz/fuzz_query: a key of "afte\x82" aborted the server.) */
START_TEST(test_invalid_utf8_in_path_and_query_key_is_quoted_safely)
{
	struct resp *r = http_get("/patients?afte%82=3");
	assert_problem(r, 400, "urn:cohortd:problem:invalid-parameter");
	json_t *e = json_array_get(json_object_get(r->json, "errors"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "field")), "afte\xEF\xBF\xBD");
	resp_free(r);
	r = http_get("/stats/response?%82%C3=1");
	assert_problem(r, 400, "urn:cohortd:problem:invalid-parameter");
	e = json_array_get(json_object_get(r->json, "errors"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "field")),
			 "\xEF\xBF\xBD\xEF\xBF\xBD");
	resp_free(r);
	r = http_get("/patients%82");
	assert_problem(r, 404, "urn:cohortd:problem:not-found");
	ck_assert_str_eq(json_string_value(json_object_get(r->json, "detail")),
			 "no resource at /patients\xEF\xBF\xBD");
	resp_free(r);
	r = http_get("/healthz");
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
}
END_TEST

START_TEST(test_valid_utf8_text_is_stored_verbatim)
{
	int64_t c = make_course(make_patient(NULL), NULL);
	const char *term = "Fièvre \xe2\x80\x94 syndrome de fuite capillaire \xf0\x9f\x98\xb7";
	json_t *extra = json_pack("{s:s}", "term", term);
	char *text = json_dumps(extra, JSON_COMPACT | JSON_ENSURE_ASCII);
	int64_t id = make_toxicity(c, text);
	char path[64];
	snprintf(path, sizeof path, "/toxicities/%lld", (long long)id);
	json_t *got = get_json(path);
	ck_assert_str_eq(json_string_value(json_object_get(got, "term")), term);
	json_decref(got);
	json_decref(extra);
	free(text);
}
END_TEST

/* Text that reads otherwise than it is ("Trojan Source"): every
 * bidirectional embedding, override and isolate and every zero-width
 * character is refused wherever text is taken, in a body, a filter and a
 * Change-Reason; right-to-left text itself is welcome. */
START_TEST(test_bidi_controls_and_zero_width_characters_are_refused_in_text)
{
	static const unsigned refused[] = {0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067,
					   0x2068, 0x2069, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF};
	int64_t c = make_course(make_patient(NULL), NULL);
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		char term[64], body[256], escaped[16];
		unsigned cp = refused[i];
		/* the character as UTF-8 in the middle of a term */
		snprintf(term, sizeof term, "Fever%c%c%cgrade", (char)(0xE0 | (cp >> 12)),
			 (char)(0x80 | ((cp >> 6) & 0x3F)), (char)(0x80 | (cp & 0x3F)));
		json_t *b = json_pack("{s:I, s:s, s:i, s:s, s:s}", "course_id", (json_int_t)c,
				      "term", term, "grade", 2, "onset_on", "1985-02-02",
				      "attribution", "possible");
		char *text = json_dumps(b, JSON_COMPACT);
		assert_refused("POST", "/toxicities",
			       (const char *const[]){"Content-Type: application/json", NULL}, text,
			       422, VALIDATION, "term");
		free(text);
		json_decref(b);
		/* escaped in JSON, as \uXXXX */
		snprintf(escaped, sizeof escaped, "\\u%04X", cp);
		snprintf(body, sizeof body,
			 "{\"course_id\":%lld,\"term\":\"Rash%sx\",\"grade\":2,"
			 "\"onset_on\":\"1985-02-02\",\"attribution\":\"possible\"}",
			 (long long)c, escaped);
		assert_refused("POST", "/toxicities",
			       (const char *const[]){"Content-Type: application/json", NULL}, body,
			       422, VALIDATION, "term");
		/* in a filter, and in the reason for a change */
		char path[128], reason[96];
		snprintf(path, sizeof path, "/toxicities?term=a%%%02X%%%02X%%%02Xb",
			 0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F));
		struct resp *r = http_get(path);
		assert_problem(r, 400, "urn:cohortd:problem:invalid-parameter");
		assert_field_error(r, "term");
		resp_free(r);
		snprintf(reason, sizeof reason, "Change-Reason: typo%c%c%cfixed",
			 (char)(0xE0 | (cp >> 12)), (char)(0x80 | ((cp >> 6) & 0x3F)),
			 (char)(0x80 | (cp & 0x3F)));
		snprintf(path, sizeof path, "/courses/%lld", (long long)c);
		assert_refused(
			"PATCH", path,
			(const char *const[]){"Content-Type: application/json", reason, NULL},
			"{\"doses_given\":3}", 422, VALIDATION, "Change-Reason");
	}
	/* Hebrew and Arabic are text like any other */
	int64_t id = make_toxicity(c, "{\"term\":\"\u05D7\u05D5\u05DD \u062D\u0645\u0649\"}");
	ck_assert_int_gt(id, 0);
}
END_TEST

/* --- SQL text ------------------------------------------------------------- */

START_TEST(test_sql_text_in_code_is_422)
{
	int64_t before = db_count("patients");
	patient_refused("{\"code\":\"x'); DROP TABLE patients;--\"}", "code");
	patient_refused("{\"code\":\"' OR '1'='1\"}", "code");
	patient_refused("{\"code\":\"a;DELETE FROM patients\"}", "code");
	ck_assert_int_eq(db_count("patients"), before);
	struct resp *r = http_get("/patients?limit=1");
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
}
END_TEST

START_TEST(test_sql_text_in_free_text_is_stored_verbatim)
{
	const char *sql = "x'); DROP TABLE patients;--";
	int64_t patients = db_count("patients");
	int64_t p = make_patient(NULL);
	int64_t c = make_course(p, NULL);
	json_t *extra = json_pack("{s:s}", "term", sql);
	char *text = json_dumps(extra, JSON_COMPACT);
	int64_t t = make_toxicity(c, text);
	char path[96];
	snprintf(path, sizeof path, "/toxicities/%lld", (long long)t);
	json_t *got = get_json(path);
	ck_assert_str_eq(json_string_value(json_object_get(got, "term")), sql);
	json_decref(got);

	/* the filter binds it as a value too: exactly this record comes back */
	snprintf(path, sizeof path,
		 "/toxicities?term=x%%27%%29%%3B%%20DROP%%20TABLE%%20patients"
		 "%%3B--&course_id=%lld",
		 (long long)c);
	got = get_json(path);
	json_t *items = json_object_get(got, "items");
	ck_assert_uint_eq(json_array_size(items), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(items, 0), "id")), t);
	json_decref(got);

	const char *cause = "Robert'); DELETE FROM courses WHERE ('1'='1";
	json_t *dead = json_pack("{s:s, s:s, s:s}", "vital_status", "dead", "died_on", "1990-01-01",
				 "death_cause", cause);
	char *dtext = json_dumps(dead, JSON_COMPACT);
	int64_t q = make_patient(dtext);
	snprintf(path, sizeof path, "/patients/%lld", (long long)q);
	got = get_json(path);
	ck_assert_str_eq(json_string_value(json_object_get(got, "death_cause")), cause);
	json_decref(got);
	ck_assert_int_eq(db_count("patients"), patients + 2);
	ck_assert_int_ge(db_count("courses"), 1);
	json_decref(dead);
	free(dtext);
	json_decref(extra);
	free(text);
}
END_TEST

/* --- numbers ------------------------------------------------------------- */

START_TEST(test_integer_beyond_int64_is_400)
{
	refused_malformed("POST", "/patients", "{\"age\":99999999999999999999}");
	refused_malformed("POST", "/patients", "{\"age\":-99999999999999999999}");
	refused_malformed("POST", "/patients", "{\"age\":9223372036854775808}");
	refused_malformed("POST", "/courses",
			  "{\"patient_id\":99999999999999999999,\"started_on\":\"1985-02-01\"}");
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	refused_malformed("PATCH", path, "{\"age\":99999999999999999999}");
	ck_assert_int_eq(get_version(path), 1);
}
END_TEST

START_TEST(test_int64_extremes_are_422_out_of_range)
{
	patient_refused("{\"age\":9223372036854775807}", "age");
	patient_refused("{\"age\":-9223372036854775808}", "age");
	patient_refused("{\"age\":121}", "age");
	patient_refused("{\"age\":-1}", "age");
	int64_t p = make_patient(NULL);
	char *body = course_body(p, "{\"doses_given\":9223372036854775807}");
	refused_only("POST", "/courses", body, "doses_given", NULL);
	free(body);
	body = course_body(p, "{\"number\":-9223372036854775808}");
	refused_only("POST", "/courses", body, "number", NULL);
	free(body);
	/* in range for the type, but no such patient */
	refused_only("POST", "/courses",
		     "{\"patient_id\":9223372036854775807,\"started_on\":\"1985-02-01\"}",
		     "patient_id", NULL);
}
END_TEST

START_TEST(test_huge_float_is_400)
{
	refused_malformed("POST", "/patients", "{\"age\":1e400}");
	refused_malformed("POST", "/patients", "{\"age\":-1e400}");
	int64_t p = make_patient(NULL);
	char body[160];
	snprintf(body, sizeof body,
		 "{\"patient_id\":%lld,\"started_on\":\"1985-02-01\",\"il2_dose\":1e400,"
		 "\"il2_dose_unit\":\"IU/kg\"}",
		 (long long)p);
	refused_malformed("POST", "/courses", body);
	/* an underflow is parsed as 0, which is not a dose */
	snprintf(body, sizeof body,
		 "{\"patient_id\":%lld,\"started_on\":\"1985-02-01\",\"il2_dose\":1e-400,"
		 "\"il2_dose_unit\":\"IU/kg\"}",
		 (long long)p);
	refused_only("POST", "/courses", body, "il2_dose", NULL);
}
END_TEST

/* --- non-object bodies ------------------------------------------------- */

START_TEST(test_non_object_body_is_422_on_the_empty_field)
{
	static const char *const bodies[] = {"[]", "[{}]", "\"x\"", "42", "-1.5", "null", "true"};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		refused_only("POST", "/patients", bodies[i], "", "JSON object");
		refused_only("POST", "/toxicities", bodies[i], "", "JSON object");
	}
}
END_TEST

START_TEST(test_non_object_merge_patch_is_422_and_changes_nothing)
{
	static const char *const bodies[] = {"[]", "\"x\"", "7", "null", "false"};
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	json_t *orig = get_json(path);
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
		refused_only("PATCH", path, bodies[i], "", "JSON object");
	json_t *now = get_json(path);
	ck_assert(json_equal(orig, now));
	json_decref(orig);
	json_decref(now);
}
END_TEST

/* --- Content-Type --------------------------------------------------------- */

START_TEST(test_wrong_content_type_on_post_is_415)
{
	static const char *const types[] = {
		"Content-Type: text/plain",
		"Content-Type:", /* none at all */
		"Content-Type: application/jsonx",
		"Content-Type: application/json+x",
		"Content-Type: application/json-patch+json",
		"Content-Type: application/merge-patch+json",
		"Content-Type: application/x-www-form-urlencoded",
		"Content-Type: multipart/form-data; boundary=x",
		"Content-Type: text/json",
		"Content-Type: json",
	};
	char *body = patient_body(NULL);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		const char *const headers[] = {types[i], NULL};
		assert_refused("POST", "/patients", headers, body, 415, MEDIA_TYPE, NULL);
	}
	const char *const plain[] = {"Content-Type: text/plain", NULL};
	assert_refused("POST", "/courses", plain, "{}", 415, MEDIA_TYPE, NULL);
	free(body);
}
END_TEST

START_TEST(test_media_type_is_checked_before_the_json)
{
	const char *const plain[] = {"Content-Type: text/plain", NULL};
	assert_refused("POST", "/patients", plain, "{\"code\":", 415, MEDIA_TYPE, NULL);
	char *big = padded_body(2 * ONE_MIB);
	/* but a body too large is refused before anything is read */
	refused_bytes("POST", "/patients", plain, big, 2 * ONE_MIB, 413, TOO_LARGE, NULL);
	free(big);
}
END_TEST

START_TEST(test_wrong_content_type_on_patch_is_415)
{
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	static const char *const types[] = {"Content-Type: text/plain", "Content-Type:",
					    "Content-Type: application/json-patch+json",
					    "Content-Type: application/merge-patch+jsonx"};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		const char *const headers[] = {types[i], NULL};
		assert_refused("PATCH", path, headers, "{\"age\":30}", 415, MEDIA_TYPE, NULL);
	}
	ck_assert_int_eq(get_version(path), 1);
}
END_TEST

START_TEST(test_json_with_charset_parameter_is_accepted)
{
	static const char *const types[] = {
		"Content-Type: application/json; charset=utf-8",
		"Content-Type: application/json;charset=UTF-8",
		"Content-Type: Application/JSON",
	};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		const char *const headers[] = {types[i], NULL};
		char *body = patient_body("{\"age\":33}");
		struct resp *r = http("POST", "/patients", headers, body, strlen(body));
		ck_assert_msg(r->status == 201, "%s -> %ld %s", types[i], r->status, r->body);
		char path[64];
		snprintf(path, sizeof path, "%s", resp_header(r, "Location"));
		json_t *got = get_json(path);
		ck_assert_int_eq(json_integer_value(json_object_get(got, "age")), 33);
		json_decref(got);
		resp_free(r);
		free(body);
	}
}
END_TEST

START_TEST(test_patch_accepts_json_and_merge_patch_with_charset)
{
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	const char *const json[] = {"Content-Type: application/json", NULL};
	struct resp *r = http("PATCH", path, json, "{\"age\":30}", 10);
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	resp_free(r);
	const char *const merge[] = {"Content-Type: application/merge-patch+json; charset=utf-8",
				     NULL};
	r = http("PATCH", path, merge, "{\"age\":31}", 10);
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	resp_free(r);
	json_t *got = get_json(path);
	ck_assert_int_eq(json_integer_value(json_object_get(got, "age")), 31);
	ck_assert_int_eq(json_integer_value(json_object_get(got, "version")), 3);
	json_decref(got);
}
END_TEST

/* A body with far more members than a record has fields is refused as a
 * whole, not member by member. */
START_TEST(test_body_with_thousands_of_members_is_one_422)
{
	char *body = malloc(200000);
	size_t len = (size_t)sprintf(body, "{");
	for (int i = 0; i < 10000; i++)
		len += (size_t)sprintf(body + len, "%s\"m%d\":1", i ? "," : "", i);
	sprintf(body + len, "}");
	static const char *const ct[] = {"Content-Type: application/json", NULL};
	char *before = db_fingerprint();
	struct resp *r = http("POST", "/patients", ct, body, strlen(body));
	assert_problem(r, 422, "urn:cohortd:problem:validation");
	ck_assert_uint_eq(json_array_size(json_object_get(r->json, "errors")), 1);
	assert_field_error(r, "");
	ck_assert_uint_lt(r->len, 1024);
	assert_unchanged(before);
	resp_free(r);
	free(body);
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("test_bad_input", &tc);
	tcase_add_test(tc, test_malformed_json_is_400);
	tcase_add_test(tc, test_every_truncation_of_a_valid_body_is_400);
	tcase_add_test(tc, test_empty_body_is_400);
	tcase_add_test(tc, test_duplicate_keys_are_400);
	tcase_add_test(tc, test_ten_thousand_nested_arrays_are_400);
	tcase_add_test(tc, test_ten_thousand_nested_objects_are_400);
	tcase_add_test(tc, test_nesting_depth_limit_is_2048);
	tcase_add_test(tc, test_malformed_json_is_400_on_every_collection);
	tcase_add_test(tc, test_two_mib_body_with_content_length_is_413);
	tcase_add_test(tc, test_two_mib_chunked_body_is_413);
	tcase_add_test(tc, test_body_with_thousands_of_members_is_one_422);
	tcase_add_test(tc, test_declared_oversize_is_refused_before_the_body_is_sent);
	tcase_add_test(tc, test_chunked_body_within_limit_is_accepted);
	tcase_add_test(tc, test_body_of_exactly_one_mib_is_read_and_one_byte_more_is_413);
	tcase_add_test(tc, test_wrong_types_on_patient_fields_are_422);
	tcase_add_test(tc, test_wrong_types_on_course_fields_are_422);
	tcase_add_test(tc, test_wrong_types_on_outcome_and_toxicity_fields_are_422);
	tcase_add_test(tc, test_wrong_type_in_patch_is_422_and_changes_nothing);
	tcase_add_test(tc, test_every_problem_is_reported_in_one_answer);
	tcase_add_test(tc, test_impossible_dates_are_422);
	tcase_add_test(tc, test_impossible_dates_are_422_on_every_date_field);
	tcase_add_test(tc, test_leap_day_2024_is_accepted);
	tcase_add_test(tc, test_unknown_fields_are_422);
	tcase_add_test(tc, test_server_managed_fields_are_422_on_create);
	tcase_add_test(tc, test_server_managed_fields_are_422_on_patch);
	tcase_add_test(tc, test_escaped_nul_in_a_string_is_422_on_that_field);
	tcase_add_test(tc, test_escaped_nul_in_a_key_is_400);
	tcase_add_test(tc, test_raw_nul_byte_in_body_is_400);
	tcase_add_test(tc, test_invalid_utf8_is_400);
	tcase_add_test(tc, test_invalid_utf8_in_path_and_query_key_is_quoted_safely);
	tcase_add_test(tc, test_valid_utf8_text_is_stored_verbatim);
	tcase_add_test(tc, test_bidi_controls_and_zero_width_characters_are_refused_in_text);
	tcase_add_test(tc, test_sql_text_in_code_is_422);
	tcase_add_test(tc, test_sql_text_in_free_text_is_stored_verbatim);
	tcase_add_test(tc, test_integer_beyond_int64_is_400);
	tcase_add_test(tc, test_int64_extremes_are_422_out_of_range);
	tcase_add_test(tc, test_huge_float_is_400);
	tcase_add_test(tc, test_non_object_body_is_422_on_the_empty_field);
	tcase_add_test(tc, test_non_object_merge_patch_is_422_and_changes_nothing);
	tcase_add_test(tc, test_wrong_content_type_on_post_is_415);
	tcase_add_test(tc, test_media_type_is_checked_before_the_json);
	tcase_add_test(tc, test_wrong_content_type_on_patch_is_415);
	tcase_add_test(tc, test_json_with_charset_parameter_is_accepted);
	tcase_add_test(tc, test_patch_accepts_json_and_merge_patch_with_charset);
	return run_suite(s);
}

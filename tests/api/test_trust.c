/* Trust (issue 4): bearer tokens and roles (every route of the route table x
 * no token, a bad token, a revoked token, reader, editor and admin), the
 * token CLI (list never shows a token; revocation takes effect at once; a
 * token is never stored or logged in clear), anonymous access, the audit
 * trail (one row per changed record with before/after, actor, reason and
 * request id; nothing for refused requests or no-op patches; history;
 * Change-Reason; append-only triggers; /audit/verify on an intact and on a
 * tampered chain), Idempotency-Key (replay, reuse, bad keys, refused
 * requests, per-token keys, concurrent retries), CORS and request ids. */
#include <curl/curl.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth.h"
#include "digest.h"
#include "harness.h"
#include "router.h"
#include "routes.h"

#define UNAUTHORIZED      "urn:cohortd:problem:unauthorized"
#define FORBIDDEN         "urn:cohortd:problem:forbidden"
#define VALIDATION        "urn:cohortd:problem:validation"
#define NOT_FOUND         "urn:cohortd:problem:not-found"
#define DUPLICATE         "urn:cohortd:problem:duplicate"
#define HAS_DEPENDANTS    "urn:cohortd:problem:has-dependants"
#define PRECONDITION      "urn:cohortd:problem:precondition-failed"
#define INVALID_PARAM     "urn:cohortd:problem:invalid-parameter"
#define KEY_REUSED        "urn:cohortd:problem:idempotency-key-reused"
#define KEY_IN_FLIGHT     "urn:cohortd:problem:idempotency-key-in-flight"
#define CHALLENGE         "Bearer realm=\"cohortd\""
#define CHALLENGE_INVALID "Bearer realm=\"cohortd\", error=\"invalid_token\""
#define ORIGIN            "https://dash.example"
#define BAD_TOKEN         "cohortd_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const char *const json_ct[] = {"Content-Type: application/json", NULL};

/* Tokens made by the fixture (in Check's parent, so every test sees them). */
static char reader_token[128], editor_token[128], revoked_token[128];
static char reader_auth[200], editor_auth[200], revoked_auth[200];

/* --- helpers -------------------------------------------------------------- */

/* Runs `cohortd ARGS --db <test db>`; returns the exit status and (if out)
 * everything it printed on stdout and stderr. */
static int cli(const char *args, char *out, size_t out_len)
{
	const char *bin = getenv("COHORTD_BIN");
	char cmd[1500];
	snprintf(cmd, sizeof cmd, "'%s' %s --db '%s' 2>&1", bin ? bin : "./cohortd", args,
		 api_db_path());
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t used = 0;
	char buf[512];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
		if (out && used + n < out_len) {
			memcpy(out + used, buf, n);
			used += n;
		}
	}
	if (out)
		out[used] = '\0';
	int status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void set_auth(char *out, size_t len, const char *token)
{
	snprintf(out, len, "Authorization: Bearer %s", token);
}

static void trust_start(void)
{
	api_start();
	char *t = api_token_create("reader", "t-reader");
	snprintf(reader_token, sizeof reader_token, "%s", t);
	free(t);
	t = api_token_create("editor", "t-editor");
	snprintf(editor_token, sizeof editor_token, "%s", t);
	free(t);
	t = api_token_create("editor", "t-revoked");
	snprintf(revoked_token, sizeof revoked_token, "%s", t);
	free(t);
	set_auth(reader_auth, sizeof reader_auth, reader_token);
	set_auth(editor_auth, sizeof editor_auth, editor_token);
	set_auth(revoked_auth, sizeof revoked_auth, revoked_token);
	if (cli("token revoke t-revoked", NULL, 0) != 0) {
		fprintf(stderr, "test_trust: could not revoke t-revoked\n");
		exit(1);
	}
}

static void anonymous_start(void)
{
	api_start_with((const char *[]){"--anonymous", "reader", NULL});
}

static void cors_start(void)
{
	api_start_with((const char *[]){"--cors-origin", ORIGIN, NULL});
}

static json_t *get_record(const char *entity, int64_t id)
{
	char path[96];
	snprintf(path, sizeof path, "/%s/%lld", entity, (long long)id);
	return get_json(path);
}

/* The highest audit sequence number, read from the database. */
static int64_t audit_seq(void)
{
	char row[32];
	db_query_row("SELECT coalesce(max(seq), 0) FROM audit", row, sizeof row);
	return strtoll(row, NULL, 10);
}

/* Audit rows after seq (as GET /audit answers them). Caller decrefs. */
static json_t *audit_after(int64_t seq)
{
	char path[96];
	snprintf(path, sizeof path, "/audit?after=%lld&limit=1000", (long long)seq);
	json_t *page = get_json(path);
	json_t *items = json_incref(json_object_get(page, "items"));
	ck_assert(json_is_array(items));
	ck_assert(json_is_null(json_object_get(page, "next")));
	json_decref(page);
	return items;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int64_t num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* Asserts one audit row: what, who, why, which request; before/after
 * compared with record answers (NULL: must be null). */
static void assert_audit_row(json_t *row, const char *action, const char *entity, int64_t id,
			     json_t *before, json_t *after, const char *actor, const char *reason,
			     const char *request_id)
{
	char *text = json_dumps(row, JSON_COMPACT);
	ck_assert_msg(str(row, "action") && strcmp(str(row, "action"), action) == 0, "row %s",
		      text);
	ck_assert_str_eq(str(row, "entity"), entity);
	ck_assert_int_eq(num(row, "entity_id"), id);
	ck_assert_str_eq(str(row, "actor"), actor);
	if (reason)
		ck_assert_str_eq(str(row, "reason"), reason);
	else
		ck_assert_msg(json_is_null(json_object_get(row, "reason")), "reason in %s", text);
	ck_assert_str_eq(str(row, "request_id"), request_id);
	json_t *b = json_object_get(row, "before"), *a = json_object_get(row, "after");
	if (before)
		ck_assert_msg(json_equal(b, before), "before differs from the record: %s", text);
	else
		ck_assert_msg(json_is_null(b), "before should be null: %s", text);
	if (after)
		ck_assert_msg(json_equal(a, after), "after differs from the record: %s", text);
	else
		ck_assert_msg(json_is_null(a), "after should be null: %s", text);
	ck_assert_uint_eq(strlen(str(row, "hash")), 64);
	ck_assert_uint_eq(strlen(str(row, "prev_hash")), 64);
	free(text);
}

static void assert_header(const struct resp *r, const char *name, const char *want)
{
	const char *got = resp_header(r, name);
	ck_assert_msg(got != NULL, "no %s header in %s", name, r->headers);
	ck_assert_str_eq(got, want);
}

/* How many header lines named name the answer has. */
static int header_count(const struct resp *r, const char *name)
{
	int count = 0;
	size_t n = strlen(name);
	for (const char *line = r->headers; line && *line;) {
		const char *end = strstr(line, "\r\n");
		if (!end)
			end = line + strlen(line);
		if ((size_t)(end - line) > n && strncasecmp(line, name, n) == 0 && line[n] == ':')
			count++;
		line = *end ? end + 2 : end;
	}
	return count;
}

/* True when a header line starts with "Access-Control-". */
static bool has_cors_headers(const struct resp *r)
{
	for (const char *line = r->headers; (line = strstr(line, "\n")) != NULL;) {
		line++;
		if (strncasecmp(line, "Access-Control-", 15) == 0)
			return true;
	}
	return false;
}

static void assert_unauthorized(const struct resp *r, const char *challenge)
{
	assert_problem(r, 401, UNAUTHORIZED);
	assert_header(r, "WWW-Authenticate", challenge);
}

/* A refusal under /fhir: the same status, as a FHIR OperationOutcome whose
 * first issue has the FHIR issue code for it. */
static void assert_fhir_refusal(const struct resp *r, long status, const char *code)
{
	ck_assert_msg(r->status == status, "expected %ld, got %ld: %s", status, r->status, r->body);
	ck_assert_str_eq(resp_header(r, "Content-Type"), "application/fhir+json");
	ck_assert_str_eq(json_string_value(json_object_get(r->json, "resourceType")),
			 "OperationOutcome");
	json_t *issue = json_array_get(json_object_get(r->json, "issue"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(issue, "code")), code);
}

static bool is_uuid4(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!strchr("0123456789abcdef", s[i])) {
			return false;
		}
	}
	return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

/* Reads a whole file (empty when it does not exist). */
static char *slurp(const char *path, size_t *len)
{
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return calloc(1, 1);
	char *data = NULL;
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		data = realloc(data, *len + n + 1);
		memcpy(data + *len, buf, n);
		*len += n;
	}
	fclose(f);
	if (!data)
		data = calloc(1, 1);
	data[*len] = '\0';
	return data;
}

static bool contains_bytes(const char *data, size_t len, const char *needle)
{
	return memmem(data, len, needle, strlen(needle)) != NULL;
}

static struct resp *patch_as(const char *auth, const char *path, const char *body)
{
	const char *const headers[] = {"Content-Type: application/merge-patch+json", auth, NULL};
	return http("PATCH", path, headers, body, strlen(body));
}

static char *patient_body(void)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "code", unique_code("TR"), "histology",
			      "melanoma", "setting", "metastatic", "regimen", "il2_alone",
			      "enrolled_on", "1985-01-10");
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return text;
}

/* --- the role matrix ------------------------------------------------------ */

enum who { NO_TOKEN, BAD, REVOKED, READER, EDITOR, ADMIN, NWHO };
static const char *const who_names[] = {"no token", "bad token", "revoked token",
					"reader",   "editor",    "admin"};

static const char *who_header(enum who w)
{
	static char admin_auth[200];
	switch (w) {
	case NO_TOKEN: return "Authorization:";
	case BAD: return "Authorization: Bearer " BAD_TOKEN;
	case REVOKED: return revoked_auth;
	case READER: return reader_auth;
	case EDITOR: return editor_auth;
	default: set_auth(admin_auth, sizeof admin_auth, api_admin_token()); return admin_auth;
	}
}

static int who_role(enum who w)
{
	return w == READER ? ROLE_READER : w == EDITOR ? ROLE_EDITOR : w == ADMIN ? ROLE_ADMIN : 0;
}

/* The id that {id} stands for in pattern: the record of the resource the
 * path starts with; DELETE gets a fresh record, since it may succeed. */
static int64_t id_for(const char *method, const char *pattern, const struct family *f)
{
	bool del = strcmp(method, "DELETE") == 0;
	if (strncmp(pattern, "/patients/", 10) == 0)
		return del ? make_patient(NULL) : f->patient;
	if (strncmp(pattern, "/courses/", 9) == 0)
		return del ? make_course(f->patient, NULL) : f->course;
	if (strncmp(pattern, "/outcomes/", 10) == 0)
		return del ? make_outcome(f->course, NULL) : f->outcome;
	if (strncmp(pattern, "/toxicities/", 12) == 0)
		return del ? make_toxicity(f->course, NULL) : f->toxicity;
	ck_abort_msg("no id for %s", pattern);
	return 0;
}

static char *matrix_body(const char *method, const char *pattern, const struct family *f, int n)
{
	json_t *j = NULL;
	if (strcmp(method, "POST") == 0) {
		if (strcmp(pattern, "/patients") == 0)
			j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "code", unique_code("RM"),
				      "histology", "renal_cell", "setting", "metastatic", "regimen",
				      "il2_lak", "enrolled_on", "1985-01-10");
		else if (strcmp(pattern, "/courses") == 0)
			j = json_pack("{s:I, s:s}", "patient_id", (json_int_t)f->patient,
				      "started_on", "1985-03-01");
		else if (strcmp(pattern, "/outcomes") == 0)
			j = json_pack("{s:I, s:s, s:s}", "course_id", (json_int_t)f->course,
				      "assessed_on", "1985-05-01", "response", "SD");
		else if (strcmp(pattern, "/toxicities") == 0)
			j = json_pack("{s:I, s:s, s:i, s:s, s:s}", "course_id",
				      (json_int_t)f->course, "term", "Fever", "grade", 2,
				      "onset_on", "1985-02-03", "attribution", "possible");
	} else if (strcmp(method, "PATCH") == 0) {
		if (strncmp(pattern, "/patients", 9) == 0)
			j = json_pack("{s:i}", "age", 20 + n % 80);
		else if (strncmp(pattern, "/courses", 8) == 0)
			j = json_pack("{s:i}", "doses_given", n % 30);
		else if (strncmp(pattern, "/outcomes", 9) == 0)
			j = json_pack("{s:b}", "confirmed", n % 2);
		else if (strncmp(pattern, "/toxicities", 11) == 0)
			j = json_pack("{s:b}", "serious", n % 2);
	}
	if (!j)
		return NULL;
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return text;
}

/* A route's pattern as a path this test can call: {id} the family's record
 * of that kind (a new one to delete), and each other segment a value of its
 * kind: an SDTM dataset, a FHIR type and id, a bulk export that is not. */
static void matrix_path(const struct route *rt, const struct family *f, char *path, size_t n)
{
	static const char *const words[][2] = {{"{domain}", "DM"},
					       {"{type}", "Patient"},
					       {"{job}", "00000000-0000-4000-8000-000000000000"},
					       {"{file}", "Patient.ndjson"}};
	path[0] = '\0';
	for (const char *p = rt->pattern; *p;) {
		size_t used = strlen(path);
		if (strncmp(p, "{id}", 4) == 0) {
			snprintf(path + used, n - used, "%lld",
				 (long long)id_for(rt->method, rt->pattern, f));
			p += 4;
			continue;
		}
		if (strncmp(p, "{ref}", 5) == 0) {
			snprintf(path + used, n - used, "%lld", (long long)f->patient);
			p += 5;
			continue;
		}
		bool word = false;
		for (size_t i = 0; i < sizeof words / sizeof *words && !word; i++)
			if (strncmp(p, words[i][0], strlen(words[i][0])) == 0) {
				snprintf(path + used, n - used, "%s", words[i][1]);
				p += strlen(words[i][0]);
				word = true;
			}
		if (!word) {
			ck_assert_msg(*p != '{', "no value for the segment of %s", rt->pattern);
			snprintf(path + used, n - used, "%c", *p++);
		}
	}
}

/* Routes this test knows how to call successfully: GETs without a body
 * (but the bulk export's, which needs a Prefer header, and its status and
 * files, of no export), and the writes of the four clinical resources. */
static bool known_route(const struct route *rt)
{
	static const char *const prefixes[] = {"/patients", "/courses", "/outcomes", "/toxicities"};
	if (strcmp(rt->method, "GET") == 0)
		return strcmp(rt->pattern, "/fhir/$export") != 0 &&
		       strncmp(rt->pattern, "/fhir/bulk/", 11) != 0;
	for (int i = 0; i < 4; i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(rt->pattern, prefixes[i], n) == 0 &&
		    (rt->pattern[n] == '\0' || strcmp(rt->pattern + n, "/{id}") == 0))
			return true;
	}
	return false;
}

static long success_status(const char *method)
{
	return strcmp(method, "POST") == 0 ? 201 : strcmp(method, "DELETE") == 0 ? 204 : 200;
}

/* Every route of the table, with every kind of caller: 401 without a valid
 * token, 403 below the route's role (nothing written either way), success
 * at or above it; public routes answer everyone. */
START_TEST(test_role_matrix_over_every_route)
{
	struct family f = make_family();
	int requests = 0;
	ck_assert_uint_ge(routes_count, 30);
	for (size_t i = 0; i < routes_count; i++) {
		const struct route *rt = &routes[i];
		for (int w = 0; w < NWHO; w++) {
			char path[160];
			matrix_path(rt, &f, path, sizeof path);
			bool fhir = strncmp(path, "/fhir/", 6) == 0;
			char *body = matrix_body(rt->method, rt->pattern, &f, requests);
			const char *headers[] = {
				who_header((enum who)w),
				strcmp(rt->method, "PATCH") == 0
					? "Content-Type: application/merge-patch+json"
					: "Content-Type: application/json",
				NULL};
			if (!body)
				headers[1] = NULL;
			char *before = db_fingerprint();
			int64_t seq = audit_seq();
			struct resp *r =
				http(rt->method, path, headers, body, body ? strlen(body) : 0);
			requests++;
			bool refused = false;
			if (rt->role == ROLE_NONE) {
				ck_assert_msg(r->status == 200, "%s %s as %s -> %ld %s", rt->method,
					      path, who_names[w], r->status, r->body);
			} else if (w == NO_TOKEN || w == BAD || w == REVOKED) {
				const char *challenge =
					w == NO_TOKEN ? CHALLENGE : CHALLENGE_INVALID;
				if (fhir) {
					assert_fhir_refusal(r, 401, "login");
					assert_header(r, "WWW-Authenticate", challenge);
				} else {
					assert_unauthorized(r, challenge);
				}
				refused = true;
			} else if (who_role((enum who)w) < rt->role) {
				if (fhir)
					assert_fhir_refusal(r, 403, "forbidden");
				else
					assert_problem(r, 403, FORBIDDEN);
				ck_assert_ptr_null(resp_header(r, "WWW-Authenticate"));
				refused = true;
			} else if (known_route(rt)) {
				ck_assert_msg(r->status == success_status(rt->method),
					      "%s %s as %s -> %ld %s", rt->method, path,
					      who_names[w], r->status, r->body);
			} else {
				/* a route this test has no body for: let in, at least */
				ck_assert_msg(r->status != 401 && r->status != 403 &&
						      r->status < 500,
					      "%s %s as %s -> %ld %s", rt->method, path,
					      who_names[w], r->status, r->body);
			}
			if (refused) {
				char *after = db_fingerprint();
				ck_assert_msg(strcmp(before, after) == 0, "%s %s as %s wrote",
					      rt->method, path, who_names[w]);
				ck_assert_int_eq(audit_seq(), seq);
				free(after);
			}
			free(before);
			free(body);
			resp_free(r);
		}
	}
	ck_assert_int_eq(requests, (int)routes_count * NWHO);
}
END_TEST

START_TEST(test_public_routes_need_no_token)
{
	static const char *const paths[] = {"/healthz", "/readyz", "/openapi.yaml"};
	static const char *const none[] = {"Authorization:", NULL};
	for (size_t i = 0; i < 3; i++) {
		struct resp *r = http("GET", paths[i], none, NULL, 0);
		ck_assert_msg(r->status == 200, "%s -> %ld", paths[i], r->status);
		ck_assert_ptr_null(resp_header(r, "WWW-Authenticate"));
		resp_free(r);
	}
}
END_TEST

START_TEST(test_missing_token_is_401_with_bearer_challenge)
{
	static const char *const none[] = {"Authorization:", NULL};
	struct resp *r = http("GET", "/patients", none, NULL, 0);
	assert_unauthorized(r, CHALLENGE);
	ck_assert_ptr_null(json_object_get(r->json, "items"));
	resp_free(r);
}
END_TEST

START_TEST(test_malformed_or_unknown_token_is_401_invalid_token)
{
	char tampered[200];
	snprintf(tampered, sizeof tampered, "Authorization: Bearer %s", api_admin_token());
	char *last = tampered + strlen(tampered) - 1;
	*last = *last == '0' ? '1' : '0';
	char longer[220], bare[200], basic[200];
	snprintf(longer, sizeof longer, "Authorization: Bearer %s0", api_admin_token());
	snprintf(bare, sizeof bare, "Authorization: %s", api_admin_token());
	snprintf(basic, sizeof basic, "Authorization: Basic %s", api_admin_token());
	const char *const bad[] = {"Authorization: Bearer " BAD_TOKEN,
				   tampered,
				   longer,
				   bare,
				   basic,
				   "Authorization: Bearer",
				   "Authorization: Bearer cohortd_",
				   "Authorization: Bearer not-a-token"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *const headers[] = {bad[i], NULL};
		struct resp *r = http("GET", "/patients", headers, NULL, 0);
		ck_assert_msg(r->status == 401, "%s -> %ld", bad[i], r->status);
		assert_unauthorized(r, CHALLENGE_INVALID);
		resp_free(r);
	}
}
END_TEST

START_TEST(test_reader_write_is_403_forbidden_and_changes_nothing)
{
	int64_t p = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)p);
	int64_t seq = audit_seq();
	char *body = patient_body();
	const char *const post[] = {"Content-Type: application/json", reader_auth, NULL};
	assert_refused("POST", "/patients", post, body, 403, FORBIDDEN, NULL);
	const char *const patch[] = {"Content-Type: application/merge-patch+json", reader_auth,
				     NULL};
	assert_refused("PATCH", path, patch, "{\"age\": 40}", 403, FORBIDDEN, NULL);
	const char *const del[] = {reader_auth, NULL};
	assert_refused("DELETE", path, del, NULL, 403, FORBIDDEN, NULL);
	const char *const audit[] = {editor_auth, NULL};
	struct resp *r = http("GET", "/audit", audit, NULL, 0);
	assert_problem(r, 403, FORBIDDEN);
	resp_free(r);
	ck_assert_int_eq(audit_seq(), seq);
	free(body);
}
END_TEST

/* Route matching comes first (404/405/OPTIONS need no token), then the
 * token, before parameters, Change-Reason, media type and JSON. */
START_TEST(test_auth_is_checked_after_routing_and_before_everything_else)
{
	static const char *const none[] = {"Authorization:", NULL};
	struct resp *r = http("GET", "/nowhere", none, NULL, 0);
	assert_problem(r, 404, NOT_FOUND);
	resp_free(r);
	r = http("PUT", "/patients", none, NULL, 0);
	assert_problem(r, 405, "urn:cohortd:problem:method-not-allowed");
	resp_free(r);
	r = http("OPTIONS", "/audit", none, NULL, 0);
	ck_assert_int_eq(r->status, 204);
	resp_free(r);
	/* no token + a bad parameter + bad JSON: 401 */
	static const char *const none_json[] = {"Authorization:", "Content-Type: text/plain", NULL};
	r = http("POST", "/patients?x=1", none_json, "{", 1);
	assert_unauthorized(r, CHALLENGE);
	resp_free(r);
	r = http("GET", "/patients?limit=0", none, NULL, 0);
	assert_unauthorized(r, CHALLENGE);
	resp_free(r);
	/* reader + no Change-Reason + wrong media type + bad JSON: 403 */
	int64_t p = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)p);
	const char *const reader_bad[] = {reader_auth, "Change-Reason:", "Content-Type: text/plain",
					  NULL};
	r = http("PATCH", path, reader_bad, "{", 1);
	assert_problem(r, 403, FORBIDDEN);
	resp_free(r);
	/* editor: the reason is checked before the media type */
	const char *const editor_bad[] = {editor_auth, "Change-Reason:", "Content-Type: text/plain",
					  NULL};
	r = http("PATCH", path, editor_bad, "{", 1);
	assert_problem(r, 422, VALIDATION);
	assert_field_error(r, "Change-Reason");
	resp_free(r);
}
END_TEST

/* --- tokens ---------------------------------------------------------------- */

START_TEST(test_revoked_token_stops_at_once)
{
	char name[64], args[128], auth[200];
	snprintf(name, sizeof name, "%s", unique_code("rv"));
	char *token = api_token_create("editor", name);
	set_auth(auth, sizeof auth, token);
	const char *const headers[] = {auth, NULL};
	struct resp *r = http("GET", "/patients", headers, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
	snprintf(args, sizeof args, "token revoke %s", name);
	ck_assert_int_eq(cli(args, NULL, 0), 0);
	r = http("GET", "/patients", headers, NULL, 0);
	assert_unauthorized(r, CHALLENGE_INVALID);
	resp_free(r);
	char *body = patient_body();
	const char *const post[] = {"Content-Type: application/json", auth, NULL};
	assert_refused("POST", "/patients", post, body, 401, UNAUTHORIZED, NULL);
	free(body);
	/* revoked once: revoking again fails */
	ck_assert_int_eq(cli(args, NULL, 0), 1);
	free(token);
}
END_TEST

/* A point read sends its token's lookup with the record's read, once that
 * lookup is prepared on the worker's connection (PostgreSQL: one round
 * trip; router.c). A refused token still gets the refusal, never the record
 * nor what the read alone would answer (404, 400, 304), and the next
 * request on that connection is answered as its own token deserves. */
START_TEST(test_a_point_read_answers_its_token_first_on_a_warm_connection)
{
	char name[64], args[128], auth[200], etag[64];
	snprintf(name, sizeof name, "%s", unique_code("pr"));
	char *token = api_token_create("reader", name);
	set_auth(auth, sizeof auth, token);
	int64_t p = make_patient(NULL);
	char path[64], query[80], missing[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)p);
	snprintf(query, sizeof query, "/patients/%lld?x=1", (long long)p);
	snprintf(missing, sizeof missing, "/patients/%lld", (long long)p + 1000000);
	const char *const headers[] = {auth, NULL};
	/* every worker's connection has run the lookup (and so prepared it) */
	for (int i = 0; i < 24; i++) {
		struct resp *r = http("GET", path, headers, NULL, 0);
		ck_assert_int_eq(r->status, 200);
		snprintf(etag, sizeof etag, "If-None-Match: %s", resp_header(r, "ETag"));
		resp_free(r);
	}
	snprintf(args, sizeof args, "token revoke %s", name);
	ck_assert_int_eq(cli(args, NULL, 0), 0);
	const char *const unknown[] = {"Authorization: Bearer " BAD_TOKEN, NULL};
	const char *const conditional[] = {auth, etag, NULL};
	for (int i = 0; i < 12; i++) {
		struct resp *r = http("GET", path, headers, NULL, 0);
		assert_unauthorized(r, CHALLENGE_INVALID);
		ck_assert_ptr_null(strstr(r->body, "\"code\""));
		resp_free(r);
		r = http("GET", path, unknown, NULL, 0);
		assert_unauthorized(r, CHALLENGE_INVALID);
		resp_free(r);
		r = http("GET", missing, headers, NULL, 0); /* not 404 */
		assert_unauthorized(r, CHALLENGE_INVALID);
		resp_free(r);
		r = http("GET", query, headers, NULL, 0); /* not 400 */
		assert_unauthorized(r, CHALLENGE_INVALID);
		resp_free(r);
		r = http("GET", path, conditional, NULL, 0); /* not 304 */
		assert_unauthorized(r, CHALLENGE_INVALID);
		resp_free(r);
		/* and a valid token just after, on any of those connections */
		const char *const reader[] = {reader_auth, NULL};
		r = http("GET", path, reader, NULL, 0);
		ck_assert_int_eq(r->status, 200);
		ck_assert_ptr_nonnull(strstr(r->body, "\"code\""));
		resp_free(r);
		r = http("GET", missing, reader, NULL, 0);
		ck_assert_int_eq(r->status, 404);
		resp_free(r);
	}
	free(token);
}
END_TEST

START_TEST(test_token_cli_refuses_unknown_revoke_and_duplicate_name)
{
	char out[2048];
	ck_assert_int_eq(cli("token revoke no-such-token", out, sizeof out), 1);
	ck_assert_int_ne(cli("token create --role reader --name t-reader", out, sizeof out), 0);
	ck_assert_ptr_null(strstr(out, "cohortd_"));
	ck_assert_int_ne(cli("token create --role root --name t-root", out, sizeof out), 0);
	/* the existing t-reader token still works */
	const char *const headers[] = {reader_auth, NULL};
	struct resp *r = http("GET", "/patients", headers, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
}
END_TEST

/* No token may pass for a request without one ("anonymous" in the audit
 * trail) or for the server's own writes ("cohortd import", "cohortd demo"). */
START_TEST(test_token_names_the_audit_keeps_for_others_are_refused)
{
	static const char *const reserved[] = {"anonymous", "Anonymous",      "ANONYMOUS",
					       "cohortd",   "cohortd-import", "CohortD.demo",
					       NULL};
	char out[2048], args[128];
	ck_assert_int_eq(cli("token list", out, sizeof out), 0);
	char *before = strdup(out);
	for (const char *const *name = reserved; *name; name++) {
		snprintf(args, sizeof args, "token create --role admin --name %s", *name);
		ck_assert_int_eq(cli(args, out, sizeof out), 1);
		ck_assert_msg(strstr(out, "reserved") != NULL, "%s: %s", *name, out);
		ck_assert_ptr_null(strstr(out, "cohortd_"));
	}
	ck_assert_int_eq(cli("token list", out, sizeof out), 0);
	ck_assert_str_eq(out, before);
	free(before);
	/* a name that merely contains them is a name like any other */
	ck_assert_int_eq(cli("token create --role reader --name not-anonymous", out, sizeof out),
			 0);
}
END_TEST

START_TEST(test_token_list_never_prints_a_token)
{
	char out[8192];
	ck_assert_int_eq(cli("token list", out, sizeof out), 0);
	ck_assert_msg(strstr(out, "test-admin") && strstr(out, "t-reader") &&
			      strstr(out, "t-editor") && strstr(out, "t-revoked"),
		      "list: %s", out);
	ck_assert_msg(strstr(out, "revoked 2") != NULL, "no revocation time: %s", out);
	ck_assert_ptr_null(strstr(out, "cohortd_"));
	const char *tokens[] = {api_admin_token(), reader_token, editor_token, revoked_token};
	for (int i = 0; i < 4; i++) {
		ck_assert_ptr_null(strstr(out, tokens[i] + 8));
		char hash[65];
		sha256_hex(tokens[i], strlen(tokens[i]), hash);
		ck_assert_ptr_null(strstr(out, hash));
	}
}
END_TEST

START_TEST(test_token_is_stored_only_as_its_sha256)
{
	ck_assert_uint_eq(strlen(reader_token), TOKEN_TEXT_LEN);
	ck_assert_int_eq(strncmp(reader_token, "cohortd_", 8), 0);
	ck_assert_str_ne(reader_token, editor_token);
	/* on either engine: the hash and the role, and no column holds more */
	char row[256], want[256];
	db_query_row("SELECT * FROM tokens WHERE name = 't-reader'", row, sizeof row);
	char hash[65];
	sha256_hex(reader_token, strlen(reader_token), hash);
	ck_assert_ptr_nonnull(strstr(row, hash));
	ck_assert_ptr_null(strstr(row, reader_token + 8));
	db_query_row("SELECT hash, role FROM tokens WHERE name = 't-reader'", row, sizeof row);
	snprintf(want, sizeof want, "%s/reader", hash);
	ck_assert_str_eq(row, want);
}
END_TEST

START_TEST(test_token_never_in_database_or_wal_in_clear)
{
	SKIP_ON_POSTGRESQL("greps SQLite's database and WAL files");
	/* use every token, so any cache or log table would hold them now */
	const char *auths[] = {reader_auth, editor_auth, revoked_auth};
	for (int i = 0; i < 3; i++) {
		const char *const headers[] = {auths[i], NULL};
		resp_free(http("GET", "/patients", headers, NULL, 0));
	}
	make_patient(NULL);
	const char *tokens[] = {api_admin_token(), reader_token, editor_token, revoked_token};
	static const char *const suffixes[] = {"", "-wal", "-journal", "-shm"};
	for (int s = 0; s < 4; s++) {
		char path[600];
		snprintf(path, sizeof path, "%s%s", api_db_path(), suffixes[s]);
		size_t len;
		char *data = slurp(path, &len);
		if (s == 0)
			ck_assert_uint_gt(len, 0);
		for (int i = 0; i < 4; i++) {
			ck_assert_msg(!contains_bytes(data, len, tokens[i] + 8),
				      "token %d found in %s", i, path);
		}
		free(data);
	}
}
END_TEST

START_TEST(test_token_never_in_server_log)
{
	const char *auths[] = {reader_auth, editor_auth, revoked_auth,
			       "Authorization: Bearer " BAD_TOKEN};
	for (int i = 0; i < 4; i++) {
		const char *const headers[] = {auths[i], NULL};
		resp_free(http("GET", "/audit", headers, NULL, 0));
		resp_free(http("POST", "/patients", headers, "{", 1));
	}
	/* request lines are written in blocks: wait for a last one, after all these */
	const char *const marker[] = {"X-Request-ID: trust-log-marker", NULL};
	resp_free(http("GET", "/healthz", marker, NULL, 0));
	size_t len = 0;
	char *log = NULL;
	for (int attempt = 0; attempt < 100; attempt++) {
		free(log);
		log = slurp(api_log_path(), &len);
		if (contains_bytes(log, len, "trust-log-marker"))
			break;
		usleep(50 * 1000);
	}
	ck_assert_msg(contains_bytes(log, len, "trust-log-marker"), "no log line for the marker");
	const char *tokens[] = {api_admin_token(), reader_token, editor_token, revoked_token,
				BAD_TOKEN};
	for (int i = 0; i < 5; i++)
		ck_assert_msg(!contains_bytes(log, len, tokens[i] + 8), "token %d in the log", i);
	free(log);
}
END_TEST

/* --- audit trail ------------------------------------------------------------ */

START_TEST(test_create_leaves_one_audit_row)
{
	int64_t seq = audit_seq();
	char *body = patient_body();
	const char *const headers[] = {"Content-Type: application/json", "Change-Reason: enrolment",
				       "X-Request-ID: trust-create-1", NULL};
	struct resp *r = http("POST", "/patients", headers, body, strlen(body));
	ck_assert_int_eq(r->status, 201);
	assert_header(r, "X-Request-ID", "trust-create-1");
	int64_t id = num(r->json, "id");
	json_t *rec = get_record("patients", id);
	ck_assert(json_equal(rec, r->json));
	json_t *rows = audit_after(seq);
	ck_assert_uint_eq(json_array_size(rows), 1);
	json_t *row = json_array_get(rows, 0);
	ck_assert_int_eq(num(row, "seq"), seq + 1);
	assert_audit_row(row, "create", "patients", id, NULL, rec, "test-admin", "enrolment",
			 "trust-create-1");
	/* without a reason on POST, the row's reason is null */
	seq = audit_seq();
	int64_t c = make_course(id, NULL);
	json_decref(rows);
	rows = audit_after(seq);
	ck_assert_uint_eq(json_array_size(rows), 1);
	json_t *course = get_record("courses", c);
	row = json_array_get(rows, 0);
	ck_assert_msg(is_uuid4(str(row, "request_id")), "generated request id %s",
		      str(row, "request_id"));
	assert_audit_row(row, "create", "courses", c, NULL, course, "test-admin", NULL,
			 str(row, "request_id"));
	json_decref(course);
	json_decref(rows);
	json_decref(rec);
	resp_free(r);
	free(body);
}
END_TEST

START_TEST(test_patch_by_editor_leaves_one_row_with_before_and_after)
{
	struct family f = make_family();
	const char *entities[] = {"patients", "courses", "outcomes", "toxicities"};
	int64_t ids[] = {f.patient, f.course, f.outcome, f.toxicity};
	const char *patches[] = {"{\"age\": 61, \"sex\": \"female\"}", "{\"doses_given\": 12}",
				 "{\"confirmed\": true}", "{\"serious\": true, \"grade\": 4}"};
	for (int i = 0; i < 4; i++) {
		json_t *before = get_record(entities[i], ids[i]);
		int64_t seq = audit_seq();
		char path[64];
		snprintf(path, sizeof path, "/%s/%lld", entities[i], (long long)ids[i]);
		const char *const headers[] = {"Content-Type: application/merge-patch+json",
					       editor_auth, "Change-Reason: source data verified",
					       NULL};
		struct resp *r = http("PATCH", path, headers, patches[i], strlen(patches[i]));
		ck_assert_msg(r->status == 200, "%s -> %ld %s", path, r->status, r->body);
		json_t *after = get_record(entities[i], ids[i]);
		ck_assert(json_equal(after, r->json));
		ck_assert_int_eq(num(after, "version"), num(before, "version") + 1);
		json_t *rows = audit_after(seq);
		ck_assert_uint_eq(json_array_size(rows), 1);
		assert_audit_row(json_array_get(rows, 0), "update", entities[i], ids[i], before,
				 after, "t-editor", "source data verified",
				 resp_header(r, "X-Request-ID"));
		json_decref(rows);
		json_decref(before);
		json_decref(after);
		resp_free(r);
	}
}
END_TEST

START_TEST(test_delete_leaves_one_audit_row)
{
	struct family f = make_family();
	const char *entities[] = {"toxicities", "outcomes", "courses", "patients"};
	int64_t ids[] = {f.toxicity, f.outcome, f.course, f.patient};
	for (int i = 0; i < 4; i++) {
		json_t *before = get_record(entities[i], ids[i]);
		int64_t seq = audit_seq();
		char path[64];
		snprintf(path, sizeof path, "/%s/%lld", entities[i], (long long)ids[i]);
		const char *const headers[] = {"Change-Reason: entered twice",
					       "X-Request-ID: trust-del", NULL};
		struct resp *r = http("DELETE", path, headers, NULL, 0);
		ck_assert_int_eq(r->status, 204);
		json_t *rows = audit_after(seq);
		ck_assert_uint_eq(json_array_size(rows), 1);
		assert_audit_row(json_array_get(rows, 0), "delete", entities[i], ids[i], before,
				 NULL, "test-admin", "entered twice", "trust-del");
		json_decref(rows);
		json_decref(before);
		resp_free(r);
	}
}
END_TEST

START_TEST(test_cascade_delete_leaves_one_row_per_removed_record)
{
	struct family f = make_family();
	int64_t o2 =
		make_outcome(f.course, "{\"assessed_on\": \"1985-06-01\", \"response\": \"CR\"}");
	const char *entities[] = {"patients", "courses", "outcomes", "toxicities", "outcomes"};
	int64_t ids[] = {f.patient, f.course, f.outcome, f.toxicity, o2};
	json_t *records[5];
	for (int i = 0; i < 5; i++)
		records[i] = get_record(entities[i], ids[i]);
	int64_t seq = audit_seq();
	char path[96];
	snprintf(path, sizeof path, "/patients/%lld?cascade=true", (long long)f.patient);
	const char *const headers[] = {"Change-Reason: withdrew consent", NULL};
	struct resp *r = http("DELETE", path, headers, NULL, 0);
	ck_assert_int_eq(r->status, 204);
	const char *rid = resp_header(r, "X-Request-ID");
	json_t *rows = audit_after(seq);
	ck_assert_uint_eq(json_array_size(rows), 5);
	bool seen[5] = {false};
	for (size_t k = 0; k < 5; k++) {
		json_t *row = json_array_get(rows, k);
		ck_assert_int_eq(num(row, "seq"), seq + 1 + (int64_t)k);
		int match = -1;
		for (int i = 0; i < 5; i++)
			if (strcmp(str(row, "entity"), entities[i]) == 0 &&
			    num(row, "entity_id") == ids[i])
				match = i;
		ck_assert_msg(match >= 0 && !seen[match], "unexpected row %lld", (long long)k);
		seen[match] = true;
		assert_audit_row(row, "delete", entities[match], ids[match], records[match], NULL,
				 "test-admin", "withdrew consent", rid);
	}
	/* dependants go before what they point at; the patient last */
	ck_assert_str_eq(str(json_array_get(rows, 4), "entity"), "patients");
	for (int i = 0; i < 5; i++)
		json_decref(records[i]);
	json_decref(rows);
	resp_free(r);
}
END_TEST

START_TEST(test_refused_requests_leave_no_audit_row)
{
	struct family f = make_family();
	char p[64], c[64];
	snprintf(p, sizeof p, "/patients/%lld", (long long)f.patient);
	snprintf(c, sizeof c, "/courses/%lld", (long long)f.course);
	json_t *rec = get_record("patients", f.patient);
	int64_t seq = audit_seq();
	static const char *const merge[] = {"Content-Type: application/merge-patch+json", NULL};
	/* 422 */
	assert_refused("POST", "/patients", json_ct, "{\"code\": \"x\"}", 422, VALIDATION, NULL);
	assert_refused("PATCH", p, merge, "{\"age\": 500}", 422, VALIDATION, "age");
	/* 404 */
	assert_refused("PATCH", "/patients/999999999", merge, "{\"age\": 5}", 404, NOT_FOUND, NULL);
	assert_refused("DELETE", "/courses/999999999", NULL, NULL, 404, NOT_FOUND, NULL);
	/* 409 */
	char dup[200];
	snprintf(dup, sizeof dup,
		 "{\"code\": \"%s\", \"histology\": \"melanoma\", \"setting\": \"metastatic\", "
		 "\"regimen\": \"il2_alone\", \"enrolled_on\": \"1985-01-10\"}",
		 str(rec, "code"));
	assert_refused("POST", "/patients", json_ct, dup, 409, DUPLICATE, "code");
	assert_refused("DELETE", p, NULL, NULL, 409, HAS_DEPENDANTS, NULL);
	assert_refused("DELETE", c, NULL, NULL, 409, HAS_DEPENDANTS, NULL);
	/* 412 */
	static const char *const stale[] = {"Content-Type: application/merge-patch+json",
					    "If-Match: \"7\"", NULL};
	assert_refused("PATCH", p, stale, "{\"age\": 5}", 412, PRECONDITION, NULL);
	static const char *const stale_del[] = {"If-Match: \"7\"", NULL};
	assert_refused("DELETE", p, stale_del, NULL, 412, PRECONDITION, NULL);
	/* 403, 401 */
	const char *const reader[] = {"Content-Type: application/merge-patch+json", reader_auth,
				      NULL};
	assert_refused("PATCH", p, reader, "{\"age\": 5}", 403, FORBIDDEN, NULL);
	static const char *const none[] = {"Authorization:", NULL};
	assert_refused("DELETE", c, none, NULL, 401, UNAUTHORIZED, NULL);
	ck_assert_int_eq(audit_seq(), seq);
	json_t *now = get_record("patients", f.patient);
	ck_assert(json_equal(now, rec));
	json_decref(now);
	json_decref(rec);
}
END_TEST

START_TEST(test_patch_changing_nothing_leaves_no_audit_row)
{
	int64_t id = make_patient("{\"age\": 44, \"sex\": \"male\"}");
	json_t *rec = get_record("patients", id);
	int64_t seq = audit_seq();
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	struct resp *r = http_patch_json(path, "{\"age\": 44, \"sex\": \"male\"}");
	ck_assert_int_eq(r->status, 200);
	ck_assert(json_equal(r->json, rec));
	resp_free(r);
	r = http_patch_json(path, "{}");
	ck_assert_int_eq(r->status, 200);
	ck_assert_int_eq(num(r->json, "version"), 1);
	resp_free(r);
	ck_assert_int_eq(audit_seq(), seq);
	json_decref(rec);
}
END_TEST

START_TEST(test_history_reconstructs_every_version)
{
	int64_t id = make_patient(NULL);
	char path[64], hist[80];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	snprintf(hist, sizeof hist, "/patients/%lld/history", (long long)id);
	json_t *seen[4];
	const char *reasons[4] = {NULL, "age found", "status update", "duplicate"};
	char rids[4][64];
	seen[0] = get_record("patients", id);
	json_t *first = audit_after(audit_seq() - 1);
	snprintf(rids[0], sizeof rids[0], "%s", str(json_array_get(first, 0), "request_id"));
	json_decref(first);
	const char *patches[] = {"{\"age\": 52}", "{\"vital_status\": \"unknown\", \"age\": null}"};
	for (int i = 0; i < 2; i++) {
		char reason[80];
		snprintf(reason, sizeof reason, "Change-Reason: %s", reasons[i + 1]);
		const char *const headers[] = {"Content-Type: application/merge-patch+json", reason,
					       editor_auth, NULL};
		struct resp *r = http("PATCH", path, headers, patches[i], strlen(patches[i]));
		ck_assert_int_eq(r->status, 200);
		snprintf(rids[i + 1], sizeof rids[i + 1], "%s", resp_header(r, "X-Request-ID"));
		resp_free(r);
		seen[i + 1] = get_record("patients", id);
	}
	seen[3] = json_incref(seen[2]);
	const char *const del[] = {"Change-Reason: duplicate", NULL};
	struct resp *r = http("DELETE", path, del, NULL, 0);
	ck_assert_int_eq(r->status, 204);
	snprintf(rids[3], sizeof rids[3], "%s", resp_header(r, "X-Request-ID"));
	resp_free(r);

	/* still answered after the deletion */
	json_t *h = get_json(hist);
	ck_assert_str_eq(str(h, "entity"), "patients");
	ck_assert_int_eq(num(h, "id"), id);
	json_t *versions = json_object_get(h, "versions");
	ck_assert_uint_eq(json_array_size(versions), 4);
	const char *actions[] = {"create", "update", "update", "delete"};
	const char *actors[] = {"test-admin", "t-editor", "t-editor", "test-admin"};
	int64_t numbers[] = {1, 2, 3, 3};
	int64_t last_seq = 0;
	for (int i = 0; i < 4; i++) {
		json_t *v = json_array_get(versions, (size_t)i);
		ck_assert_str_eq(str(v, "action"), actions[i]);
		ck_assert_str_eq(str(v, "actor"), actors[i]);
		ck_assert_int_eq(num(v, "version"), numbers[i]);
		ck_assert_str_eq(str(v, "request_id"), rids[i]);
		if (reasons[i])
			ck_assert_str_eq(str(v, "reason"), reasons[i]);
		else
			ck_assert(json_is_null(json_object_get(v, "reason")));
		ck_assert_int_gt(num(v, "seq"), last_seq);
		last_seq = num(v, "seq");
		ck_assert_msg(json_equal(json_object_get(v, "record"), seen[i]),
			      "version %d differs from what GET answered", i);
		ck_assert_ptr_nonnull(str(v, "at"));
		json_decref(seen[i]);
	}
	json_decref(h);
	r = http_get(path);
	assert_problem(r, 404, NOT_FOUND);
	resp_free(r);
}
END_TEST

START_TEST(test_history_of_an_id_that_never_existed_is_404)
{
	static const char *const paths[] = {
		"/patients/987654321/history", "/courses/987654321/history",
		"/outcomes/987654321/history", "/toxicities/987654321/history"};
	for (int i = 0; i < 4; i++) {
		struct resp *r = http_get(paths[i]);
		assert_problem(r, 404, NOT_FOUND);
		resp_free(r);
	}
}
END_TEST

START_TEST(test_patch_and_delete_without_change_reason_are_422)
{
	struct family f = make_family();
	char p[64], t[64];
	snprintf(p, sizeof p, "/patients/%lld", (long long)f.patient);
	snprintf(t, sizeof t, "/toxicities/%lld", (long long)f.toxicity);
	json_t *before = get_record("patients", f.patient);
	int64_t seq = audit_seq();
	static const char *const patch[] = {"Content-Type: application/merge-patch+json",
					    "Change-Reason:", NULL};
	assert_refused("PATCH", p, patch, "{\"age\": 33}", 422, VALIDATION, "Change-Reason");
	static const char *const del[] = {"Change-Reason:", NULL};
	assert_refused("DELETE", t, del, NULL, 422, VALIDATION, "Change-Reason");
	snprintf(p + strlen(p), sizeof p - strlen(p), "?cascade=true");
	assert_refused("DELETE", p, del, NULL, 422, VALIDATION, "Change-Reason");
	ck_assert_int_eq(audit_seq(), seq);
	json_t *after = get_record("patients", f.patient);
	ck_assert(json_equal(before, after));
	json_decref(before);
	json_decref(after);
	json_decref(get_record("toxicities", f.toxicity));
}
END_TEST

START_TEST(test_invalid_change_reason_is_422_even_on_post)
{
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	char long_reason[600] = "Change-Reason: ";
	memset(long_reason + strlen(long_reason), 'r', 501);
	const char *const patch[] = {"Content-Type: application/merge-patch+json", long_reason,
				     NULL};
	int64_t seq = audit_seq();
	assert_refused("PATCH", path, patch, "{\"age\": 33}", 422, VALIDATION, "Change-Reason");
	char *body = patient_body();
	const char *const post[] = {"Content-Type: application/json", long_reason, NULL};
	assert_refused("POST", "/patients", post, body, 422, VALIDATION, "Change-Reason");
	free(body);
	ck_assert_int_eq(audit_seq(), seq);
	/* 500 characters is the most */
	long_reason[strlen(long_reason) - 1] = '\0';
	struct resp *r = http("PATCH", path, patch, "{\"age\": 33}", 11);
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
	json_t *rows = audit_after(seq);
	ck_assert_uint_eq(json_array_size(rows), 1);
	ck_assert_uint_eq(strlen(str(json_array_get(rows, 0), "reason")), 500);
	json_decref(rows);
}
END_TEST

START_TEST(test_audit_list_filters_and_pages)
{
	char name[64], auth[200];
	snprintf(name, sizeof name, "%s", unique_code("ed"));
	char *token = api_token_create("editor", name);
	set_auth(auth, sizeof auth, token);
	free(token);
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	for (int age = 30; age < 33; age++) {
		char body[32];
		snprintf(body, sizeof body, "{\"age\": %d}", age);
		struct resp *r = patch_as(auth, path, body);
		ck_assert_int_eq(r->status, 200);
		resp_free(r);
	}
	char q[200];
	snprintf(q, sizeof q, "/audit?entity=patients&id=%lld&limit=2", (long long)id);
	struct resp *r = http_get(q);
	ck_assert_int_eq(r->status, 200);
	json_t *items = json_object_get(r->json, "items");
	ck_assert_uint_eq(json_array_size(items), 2);
	ck_assert_str_eq(str(json_array_get(items, 0), "action"), "create");
	ck_assert_str_eq(str(json_array_get(items, 1), "action"), "update");
	char next[240];
	snprintf(next, sizeof next, "/audit?entity=patients&id=%lld&limit=2&after=%lld",
		 (long long)id, (long long)num(json_array_get(items, 1), "seq"));
	ck_assert_str_eq(str(r->json, "next"), next);
	char link[280];
	snprintf(link, sizeof link, "<%s>; rel=\"next\"", next);
	assert_header(r, "Link", link);
	resp_free(r);
	r = http_get(next);
	ck_assert_int_eq(r->status, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(r->json, "items")), 2);
	ck_assert(json_is_null(json_object_get(r->json, "next")));
	ck_assert_ptr_null(resp_header(r, "Link"));
	resp_free(r);
	/* by actor: exactly this editor's three updates */
	snprintf(q, sizeof q, "/audit?actor=%s", name);
	json_t *page = get_json(q);
	items = json_object_get(page, "items");
	ck_assert_uint_eq(json_array_size(items), 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_str_eq(str(json_array_get(items, i), "actor"), name);
		ck_assert_int_eq(num(json_array_get(items, i), "entity_id"), id);
	}
	json_decref(page);
	/* by time: everything is after 1900, nothing before it */
	snprintf(q, sizeof q, "/audit?actor=%s&from=1900-01-01&to=2999-01-01T00:00:00Z", name);
	page = get_json(q);
	ck_assert_uint_eq(json_array_size(json_object_get(page, "items")), 3);
	json_decref(page);
	snprintf(q, sizeof q, "/audit?actor=%s&to=1900-01-01", name);
	page = get_json(q);
	ck_assert_uint_eq(json_array_size(json_object_get(page, "items")), 0);
	json_decref(page);
}
END_TEST

START_TEST(test_audit_list_bad_params_are_400)
{
	static const char *const bad[][2] = {
		{"/audit?entity=people", "entity"},
		{"/audit?limit=0", "limit"},
		{"/audit?limit=1001", "limit"},
		{"/audit?after=-1", "after"},
		{"/audit?id=0", "id"},
		{"/audit?from=yesterday", "from"},
		{"/audit?from=2026-01-31T24:00:00Z", "from"},
		{"/audit?from=2026-01-31T12:60:00Z", "from"},
		{"/audit?to=2026-01-31T12:00:61Z", "to"},
		{"/audit?to=2026-01-31T99:99:99Z", "to"},
		{"/audit?to=2026-01-31T12:00:00.1xZ", "to"},
		{"/audit?to=2026-01-31T12:00:00.Z", "to"},
		{"/audit?to=2026-01-31T12:00:00.1234Z", "to"},
		{"/audit?to=2026-01-31T12:00:00+01:00", "to"},
		{"/audit?from=2026-02-30", "from"},
		{"/audit?from=2026-02-30T00:00:00Z", "from"},
		{"/audit?colour=red", "colour"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct resp *r = http_get(bad[i][0]);
		assert_problem(r, 400, INVALID_PARAM);
		assert_field_error(r, bad[i][1]);
		resp_free(r);
	}
	struct resp *r = http_get("/audit/verify?x=1");
	assert_problem(r, 400, INVALID_PARAM);
	resp_free(r);
	/* real times, with none to three fractional digits, are taken */
	static const char *const good[] = {"/audit?from=2024-02-29T23:59:59Z&limit=1",
					   "/audit?to=2999-01-01T00:00:00.5Z&limit=1",
					   "/audit?to=2999-01-01T00:00:00.12Z&limit=1",
					   "/audit?from=1900-01-01T00:00:00.000Z&limit=1", NULL};
	for (const char *const *g = good; *g; g++) {
		r = http_get(*g);
		ck_assert_msg(r->status == 200, "%s: %ld %s", *g, r->status, r->body);
		resp_free(r);
	}
}
END_TEST

/* Reads seq -> hash of the last audit row straight from the database. */
static void last_audit_row(int64_t *seq, char hash[65])
{
	char row[128];
	db_query_row("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", row, sizeof row);
	*seq = strtoll(row, NULL, 10);
	const char *slash = strchr(row, '/');
	snprintf(hash, 65, "%s", slash ? slash + 1 : "");
}

START_TEST(test_verify_untouched_trail_is_intact)
{
	make_family();
	int64_t seq;
	char hash[65];
	last_audit_row(&seq, hash);
	json_t *v = get_json("/audit/verify");
	ck_assert(json_is_true(json_object_get(v, "intact")));
	ck_assert_int_eq(num(v, "rows"), db_count("audit"));
	ck_assert_int_eq(num(v, "rows"), seq);
	ck_assert_str_eq(str(v, "head"), hash);
	ck_assert(json_is_null(json_object_get(v, "first_broken")));
	json_decref(v);
	/* the chain links: each row's prev_hash is the previous row's hash */
	json_t *rows = audit_after(0);
	const char *prev = "0000000000000000000000000000000000000000000000000000000000000000";
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *row = json_array_get(rows, i);
		ck_assert_int_eq(num(row, "seq"), (int64_t)i + 1);
		ck_assert_str_eq(str(row, "prev_hash"), prev);
		prev = str(row, "hash");
	}
	json_decref(rows);
}
END_TEST

/* A netstring as the documented hash input spells a field: "<length>:<bytes>,"
 * or "-," for null. */
static void netstring(char **at, const unsigned char *text, int len)
{
	*at += text ? sprintf(*at, "%d:%.*s,", len, len, (const char *)text) : sprintf(*at, "-,");
}

/* Every stored row's hash is SHA-256 of its fields as netstrings, exactly as
 * openapi.yaml spells it, so anyone can check a trail without cohortd. */
START_TEST(test_each_row_hash_is_the_documented_digest_of_its_fields)
{
	struct family f = make_family();
	char name[64], auth[200], path[64];
	snprintf(name, sizeof name, "%s", unique_code("ed"));
	char *token = api_token_create("editor", name);
	set_auth(auth, sizeof auth, token);
	free(token);
	snprintf(path, sizeof path, "/patients/%lld", (long long)f.patient);
	struct resp *r = patch_as(auth, path, "{\"age\": 41}");
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
	/* read a column at a time, on either engine: "V" and its text, or "N" */
	static const char *const columns[] = {"prev_hash", "seq",    "at",         "actor",
					      "action",    "entity", "entity_id",  "before",
					      "after",     "reason", "request_id", "hash"};
	int64_t rows = db_count("audit");
	int updates = 0;
	char prev[65] = "0000000000000000000000000000000000000000000000000000000000000000";
	size_t cap = 1 << 16;
	char *value = malloc(cap), *input = malloc(cap * 12);
	for (int64_t seq = 1; seq <= rows; seq++) {
		char *at = input, hash[65] = "";
		for (int col = 0; col < 12; col++) {
			char sql[160];
			snprintf(sql, sizeof sql,
				 "SELECT CASE WHEN %s IS NULL THEN 'N' ELSE 'V' || %s END FROM "
				 "audit "
				 "WHERE seq = %lld",
				 columns[col], columns[col], (long long)seq);
			db_query_row(sql, value, cap);
			ck_assert_msg(value[0] == 'V' || value[0] == 'N', "seq %lld: no row",
				      (long long)seq);
			if (col == 11) {
				snprintf(hash, sizeof hash, "%s", value + 1);
				continue;
			}
			if (col == 0)
				ck_assert_str_eq(value + 1, prev);
			if (col == 7)
				updates += value[0] == 'V';
			netstring(&at, value[0] == 'V' ? (const unsigned char *)value + 1 : NULL,
				  (int)strlen(value + 1));
		}
		char want[65];
		sha256_hex(input, (size_t)(at - input), want);
		ck_assert_str_eq(hash, want);
		snprintf(prev, sizeof prev, "%s", want);
	}
	free(value);
	free(input);
	ck_assert_int_gt(rows, 3);
	ck_assert_int_gt(updates, 0); /* a row with a before, so both texts are covered */
}
END_TEST

/* --- idempotency ---------------------------------------------------------- */

static struct resp *post_keyed(const char *auth, const char *key, const char *path,
			       const char *body)
{
	char key_header[400];
	snprintf(key_header, sizeof key_header, "Idempotency-Key: %s", key);
	const char *const headers[] = {"Content-Type: application/json", key_header, auth, NULL};
	return http("POST", path, headers, body, strlen(body));
}

static int64_t count_code(const char *code)
{
	char q[160];
	snprintf(q, sizeof q, "/patients?code=%s", code);
	json_t *page = get_json(q);
	int64_t n = (int64_t)json_array_size(json_object_get(page, "items"));
	json_decref(page);
	return n;
}

START_TEST(test_idempotent_replay_returns_the_first_answer)
{
	char key[64];
	snprintf(key, sizeof key, "%s", unique_code("key"));
	char *body = patient_body();
	json_t *b = json_loads(body, 0, NULL);
	int64_t patients = db_count("patients"), seq = audit_seq();
	struct resp *r1 = post_keyed(NULL, key, "/patients", body);
	ck_assert_int_eq(r1->status, 201);
	ck_assert_ptr_null(resp_header(r1, "Idempotent-Replayed"));
	char location[64];
	snprintf(location, sizeof location, "%s", resp_header(r1, "Location"));
	struct resp *r2 = post_keyed(NULL, key, "/patients", body);
	ck_assert_int_eq(r2->status, 201);
	assert_header(r2, "Idempotent-Replayed", "true");
	assert_header(r2, "Location", location);
	ck_assert_str_eq(r2->body, r1->body);
	ck_assert_int_eq(db_count("patients"), patients + 1);
	ck_assert_int_eq(audit_seq(), seq + 1);
	ck_assert_int_eq(count_code(str(b, "code")), 1);
	/* a third time still replays */
	struct resp *r3 = post_keyed(NULL, key, "/patients", body);
	ck_assert_int_eq(r3->status, 201);
	ck_assert_str_eq(r3->body, r1->body);
	ck_assert_int_eq(db_count("patients"), patients + 1);
	resp_free(r1);
	resp_free(r2);
	resp_free(r3);
	json_decref(b);
	free(body);
}
END_TEST

START_TEST(test_same_key_with_another_body_is_422_key_reused)
{
	char key[64];
	snprintf(key, sizeof key, "%s", unique_code("key"));
	char *body = patient_body();
	struct resp *r = post_keyed(NULL, key, "/patients", body);
	ck_assert_int_eq(r->status, 201);
	resp_free(r);
	char *other = patient_body();
	char key_header[100];
	snprintf(key_header, sizeof key_header, "Idempotency-Key: %s", key);
	const char *const headers[] = {"Content-Type: application/json", key_header, NULL};
	assert_refused("POST", "/patients", headers, other, 422, KEY_REUSED, "Idempotency-Key");
	/* the same body to another collection is another request too */
	int64_t p = make_patient(NULL);
	char course[100];
	snprintf(course, sizeof course, "{\"patient_id\": %lld, \"started_on\": \"1985-02-01\"}",
		 (long long)p);
	assert_refused("POST", "/courses", headers, course, 422, KEY_REUSED, "Idempotency-Key");
	free(body);
	free(other);
}
END_TEST

START_TEST(test_bad_idempotency_key_is_400)
{
	char long_key[300];
	memset(long_key, 'k', 256);
	long_key[256] = '\0';
	const char *bad[] = {long_key, "has space", "tab\there", "caf\xc3\xa9"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *body = patient_body();
		char key_header[400];
		snprintf(key_header, sizeof key_header, "Idempotency-Key: %s", bad[i]);
		const char *const headers[] = {"Content-Type: application/json", key_header, NULL};
		assert_refused("POST", "/patients", headers, body, 400, INVALID_PARAM,
			       "Idempotency-Key");
		free(body);
	}
	/* 255 characters is the most */
	long_key[255] = '\0';
	char *body = patient_body();
	struct resp *r = post_keyed(NULL, long_key, "/patients", body);
	ck_assert_int_eq(r->status, 201);
	resp_free(r);
	free(body);
}
END_TEST

START_TEST(test_refused_post_does_not_consume_the_key)
{
	char key[64];
	snprintf(key, sizeof key, "%s", unique_code("key"));
	struct resp *r = post_keyed(NULL, key, "/patients", "{\"code\": \"only-a-code\"}");
	assert_problem(r, 422, VALIDATION);
	resp_free(r);
	/* the same refused request again is refused again, not replayed */
	r = post_keyed(NULL, key, "/patients", "{\"code\": \"only-a-code\"}");
	assert_problem(r, 422, VALIDATION);
	ck_assert_ptr_null(resp_header(r, "Idempotent-Replayed"));
	resp_free(r);
	char *body = patient_body();
	r = post_keyed(NULL, key, "/patients", body);
	ck_assert_int_eq(r->status, 201);
	ck_assert_ptr_null(resp_header(r, "Idempotent-Replayed"));
	resp_free(r);
	r = post_keyed(NULL, key, "/patients", body);
	ck_assert_int_eq(r->status, 201);
	assert_header(r, "Idempotent-Replayed", "true");
	resp_free(r);
	free(body);
}
END_TEST

START_TEST(test_idempotency_keys_are_per_token)
{
	char key[64];
	snprintf(key, sizeof key, "%s", unique_code("key"));
	char *admin_body = patient_body(), *editor_body = patient_body();
	struct resp *a = post_keyed(NULL, key, "/patients", admin_body);
	ck_assert_int_eq(a->status, 201);
	/* the editor's first use of the key is its own, with its own body */
	struct resp *e = post_keyed(editor_auth, key, "/patients", editor_body);
	ck_assert_int_eq(e->status, 201);
	ck_assert_ptr_null(resp_header(e, "Idempotent-Replayed"));
	ck_assert_int_ne(num(a->json, "id"), num(e->json, "id"));
	/* and each replays its own answer */
	struct resp *e2 = post_keyed(editor_auth, key, "/patients", editor_body);
	ck_assert_int_eq(e2->status, 201);
	assert_header(e2, "Idempotent-Replayed", "true");
	ck_assert_str_eq(e2->body, e->body);
	struct resp *a2 = post_keyed(NULL, key, "/patients", admin_body);
	ck_assert_int_eq(a2->status, 201);
	ck_assert_str_eq(a2->body, a->body);
	resp_free(a);
	resp_free(e);
	resp_free(e2);
	resp_free(a2);
	free(admin_body);
	free(editor_body);
}
END_TEST

/* A child: waits for the start signal, POSTs once, reports
 * "status replayed id type" on out_fd. */
static void keyed_child(int go_fd, int out_fd, const char *key, const char *body)
{
	char c;
	if (read(go_fd, &c, 1) < 0)
		_exit(2);
	CURL *curl = curl_easy_init();
	struct sink out = {0}, hdr = {0};
	char url[256], auth[200], key_header[200];
	snprintf(url, sizeof url, "%s/patients", api_base_url());
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", api_admin_token());
	snprintf(key_header, sizeof key_header, "Idempotency-Key: %s", key);
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, auth);
	hdrs = curl_slist_append(hdrs, key_header);
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, sink_write);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &hdr);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
	long status = 0;
	long long id = 0;
	int replayed = 0;
	char type[100] = "-";
	if (curl_easy_perform(curl) == CURLE_OK) {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		static const char *const json_ct[] = {"Content-Type: application/json", NULL};
		traffic_record("POST", "/patients", json_ct, status, hdr.data, out.data, out.len);
		json_t *j = out.data ? json_loads(out.data, 0, NULL) : NULL;
		id = j ? (long long)json_integer_value(json_object_get(j, "id")) : 0;
		const char *t = j ? json_string_value(json_object_get(j, "type")) : NULL;
		if (t)
			snprintf(type, sizeof type, "%s", t);
		json_decref(j);
		replayed = hdr.data && strcasestr(hdr.data, "Idempotent-Replayed: true") != NULL;
	}
	char line[200];
	int n = snprintf(line, sizeof line, "%ld %d %lld %s\n", status, replayed, id, type);
	if (write(out_fd, line, (size_t)n) != n)
		_exit(3);
	_exit(0);
}

/* Two clients send one key at the same moment, twenty times over: one
 * record per key, every answer the record (first or replayed) or 409. */
START_TEST(test_concurrent_posts_with_one_key_make_one_record)
{
	int in_flight = 0, replays = 0;
	for (int round = 0; round < 20; round++) {
		char key[64], code[64];
		snprintf(key, sizeof key, "%s", unique_code("ckey"));
		snprintf(code, sizeof code, "%s", unique_code("CK"));
		char body[300];
		snprintf(body, sizeof body,
			 "{\"code\": \"%s\", \"histology\": \"melanoma\", \"setting\": "
			 "\"metastatic\", \"regimen\": \"il2_alone\", \"enrolled_on\": "
			 "\"1985-01-10\"}",
			 code);
		int go[2], results[2];
		ck_assert_int_eq(pipe(go), 0);
		ck_assert_int_eq(pipe(results), 0);
		pid_t kids[2];
		for (int i = 0; i < 2; i++) {
			kids[i] = fork();
			ck_assert_int_ge(kids[i], 0);
			if (kids[i] == 0) {
				close(go[1]);
				close(results[0]);
				keyed_child(go[0], results[1], key, body);
			}
		}
		close(go[0]);
		close(results[1]);
		close(go[1]); /* both children start now */
		for (int i = 0; i < 2; i++) {
			int status;
			ck_assert_int_eq(waitpid(kids[i], &status, 0), kids[i]);
			ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
				      "child failed");
		}
		FILE *in = fdopen(results[0], "r");
		long status[2];
		int replayed[2];
		long long id[2];
		char type[2][100];
		for (int i = 0; i < 2; i++)
			ck_assert_int_eq(fscanf(in, "%ld %d %lld %99s", &status[i], &replayed[i],
						&id[i], type[i]),
					 4);
		fclose(in);
		int created = 0;
		long long the_id = 0;
		for (int i = 0; i < 2; i++) {
			if (status[i] == 409) {
				ck_assert_str_eq(type[i], KEY_IN_FLIGHT);
				in_flight++;
				continue;
			}
			ck_assert_msg(status[i] == 201, "round %d: answer %ld (%s)", round,
				      status[i], type[i]);
			ck_assert_int_gt(id[i], 0);
			if (the_id)
				ck_assert_int_eq(id[i], the_id);
			the_id = id[i];
			created += !replayed[i];
			replays += replayed[i];
		}
		ck_assert_msg(created == 1, "round %d: %d first answers", round, created);
		ck_assert_int_eq(count_code(code), 1);
	}
	fprintf(stderr, "test_trust: concurrent keys: %d in flight, %d replays of 20\n", in_flight,
		replays);
}
END_TEST

/* --- request ids ---------------------------------------------------------- */

START_TEST(test_sane_client_request_id_is_echoed)
{
	char id128[160] = "X-Request-ID: ";
	memset(id128 + strlen(id128), 'a', 128);
	const char *ids[] = {"X-Request-ID: abc-123", "X-Request-ID: a.b_c:d-E9", id128};
	for (int i = 0; i < 3; i++) {
		const char *const headers[] = {ids[i], NULL};
		struct resp *r = http("GET", "/patients?limit=1", headers, NULL, 0);
		ck_assert_int_eq(r->status, 200);
		assert_header(r, "X-Request-ID", ids[i] + 14);
		resp_free(r);
	}
	/* also without a token, on a 401 */
	static const char *const anon[] = {"Authorization:", "X-Request-ID: no-token-1", NULL};
	struct resp *r = http("GET", "/patients", anon, NULL, 0);
	assert_problem(r, 401, UNAUTHORIZED);
	assert_header(r, "X-Request-ID", "no-token-1");
	resp_free(r);
}
END_TEST

START_TEST(test_insane_request_id_is_replaced_by_a_uuid4)
{
	char id200[220] = "X-Request-ID: ";
	memset(id200 + strlen(id200), 'b', 200);
	char id129[160] = "X-Request-ID: ";
	memset(id129 + strlen(id129), 'c', 129);
	const char *ids[] = {
		"X-Request-ID: has spaces in it", id200, id129, "X-Request-ID: semi;colon",
		"X-Request-ID: <script>",         NULL};
	char seen[6][40];
	for (int i = 0; i < 6; i++) {
		const char *const headers[] = {ids[i], NULL};
		struct resp *r = http("GET", "/patients?limit=1", headers, NULL, 0);
		ck_assert_int_eq(r->status, 200);
		const char *got = resp_header(r, "X-Request-ID");
		ck_assert_msg(is_uuid4(got), "not a UUIDv4: %s", got ? got : "(none)");
		snprintf(seen[i], sizeof seen[i], "%s", got);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(seen[j], seen[i]);
		resp_free(r);
	}
}
END_TEST

/* The ids the server makes are random, not a counter: two ids made one
 * after the other differ in their first 32 bits (which a counter on a
 * random base never changes; two random ids agree there once in 2^32). */
START_TEST(test_generated_request_ids_are_random)
{
	char prev[40] = "";
	for (int i = 0; i < 40; i++) {
		struct resp *r = http_get("/healthz");
		const char *got = resp_header(r, "X-Request-ID");
		ck_assert_msg(is_uuid4(got), "not a UUIDv4: %s", got ? got : "(none)");
		if (prev[0])
			ck_assert_msg(strncmp(prev, got, 8) != 0, "%s then %s: a counter?", prev,
				      got);
		snprintf(prev, sizeof prev, "%s", got);
		resp_free(r);
	}
}
END_TEST

START_TEST(test_problem_instance_and_audit_name_the_request_id)
{
	static const char *const client[] = {"X-Request-ID: trace-404", NULL};
	struct resp *r = http("GET", "/patients/999999999", client, NULL, 0);
	assert_problem(r, 404, NOT_FOUND);
	ck_assert_str_eq(str(r->json, "instance"), "urn:cohortd:request:trace-404");
	ck_assert_str_eq(str(r->json, "request_id"), "trace-404");
	resp_free(r);
	static const char *const insane[] = {"X-Request-ID: not sane", "Authorization:", NULL};
	r = http("GET", "/patients", insane, NULL, 0);
	assert_problem(r, 401, UNAUTHORIZED);
	const char *id = resp_header(r, "X-Request-ID");
	ck_assert(is_uuid4(id));
	char want[80];
	snprintf(want, sizeof want, "urn:cohortd:request:%s", id);
	ck_assert_str_eq(str(r->json, "instance"), want);
	resp_free(r);
	/* a generated id reaches the audit row too */
	int64_t seq = audit_seq();
	char *body = patient_body();
	static const char *const post[] = {"Content-Type: application/json",
					   "X-Request-ID: bad id!", NULL};
	r = http("POST", "/patients", post, body, strlen(body));
	ck_assert_int_eq(r->status, 201);
	id = resp_header(r, "X-Request-ID");
	ck_assert(is_uuid4(id));
	json_t *rows = audit_after(seq);
	ck_assert_uint_eq(json_array_size(rows), 1);
	ck_assert_str_eq(str(json_array_get(rows, 0), "request_id"), id);
	json_decref(rows);
	resp_free(r);
	free(body);
}
END_TEST

/* --- anonymous reader ------------------------------------------------------ */

START_TEST(test_anonymous_reader_reads_without_token)
{
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	static const char *const none[] = {"Authorization:", NULL};
	const char *paths[] = {"/patients", path, "/stats/summary", "/courses"};
	for (int i = 0; i < 4; i++) {
		struct resp *r = http("GET", paths[i], none, NULL, 0);
		ck_assert_msg(r->status == 200, "%s -> %ld %s", paths[i], r->status, r->body);
		resp_free(r);
	}
}
END_TEST

START_TEST(test_anonymous_reader_cannot_write_or_read_audit)
{
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	char *body = patient_body();
	static const char *const post[] = {"Authorization:", "Content-Type: application/json",
					   NULL};
	assert_refused("POST", "/patients", post, body, 403, FORBIDDEN, NULL);
	static const char *const patch[] = {
		"Authorization:", "Content-Type: application/merge-patch+json", NULL};
	assert_refused("PATCH", path, patch, "{\"age\": 3}", 403, FORBIDDEN, NULL);
	static const char *const none[] = {"Authorization:", NULL};
	assert_refused("DELETE", path, none, NULL, 403, FORBIDDEN, NULL);
	struct resp *r = http("GET", "/audit", none, NULL, 0);
	assert_problem(r, 403, FORBIDDEN);
	ck_assert_ptr_nonnull(strstr(str(r->json, "detail"), "anonymous"));
	resp_free(r);
	free(body);
}
END_TEST

START_TEST(test_anonymous_mode_still_refuses_a_bad_token)
{
	static const char *const bad[] = {"Authorization: Bearer " BAD_TOKEN, NULL};
	struct resp *r = http("GET", "/patients", bad, NULL, 0);
	assert_unauthorized(r, CHALLENGE_INVALID);
	resp_free(r);
	static const char *const basic[] = {"Authorization: Basic dXNlcjpwYXNz", NULL};
	r = http("GET", "/patients", basic, NULL, 0);
	assert_unauthorized(r, CHALLENGE_INVALID);
	resp_free(r);
	/* a valid token still counts as itself */
	r = http_post_json("/patients", "{\"code\": \"x\"}");
	assert_problem(r, 422, VALIDATION);
	resp_free(r);
}
END_TEST

/* --- append-only audit, tampering ------------------------------------------ */

START_TEST(test_verify_on_an_empty_trail_is_intact)
{
	json_t *v = get_json("/audit/verify");
	ck_assert(json_is_true(json_object_get(v, "intact")));
	ck_assert_int_eq(num(v, "rows"), 0);
	ck_assert(json_is_null(json_object_get(v, "head")));
	ck_assert(json_is_null(json_object_get(v, "first_broken")));
	json_decref(v);
}
END_TEST

static sqlite3 *open_rw(void)
{
	sqlite3 *db;
	ck_assert_int_eq(sqlite3_open_v2(api_db_path(), &db, SQLITE_OPEN_READWRITE, NULL),
			 SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

START_TEST(test_triggers_refuse_update_and_delete_of_audit_rows)
{
	SKIP_ON_POSTGRESQL(
		"tampers with the SQLite file (to port: an owner's UPDATE on PostgreSQL)");
	make_family();
	int64_t rows = db_count("audit");
	ck_assert_int_ge(rows, 4);
	sqlite3 *db = open_rw();
	static const char *const sql[] = {"UPDATE audit SET actor = 'x'",
					  "UPDATE audit SET reason = 'r' WHERE seq = 2",
					  "DELETE FROM audit", "DELETE FROM audit WHERE seq = 1"};
	for (int i = 0; i < 4; i++) {
		char *err = NULL;
		int rc = sqlite3_exec(db, sql[i], NULL, NULL, &err);
		ck_assert_msg(rc != SQLITE_OK, "%s succeeded", sql[i]);
		ck_assert_msg(err && strstr(err, "audit rows are append-only"), "%s: %s", sql[i],
			      err ? err : "(no message)");
		sqlite3_free(err);
	}
	sqlite3_close(db);
	ck_assert_int_eq(db_count("audit"), rows);
	json_t *v = get_json("/audit/verify");
	ck_assert(json_is_true(json_object_get(v, "intact")));
	ck_assert_int_eq(num(v, "rows"), rows);
	json_decref(v);
}
END_TEST

START_TEST(test_verify_names_the_first_tampered_row)
{
	SKIP_ON_POSTGRESQL("tampers with the SQLite file (to port)");
	make_family();
	json_t *rows = audit_after(0);
	ck_assert_uint_ge(json_array_size(rows), 5);
	sqlite3 *db = open_rw();
	char *err = NULL;
	ck_assert_int_eq(sqlite3_exec(db,
				      "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; "
				      "UPDATE audit SET reason = 'nothing happened' WHERE seq = 3",
				      NULL, NULL, &err),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_changes(db), 1);
	sqlite3_close(db);
	json_t *v = get_json("/audit/verify");
	ck_assert(json_is_false(json_object_get(v, "intact")));
	ck_assert_int_eq(num(v, "first_broken"), 3);
	ck_assert_int_eq(num(v, "rows"), 3);
	ck_assert_str_eq(str(v, "head"), str(json_array_get(rows, 1), "hash"));
	json_decref(v);
	/* /audit shows the edited row as it now is */
	json_t *now = audit_after(2);
	ck_assert_str_eq(str(json_array_get(now, 0), "reason"), "nothing happened");
	json_decref(now);
	/* later writes go on chaining from the head; the break stays named */
	make_patient(NULL);
	v = get_json("/audit/verify");
	ck_assert(json_is_false(json_object_get(v, "intact")));
	ck_assert_int_eq(num(v, "first_broken"), 3);
	json_decref(v);
	json_decref(rows);
}
END_TEST

START_TEST(test_verify_names_a_deleted_row)
{
	SKIP_ON_POSTGRESQL("tampers with the SQLite file (to port)");
	json_t *rows = audit_after(0);
	size_t n = json_array_size(rows);
	ck_assert_uint_ge(n, 6);
	sqlite3 *db = open_rw();
	/* the triggers were dropped by the test before */
	ck_assert_int_eq(sqlite3_exec(db, "DELETE FROM audit WHERE seq = 2", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	json_t *v = get_json("/audit/verify");
	ck_assert(json_is_false(json_object_get(v, "intact")));
	ck_assert_int_eq(num(v, "first_broken"), 3);
	ck_assert_str_eq(str(v, "head"), str(json_array_get(rows, 0), "hash"));
	json_decref(v);
	json_decref(rows);
}
END_TEST

/* --- CORS ------------------------------------------------------------------ */

START_TEST(test_preflight_from_an_allowed_origin)
{
	static const char *const headers[] = {"Authorization:", "Origin: " ORIGIN,
					      "Access-Control-Request-Method: POST",
					      "Access-Control-Request-Headers: authorization, "
					      "content-type",
					      NULL};
	struct resp *r = http("OPTIONS", "/patients", headers, NULL, 0);
	ck_assert_int_eq(r->status, 204);
	ck_assert_uint_eq(r->len, 0);
	assert_header(r, "Access-Control-Allow-Origin", ORIGIN);
	ck_assert_int_eq(header_count(r, "Access-Control-Allow-Origin"), 1);
	assert_header(r, "Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS");
	assert_header(r, "Access-Control-Allow-Headers",
		      "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, "
		      "Change-Reason, X-Request-ID");
	assert_header(r, "Access-Control-Max-Age", "600");
	ck_assert_ptr_nonnull(strstr(resp_header(r, "Vary"), "Origin"));
	ck_assert_int_eq(header_count(r, "Vary"), 1);
	resp_free(r);
	r = http("OPTIONS", "/patients/1", headers, NULL, 0);
	ck_assert_int_eq(r->status, 204);
	assert_header(r, "Access-Control-Allow-Methods", "GET, HEAD, PATCH, DELETE, OPTIONS");
	resp_free(r);
}
END_TEST

START_TEST(test_preflight_from_another_origin_has_no_cors_headers)
{
	static const char *const headers[] = {"Authorization:", "Origin: https://evil.example",
					      "Access-Control-Request-Method: POST", NULL};
	struct resp *r = http("OPTIONS", "/patients", headers, NULL, 0);
	ck_assert_int_eq(r->status, 204);
	ck_assert_ptr_null(resp_header(r, "Access-Control-Allow-Origin"));
	ck_assert_msg(!has_cors_headers(r), "CORS headers for another origin: %s", r->headers);
	resp_free(r);
	/* an origin that merely starts like the allowed one */
	static const char *const lookalike[] = {
		"Authorization:", "Origin: https://dash.example.evil.test",
		"Access-Control-Request-Method: GET", NULL};
	r = http("OPTIONS", "/patients", lookalike, NULL, 0);
	ck_assert_int_eq(r->status, 204);
	ck_assert(!has_cors_headers(r));
	resp_free(r);
}
END_TEST

START_TEST(test_answers_to_an_allowed_origin_expose_headers)
{
	static const char *const get[] = {"Origin: " ORIGIN, NULL};
	struct resp *r = http("GET", "/patients?limit=1", get, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	assert_header(r, "Access-Control-Allow-Origin", ORIGIN);
	ck_assert_int_eq(header_count(r, "Access-Control-Allow-Origin"), 1);
	const char *expose = resp_header(r, "Access-Control-Expose-Headers");
	ck_assert_ptr_nonnull(expose);
	ck_assert_str_eq(expose, "ETag, Location, Link, X-Request-ID, Retry-After, "
				 "Idempotent-Replayed");
	ck_assert_ptr_nonnull(strstr(resp_header(r, "Vary"), "Origin"));
	resp_free(r);
	/* a refusal reaches the script too, so it can read the problem */
	static const char *const none[] = {"Origin: " ORIGIN, "Authorization:", NULL};
	r = http("GET", "/patients", none, NULL, 0);
	assert_unauthorized(r, CHALLENGE);
	assert_header(r, "Access-Control-Allow-Origin", ORIGIN);
	resp_free(r);
	/* a created record: Location and ETag readable */
	char *body = patient_body();
	static const char *const post[] = {"Origin: " ORIGIN, "Content-Type: application/json",
					   NULL};
	r = http("POST", "/patients", post, body, strlen(body));
	ck_assert_int_eq(r->status, 201);
	assert_header(r, "Access-Control-Allow-Origin", ORIGIN);
	ck_assert_ptr_nonnull(resp_header(r, "Location"));
	resp_free(r);
	free(body);
}
END_TEST

START_TEST(test_answers_to_another_origin_have_no_cors_headers)
{
	static const char *const get[] = {"Origin: https://evil.example", NULL};
	struct resp *r = http("GET", "/patients?limit=1", get, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	ck_assert(!has_cors_headers(r));
	resp_free(r);
	r = http_get("/patients?limit=1");
	ck_assert_int_eq(r->status, 200);
	ck_assert(!has_cors_headers(r));
	resp_free(r);
}
END_TEST

/* An answer without CORS headers (no Origin, or another one) differs from
 * the one an allowed origin gets: a shared cache must key every answer on
 * Origin, refusals and public routes included, and Vary says so once. */
START_TEST(test_every_answer_varies_on_origin_when_origins_are_allowed)
{
	static const char *const paths[] = {"/patients?limit=1", "/healthz",
					    "/stats/summary",    "/no-such-route",
					    "/patients?limit=0", NULL};
	static const char *const origins[] = {NULL, "Origin: https://evil.example",
					      "Origin: " ORIGIN};
	for (const char *const *path = paths; *path; path++) {
		for (int o = 0; o < 3; o++) {
			const char *const headers[] = {origins[o], NULL};
			struct resp *r = http("GET", *path, origins[o] ? headers : NULL, NULL, 0);
			ck_assert_msg(resp_varies_on(r, "Origin"), "GET %s (%s): %s", *path,
				      origins[o] ? origins[o] : "no Origin", r->headers);
			ck_assert_int_eq(header_count(r, "Vary"), 1);
			resp_free(r);
		}
	}
}
END_TEST

/* --- suite ----------------------------------------------------------------- */

static TCase *tcase(Suite *s, const char *name, void (*start)(void))
{
	TCase *tc = tcase_create(name);
	tcase_add_unchecked_fixture(tc, start, api_stop);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return tc;
}

int main(void)
{
	Suite *s = suite_create("test_trust");
	TCase *tc = tcase(s, "trust", trust_start);
	tcase_add_test(tc, test_role_matrix_over_every_route);
	tcase_add_test(tc, test_public_routes_need_no_token);
	tcase_add_test(tc, test_missing_token_is_401_with_bearer_challenge);
	tcase_add_test(tc, test_malformed_or_unknown_token_is_401_invalid_token);
	tcase_add_test(tc, test_reader_write_is_403_forbidden_and_changes_nothing);
	tcase_add_test(tc, test_auth_is_checked_after_routing_and_before_everything_else);
	tcase_add_test(tc, test_revoked_token_stops_at_once);
	tcase_add_test(tc, test_a_point_read_answers_its_token_first_on_a_warm_connection);
	tcase_add_test(tc, test_token_cli_refuses_unknown_revoke_and_duplicate_name);
	tcase_add_test(tc, test_token_list_never_prints_a_token);
	tcase_add_test(tc, test_token_names_the_audit_keeps_for_others_are_refused);
	tcase_add_test(tc, test_token_is_stored_only_as_its_sha256);
	tcase_add_test(tc, test_token_never_in_database_or_wal_in_clear);
	tcase_add_test(tc, test_token_never_in_server_log);
	tcase_add_test(tc, test_create_leaves_one_audit_row);
	tcase_add_test(tc, test_patch_by_editor_leaves_one_row_with_before_and_after);
	tcase_add_test(tc, test_delete_leaves_one_audit_row);
	tcase_add_test(tc, test_cascade_delete_leaves_one_row_per_removed_record);
	tcase_add_test(tc, test_refused_requests_leave_no_audit_row);
	tcase_add_test(tc, test_patch_changing_nothing_leaves_no_audit_row);
	tcase_add_test(tc, test_history_reconstructs_every_version);
	tcase_add_test(tc, test_history_of_an_id_that_never_existed_is_404);
	tcase_add_test(tc, test_patch_and_delete_without_change_reason_are_422);
	tcase_add_test(tc, test_invalid_change_reason_is_422_even_on_post);
	tcase_add_test(tc, test_audit_list_filters_and_pages);
	tcase_add_test(tc, test_audit_list_bad_params_are_400);
	tcase_add_test(tc, test_verify_untouched_trail_is_intact);
	tcase_add_test(tc, test_each_row_hash_is_the_documented_digest_of_its_fields);
	tcase_add_test(tc, test_idempotent_replay_returns_the_first_answer);
	tcase_add_test(tc, test_same_key_with_another_body_is_422_key_reused);
	tcase_add_test(tc, test_bad_idempotency_key_is_400);
	tcase_add_test(tc, test_refused_post_does_not_consume_the_key);
	tcase_add_test(tc, test_idempotency_keys_are_per_token);
	tcase_add_test(tc, test_concurrent_posts_with_one_key_make_one_record);
	tcase_add_test(tc, test_sane_client_request_id_is_echoed);
	tcase_add_test(tc, test_insane_request_id_is_replaced_by_a_uuid4);
	tcase_add_test(tc, test_generated_request_ids_are_random);
	tcase_add_test(tc, test_problem_instance_and_audit_name_the_request_id);

	tc = tcase(s, "anonymous", anonymous_start);
	tcase_add_test(tc, test_anonymous_reader_reads_without_token);
	tcase_add_test(tc, test_anonymous_reader_cannot_write_or_read_audit);
	tcase_add_test(tc, test_anonymous_mode_still_refuses_a_bad_token);

	tc = tcase(s, "tamper", api_start);
	tcase_add_test(tc, test_verify_on_an_empty_trail_is_intact);
	tcase_add_test(tc, test_triggers_refuse_update_and_delete_of_audit_rows);
	tcase_add_test(tc, test_verify_names_the_first_tampered_row);
	tcase_add_test(tc, test_verify_names_a_deleted_row);

	tc = tcase(s, "cors", cors_start);
	tcase_add_test(tc, test_preflight_from_an_allowed_origin);
	tcase_add_test(tc, test_preflight_from_another_origin_has_no_cors_headers);
	tcase_add_test(tc, test_answers_to_an_allowed_origin_expose_headers);
	tcase_add_test(tc, test_answers_to_another_origin_have_no_cors_headers);
	tcase_add_test(tc, test_every_answer_varies_on_origin_when_origins_are_allowed);
	return run_suite(s);
}

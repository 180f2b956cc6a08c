/* The export (issue 20): GET /export and cohortd export give the NDJSON
 * POST /import takes, and a registry exported and imported into an empty
 * one has the same records (their timestamps aside) and the same answer on
 * every stats route (as_of aside); gzip'd on request, the same bytes
 * inflated; filtered by the patients' filters; one snapshot (a write made
 * while the export streams is not in it); editor or admin only; a
 * parameter it does not take is a 400 naming it. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#define INVALID_PARAMETER "urn:cohortd:problem:invalid-parameter"

static const char *const COLLECTIONS[] = {"/patients", "/courses", "/outcomes", "/toxicities",
					  NULL};
static const char *const STATS[] = {"/stats/summary?group_by=regimen",
				    "/stats/response?group_by=histology",
				    "/stats/response?confirmed_only=true",
				    "/stats/mortality?group_by=regimen",
				    "/stats/toxicity?unit=course&min_grade=1",
				    "/stats/survival?group_by=setting&at=365&tau=730",
				    "/stats/survival?endpoint=progression_free&group_by=regimen",
				    "/stats/durable-response?group_by=regimen",
				    NULL};

/* Every record of every collection, without their timestamps, and every
 * statistic, without as_of: what a round trip must keep. */
static json_t *registry_state(void)
{
	json_t *state = json_object();
	for (int i = 0; COLLECTIONS[i]; i++) {
		char path[64];
		snprintf(path, sizeof path, "%s?limit=all", COLLECTIONS[i]);
		json_t *list = get_json(path);
		json_t *items = json_object_get(list, "items");
		size_t k;
		json_t *item;
		json_array_foreach(items, k, item)
		{
			json_object_del(item, "created_at");
			json_object_del(item, "updated_at");
		}
		json_object_set(state, COLLECTIONS[i], items);
		json_decref(list);
	}
	for (int i = 0; STATS[i]; i++) {
		json_t *answer = get_json(STATS[i]);
		json_object_del(answer, "as_of");
		json_object_set_new(state, STATS[i], answer);
	}
	return state;
}

static struct resp *export(const char *query, const char *accept_encoding)
{
	char auth[256], enc[128], path[256];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", api_admin_token());
	snprintf(enc, sizeof enc, "Accept-Encoding: %s", accept_encoding ? accept_encoding : "");
	snprintf(path, sizeof path, "/export%s%s", query ? "?" : "", query ? query : "");
	const char *headers[] = {auth, accept_encoding ? enc : NULL, NULL};
	struct resp *r = http("GET", path, headers, NULL, 0);
	ck_assert_msg(r->status == 200, "GET %s: %ld %s", path, r->status, r->body);
	ck_assert_str_eq(resp_header(r, "Content-Type"), "application/x-ndjson");
	return r;
}

static size_t lines(const char *text, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	return n;
}

START_TEST(test_export_then_import_gives_the_same_registry)
{
	api_start_demo();
	json_t *before = registry_state();
	struct resp *r = export(NULL, NULL);
	ck_assert_uint_eq(lines(r->body, r->len), 652);
	char *body = malloc(r->len + 1);
	memcpy(body, r->body, r->len + 1);
	size_t len = r->len;
	resp_free(r);
	/* gzip'd on request: the same bytes once inflated */
	r = export(NULL, "gzip");
	ck_assert_str_eq(resp_header(r, "Content-Encoding"), "gzip");
	char *inflated = malloc(len + 1);
	uLongf out_len = (uLongf)len + 1;
	z_stream z = {0};
	ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)r->body;
	z.avail_in = (uInt)r->len;
	z.next_out = (Bytef *)inflated;
	z.avail_out = (uInt)out_len;
	ck_assert_int_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
	ck_assert_uint_eq(z.total_out, len);
	ck_assert(memcmp(inflated, body, len) == 0);
	ck_assert_uint_lt(r->len, len / 4);
	inflateEnd(&z);
	free(inflated);
	resp_free(r);
	api_stop();

	api_start();
	char auth[256];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", api_admin_token());
	const char *headers[] = {auth, "Content-Type: application/x-ndjson", NULL};
	r = http("POST", "/import", headers, body, len);
	ck_assert_msg(r->status == 200, "import: %ld %s", r->status, r->body);
	resp_free(r);
	json_t *after = registry_state();
	/* the admin token of the second server is one more record nowhere listed */
	ck_assert_msg(json_equal(before, after), "the registry differs after the round trip");
	json_decref(before);
	json_decref(after);
	/* and exported again: byte for byte the same */
	r = export(NULL, NULL);
	ck_assert_uint_eq(r->len, len);
	ck_assert(memcmp(r->body, body, len) == 0);
	resp_free(r);
	free(body);
	api_stop();
}
END_TEST

/* cohortd export on a file, imported with cohortd import into an empty one,
 * exported again: the same bytes, as GET /export gives them. */
START_TEST(test_cohortd_export_and_import_round_trip)
{
	api_start_demo();
	struct resp *r = export(NULL, NULL);
	char dir[] = "/tmp/cohortd-export-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char cmd[1600];
	const char *bin = getenv("COHORTD_BIN");
	snprintf(cmd, sizeof cmd,
		 "'%s' export --db '%s' > %s/a.ndjson 2>%s/a.err && '%s' migrate --db %s/b.db "
		 ">/dev/null && '%s' import --db %s/b.db %s/a.ndjson >/dev/null && '%s' export "
		 "--db %s/b.db > %s/b.ndjson 2>/dev/null && cmp -s %s/a.ndjson %s/b.ndjson",
		 bin, api_db_path(), dir, dir, bin, dir, bin, dir, dir, bin, dir, dir, dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	char path[128];
	snprintf(path, sizeof path, "%s/a.ndjson", dir);
	FILE *f = fopen(path, "rb");
	char *text = malloc(r->len + 2);
	size_t n = fread(text, 1, r->len + 1, f);
	fclose(f);
	ck_assert_uint_eq(n, r->len);
	ck_assert(memcmp(text, r->body, n) == 0); /* the CLI's bytes are the API's */
	free(text);
	snprintf(path, sizeof path, "%s/a.err", dir);
	f = fopen(path, "r");
	char err[256] = "";
	ck_assert_ptr_nonnull(fgets(err, sizeof err, f));
	fclose(f);
	ck_assert_str_eq(err, "exported 14361 records\n"); /* 652 + 1039 + 1521 + 11149 */
	resp_free(r);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	api_stop();
}
END_TEST

START_TEST(test_export_keeps_the_patients_the_filters_keep)
{
	api_start_demo();
	json_t *melanoma = get_json("/patients?histology=melanoma&count=exact&limit=1");
	struct resp *r = export("histology=melanoma", NULL);
	ck_assert_uint_eq(lines(r->body, r->len),
			  (size_t)json_integer_value(json_object_get(melanoma, "total")));
	ck_assert_ptr_null(strstr(r->body, "\"histology\":\"renal_cell\""));
	resp_free(r);
	json_decref(melanoma);
	json_t *few = get_json("/patients?enrolled_on=gte.1987-01-01&regimen=in.il2_tnf,il2_til"
			       "&count=exact&limit=1");
	r = export("enrolled_on=gte.1987-01-01&regimen=in.il2_tnf,il2_til", NULL);
	ck_assert_uint_eq(lines(r->body, r->len),
			  (size_t)json_integer_value(json_object_get(few, "total")));
	resp_free(r);
	json_decref(few);
	r = export("histology=sarcoma&code=like.NOPE*", NULL);
	ck_assert_uint_eq(r->len, 0); /* nothing matches: an empty body */
	resp_free(r);
	/* refusals */
	char auth[256];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", api_admin_token());
	const char *h[] = {auth, NULL};
	static const char *const bad[][2] = {{"/export?sort=code", "sort"},
					     {"/export?limit=10", "limit"},
					     {"/export?grade=3", "grade"},
					     {"/export?histology=nope", "histology"},
					     {"/export?age=gte.x", "age"}};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_refused("GET", bad[i][0], h, NULL, 400, INVALID_PARAMETER, bad[i][1]);
	/* a reader may not export */
	char *reader = api_token_create("reader", "export-reader");
	char rauth[256];
	snprintf(rauth, sizeof rauth, "Authorization: Bearer %s", reader);
	const char *rh[] = {rauth, NULL};
	r = http("GET", "/export", rh, NULL, 0);
	assert_problem(r, 403, "urn:cohortd:problem:forbidden");
	resp_free(r);
	free(reader);
	api_stop();
}
END_TEST

/* The export reads one snapshot: a patient written while its answer is
 * still streaming is not in it. */
START_TEST(test_a_write_during_the_export_is_not_in_it)
{
	api_start_demo();
	int fd = api_connect();
	char req[512];
	int n = snprintf(req, sizeof req,
			 "GET /export HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
			 "Connection: close\r\n\r\n",
			 api_admin_token());
	ck_assert_int_eq(write(fd, req, (size_t)n), n);
	/* a little of the answer, so that the export has begun */
	char first[4096];
	ssize_t got = recv(fd, first, sizeof first, MSG_WAITALL);
	ck_assert_int_gt(got, 0);
	int64_t id = make_patient(NULL); /* written meanwhile */
	size_t cap = 1 << 23, len = (size_t)got;
	char *all = malloc(cap);
	memcpy(all, first, len);
	ssize_t k;
	while ((k = read(fd, all + len, cap - len - 1)) > 0)
		len += (size_t)k;
	all[len] = '\0';
	close(fd);
	const char *body = strstr(all, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	/* chunked: count the lines' ends, which chunk sizes never hold */
	size_t patients = 0;
	for (const char *p = body; (p = strstr(p, "}\n")) != NULL; p += 2)
		patients++;
	ck_assert_uint_eq(patients, 652);
	char code[64];
	json_t *made = get_json(record_path("patients", id));
	snprintf(code, sizeof code, "\"code\":\"%s\"",
		 json_string_value(json_object_get(made, "code")));
	ck_assert_ptr_null(strstr(body, code));
	json_decref(made);
	free(all);
	/* the next export has it */
	struct resp *r = export(NULL, NULL);
	ck_assert_uint_eq(lines(r->body, r->len), 653);
	resp_free(r);
	api_stop();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("export");
	TCase *tc = tcase_create("export");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_export_then_import_gives_the_same_registry);
	tcase_add_test(tc, test_cohortd_export_and_import_round_trip);
	tcase_add_test(tc, test_export_keeps_the_patients_the_filters_keep);
	tcase_add_test(tc, test_a_write_during_the_export_is_not_in_it);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

/* Metrics and logs: Prometheus counters that move with traffic, labelled by
 * route template and never by raw path, a latency histogram, gauges for
 * requests in flight, database size and records; one parseable JSON log
 * line per request, with no secret in it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static char *metrics(void)
{
	struct resp *r = http_get("/metrics");
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(resp_header(r, "Content-Type"),
			 "text/plain; version=0.0.4; charset=utf-8");
	char *text = strdup(r->body);
	resp_free(r);
	return text;
}

/* The value of the series whose name and labels are exactly series. */
static double series(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *line = text; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ' ')
			return atof(line + n + 1);
	return 0;
}

/* Metrics are recorded as each request completes, just after its answer is
 * sent: a scrape right after may precede it, so wait for the series to
 * reach at least want (or time out). Returns the last scrape. */
static char *metrics_when(const char *name, double want)
{
	char *text = NULL;
	for (int attempt = 0; attempt < 50; attempt++) {
		free(text);
		text = metrics();
		if (series(text, name) >= want)
			break;
		usleep(20 * 1000);
	}
	return text;
}

START_TEST(test_request_counter_moves_by_route_template_and_status)
{
	int64_t id = make_patient(NULL);
	const char *ok =
		"cohortd_requests_total{route=\"/patients/{id}\",method=\"GET\",status=\"200\"}";
	const char *missing =
		"cohortd_requests_total{route=\"/patients/{id}\",method=\"GET\",status=\"404\"}";
	char *before = metrics();
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	for (int i = 0; i < 3; i++)
		resp_free(http_get(path));
	resp_free(http_get("/patients/999999999"));
	char *after = metrics_when(missing, series(before, missing) + 1);
	free(after);
	after = metrics_when(ok, series(before, ok) + 3);
	ck_assert(series(after, ok) == series(before, ok) + 3);
	ck_assert(series(after, missing) == series(before, missing) + 1);
	/* labels are templates: no raw id appears */
	ck_assert_ptr_null(strstr(after, path));
	ck_assert_ptr_null(strstr(after, "999999999"));
	free(before);
	free(after);
}
END_TEST

START_TEST(test_latency_histogram_is_consistent)
{
	resp_free(http_get("/patients?limit=1"));
	const char *labels = "{route=\"/patients\",method=\"GET\"";
	char name[256];
	snprintf(name, sizeof name, "cohortd_request_duration_seconds_count%s}", labels);
	char *text = metrics_when(name, 1);
	double count = series(text, name);
	ck_assert(count >= 1);
	snprintf(name, sizeof name, "cohortd_request_duration_seconds_bucket%s,le=\"+Inf\"}",
		 labels);
	ck_assert(series(text, name) == count);
	snprintf(name, sizeof name, "cohortd_request_duration_seconds_bucket%s,le=\"2.5\"}",
		 labels);
	ck_assert(series(text, name) <= count);
	ck_assert_ptr_nonnull(strstr(text, "# TYPE cohortd_request_duration_seconds histogram"));
	free(text);
}
END_TEST

/* cohortd_records of one resource, from a fresh scrape. */
static double series_of_records(const char *table)
{
	char name[96];
	snprintf(name, sizeof name, "cohortd_records{resource=\"%s\"}", table);
	char *text = metrics();
	double v = series(text, name);
	free(text);
	return v;
}

START_TEST(test_gauges_report_in_flight_database_records_and_build)
{
	make_patient(NULL);
	char *text = metrics();
	ck_assert(series(text, "cohortd_requests_in_flight") >= 1); /* this scrape */
	ck_assert(series(text, "cohortd_database_bytes") > 0);
	ck_assert_ptr_nonnull(strstr(text, "cohortd_wal_bytes "));
	ck_assert(series(text, "cohortd_records{resource=\"patients\"}") ==
		  (double)db_count("patients"));
	ck_assert(series(text, "cohortd_records{resource=\"toxicities\"}") ==
		  (double)db_count("toxicities"));
	ck_assert(series(text, "cohortd_build_info{version=\"0.1.0\"}") == 1);
	free(text);
}
END_TEST

/* The counts /metrics reads are kept on every write (record_counts): after
 * creates, a refused write, a delete and a cascade they still equal what
 * the tables hold. */
static void assert_record_counts_match_tables(void)
{
	static const char *const tables[] = {"patients", "courses", "outcomes", "toxicities"};
	char *text = metrics();
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		char name[96];
		snprintf(name, sizeof name, "cohortd_records{resource=\"%s\"}", tables[i]);
		ck_assert_msg(series(text, name) == (double)db_count(tables[i]), "%s: %g, not %lld",
			      tables[i], series(text, name), (long long)db_count(tables[i]));
	}
	free(text);
}

START_TEST(test_record_counts_follow_every_write)
{
	double toxicities = series_of_records("toxicities");
	double patients = series_of_records("patients");
	int64_t patient = 0;
	int64_t course = make_course_of_new_patient(&patient, NULL);
	make_outcome(course, NULL);
	make_toxicity(course, NULL);
	make_toxicity(course, NULL);
	int64_t lone = make_patient(NULL);
	assert_record_counts_match_tables();
	ck_assert(series_of_records("toxicities") == toxicities + 2);
	ck_assert(series_of_records("patients") == patients + 2);

	struct resp *r = http_post_json("/toxicities", "{\"course_id\": 999999}");
	ck_assert_int_eq(r->status, 422);
	resp_free(r);
	assert_record_counts_match_tables();

	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)lone);
	r = http_delete(path);
	ck_assert_int_eq(r->status, 204);
	resp_free(r);
	assert_record_counts_match_tables();

	snprintf(path, sizeof path, "/courses/%lld?cascade=true", (long long)course);
	r = http_delete(path);
	ck_assert_int_eq(r->status, 204);
	resp_free(r);
	assert_record_counts_match_tables();
	ck_assert(series_of_records("toxicities") == toxicities);
	ck_assert(series_of_records("patients") == patients + 1);
}
END_TEST

/* The connection pool's figures: connections open on the engine (a
 * worker's and the writer's at least), writers waiting now, and the shared
 * writer's commits and the writes they held, each POST one write. */
START_TEST(test_pool_figures_follow_the_writes)
{
	char *before = metrics();
	double writes0 = series(before, "cohortd_db_committed_writes_total");
	double commits0 = series(before, "cohortd_db_commits_total");
	for (int i = 0; i < 5; i++)
		make_patient(NULL);
	char *after = metrics_when("cohortd_db_committed_writes_total", writes0 + 5);
	double writes = series(after, "cohortd_db_committed_writes_total") - writes0;
	double commits = series(after, "cohortd_db_commits_total") - commits0;
	ck_assert_msg(writes == 5, "%g writes committed", writes);
	ck_assert_msg(commits >= 1 && commits <= 5, "%g commits", commits);
	char name[96];
	snprintf(name, sizeof name, "cohortd_db_connections{engine=\"%s\"}",
		 api_on_postgresql() ? "postgresql" : "sqlite");
	ck_assert_msg(series(after, name) >= 2, "%s: %g", name, series(after, name));
	static const char *const present[] = {"\ncohortd_db_writers_waiting 0\n",
					      "\ncohortd_db_writer_waits_total ",
					      "\ncohortd_db_writer_wait_seconds_total ", NULL};
	for (int i = 0; present[i]; i++)
		ck_assert_msg(strstr(after, present[i]), "no %s", present[i] + 1);
	free(before);
	free(after);
}
END_TEST

START_TEST(test_metrics_need_a_reader)
{
	static const char *const none[] = {"Authorization:", NULL};
	struct resp *r = http("GET", "/metrics", none, NULL, 0);
	assert_problem(r, 401, "urn:cohortd:problem:unauthorized");
	resp_free(r);
}
END_TEST

/* The log line carrying this request id, waiting for the relay to copy it. */
static json_t *log_line_of(const char *request_id)
{
	char want[200];
	snprintf(want, sizeof want, "\"request_id\":\"%s\"", request_id);
	for (int attempt = 0; attempt < 40; attempt++) {
		FILE *f = fopen(api_log_path(), "r");
		char line[4096];
		json_t *found = NULL;
		int matches = 0;
		while (f && fgets(line, sizeof line, f)) {
			if (strstr(line, want) && strstr(line, "\"msg\":\"request\"")) {
				matches++;
				json_decref(found);
				found = json_loads(line, 0, NULL);
			}
		}
		if (f)
			fclose(f);
		if (found) {
			ck_assert_int_eq(matches, 1);
			return found;
		}
		usleep(50 * 1000);
	}
	ck_abort_msg("no log line for request %s", request_id);
	return NULL;
}

START_TEST(test_one_json_log_line_per_request)
{
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	static const char *const given[] = {"X-Request-ID: obs-line-1", NULL};
	struct resp *r = http("GET", path, given, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	json_t *line = log_line_of("obs-line-1");
	ck_assert_str_eq(json_string_value(json_object_get(line, "level")), "info");
	ck_assert_str_eq(json_string_value(json_object_get(line, "method")), "GET");
	ck_assert_str_eq(json_string_value(json_object_get(line, "route")), "/patients/{id}");
	ck_assert_int_eq(json_integer_value(json_object_get(line, "status")), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(line, "bytes")), (json_int_t)r->len);
	ck_assert_int_ge(json_integer_value(json_object_get(line, "us")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(line, "actor")), "test-admin");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(line, "time")));
	json_decref(line);
	resp_free(r);

	static const char *const missing[] = {"X-Request-ID: obs-line-2", NULL};
	r = http("GET", "/no/such/route", missing, NULL, 0);
	line = log_line_of("obs-line-2");
	ck_assert(json_is_null(json_object_get(line, "route")));
	ck_assert_int_eq(json_integer_value(json_object_get(line, "status")), 404);
	json_decref(line);
	resp_free(r);
}
END_TEST

START_TEST(test_log_holds_no_token_no_body_and_only_json)
{
	static const char *const tagged[] = {"X-Request-ID: obs-line-3",
					     "Content-Type: application/json", NULL};
	const char *body = "{\"code\":\"SECRET-BODY-MARKER\",\"histology\":\"melanoma\","
			   "\"setting\":\"metastatic\",\"regimen\":\"il2_alone\","
			   "\"enrolled_on\":\"1985-01-10\"}";
	struct resp *r = http("POST", "/patients", tagged, body, strlen(body));
	ck_assert_int_eq(r->status, 201);
	resp_free(r);
	json_decref(log_line_of("obs-line-3"));
	FILE *f = fopen(api_log_path(), "r");
	char line[4096];
	int lines = 0;
	while (fgets(line, sizeof line, f)) {
		json_t *j = json_loads(line, 0, NULL);
		ck_assert_msg(j != NULL, "not JSON: %s", line);
		json_decref(j);
		ck_assert_ptr_null(strstr(line, api_admin_token()));
		ck_assert_ptr_null(strstr(line, "SECRET-BODY-MARKER"));
		lines++;
	}
	fclose(f);
	ck_assert_int_gt(lines, 2);
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("observability", &tc);
	tcase_add_test(tc, test_request_counter_moves_by_route_template_and_status);
	tcase_add_test(tc, test_latency_histogram_is_consistent);
	tcase_add_test(tc, test_pool_figures_follow_the_writes);
	tcase_add_test(tc, test_gauges_report_in_flight_database_records_and_build);
	tcase_add_test(tc, test_record_counts_follow_every_write);
	tcase_add_test(tc, test_metrics_need_a_reader);
	tcase_add_test(tc, test_one_json_log_line_per_request);
	tcase_add_test(tc, test_log_holds_no_token_no_body_and_only_json);
	return run_suite(s);
}

/* Several cohortd processes on one database, as behind a load balancer:
 * writes through any of them make one audit chain with no gap and no fork
 * (every acknowledged write is one row, and nothing else is), one
 * Idempotency-Key sent to two of them makes one record, an ETag from one is
 * good on another until a write through either, a token revoked is refused
 * by every one at once, and a statistic never misses a write acknowledged
 * before it was asked; an import one of them left unfinished is taken back
 * by another before anything is chained after it; a write whose audit row
 * the database refuses is refused alone among the writes of its group. Issue 16 asks it of
 * PostgreSQL; it holds on one SQLite file as well (several processes, one WAL), so the suite runs
 * on whichever engine the lane gives it. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define WRITERS 8

/* A POST from a thread of the test's own (the harness's http() asserts,
 * which only the test's thread may do), on curl (kept for the next, so the
 * connection is too), with the admin token, type and extra (or NULL);
 * returns the status (0: no answer) and the body in *answer (freed by the
 * caller) unless answer is NULL. Headers go to on_header unless NULL. */
static long thread_post(CURL *curl, const char *url, const char *type, const char *extra,
			const char *body, char **answer,
			size_t (*on_header)(char *, size_t, size_t, void *), void *header_cls)
{
	char auth[200], content_type[100];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", api_admin_token());
	snprintf(content_type, sizeof content_type, "Content-Type: %s", type);
	struct curl_slist *headers = curl_slist_append(NULL, content_type);
	headers = curl_slist_append(headers, auth);
	headers = curl_slist_append(headers, "Expect:");
	if (extra)
		headers = curl_slist_append(headers, extra);
	struct sink out = {0};
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, header_cls);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	long status = 0;
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	if (answer)
		*answer = out.data ? out.data : strdup("");
	else
		free(out.data);
	return status;
}

/* One writer thread: creates patients through its instance until the
 * deadline, on a curl handle of its own (the harness's http() asserts,
 * which only the test's own thread may do). */
struct writer {
	const char *url;
	int n;
	double until;
	const char *extra;                 /* a header more, or NULL */
	long want;                         /* the status each POST should get (0: 201) */
	long acked, refused, last_refusal; /* acked: answered want */
};

static void *write_patients(void *arg)
{
	struct writer *w = arg;
	CURL *curl = curl_easy_init();
	char url[128];
	snprintf(url, sizeof url, "%s/patients", w->url);
	static atomic_long written; /* every code new, whichever thread or round */
	while (monotonic_seconds() < w->until) {
		long i = atomic_fetch_add(&written, 1);
		char body[300];
		snprintf(body, sizeof body,
			 "{\"code\": \"I-%d-%d-%ld\", \"histology\": \"melanoma\", \"setting\": "
			 "\"metastatic\", \"regimen\": \"il2_alone\", \"enrolled_on\": "
			 "\"1985-01-10\"}",
			 (int)getpid(), w->n, i);
		long status = thread_post(curl, url, "application/json", w->extra, body, NULL, NULL,
					  NULL);
		if (status == (w->want ? w->want : 201)) {
			w->acked++;
		} else {
			w->refused++;
			w->last_refusal = status;
		}
	}
	curl_easy_cleanup(curl);
	return NULL;
}

/* WRITERS threads for seconds, thread i writing through instance i % k. */
static long write_through(int k, double seconds)
{
	struct writer w[WRITERS];
	pthread_t threads[WRITERS];
	double until = monotonic_seconds() + seconds;
	for (int i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){.url = api_instance_url(i % k), .n = i, .until = until};
		ck_assert_int_eq(pthread_create(&threads[i], NULL, write_patients, &w[i]), 0);
	}
	long acked = 0;
	for (int i = 0; i < WRITERS; i++) {
		pthread_join(threads[i], NULL);
		ck_assert_msg(w[i].refused == 0, "writer %d through instance %d: %ld refused (%ld)",
			      i, i % k, w[i].refused, w[i].last_refusal);
		ck_assert_int_gt(w[i].acked, 0);
		acked += w[i].acked;
	}
	return acked;
}

/* On the instance in use: the chain is whole and rows long. */
static void assert_chain_intact(int64_t rows)
{
	json_t *v = get_json("/audit/verify");
	ck_assert_msg(json_is_true(json_object_get(v, "intact")), "the chain is broken");
	ck_assert_int_eq(json_integer_value(json_object_get(v, "rows")), rows);
	json_decref(v);
}

START_TEST(test_writes_through_two_then_three_instances_make_one_unbroken_chain)
{
	api_start();
	api_launch_instance(NULL);
	int64_t audit0 = db_count("audit"), patients0 = db_count("patients");
	long acked = write_through(2, 1.5);
	api_launch_instance(NULL);
	acked += write_through(3, 1.5);
	/* every acknowledged write is one patient and one audit row, and no
	 * more: nothing was lost, doubled or written twice in one seq */
	ck_assert_int_eq(db_count("patients"), patients0 + acked);
	ck_assert_int_eq(db_count("audit"), audit0 + acked);
	for (int i = 0; i < 3; i++) {
		api_use_instance(i);
		assert_chain_intact(audit0 + acked);
	}
	api_stop();
}
END_TEST

/* A write whose audit row the database refuses, among others committed in
 * the same groups: it alone is refused (422, as a schema rule broken), its
 * record is not kept, and every other write is. On PostgreSQL the audit
 * row's INSERT is sent with the write's RELEASE, not alone (db_postgresql.c):
 * its failure must still be its own write's. */
START_TEST(test_a_write_whose_audit_row_is_refused_is_refused_alone)
{
	api_start();
	char row[64];
	if (api_on_postgresql()) {
		db_query_row(
			"CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$ "
			"BEGIN IF NEW.reason = 'refuse me' THEN RAISE EXCEPTION 'refused' "
			"USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$",
			row, sizeof row);
		db_query_row("CREATE TRIGGER refuse_marked BEFORE INSERT ON audit FOR EACH ROW "
			     "EXECUTE FUNCTION refuse_marked()",
			     row, sizeof row);
	} else {
		db_query_row(
			"CREATE TRIGGER refuse_marked BEFORE INSERT ON audit "
			"WHEN NEW.reason = 'refuse me' BEGIN SELECT RAISE(ABORT, 'refused'); END",
			row, sizeof row);
	}
	int64_t audit0 = db_count("audit"), patients0 = db_count("patients");
	struct writer w[WRITERS];
	pthread_t threads[WRITERS];
	double until = monotonic_seconds() + 2;
	for (int i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){.url = api_instance_url(0), .n = i, .until = until};
		if (i == 0)
			w[i].extra = "Change-Reason: refuse me", w[i].want = 422;
		ck_assert_int_eq(pthread_create(&threads[i], NULL, write_patients, &w[i]), 0);
	}
	long acked = 0;
	for (int i = 0; i < WRITERS; i++) {
		pthread_join(threads[i], NULL);
		ck_assert_msg(w[i].refused == 0, "writer %d: %ld answered otherwise (%ld)", i,
			      w[i].refused, w[i].last_refusal);
		ck_assert_int_gt(w[i].acked, 0);
		acked += i ? w[i].acked : 0;
	}
	ck_assert_int_eq(db_count("patients"), patients0 + acked);
	ck_assert_int_eq(db_count("audit"), audit0 + acked);
	assert_chain_intact(audit0 + acked);
	api_stop();
}
END_TEST

/* --- one Idempotency-Key, two instances ----------------------------------- */

struct keyed {
	const char *url, *key, *body;
	long status;
	char location[64];
	char *answer;
	bool replayed;
};

static size_t keep_header(char *ptr, size_t size, size_t n, void *cls)
{
	struct keyed *k = cls;
	size_t len = size * n;
	if (len > 10 && strncasecmp(ptr, "Location: ", 10) == 0)
		snprintf(k->location, sizeof k->location, "%.*s", (int)(len - 12), ptr + 10);
	if (len > 20 && strncasecmp(ptr, "Idempotent-Replayed:", 20) == 0)
		k->replayed = true;
	return len;
}

static void *post_keyed(void *arg)
{
	struct keyed *k = arg;
	CURL *curl = curl_easy_init();
	char url[128], key[200];
	snprintf(url, sizeof url, "%s/patients", k->url);
	snprintf(key, sizeof key, "Idempotency-Key: %s", k->key);
	k->status = thread_post(curl, url, "application/json", key, k->body, &k->answer,
				keep_header, k);
	curl_easy_cleanup(curl);
	return NULL;
}

START_TEST(test_one_idempotency_key_sent_to_two_instances_makes_one_record)
{
	api_start();
	api_launch_instance(NULL);
	for (int round = 0; round < 20; round++) {
		int64_t patients = db_count("patients"), audit = db_count("audit");
		char key[64], body[300];
		snprintf(key, sizeof key, "%s", unique_code("twice"));
		snprintf(body, sizeof body,
			 "{\"code\": \"%s\", \"histology\": \"melanoma\", \"setting\": "
			 "\"metastatic\", \"regimen\": \"il2_alone\", \"enrolled_on\": "
			 "\"1985-01-10\"}",
			 key);
		/* the same request to both at once */
		struct keyed k[2];
		pthread_t threads[2];
		for (int i = 0; i < 2; i++) {
			k[i] = (struct keyed){.url = api_instance_url(i), .key = key, .body = body};
			ck_assert_int_eq(pthread_create(&threads[i], NULL, post_keyed, &k[i]), 0);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(threads[i], NULL);
		for (int i = 0; i < 2; i++)
			ck_assert_msg(k[i].status == 201, "round %d, instance %d: %ld %s", round, i,
				      k[i].status, k[i].answer);
		/* one made it, the other replayed its answer */
		ck_assert_msg(k[0].replayed != k[1].replayed, "round %d: replayed %d and %d", round,
			      k[0].replayed, k[1].replayed);
		ck_assert_str_eq(k[0].location, k[1].location);
		ck_assert_str_eq(k[0].answer, k[1].answer);
		ck_assert_int_eq(db_count("patients"), patients + 1);
		ck_assert_int_eq(db_count("audit"), audit + 1);
		free(k[0].answer);
		free(k[1].answer);
	}
	api_stop();
}
END_TEST

/* --- ETags ---------------------------------------------------------------- */

static struct resp *get_if_none_match(const char *path, const char *etag)
{
	char inm[120];
	snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
	const char *const headers[] = {inm, NULL};
	return http("GET", path, headers, NULL, 0);
}

/* On the instance in use: path with etag answers status; returns the
 * answer's ETag (static buffer). */
static const char *expect_conditional(const char *path, const char *etag, long status)
{
	static char now[120];
	struct resp *r = get_if_none_match(path, etag);
	ck_assert_msg(r->status == status, "%s with %s: %ld, not %ld", path, etag, r->status,
		      status);
	snprintf(now, sizeof now, "%s", resp_header(r, "ETag"));
	resp_free(r);
	return now;
}

START_TEST(test_an_etag_from_one_instance_holds_on_another_until_a_write)
{
	api_start();
	api_launch_instance(NULL);
	int64_t id = make_patient(NULL);
	char path[64], etag[120], stats_etag[120];
	snprintf(path, sizeof path, "%s", record_path("patients", id));
	struct resp *r = get_ok(path);
	snprintf(etag, sizeof etag, "%s", resp_header(r, "ETag"));
	resp_free(r);
	r = get_ok("/stats/summary");
	snprintf(stats_etag, sizeof stats_etag, "%s", resp_header(r, "ETag"));
	resp_free(r);

	/* the other instance knows both as current */
	api_use_instance(1);
	expect_conditional(path, etag, 304);
	expect_conditional("/stats/summary", stats_etag, 304);

	/* a write through the other instance: the first no longer answers 304 */
	json_decref(patch_ok(path, "{\"sex\": \"female\"}"));
	api_use_instance(0);
	snprintf(etag, sizeof etag, "%s", expect_conditional(path, etag, 200));
	snprintf(stats_etag, sizeof stats_etag, "%s",
		 expect_conditional("/stats/summary", stats_etag, 200));
	/* and the new ones hold on both */
	for (int i = 1; i >= 0; i--) {
		api_use_instance(i);
		expect_conditional(path, etag, 304);
		expect_conditional("/stats/summary", stats_etag, 304);
	}
	/* a write that touches the statistics only (another patient) */
	api_use_instance(1);
	make_patient(NULL);
	api_use_instance(0);
	expect_conditional(path, etag, 304);
	expect_conditional("/stats/summary", stats_etag, 200);
	api_stop();
}
END_TEST

/* --- tokens --------------------------------------------------------------- */

static int cli(const char *args)
{
	const char *bin = getenv("COHORTD_BIN");
	char cmd[1500];
	snprintf(cmd, sizeof cmd, "'%s' %s --db '%s' >&2", bin ? bin : "./cohortd", args,
		 api_db_path());
	int status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static long status_with(const char *token)
{
	char auth[200];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	const char *const headers[] = {auth, NULL};
	struct resp *r = http("GET", "/patients?limit=1", headers, NULL, 0);
	long status = r->status;
	resp_free(r);
	return status;
}

START_TEST(test_a_token_revoked_is_refused_by_every_instance_at_once)
{
	api_start();
	api_launch_instance(NULL);
	api_launch_instance(NULL);
	char *token = api_token_create("reader", "shared-reader");
	for (int i = 0; i < 3; i++) {
		api_use_instance(i);
		ck_assert_int_eq(status_with(token), 200);
	}
	ck_assert_int_eq(cli("token revoke shared-reader"), 0);
	for (int i = 0; i < 3; i++) {
		api_use_instance(i);
		ck_assert_int_eq(status_with(token), 401);
	}
	free(token);
	api_stop();
}
END_TEST

/* --- statistics ----------------------------------------------------------- */

static json_int_t summary_patients(void)
{
	json_t *s = get_json("/stats/summary");
	json_int_t n =
		json_integer_value(json_object_get(json_object_get(s, "overall"), "patients"));
	json_decref(s);
	return n;
}

START_TEST(test_a_statistic_never_misses_a_write_acknowledged_through_another_instance)
{
	api_start();
	api_launch_instance(NULL);
	api_use_instance(1);
	json_int_t before = summary_patients(); /* cached there now */
	for (int i = 1; i <= 20; i++) {
		api_use_instance(i % 2);
		make_patient(NULL); /* acknowledged through one... */
		api_use_instance((i + 1) % 2);
		ck_assert_int_eq(summary_patients(), before + i); /* ...counted by the other */
	}
	api_stop();
}
END_TEST

/* --- an import in chunks -------------------------------------------------- */

/* A writer through one instance for as long as flag stays false. */
struct steady_writer {
	struct writer w;
	volatile bool stop;
	pthread_t thread;
};

static void *write_until_stopped(void *arg)
{
	struct steady_writer *s = arg;
	while (!s->stop) {
		s->w.until = monotonic_seconds() + 0.05;
		write_patients(&s->w);
	}
	return NULL;
}

static char *import_lines(int n, int bad_at)
{
	size_t cap = (size_t)n * 700, len = 0;
	char *body = malloc(cap);
	for (int i = 1; i <= n; i++)
		len += (size_t)snprintf(
			body + len, cap - len,
			"{\"code\":\"%s\",\"histology\":\"melanoma\",\"setting\":\"metastatic\","
			"\"regimen\":\"il2_lak\",\"enrolled_on\":\"%s\",\"courses\":[{"
			"\"started_on\":\"1985-02-01\",\"toxicities\":[{\"term\":\"Chills\","
			"\"grade\":1,\"onset_on\":\"1985-02-01\",\"attribution\":\"definite\"}]}]}"
			"\n",
			unique_code("IMP"), i == bad_at ? "1985-02-30" : "1985-01-10");
	return body;
}

/* An import through instance 0 commits in chunks of 100 lines, pausing
 * after each, while a writer goes on through instance 1. No write of the
 * other instance lands between the chunks: the import's ids are one run,
 * and when it is refused at its end, taking it back takes exactly its own
 * records and audit rows, and the chain stays whole. Where the engine is
 * one SQLite file, one process imports into it: nothing keeps another
 * process's writes out between the chunks, so this runs on PostgreSQL. */
static void import_beside_a_writer(int bad_at)
{
	if (!api_on_postgresql()) {
		fprintf(stderr,
			"skipped on SQLite: %s: an import keeps out the writes of its own "
			"process only\n",
			__func__);
		return;
	}
	static const char *const chunked[] = {"--import-chunk", "100", NULL};
	setenv("COHORTD_INJECT_PAUSE", "import-chunk:150", 1);
	api_start_with(chunked);
	unsetenv("COHORTD_INJECT_PAUSE");
	api_launch_instance(NULL);
	int64_t patients0 = db_count("patients"), audit0 = db_count("audit");

	static struct steady_writer other;
	other = (struct steady_writer){.w = {.url = api_instance_url(1), .n = WRITERS}};
	ck_assert_int_eq(pthread_create(&other.thread, NULL, write_until_stopped, &other), 0);
	usleep(100 * 1000); /* it writes before the import begins, too */
	char *body = import_lines(350, bad_at);
	static const char *const ndjson[] = {"Content-Type: application/x-ndjson", NULL};
	struct resp *r = http("POST", "/import", ndjson, body, strlen(body));
	usleep(100 * 1000); /* and after it ends */
	other.stop = true;
	pthread_join(other.thread, NULL);
	ck_assert_msg(other.w.refused == 0, "%ld writes refused (%ld)", other.w.refused,
		      other.w.last_refusal);
	ck_assert_int_gt(other.w.acked, 0);
	long acked = other.w.acked;

	if (bad_at) {
		ck_assert_int_eq(r->status, 422);
		ck_assert_int_eq(db_count("patients"), patients0 + acked);
		ck_assert_int_eq(db_count("audit"), audit0 + acked);
		ck_assert_int_eq(db_count("import_unfinished"), 0);
	} else {
		ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
		/* a patient, a course and a toxicity a line */
		ck_assert_int_eq(db_count("patients"), patients0 + 350 + acked);
		ck_assert_int_eq(db_count("audit"), audit0 + 3 * 350 + acked);
		char run[64];
		db_query_row("SELECT max(id) - min(id) + 1, count(*) FROM patients "
			     "WHERE code LIKE 'IMP-%'",
			     run, sizeof run);
		ck_assert_str_eq(run, "350/350");
	}
	resp_free(r);
	free(body);
	for (int i = 0; i < 2; i++) {
		api_use_instance(i);
		assert_chain_intact(db_count("audit"));
	}
	api_stop();
}

START_TEST(test_an_import_in_chunks_keeps_another_instances_writes_out_of_it)
{
	import_beside_a_writer(0);
}
END_TEST

START_TEST(test_an_import_refused_after_its_chunks_takes_back_its_own_records_only)
{
	import_beside_a_writer(340);
}
END_TEST

/* --- an import whose instance stopped in it -------------------------------- */

static void *send_import_and_ignore(void *arg)
{
	CURL *curl = curl_easy_init();
	char url[128];
	snprintf(url, sizeof url, "%s/import", api_instance_url(0));
	/* the server is killed under it */
	thread_post(curl, url, "application/x-ndjson", NULL, arg, NULL, NULL, NULL);
	curl_easy_cleanup(curl);
	return NULL;
}

/* Instance 0 is killed after its import's first chunk is committed, while
 * instance 1 serves on. The next write through instance 1 finds the mark
 * of an import no one runs: it is refused with 503 and Retry-After (had it
 * been chained after the import's audit rows, taking them back would break
 * the chain), the import is taken back, and the write after is made. */
START_TEST(test_an_import_left_by_a_stopped_instance_is_taken_back_by_another)
{
	static const char *const chunked[] = {"--import-chunk", "100", NULL};
	setenv("COHORTD_INJECT_PAUSE", "import-chunk:5000", 1);
	api_start_with(chunked);
	unsetenv("COHORTD_INJECT_PAUSE");
	api_launch_instance(NULL);
	int64_t patients0 = db_count("patients"), audit0 = db_count("audit");
	char *body = import_lines(350, 0);
	pthread_t thread;
	ck_assert_int_eq(pthread_create(&thread, NULL, send_import_and_ignore, body), 0);
	double until = monotonic_seconds() + 10;
	while (db_count("import_unfinished") == 0 && monotonic_seconds() < until)
		usleep(20 * 1000);
	ck_assert_int_eq(db_count("import_unfinished"), 1);
	/* its first chunk (chunks end between batches of lines) is in */
	ck_assert_int_ge(db_count("patients"), patients0 + 100);
	ck_assert_int_lt(db_count("patients"), patients0 + 350);
	api_crash();
	pthread_join(thread, NULL);
	free(body);

	api_use_instance(1);
	static const char patient[] =
		"{\"code\": \"AFTER-CRASH\", \"histology\": \"melanoma\", \"setting\": "
		"\"metastatic\", \"regimen\": \"il2_alone\", \"enrolled_on\": \"1985-01-10\"}";
	struct resp *r = http_post_json("/patients", patient);
	ck_assert_msg(r->status == 503, "%ld %s", r->status, r->body);
	ck_assert_str_eq(resp_header(r, "Retry-After"), "1");
	ck_assert_str_eq(resp_str(r, "type"), "urn:cohortd:problem:unavailable");
	resp_free(r);
	ck_assert_int_eq(db_count("import_unfinished"), 0);
	ck_assert_int_eq(db_count("patients"), patients0);
	ck_assert_int_eq(db_count("audit"), audit0);
	r = http_post_json("/patients", patient);
	ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
	resp_free(r);
	ck_assert_int_eq(db_count("patients"), patients0 + 1);
	assert_chain_intact(audit0 + 1);
	size_t len;
	char *log = read_file(api_log_path(), &len);
	ck_assert_ptr_nonnull(strstr(log, "an import that did not finish was taken back"));
	free(log);
	api_stop();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("instances");
	TCase *tc = tcase_create("instances");
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	tcase_add_test(tc, test_writes_through_two_then_three_instances_make_one_unbroken_chain);
	tcase_add_test(tc, test_a_write_whose_audit_row_is_refused_is_refused_alone);
	tcase_add_test(tc, test_one_idempotency_key_sent_to_two_instances_makes_one_record);
	tcase_add_test(tc, test_an_etag_from_one_instance_holds_on_another_until_a_write);
	tcase_add_test(tc, test_a_token_revoked_is_refused_by_every_instance_at_once);
	tcase_add_test(tc,
		       test_a_statistic_never_misses_a_write_acknowledged_through_another_instance);
	tcase_add_test(tc, test_an_import_in_chunks_keeps_another_instances_writes_out_of_it);
	tcase_add_test(tc, test_an_import_refused_after_its_chunks_takes_back_its_own_records_only);
	tcase_add_test(tc, test_an_import_left_by_a_stopped_instance_is_taken_back_by_another);
	return run_suite(s);
}

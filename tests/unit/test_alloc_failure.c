/* Allocation failure, injected at the Nth allocation for N = 1, 2, ...
 * (fault.h: ours, Jansson's and SQLite's allocators, counted together)
 * through a create (also under an Idempotency-Key), a list, a stats request
 * and four creates at once (the writer's group commit), and, in the first
 * mode only, a history, a CSV statistic, a patch and a delete, to the real
 * server, run in this process on a fresh database. Every attempt must end
 * in the success answer, byte for byte what the same request answers
 * without injection (a write: the record as then read back), or in a
 * 500/503 problem+json; a failed write must have changed nothing, a
 * successful one exactly its record and one audit row; the file must pass
 * PRAGMA integrity_check and the audit chain must link on after each
 * attempt (and /audit/verify pass after each loop); the writer must keep
 * working (the next attempt's success shows it). See sweep_next for which
 * N are tried. Each request is driven in two modes: the Nth allocation
 * alone failing, and it and every one after it (as SQLite's own malloc
 * tests do). Leaks are LeakSanitizer's and valgrind's to find (both lanes
 * run this test).
 *
 * The client is libcurl, whose allocations are its own; responses are
 * parsed with Jansson only while nothing is armed. libmicrohttpd's
 * allocations are never injected. */
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "fault.h"
#include "handlers.h"
#include "log.h"
#include "resources.h"
#include "router.h"
#include "routes.h"
#include "server.h"
#include "store.h"

/* More allocations than any of the three requests makes. */
#define MAX_ATTEMPTS 20000

static char dir[64], db_path[128], base[64], auth_header[128];
static struct server *srv;
/* the test's own read-only connection to the file */
static sqlite3 *file;
/* the audit rows checked by chain_linked so far, and the last one's hash */
static int64_t linked_seq;
static char linked_hash[65];

/* --- the server, in this process ---------------------------------------- */

static void server_up(void)
{
	snprintf(dir, sizeof dir, "/tmp/cohortd-alloc-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db_path, sizeof db_path, "%s/test.db", dir);
	struct db *db = NULL;
	char token[TOKEN_TEXT_LEN + 1];
	ck_assert_int_eq(db_open(db_path, &db), DB_OK);
	ck_assert_int_eq(db_migrate(db), DB_OK);
	ck_assert_int_eq(token_create(db, "alloc-admin", ROLE_ADMIN, token), DB_OK);
	db_close(db);
	snprintf(auth_header, sizeof auth_header, "Authorization: Bearer %s", token);
	ck_assert_int_eq(sqlite3_open_v2(db_path, &file, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);

	char *argv[] = {"cohortd",   "--db", db_path,  "--port",    "0",
			"--threads", "4",    "--bind", "127.0.0.1", NULL};
	struct config cfg;
	ck_assert_int_eq(config_parse(&cfg, 9, argv, stderr), 0);
	log_set_level(LOG_ERROR);
	ck_assert_int_eq(db_pool_init(db_path), DB_OK);
	router_configure(routes, routes_count, cfg.anonymous_role, cfg.cors_origins,
			 cfg.ncors_origins, cfg.max_import);
	unsigned port = 0;
	srv = server_start(&cfg, &port);
	ck_assert_ptr_nonnull(srv);
	snprintf(base, sizeof base, "http://127.0.0.1:%u", port);
	stats_cache_clear();
	linked_seq = 0;
	memset(linked_hash, '0', 64);
	linked_hash[64] = '\0';
}

static void server_down(void)
{
	server_stop(srv);
	srv = NULL;
	db_pool_close();
	stats_cache_clear();
	sqlite3_close(file);
	file = NULL;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* --- the client ------------------------------------------------------------ */

struct answer {
	long status;
	char type[64];
	char *body;
	size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *cls)
{
	struct answer *a = cls;
	a->body = realloc(a->body, a->len + size * n + 1);
	memcpy(a->body + a->len, p, size * n);
	a->len += size * n;
	a->body[a->len] = '\0';
	return size * n;
}

/* An extra request header for ask(), or "" for none. */
static char extra_header[128];

static struct answer ask(const char *method, const char *path, const char *body)
{
	struct answer a = {0};
	char url[512];
	snprintf(url, sizeof url, "%s%s", base, path);
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = curl_slist_append(NULL, auth_header);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Expect:");
	if (extra_header[0])
		headers = curl_slist_append(headers, extra_header);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
	if (body)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	CURLcode rc = curl_easy_perform(curl);
	ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
	char *type = NULL;
	curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
	snprintf(a.type, sizeof a.type, "%s", type ? type : "");
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	if (!a.body)
		a.body = calloc(1, 1);
	return a;
}

static json_t *ask_json(const char *method, const char *path, const char *body, long status)
{
	struct answer a = ask(method, path, body);
	ck_assert_msg(a.status == status, "%s %s: %ld %.400s", method, path, a.status, a.body);
	json_t *j = json_loads(a.body, 0, NULL);
	ck_assert_msg(j != NULL, "%s %s: not JSON: %.400s", method, path, a.body);
	free(a.body);
	return j;
}

static int64_t create(const char *path, const char *body)
{
	json_t *j = ask_json("POST", path, body, 201);
	int64_t id = json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	return id;
}

/* --- what every attempt must leave ---------------------------------------- */

static int64_t count(sqlite3 *db, const char *table)
{
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	sqlite3_stmt *stmt = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return n;
}

struct counts {
	int64_t records, audit, answers;
};

/* Rows of table and of the audit, read from the file by a connection of
 * the test's own; and the file is sound. */
static struct counts file_state(const char *table)
{
	sqlite3 *db = file;
	sqlite3_stmt *stmt = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(stmt, 0), "ok");
	sqlite3_finalize(stmt);
	struct counts c = {count(db, table), count(db, "audit"), count(db, "idempotency")};
	return c;
}

/* The newest audit row records the creation of this record, whole: its
 * after is the record as GET answers it (keys sorted). */
static void audit_records(const char *table, const char *record)
{
	sqlite3 *db = file;
	sqlite3_stmt *stmt = NULL;
	ck_assert_int_eq(
		sqlite3_prepare_v2(db,
				   "SELECT action, entity, entity_id, before, after, actor "
				   "FROM audit ORDER BY seq DESC LIMIT 1",
				   -1, &stmt, NULL),
		SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(stmt, 0), "create");
	ck_assert_str_eq((const char *)sqlite3_column_text(stmt, 1), table);
	ck_assert_int_eq(sqlite3_column_type(stmt, 3), SQLITE_NULL);
	ck_assert_str_eq((const char *)sqlite3_column_text(stmt, 5), "alloc-admin");
	const char *after = (const char *)sqlite3_column_text(stmt, 4);
	ck_assert_ptr_nonnull(after);
	json_t *stored = json_loads(after, 0, NULL), *answered = json_loads(record, 0, NULL);
	ck_assert_ptr_nonnull(stored);
	ck_assert_ptr_nonnull(answered);
	ck_assert_int_eq(sqlite3_column_int64(stmt, 2),
			 json_integer_value(json_object_get(answered, "id")));
	ck_assert_msg(json_equal(stored, answered), "the audit holds %.400s for %.400s", after,
		      record);
	json_decref(stored);
	json_decref(answered);
	sqlite3_finalize(stmt);
}

/* The rows appended since the last call continue the chain: seq one more,
 * prev_hash the hash before (each attempt; the hashes themselves are
 * recomputed by /audit/verify at the end of each loop, which catches a bad
 * row of any attempt, since rows never change). */

static void chain_linked(int64_t rows)
{
	sqlite3_stmt *stmt = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(file,
					    "SELECT seq, prev_hash, hash FROM audit WHERE seq > ? "
					    "ORDER BY seq",
					    -1, &stmt, NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(stmt, 1, linked_seq);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		ck_assert_int_eq(sqlite3_column_int64(stmt, 0), linked_seq + 1);
		ck_assert_str_eq((const char *)sqlite3_column_text(stmt, 1), linked_hash);
		linked_seq++;
		snprintf(linked_hash, sizeof linked_hash, "%s", sqlite3_column_text(stmt, 2));
	}
	sqlite3_finalize(stmt);
	ck_assert_int_eq(linked_seq, rows);
}

static void audit_intact(int64_t rows)
{
	json_t *v = ask_json("GET", "/audit/verify", NULL, 200);
	ck_assert(json_is_true(json_object_get(v, "intact")));
	ck_assert_int_eq(json_integer_value(json_object_get(v, "rows")), rows);
	json_decref(v);
}

/* A failed attempt's answer: 500 or 503, an RFC 9457 body. */
static void assert_clean_failure(const struct answer *a, long n)
{
	ck_assert_msg(a->status == 500 || a->status == 503, "N=%ld: status %ld: %.400s", n,
		      a->status, a->body);
	ck_assert_msg(strncmp(a->type, "application/problem+json", 24) == 0, "N=%ld: %s", n,
		      a->type);
	json_t *p = json_loads(a->body, 0, NULL);
	ck_assert_msg(p != NULL, "N=%ld: not JSON: %.400s", n, a->body);
	ck_assert(json_is_string(json_object_get(p, "type")));
	ck_assert(json_is_string(json_object_get(p, "title")));
	ck_assert(json_is_string(json_object_get(p, "instance")));
	ck_assert(json_is_string(json_object_get(p, "request_id")));
	ck_assert_int_eq(json_integer_value(json_object_get(p, "status")), a->status);
	json_decref(p);
}

/* One attempt: the nth allocation from now fails (and every later one when
 * persistent). *hit tells whether any injected failure happened. */
static struct answer attempt(long n, bool persistent, const char *method, const char *path,
			     const char *body, bool *hit)
{
	fault_arm(n, persistent);
	struct answer a = ask(method, path, body);
	fault_disarm();
	*hit = fault_failures() > 0;
	return a;
}

/* The attempts' N: 1, 2, ... until one meets no injected failure (at N =
 * end), then, from the allocation count C of that attempt (a request with
 * its caches warm), C, C - 1, ... C - TAIL + 1 again, each after the same
 * request made once without injection. A failure leaves caches cold (SQLite
 * drops pages and statements after an SQLITE_NOMEM), so the attempt after
 * one makes more allocations, and the first sweep's attempts fail those
 * instead of the warm request's last ones: its answer and, for a write,
 * what follows its commit. */
#define TAIL 12

struct sweep {
	long n, end, clean;
	bool warm_up; /* make the request once, disarmed, before this attempt */
};

static bool sweep_next(struct sweep *s, bool hit)
{
	if (!s->end) {
		if (s->n == 0 || hit) {
			s->n++;
			ck_assert_msg(s->n <= MAX_ATTEMPTS, "more than %d allocations",
				      MAX_ATTEMPTS);
			return true;
		}
		s->end = s->n;
		s->clean = fault_count();
		s->n = s->clean + 1;
	}
	s->warm_up = hit;
	s->n--;
	return s->n >= 1 && s->n > s->clean - TAIL;
}

/* A number no other attempt used (for keys and codes). */
static long serial(void)
{
	static long n;
	return ++n;
}

/* --- the fixture's cohort --------------------------------------------------- */

static int64_t course_id;

static void cohort(void)
{
	static const char *const regimens[] = {"il2_alone", "il2_lak", "il2_til"};
	static const char *const responses[] = {"CR", "PR", "SD", "PD"};
	for (int i = 0; i < 12; i++) {
		char body[512];
		snprintf(body, sizeof body,
			 "{\"code\":\"A-%d\",\"histology\":\"melanoma\",\"setting\":\"metastatic\","
			 "\"regimen\":\"%s\",\"enrolled_on\":\"1985-01-10\"}",
			 i, regimens[i % 3]);
		int64_t patient = create("/patients", body);
		snprintf(body, sizeof body,
			 "{\"patient_id\":%lld,\"started_on\":\"1985-02-01\",\"il2_dose\":720000,"
			 "\"il2_dose_unit\":\"IU/kg\"}",
			 (long long)patient);
		course_id = create("/courses", body);
		snprintf(body, sizeof body,
			 "{\"course_id\":%lld,\"assessed_on\":\"1985-04-01\",\"response\":\"%s\"}",
			 (long long)course_id, responses[i % 4]);
		create("/outcomes", body);
	}
}

/* --- the three requests ---------------------------------------------------- */

/* idempotent: each attempt under an Idempotency-Key of its own, whose
 * stored answer must exist exactly when the create succeeded, and replay
 * the same answer. */
static long drive_create(bool persistent, bool idempotent)
{
	char body[256];
	snprintf(body, sizeof body,
		 "{\"course_id\":%lld,\"term\":\"Hypotension\",\"grade\":3,"
		 "\"onset_on\":\"1985-02-02\",\"attribution\":\"definite\"}",
		 (long long)course_id);
	struct counts before = file_state("toxicities");
	struct sweep sw = {0};
	for (bool hit = true; sweep_next(&sw, hit);) {
		long n = sw.n;
		if (sw.warm_up) {
			if (idempotent)
				snprintf(extra_header, sizeof extra_header,
					 "Idempotency-Key: alloc-%ld", serial());
			create("/toxicities", body);
			extra_header[0] = '\0';
			before = file_state("toxicities");
		}
		if (idempotent)
			snprintf(extra_header, sizeof extra_header, "Idempotency-Key: alloc-%ld",
				 serial());
		struct answer a = attempt(n, persistent, "POST", "/toxicities", body, &hit);
		struct counts after = file_state("toxicities");
		if (a.status == 201) {
			ck_assert_int_eq(after.records, before.records + 1);
			ck_assert_int_eq(after.audit, before.audit + 1);
			ck_assert_int_eq(after.answers, before.answers + idempotent);
			if (idempotent) {
				struct answer again = ask("POST", "/toxicities", body);
				ck_assert_int_eq(again.status, 201);
				ck_assert_str_eq(again.body, a.body);
				free(again.body);
				struct counts replayed = file_state("toxicities");
				ck_assert_int_eq(replayed.records, after.records);
			}
			json_t *made = json_loads(a.body, 0, NULL);
			ck_assert_ptr_nonnull(made);
			ck_assert_str_eq(json_string_value(json_object_get(made, "term")),
					 "Hypotension");
			ck_assert_int_eq(json_integer_value(json_object_get(made, "course_id")),
					 course_id);
			char path[64];
			snprintf(path, sizeof path, "/toxicities/%lld",
				 (long long)json_integer_value(json_object_get(made, "id")));
			json_decref(made);
			struct answer back = ask("GET", path, NULL);
			ck_assert_int_eq(back.status, 200);
			ck_assert_str_eq(back.body, a.body);
			free(back.body);
			audit_records("toxicities", a.body);
		} else {
			assert_clean_failure(&a, n);
			ck_assert_msg(
				after.records == before.records && after.audit == before.audit &&
					after.answers == before.answers,
				"N=%ld: a failed create wrote %lld record(s), %lld audit row(s)", n,
				(long long)(after.records - before.records),
				(long long)(after.audit - before.audit));
		}
		extra_header[0] = '\0';
		chain_linked(after.audit);
		free(a.body);
		before = after;
		if (!hit) {
			ck_assert_msg(a.status == 201, "N=%ld: no failure injected, yet %ld", n,
				      a.status);
		}
	}
	audit_intact(file_state("patients").audit);
	return sw.end;
}

/* A read: each attempt answers exactly the reference or fails cleanly; the
 * database is untouched. */
static long drive_read(bool persistent, const char *path, bool stats)
{
	if (stats)
		stats_cache_clear();
	struct answer want = ask("GET", path, NULL);
	ck_assert_int_eq(want.status, 200);
	struct counts before = file_state("patients");
	struct sweep sw = {0};
	for (bool hit = true; sweep_next(&sw, hit);) {
		long n = sw.n;
		if (sw.warm_up) {
			if (stats)
				stats_cache_clear();
			free(ask("GET", path, NULL).body);
		}
		if (stats)
			stats_cache_clear();
		struct answer a = attempt(n, persistent, "GET", path, NULL, &hit);
		if (a.status == 200)
			ck_assert_msg(strcmp(a.body, want.body) == 0,
				      "N=%ld: a different answer:\n%.400s\n%.400s", n, a.body,
				      want.body);
		else
			assert_clean_failure(&a, n);
		if (stats) {
			/* what the cache keeps from the attempt is right too */
			struct answer again = ask("GET", path, NULL);
			ck_assert_int_eq(again.status, 200);
			ck_assert_str_eq(again.body, want.body);
			free(again.body);
		}
		struct counts after = file_state("patients");
		ck_assert(after.records == before.records && after.audit == before.audit &&
			  after.answers == before.answers);
		free(a.body);
		if (!hit) {
			ck_assert_msg(a.status == 200, "N=%ld: no failure injected, yet %ld", n,
				      a.status);
		}
	}
	free(want.body);
	return sw.end;
}

/* WRITERS creates at once, so that the shared writer groups their commits
 * (db.c): whichever of them meets the failure, each answer is 201 or a
 * clean failure, and exactly the 201s are in the file, each with its audit
 * row; a failed writer's work never rides along with another's commit. */
#define WRITERS 4

static long drive_concurrent(bool persistent)
{
	char body[256];
	snprintf(body, sizeof body,
		 "{\"course_id\":%lld,\"term\":\"Nausea\",\"grade\":2,"
		 "\"onset_on\":\"1985-02-02\",\"attribution\":\"probable\"}",
		 (long long)course_id);
	char url[128];
	snprintf(url, sizeof url, "%s/toxicities", base);
	struct counts before = file_state("toxicities");
	struct sweep sw = {0};
	for (bool hit = true; sweep_next(&sw, hit);) {
		long n = sw.n;
		if (sw.warm_up) {
			create("/toxicities", body);
			before = file_state("toxicities");
		}
		CURLM *multi = curl_multi_init();
		CURL *easy[WRITERS];
		struct answer a[WRITERS] = {{0}};
		struct curl_slist *headers = curl_slist_append(NULL, auth_header);
		headers = curl_slist_append(headers, "Content-Type: application/json");
		headers = curl_slist_append(headers, "Expect:");
		for (int w = 0; w < WRITERS; w++) {
			easy[w] = curl_easy_init();
			curl_easy_setopt(easy[w], CURLOPT_URL, url);
			curl_easy_setopt(easy[w], CURLOPT_HTTPHEADER, headers);
			curl_easy_setopt(easy[w], CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(easy[w], CURLOPT_WRITEFUNCTION, collect);
			curl_easy_setopt(easy[w], CURLOPT_WRITEDATA, &a[w]);
			curl_easy_setopt(easy[w], CURLOPT_TIMEOUT, 60L);
			curl_multi_add_handle(multi, easy[w]);
		}
		fault_arm(n, persistent);
		int running = WRITERS;
		while (running > 0) {
			ck_assert_int_eq(curl_multi_perform(multi, &running), CURLM_OK);
			if (running > 0)
				curl_multi_poll(multi, NULL, 0, 100, NULL);
		}
		fault_disarm();
		hit = fault_failures() > 0;
		int made = 0;
		for (int w = 0; w < WRITERS; w++) {
			char *type = NULL;
			curl_easy_getinfo(easy[w], CURLINFO_RESPONSE_CODE, &a[w].status);
			curl_easy_getinfo(easy[w], CURLINFO_CONTENT_TYPE, &type);
			snprintf(a[w].type, sizeof a[w].type, "%s", type ? type : "");
			if (!a[w].body)
				a[w].body = calloc(1, 1);
			curl_multi_remove_handle(multi, easy[w]);
			curl_easy_cleanup(easy[w]);
		}
		curl_multi_cleanup(multi);
		curl_slist_free_all(headers);
		for (int w = 0; w < WRITERS; w++) {
			if (a[w].status == 201) {
				made++;
				json_t *j = json_loads(a[w].body, 0, NULL);
				ck_assert_ptr_nonnull(j);
				char path[64];
				snprintf(path, sizeof path, "/toxicities/%lld",
					 (long long)json_integer_value(json_object_get(j, "id")));
				json_decref(j);
				struct answer back = ask("GET", path, NULL);
				ck_assert_int_eq(back.status, 200);
				ck_assert_str_eq(back.body, a[w].body);
				free(back.body);
			} else {
				assert_clean_failure(&a[w], n);
			}
			free(a[w].body);
		}
		struct counts after = file_state("toxicities");
		ck_assert_msg(
			after.records == before.records + made &&
				after.audit == before.audit + made,
			"N=%ld: %d answered 201, %lld record(s) and %lld audit row(s) written", n,
			made, (long long)(after.records - before.records),
			(long long)(after.audit - before.audit));
		chain_linked(after.audit);
		before = after;
		if (!hit) {
			ck_assert_msg(made == WRITERS,
				      "N=%ld: no failure injected, yet %d of %d made", n, made,
				      WRITERS);
		}
	}
	audit_intact(file_state("patients").audit);
	return sw.end;
}

/* A merge patch of patient 1's age, each attempt to a new value: a 200
 * answers the new version, exactly one audit row more; a failure leaves the
 * record as it was. */
static long drive_patch(void)
{
	struct sweep sw = {0};
	for (bool hit = true; sweep_next(&sw, hit);) {
		long n = sw.n;
		if (sw.warm_up) {
			json_t *now = ask_json("GET", "/patients/1", NULL, 200);
			char body[64];
			snprintf(body, sizeof body, "{\"age\":%lld}",
				 (json_integer_value(json_object_get(now, "age")) + 1) % 100);
			json_decref(now);
			snprintf(extra_header, sizeof extra_header, "Change-Reason: warm-up");
			json_decref(ask_json("PATCH", "/patients/1", body, 200));
			extra_header[0] = '\0';
		}
		json_t *old = ask_json("GET", "/patients/1", NULL, 200);
		json_int_t age = json_integer_value(json_object_get(old, "age"));
		json_int_t version = json_integer_value(json_object_get(old, "version"));
		char *old_text = json_dumps(old, JSON_COMPACT);
		json_decref(old);
		char body[64];
		snprintf(body, sizeof body, "{\"age\":%lld}", (long long)(age + 1) % 100);
		struct counts before = file_state("patients");
		snprintf(extra_header, sizeof extra_header, "Change-Reason: alloc test");
		struct answer a = attempt(n, false, "PATCH", "/patients/1", body, &hit);
		extra_header[0] = '\0';
		struct counts after = file_state("patients");
		json_t *now = ask_json("GET", "/patients/1", NULL, 200);
		char *now_text = json_dumps(now, JSON_COMPACT);
		if (a.status == 200) {
			ck_assert_int_eq(after.audit, before.audit + 1);
			ck_assert_int_eq(json_integer_value(json_object_get(now, "version")),
					 version + 1);
			ck_assert_int_eq(json_integer_value(json_object_get(now, "age")),
					 (age + 1) % 100);
			json_t *answered = json_loads(a.body, 0, NULL);
			ck_assert(json_equal(answered, now));
			json_decref(answered);
		} else {
			assert_clean_failure(&a, n);
			ck_assert_int_eq(after.audit, before.audit);
			ck_assert_str_eq(now_text, old_text);
		}
		chain_linked(after.audit);
		json_decref(now);
		free(now_text);
		free(old_text);
		free(a.body);
		if (!hit) {
			ck_assert_msg(a.status == 200, "N=%ld: no failure injected, yet %ld", n,
				      a.status);
		}
	}
	audit_intact(file_state("patients").audit);
	return sw.end;
}

/* A delete of a patient made for the attempt: a 204 leaves it gone with
 * one audit row more; a failure leaves it there. */
static long drive_delete(void)
{
	struct sweep sw = {0};
	for (bool hit = true; sweep_next(&sw, hit);) {
		long n = sw.n;
		char body[256], path[64];
		for (int k = sw.warm_up ? 0 : 1; k < 2; k++) {
			snprintf(body, sizeof body,
				 "{\"code\":\"D-%ld\",\"histology\":\"sarcoma\",\"setting\":"
				 "\"metastatic\",\"regimen\":\"il2_alone\",\"enrolled_on\":\"1986-"
				 "03-01\"}",
				 serial());
			if (k == 0) {
				snprintf(path, sizeof path, "/patients/%lld",
					 (long long)create("/patients", body));
				snprintf(extra_header, sizeof extra_header,
					 "Change-Reason: warm-up");
				struct answer gone = ask("DELETE", path, NULL);
				extra_header[0] = '\0';
				ck_assert_int_eq(gone.status, 204);
				free(gone.body);
			}
		}
		snprintf(path, sizeof path, "/patients/%lld", (long long)create("/patients", body));
		struct counts before = file_state("patients");
		snprintf(extra_header, sizeof extra_header, "Change-Reason: alloc test");
		struct answer a = attempt(n, false, "DELETE", path, NULL, &hit);
		extra_header[0] = '\0';
		struct counts after = file_state("patients");
		struct answer now = ask("GET", path, NULL);
		if (a.status == 204) {
			ck_assert_int_eq(now.status, 404);
			ck_assert_int_eq(after.records, before.records - 1);
			ck_assert_int_eq(after.audit, before.audit + 1);
		} else {
			assert_clean_failure(&a, n);
			ck_assert_int_eq(now.status, 200);
			ck_assert(after.records == before.records && after.audit == before.audit);
			/* not left behind for the next attempt's count */
			snprintf(extra_header, sizeof extra_header, "Change-Reason: alloc test");
			struct answer gone = ask("DELETE", path, NULL);
			extra_header[0] = '\0';
			ck_assert_int_eq(gone.status, 204);
			free(gone.body);
		}
		chain_linked(file_state("patients").audit);
		free(now.body);
		free(a.body);
		if (!hit) {
			ck_assert_msg(a.status == 204, "N=%ld: no failure injected, yet %ld", n,
				      a.status);
		}
	}
	audit_intact(file_state("patients").audit);
	return sw.end;
}

static void drive_all(bool persistent)
{
	cohort();
	const char *mode = persistent ? "the Nth and every later allocation failing"
				      : "the Nth allocation failing";
	long create_n = drive_create(persistent, false);
	/* one mode is enough for the key's extra reads and writes */
	long idempotent_n = persistent ? 0 : drive_create(false, true);
	long list_n = drive_read(persistent, "/patients?limit=50", false);
	long stats_n = drive_read(persistent, "/stats/response?group_by=regimen", true);
	long concurrent_n = drive_concurrent(persistent);
	printf("alloc failure, %s: create %ld, create with Idempotency-Key %ld, list %ld, stats "
	       "%ld, "
	       "%d creates at once %ld attempts\n",
	       mode, create_n, idempotent_n, list_n, stats_n, WRITERS, concurrent_n);
	fflush(stdout);
	if (!persistent) {
		/* beyond the three: a record's history (audit rows read back), a
		 * statistic as CSV, a patch and a delete */
		long history_n = drive_read(false, "/patients/1/history", false);
		long csv_n = drive_read(false, "/stats/mortality?format=csv", true);
		long patch_n = drive_patch();
		long delete_n = drive_delete();
		printf("alloc failure, the Nth allocation failing: history %ld, statistic as CSV "
		       "%ld, "
		       "patch %ld, delete %ld attempts\n",
		       history_n, csv_n, patch_n, delete_n);
	}
	/* the writer still writes */
	char body[256];
	snprintf(body, sizeof body,
		 "{\"course_id\":%lld,\"term\":\"Fever\",\"grade\":1,"
		 "\"onset_on\":\"1985-02-03\",\"attribution\":\"possible\"}",
		 (long long)course_id);
	create("/toxicities", body);
}

START_TEST(each_allocation_failing_once)
{
	drive_all(false);
}
END_TEST

START_TEST(every_allocation_failing_from_the_nth)
{
	drive_all(true);
}
END_TEST

/* Run before Check forks or anything uses Jansson or SQLite: the allocators
 * go in first (main.c does the same), and libcurl is set up once. */
Suite *suite(void)
{
	fault_alloc_install();
	if (db_set_allocator() != DB_OK || store_init(resources_all, RESOURCES_COUNT) != DB_OK) {
		fprintf(stderr, "cannot install the allocators\n");
		exit(1);
	}
	curl_global_init(CURL_GLOBAL_ALL);
	atexit(curl_global_cleanup);
	Suite *s = suite_create("alloc_failure");
	TCase *tc = tcase_create("alloc_failure");
	tcase_set_timeout(tc, 600);
	tcase_add_checked_fixture(tc, server_up, server_down);
	tcase_add_test(tc, each_allocation_failing_once);
	tcase_add_test(tc, every_allocation_failing_from_the_nth);
	suite_add_tcase(s, tc);
	return s;
}

/* The API test harness: starts the real cohortd binary on a free port with a
 * fresh database in a temporary directory, speaks HTTP to it with libcurl,
 * and reads the database file directly to prove that a refused request
 * changed nothing. One server per test case (an unchecked fixture, started
 * in Check's parent process); every test makes its own records. */
#ifndef COHORTD_TEST_HARNESS_H
#define COHORTD_TEST_HARNESS_H

#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct resp {
	long status;
	char *body;
	size_t len;
	char *headers; /* raw header block */
	json_t *json;  /* parsed body, or NULL */
};

/* Fixture: start / stop the daemon. Extra command-line arguments may be given
 * to api_start_with (NULL-terminated). api_stop asserts a clean exit (0). */
void api_start(void);
void api_start_with(const char *const *extra_args);
/* The same, on a database holding the demo cohort (cohortd demo). */
void api_start_demo(void);
void api_start_demo_with(const char *const *extra_args);
void api_stop(void);
/* api_start_with in two steps: api_prepare makes the database (with the
 * admin token), api_launch starts the server on it, so a test can change
 * the database's storage in between. */
void api_prepare(void);
void api_launch(const char *const *extra_args);
/* api_stop in two steps: stop the server (asserting a clean exit), then
 * remove its temporary directory. */
void api_shutdown(void);
/* Several servers on one database: api_launch_instance starts one more
 * cohortd on the running test server's database (its own port; its log
 * joins the same file) and returns its number (the first server is 0);
 * api_use_instance points http() and the helpers at one of them;
 * api_shutdown stops them all. */
int api_launch_instance(const char *const *extra_args);
void api_use_instance(int i);
const char *api_instance_url(int i);
/* Kills the server at once (SIGKILL), as a crash would, and reaps it. */
void api_crash(void);
void api_remove_files(void);
/* Where the next start puts the database (NULL: a fresh temporary
 * directory, the default); the server's log stays in the latter. */
void api_use_db_dir(const char *dir);
const char *api_db_path(void);
const char *api_log_path(void); /* the server's log so far */
const char *api_admin_token(void);
/* Runs cohortd token create on the test database; returns the token (free it). */
char *api_token_create(const char *role, const char *name);
const char *api_base_url(void);
int api_pid(void);

/* One request. headers: NULL-terminated "Name: value" strings, or NULL.
 * Unless given, "Authorization: Bearer <admin token>" is added, and PATCH
 * and DELETE get "Change-Reason: test suite"; a header given with no value
 * ("Authorization:") is not sent at all. */
struct resp *http(const char *method, const char *path, const char *const *headers,
		  const char *body, size_t body_len);
struct resp *http_get(const char *path);
/* Seconds a request may take from now on (0: the default, 20, or 80 under
 * valgrind): for a request that is large on purpose. */
void http_timeout(long seconds);
struct resp *http_post_json(const char *path, const char *json);
struct resp *http_patch_json(const char *path, const char *json);
struct resp *http_delete(const char *path);
const char *resp_header(const struct resp *r, const char *name); /* static buffer */
/* Does a Vary header of the answer name this header (as a whole token)? */
bool resp_varies_on(const struct resp *r, const char *name);
void resp_free(struct resp *r);

/* A libcurl write callback collecting a body (for tests that drive curl
 * handles of their own); free data when done. */
struct sink {
	char *data;
	size_t len;
};
size_t sink_write(char *ptr, size_t size, size_t n, void *cls);

/* With COHORTD_TRAFFIC_LOG=<dir> set, appends one exchange as a JSON line to
 * <dir>/<test program>-<pid>.ndjson, for tests/spec/validate-traffic.mjs to
 * check against openapi.yaml; otherwise does nothing. http() records every
 * exchange itself; tests that drive curl handles of their own call this.
 * req_headers as for http(); resp_headers is the raw header block. */
void traffic_record(const char *method, const char *path, const char *const *req_headers,
		    long status, const char *resp_headers, const char *body, size_t len);
/* The same for an exchange on a raw socket: the request's bytes (its head at
 * least) and the whole reply as received (status line, headers, body). */
void traffic_record_raw(const char *request, const char *reply, size_t reply_len);

/* base (stolen) with extra (JSON object text, NUL escapes allowed, or NULL)
 * merged over it and the member drop (or NULL) removed, as compact JSON.
 * Caller frees. */
char *json_merged(json_t *base, const char *extra, const char *drop);

/* GETs path, asserts 200, returns the body's JSON (a new reference). */
json_t *get_json(const char *path);
/* Asserts a create's answer: 201, JSON, ETag "1", Location
 * /collection/<id>; returns the id. */
int64_t assert_created(const struct resp *r, const char *collection);
/* GETs path, asserts 200 and a JSON body, returns the answer. */
struct resp *get_ok(const char *path);
/* A member of the answer's JSON: a string (or NULL), an integer (asserted). */
const char *resp_str(const struct resp *r, const char *key);
json_int_t resp_int(const struct resp *r, const char *key);
/* PATCHes path with a merge patch, asserts 200, returns the record (a new
 * reference). */
json_t *patch_ok(const char *path, const char *body);
/* "/collection/id", in a static buffer the next call overwrites. */
const char *record_path(const char *collection, int64_t id);

/* A member of a JSON object, asserted to be of that type and value. */
void assert_member_str(json_t *o, const char *key, const char *want);
void assert_member_int(json_t *o, const char *key, json_int_t want);
void assert_member_number(json_t *o, const char *key, double want);
void assert_member_null(json_t *o, const char *key);
/* Every key present, in this order, and no other. */
void assert_keys_in_order(json_t *o, const char *const *keys);

/* A code no other test uses: PREFIX-<pid>-<n>. */
const char *unique_code(const char *prefix);

/* Creation shortcuts; each asserts a 201 and returns the new id. extra is a
 * JSON object text merged over the defaults (or NULL). */
int64_t make_patient(const char *extra);
int64_t make_course(int64_t patient_id, const char *extra);
int64_t make_outcome(int64_t course_id, const char *extra);
int64_t make_toxicity(int64_t course_id, const char *extra);
/* A new patient (extra merged over make_patient's body) with one course
 * started 1985-02-01; returns the course's id, and the patient's in
 * *patient_id unless it is NULL. */
int64_t make_course_of_new_patient(int64_t *patient_id, const char *patient_extra);

/* A patient with one course, one outcome and one toxicity (make_*). */
struct family {
	int64_t patient, course, outcome, toxicity;
};
struct family make_family(void);

/* The whole file at path, NUL-terminated, asserting it can be read; caller
 * frees. */
char *read_file(const char *path, size_t *len);

/* Row count, version total and last id of every table, and the audit
 * trail's length: equal before and after a refused request means nothing
 * was written. Caller frees. */
char *db_fingerprint(void);
int64_t db_count(const char *table);
/* Asserts the fingerprint now equals before (a db_fingerprint) and frees
 * before: nothing was written since. */
void assert_unchanged(char *before);
/* The same in the database file at path (a copy, say). */
int64_t db_count_at(const char *path, const char *table);
/* The first row sql gives on the test database (SQLite or PostgreSQL), its
 * columns joined by '/' ("" when none); sql may write ("UPDATE ...
 * RETURNING"), committed as another process's write. */
void db_query_row(const char *sql, char *out, size_t n);
/* The server runs on PostgreSQL (COHORTD_TEST_POSTGRESQL). A test that
 * cannot run there (it reads the SQLite file, or fills a disk) says why and
 * passes: the postgresql lane counts these lines. */
bool api_on_postgresql(void);
#define SKIP_ON_POSTGRESQL(why)                                                                    \
	do {                                                                                       \
		if (api_on_postgresql()) {                                                         \
			fprintf(stderr, "skipped on PostgreSQL: %s: %s\n", __func__, why);         \
			return;                                                                    \
		}                                                                                  \
	} while (0)

/* A raw TCP connection to the server (for byte-level clients); close it. */
int api_connect(void);
/* CLOCK_MONOTONIC in seconds. */
double monotonic_seconds(void);

/* Asserts an RFC 9457 answer: status, problem+json type, fields, title. */
void assert_problem(const struct resp *r, long status, const char *type);
/* Asserts errors[] names field (with a non-empty message). */
void assert_field_error(const struct resp *r, const char *field);
/* Asserts a request is refused with status/type and the database is unchanged. */
void assert_refused(const char *method, const char *path, const char *const *headers,
		    const char *body, long status, const char *type, const char *field);

/* Builds a suite of one test case wrapped in the server fixture. */
Suite *api_suite(const char *name, TCase **tc);
/* Runs the suite; 0 when every test passed. A test case tagged "real-time"
 * (it needs the real server's timing or size) runs as a meson test of its
 * own, with COHORTD_REAL_TIME set: under valgrind (COHORTD_VALGRIND) that
 * one exits 77, which meson reports as skipped. */
int run_suite(Suite *s);

#endif

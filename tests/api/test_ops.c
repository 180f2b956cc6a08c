/* Operations: liveness, readiness that tells the truth about the schema,
 * reads that see every commit (another process's too) while idle workers
 * hold back no checkpoint, the OpenAPI description served from the binary
 * and matching the route table in both directions, the command line, and a
 * clean stop that lets a request in flight finish. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* The schema this build writes (the last migration's number). */
#define SCHEMA_VERSION 11
#define SCHEMA         "11"
#include "router.h"
#include "routes.h"

/* Runs the cohortd binary with args; returns its exit status and output. */
static int run_cli(const char *const *args, char *out, size_t out_len)
{
	char cmd[2048];
	size_t used = (size_t)snprintf(cmd, sizeof cmd, "'%s'", getenv("COHORTD_BIN"));
	for (int i = 0; args[i]; i++)
		used += (size_t)snprintf(cmd + used, sizeof cmd - used, " '%s'", args[i]);
	snprintf(cmd + used, sizeof cmd - used, " 2>&1");
	FILE *p = popen(cmd, "r");
	size_t n = fread(out, 1, out_len - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_healthz_answers_ok)
{
	struct resp *r = http_get("/healthz");
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(resp_header(r, "Content-Type"), "application/json");
	ck_assert_str_eq(r->body, "{\"status\":\"ok\"}\n");
	resp_free(r);
}
END_TEST

START_TEST(test_readyz_reports_schema_version)
{
	struct resp *r = http_get("/readyz");
	ck_assert_int_eq(r->status, 200);
	if (!api_on_postgresql()) {
		ck_assert_str_eq(r->body, "{\"status\":\"ready\",\"schema_version\":" SCHEMA ","
					  "\"durability\":\"normal\",\"engine\":\"sqlite\","
					  "\"writable\":true}\n");
	} else {
		/* the server it talks to, host (or socket directory) and port */
		ck_assert_str_eq(resp_str(r, "engine"), "postgresql");
		const char *primary = resp_str(r, "primary");
		ck_assert_ptr_nonnull(primary);
		ck_assert_ptr_nonnull(strchr(primary, ':'));
		ck_assert_int_eq(resp_int(r, "schema_version"), SCHEMA_VERSION);
		ck_assert(json_is_true(json_object_get(r->json, "writable")));
	}
	resp_free(r);
}
END_TEST

static void set_user_version(int v)
{
	sqlite3 *db;
	char sql[64];
	ck_assert_int_eq(sqlite3_open(api_db_path(), &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* The schema version the database says it has, on either engine. */
static void set_schema_version(int v)
{
	if (!api_on_postgresql()) {
		set_user_version(v);
		return;
	}
	char sql[96], row[32];
	snprintf(sql, sizeof sql, "UPDATE cohortd_schema SET version = %d RETURNING version", v);
	db_query_row(sql, row, sizeof row);
}

START_TEST(test_readyz_503_when_schema_is_not_current)
{
	set_schema_version(99);
	struct resp *r = http_get("/readyz");
	set_schema_version(SCHEMA_VERSION);
	assert_problem(r, 503, "urn:cohortd:problem:unavailable");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r->json, "detail")), "99"));
	resp_free(r);
	r = http_get("/readyz");
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
}
END_TEST

/* A database whose schema a newer cohortd wrote is refused at start, on
 * either engine, with the versions in the log: this build would misread
 * it. The server already running goes on (its /readyz says 503, above). */
START_TEST(test_a_schema_newer_than_the_build_is_refused_at_start)
{
	set_schema_version(99);
	char out[2048];
	const char *const start[] = {"--db", api_db_path(), "--port", "0", NULL};
	int status = run_cli(start, out, sizeof out);
	const char *const migrate[] = {"migrate", "--db", api_db_path(), NULL};
	char out2[2048];
	int status2 = run_cli(migrate, out2, sizeof out2);
	set_schema_version(SCHEMA_VERSION);
	ck_assert_int_eq(status, 1);
	ck_assert_ptr_nonnull(strstr(out, "the database schema is newer than this build knows"));
	ck_assert_ptr_nonnull(strstr(out, "\"schema_version\":99,\"known\":" SCHEMA));
	ck_assert_int_eq(status2, 1);
	ck_assert_ptr_nonnull(strstr(out2, "the database schema is newer than this build knows"));
}
END_TEST

/* A worker keeps its read snapshot from one request to the next while
 * nothing is committed (db.h): a commit by another process, not through the
 * server, must still be read by the very next request, every time. */
START_TEST(test_a_commit_by_another_process_is_read_by_the_next_request)
{
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	usleep(300 * 1000); /* the server's writes are quiet: its workers keep snapshots */
	for (int i = 0; i < 50; i++) {
		json_t *before = get_json(path);
		ck_assert_ptr_nonnull(json_object_get(before, "code"));
		json_decref(before);
		char sql[160], code[32], row[64];
		snprintf(code, sizeof code, "elsewhere-%lld-%d", (long long)id, i);
		snprintf(sql, sizeof sql,
			 "UPDATE patients SET code = '%s' WHERE id = %lld RETURNING code", code,
			 (long long)id);
		db_query_row(sql, row, sizeof row); /* committed by another process */
		ck_assert_str_eq(row, code);
		json_t *after = get_json(path);
		ck_assert_str_eq(json_string_value(json_object_get(after, "code")), code);
		json_decref(after);
	}
}
END_TEST

/* ... and a worker left idle must not keep its snapshot: it would keep the
 * WAL from being checkpointed and emptied. Once the server has been idle a
 * moment, a TRUNCATE checkpoint that waits for no one gets through. */
START_TEST(test_an_idle_worker_holds_no_snapshot)
{
	SKIP_ON_POSTGRESQL("SQLite's kept read snapshots and checkpoints");
	make_family();
	usleep(300 * 1000); /* the writes are quiet: the read's snapshot is kept */
	json_t *v = get_json("/patients");
	json_decref(v);
	sqlite3 *db;
	ck_assert_int_eq(sqlite3_open(api_db_path(), &db), SQLITE_OK);
	int busy = -1, log_frames = -1;
	for (int i = 0; i < 60 && busy != 0; i++) {
		if (i > 0)
			usleep(50 * 1000);
		sqlite3_stmt *st;
		ck_assert_int_eq(
			sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &st, NULL),
			SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
		busy = sqlite3_column_int(st, 0);
		log_frames = sqlite3_column_int(st, 1);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	ck_assert_msg(busy == 0, "the checkpoint was still blocked after 3 s");
	ck_assert_int_eq(log_frames, 0);
	char wal[600];
	snprintf(wal, sizeof wal, "%s-wal", api_db_path());
	struct stat st;
	ck_assert(stat(wal, &st) != 0 || st.st_size == 0);
	/* and the server reads and writes on as before */
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	v = get_json(path);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "id")), id);
	json_decref(v);
}
END_TEST

START_TEST(test_openapi_served_from_binary_equals_repository_file)
{
	size_t len;
	char *file = read_file(getenv("OPENAPI_PATH"), &len);
	struct resp *r = http_get("/openapi.yaml");
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(resp_header(r, "Content-Type"), "application/yaml");
	ck_assert_uint_eq(r->len, len);
	ck_assert(memcmp(r->body, file, len) == 0);
	free(file);
	resp_free(r);
}
END_TEST

/* Collects "METHOD /path" for every operation of openapi.yaml. */
static int spec_operations(char ops[][96], int max)
{
	size_t len;
	char *spec = read_file(getenv("OPENAPI_PATH"), &len);
	char path[80] = "";
	int n = 0;
	bool in_paths = false;
	for (char *line = strtok(spec, "\n"); line; line = strtok(NULL, "\n")) {
		if (line[0] != ' ' && line[0] != '#')
			in_paths = strncmp(line, "paths:", 6) == 0;
		if (!in_paths)
			continue;
		if (strncmp(line, "  /", 3) == 0 && strchr(line, ':')) {
			snprintf(path, sizeof path, "%.*s", (int)(strchr(line, ':') - line - 2),
				 line + 2);
			continue;
		}
		static const char *const methods[] = {"get", "post", "patch", "delete", "put"};
		for (int m = 0; m < 5; m++) {
			char key[16];
			snprintf(key, sizeof key, "    %s:", methods[m]);
			if (strncmp(line, key, strlen(key)) == 0 && n < max) {
				char upper[8];
				for (size_t i = 0; i <= strlen(methods[m]); i++)
					upper[i] = (char)(methods[m][i] >= 'a' ? methods[m][i] - 32
									       : methods[m][i]);
				snprintf(ops[n++], 96, "%s %s", upper, path);
			}
		}
	}
	free(spec);
	return n;
}

START_TEST(test_every_route_is_in_the_spec_and_back)
{
	char ops[128][96];
	int n = spec_operations(ops, 128);
	ck_assert_int_gt(n, 0);
	for (size_t i = 0; i < routes_count; i++) {
		char want[96];
		snprintf(want, sizeof want, "%s %s", routes[i].method, routes[i].pattern);
		bool found = false;
		for (int j = 0; j < n && !found; j++)
			found = strcmp(ops[j], want) == 0;
		ck_assert_msg(found, "route %s is not in openapi.yaml", want);
	}
	for (int j = 0; j < n; j++) {
		bool found = false;
		for (size_t i = 0; i < routes_count && !found; i++) {
			char have[96];
			snprintf(have, sizeof have, "%s %s", routes[i].method, routes[i].pattern);
			found = strcmp(ops[j], have) == 0;
		}
		ck_assert_msg(found, "openapi.yaml names %s, which the server does not serve",
			      ops[j]);
	}
	ck_assert_int_eq(n, (int)routes_count);
}
END_TEST

START_TEST(test_cli_help_and_version)
{
	char out[4096];
	ck_assert_int_eq(run_cli((const char *const[]){"--help", NULL}, out, sizeof out), 0);
	ck_assert_ptr_nonnull(strstr(out, "--db PATH"));
	ck_assert_ptr_nonnull(strstr(out, "migrate"));
	ck_assert_int_eq(run_cli((const char *const[]){"--version", NULL}, out, sizeof out), 0);
	ck_assert_str_eq(out, "cohortd 0.1.0\n");
}
END_TEST

START_TEST(test_cli_refuses_bad_options)
{
	char out[4096];
	ck_assert_int_eq(run_cli((const char *const[]){"--frobnicate", NULL}, out, sizeof out), 2);
	ck_assert_ptr_nonnull(strstr(out, "unknown option --frobnicate"));
	ck_assert_int_eq(run_cli((const char *const[]){"--port", "70000", NULL}, out, sizeof out),
			 2);
	ck_assert_int_eq(run_cli((const char *const[]){"--port", NULL}, out, sizeof out), 2);
	ck_assert_int_eq(run_cli((const char *const[]){"--threads", "0", NULL}, out, sizeof out),
			 2);
	ck_assert_int_eq(
		run_cli((const char *const[]){"--durability", "sometimes", NULL}, out, sizeof out),
		2);
	/* SDTM's STUDYID: 1-20 of a subject code's characters; a title of 1-200 */
	ck_assert_int_eq(
		run_cli((const char *const[]){"--study-id", "A STUDY", NULL}, out, sizeof out), 2);
	ck_assert_int_eq(run_cli((const char *const[]){"--study-id", "ABCDEFGHIJKLMNOPQRSTU", NULL},
				 out, sizeof out),
			 2);
	ck_assert_int_eq(run_cli((const char *const[]){"--study-title", "", NULL}, out, sizeof out),
			 2);
	ck_assert_int_eq(
		run_cli((const char *const[]){"--log-level", "loud", NULL}, out, sizeof out), 2);
}
END_TEST

START_TEST(test_cli_migrate_creates_current_schema)
{
	char dir[] = "/tmp/cohortd-migrate-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char path[128], out[4096];
	snprintf(path, sizeof path, "%s/m.db", dir);
	ck_assert_int_eq(
		run_cli((const char *const[]){"migrate", "--db", path, NULL}, out, sizeof out), 0);
	ck_assert_ptr_nonnull(strstr(out, "schema version " SCHEMA));
	/* idempotent */
	ck_assert_int_eq(
		run_cli((const char *const[]){"migrate", "--db", path, NULL}, out, sizeof out), 0);
	sqlite3 *db;
	sqlite3_stmt *st;
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_prepare_v2(db,
			   "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
			   "('patients', 'courses', 'outcomes', 'toxicities')",
			   -1, &st, NULL);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 4);
	sqlite3_finalize(st);
	sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_cli_migrate_fails_on_unwritable_path)
{
	char out[4096];
	ck_assert_int_eq(
		run_cli((const char *const[]){"migrate", "--db", "/nonexistent/dir/x.db", NULL},
			out, sizeof out),
		1);
	ck_assert_ptr_nonnull(strstr(out, "cannot open database"));
}
END_TEST

/* Starts cohortd on a fresh database with these environment variables
 * (NAME=value strings, NULL-terminated) and nothing on its command line,
 * waits until /readyz answers, and writes the HTTP status of GET path
 * without a token (0 when the server never came up) to *status_of_path and
 * the /readyz body to ready. Returns the server's exit status after
 * SIGTERM, or its own exit status when it stopped by itself. */
static int serve_with_env(const char *const *env, const char *path, long *status_of_path,
			  char ready[256])
{
	char dir[] = "/tmp/cohortd-env-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char db[128];
	snprintf(db, sizeof db, "%s/env.db", dir);
	/* Find a free port, then hand it to cohortd through COHORTD_PORT. */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	getsockname(s, (struct sockaddr *)&a, &alen);
	unsigned port = ntohs(a.sin_port);
	close(s);
	char port_text[16];
	snprintf(port_text, sizeof port_text, "%u", port);
	pid_t pid = fork();
	if (pid == 0) {
		setenv("COHORTD_PORT", port_text, 1);
		setenv("COHORTD_DB", db, 1);
		setenv("COHORTD_BIND", "127.0.0.1", 1);
		unsetenv("COHORTD_ANONYMOUS");
		for (const char *const *e = env; *e; e++)
			putenv(strdup(*e));
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 2);
		execl(getenv("COHORTD_BIN"), "cohortd", (char *)NULL);
		_exit(127);
	}
	char cmd[512], out[256] = "";
	snprintf(cmd, sizeof cmd,
		 "for i in $(seq 50); do curl -sf http://127.0.0.1:%u/readyz && "
		 "curl -s -o /dev/null -w ' %%{http_code}' http://127.0.0.1:%u%s && exit 0; "
		 "sleep 0.1; done",
		 port, port, path);
	FILE *p = popen(cmd, "r");
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	pclose(p);
	char *code = strrchr(out, ' ');
	*status_of_path = code ? atol(code + 1) : 0;
	if (code)
		*code = '\0';
	snprintf(ready, 256, "%s", out);
	int status;
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_environment_sets_port_and_database)
{
	static const char *const none[] = {NULL};
	long status;
	char ready[256];
	ck_assert_int_eq(serve_with_env(none, "/healthz", &status, ready), 0);
	ck_assert_str_eq(ready,
			 "{\"status\":\"ready\",\"schema_version\":" SCHEMA ",\"durability\":"
			 "\"normal\",\"engine\":\"sqlite\",\"writable\":true}\n");
	ck_assert_int_eq(status, 200);
}
END_TEST

/* Anonymous reads are off unless COHORTD_ANONYMOUS asks for them, as the
 * container image leaves them; a role it does not know stops the start. */
START_TEST(test_anonymous_reads_are_off_unless_the_environment_asks)
{
	long status;
	char ready[256];
	static const char *const unset[] = {NULL};
	ck_assert_int_eq(serve_with_env(unset, "/patients", &status, ready), 0);
	ck_assert_int_eq(status, 401);
	static const char *const off[] = {"COHORTD_ANONYMOUS=none", NULL};
	ck_assert_int_eq(serve_with_env(off, "/patients", &status, ready), 0);
	ck_assert_int_eq(status, 401);
	static const char *const empty[] = {"COHORTD_ANONYMOUS=", NULL};
	ck_assert_int_eq(serve_with_env(empty, "/patients", &status, ready), 0);
	ck_assert_int_eq(status, 401);
	static const char *const reader[] = {"COHORTD_ANONYMOUS=reader", NULL};
	ck_assert_int_eq(serve_with_env(reader, "/patients", &status, ready), 0);
	ck_assert_int_eq(status, 200);
	ck_assert_int_eq(serve_with_env(reader, "/audit", &status, ready), 0);
	ck_assert_int_eq(status, 403);
	static const char *const bad[] = {"COHORTD_ANONYMOUS=root", NULL};
	ck_assert_int_eq(serve_with_env(bad, "/patients", &status, ready), 2);
	ck_assert_int_eq(status, 0);
}
END_TEST

/* A POST whose body is still arriving when SIGTERM comes is answered
 * before the server exits; new connections are refused meanwhile. */
START_TEST(test_sigterm_lets_request_in_flight_finish)
{
	api_start();
	int fd = api_connect();
	const char *body =
		"{\"code\":\"INFLIGHT-1\",\"histology\":\"melanoma\",\"setting\":"
		"\"metastatic\",\"regimen\":\"il2_alone\",\"enrolled_on\":\"1985-01-10\"}";
	char head[512];
	int hn = snprintf(head, sizeof head,
			  "POST /patients HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
			  "Authorization: Bearer %s\r\n"
			  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			  api_admin_token(), strlen(body));
	ck_assert_int_eq(write(fd, head, (size_t)hn), hn);
	ck_assert_int_eq(write(fd, body, 10), 10);
	usleep(200 * 1000);
	kill(api_pid(), SIGTERM);
	usleep(300 * 1000);
	/* a connection made meanwhile is turned away: closed, never answered */
	int late = api_connect();
	static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	(void)send(late, get, sizeof get - 1, MSG_NOSIGNAL);
	struct timeval wait = {2, 0};
	setsockopt(late, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
	char late_reply[256];
	ssize_t late_got = recv(late, late_reply, sizeof late_reply, 0);
	ck_assert_msg(late_got <= 0, "a connection made while stopping was answered: %.*s",
		      (int)late_got, late_reply);
	close(late);
	ssize_t rest = (ssize_t)strlen(body) - 10;
	ck_assert_int_eq(write(fd, body + 10, (size_t)rest), rest);
	char reply[4096] = "";
	size_t got = 0;
	ssize_t n;
	while ((n = read(fd, reply + got, sizeof reply - 1 - got)) > 0)
		got += (size_t)n;
	reply[got] = '\0';
	close(fd);
	traffic_record_raw(head, reply, got);
	ck_assert_msg(strncmp(reply, "HTTP/1.1 201", 12) == 0, "got: %s", reply);
	api_stop(); /* asserts exit status 0 */
}
END_TEST

/* --durability full is what the engine does (every commit synced), as
 * /readyz reports from the connection itself, and writes are served;
 * without it, normal. */
START_TEST(test_durability_full_is_in_effect_and_normal_is_the_default)
{
	static const char *const args[] = {"--durability", "full", NULL};
	api_start_with(args);
	json_t *ready = get_json("/readyz");
	ck_assert_str_eq(json_string_value(json_object_get(ready, "durability")), "full");
	json_decref(ready);
	int64_t id = make_patient(NULL);
	ck_assert_int_gt(id, 0);
	api_stop();
	api_start();
	ready = get_json("/readyz");
	ck_assert_str_eq(json_string_value(json_object_get(ready, "durability")), "normal");
	json_decref(ready);
	api_stop();
}
END_TEST

/* A database made before migration 0010 (schema 9: summaries without the
 * survival facts, tallies without their kinds) is brought up to date at the
 * next start: the summaries and tallies are built again, and the new
 * endpoints answer as on a database made new. */
START_TEST(test_a_schema_9_database_gets_the_survival_facts_at_upgrade)
{
	api_start_demo();
	static const char *const paths[] = {
		"/stats/survival?endpoint=progression_free&group_by=regimen&at=365&tau=730",
		"/stats/survival?endpoint=response_duration&confirmed_only=true&group_by=setting",
		"/stats/survival?group_by=histology", NULL};
	json_t *fresh[3];
	for (int i = 0; paths[i]; i++) {
		fresh[i] = get_json(paths[i]);
		json_object_del(fresh[i], "as_of");
	}
	api_shutdown();
	static const char *const back[] = {
		"DELETE FROM tallies WHERE kind LIKE 'pfs%' OR kind LIKE 'dor%'",
		"ALTER TABLE patient_summaries DROP COLUMN first_pd",
		"ALTER TABLE patient_summaries DROP COLUMN last_assessed",
		"ALTER TABLE patient_summaries DROP COLUMN first_response",
		"ALTER TABLE patient_summaries DROP COLUMN first_response_confirmed",
		"ALTER TABLE patient_summaries DROP COLUMN progressed",
		"ALTER TABLE patient_summaries DROP COLUMN progressed_confirmed",
		"DROP INDEX toxicities_by_onset", /* 0011's */
		NULL};
	char row[64];
	for (int i = 0; back[i]; i++)
		db_query_row(back[i], row, sizeof row);
	set_schema_version(9);
	db_query_row("SELECT count(*) FROM tallies WHERE kind LIKE 'pfs%'", row, sizeof row);
	ck_assert_str_eq(row, "0");
	api_launch(NULL);
	for (int i = 0; paths[i]; i++) {
		json_t *now = get_json(paths[i]);
		json_object_del(now, "as_of");
		ck_assert_msg(json_equal(now, fresh[i]), "%s differs after the upgrade", paths[i]);
		json_decref(now);
		json_decref(fresh[i]);
	}
	json_t *ready = get_json("/readyz");
	ck_assert_int_eq(json_integer_value(json_object_get(ready, "schema_version")),
			 SCHEMA_VERSION);
	json_decref(ready);
	api_stop();
}
END_TEST

/* SIGINT stops the server as cleanly as SIGTERM: exit status 0. */
START_TEST(test_sigint_stops_cleanly)
{
	api_start();
	struct resp *r = http_get("/healthz");
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
	pid_t pid = api_pid();
	kill(pid, SIGINT);
	int status = -1;
	for (int i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(50 * 1000);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf \"$(dirname '%s')\"", api_db_path());
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("ops", &tc);
	tcase_add_test(tc, test_healthz_answers_ok);
	tcase_add_test(tc, test_readyz_reports_schema_version);
	tcase_add_test(tc, test_readyz_503_when_schema_is_not_current);
	tcase_add_test(tc, test_a_schema_newer_than_the_build_is_refused_at_start);
	tcase_add_test(tc, test_a_commit_by_another_process_is_read_by_the_next_request);
	tcase_add_test(tc, test_an_idle_worker_holds_no_snapshot);
	tcase_add_test(tc, test_openapi_served_from_binary_equals_repository_file);
	tcase_add_test(tc, test_every_route_is_in_the_spec_and_back);
	TCase *cli = tcase_create("cli");
	tcase_set_timeout(cli, 60);
	tcase_add_test(cli, test_cli_help_and_version);
	tcase_add_test(cli, test_cli_refuses_bad_options);
	tcase_add_test(cli, test_cli_migrate_creates_current_schema);
	tcase_add_test(cli, test_cli_migrate_fails_on_unwritable_path);
	tcase_add_test(cli, test_environment_sets_port_and_database);
	tcase_add_test(cli, test_anonymous_reads_are_off_unless_the_environment_asks);
	tcase_add_test(cli, test_sigint_stops_cleanly);
	tcase_add_test(cli, test_a_schema_9_database_gets_the_survival_facts_at_upgrade);
	tcase_add_test(cli, test_durability_full_is_in_effect_and_normal_is_the_default);
	suite_add_tcase(s, cli);
	/* its timing (a signal between two halves of a body, 0.2 s apart) is the
	 * real server's, not one slowed fifty times by valgrind: a meson test of
	 * its own, skipped in that lane (tests/meson.build) */
	TCase *real_time = tcase_create("real-time");
	tcase_set_tags(real_time, "real-time");
	tcase_set_timeout(real_time, 60);
	tcase_add_test(real_time, test_sigterm_lets_request_in_flight_finish);
	suite_add_tcase(s, real_time);
	return run_suite(s);
}

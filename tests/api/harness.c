/* See harness.h. */
#include "harness.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t server_pid;
static char tmp_dir[256];
static char db_path[512];
static char log_path[512];
static char base_url[64];
/* every server on the test database: [0] is the one api_launch started */
#define INSTANCES_MAX 8
static struct {
	pid_t pid;
	char url[64];
} instances[INSTANCES_MAX];
static int ninstances;
static bool server_crashed; /* api_crash killed the first, not restarted since */
static char admin_token[128];

const char *api_db_path(void)
{
	return db_path;
}
const char *api_log_path(void)
{
	return log_path;
}
const char *api_admin_token(void)
{
	return admin_token;
}
const char *api_base_url(void)
{
	return base_url;
}
int api_pid(void)
{
	return server_pid;
}

static void die(const char *what)
{
	fprintf(stderr, "harness: %s: %s\n", what, strerror(errno));
	exit(1);
}

void api_start(void)
{
	api_start_with(NULL);
}

static bool with_demo;

void api_start_demo(void)
{
	api_start_demo_with(NULL);
}

void api_start_demo_with(const char *const *extra_args)
{
	with_demo = true;
	api_start_with(extra_args);
	with_demo = false;
}

static const char *db_dir; /* NULL: tmp_dir */

void api_use_db_dir(const char *dir)
{
	db_dir = dir;
}

void api_start_with(const char *const *extra_args)
{
	api_prepare();
	api_launch(extra_args);
}

static const char *cohortd_bin(void)
{
	const char *bin = getenv("COHORTD_BIN");
	return bin ? bin : "./cohortd";
}

void api_prepare(void)
{
	const char *bin = cohortd_bin();
	snprintf(tmp_dir, sizeof tmp_dir, "/tmp/cohortd-test-XXXXXX");
	if (!mkdtemp(tmp_dir))
		die("mkdtemp");
	snprintf(db_path, sizeof db_path, "%s/test.db", db_dir ? db_dir : tmp_dir);
	snprintf(log_path, sizeof log_path, "%s/server.log", tmp_dir);
	/* COHORTD_TEST_POSTGRESQL: a database of its own on the PostgreSQL the
	 * PG* variables name (pg_virtualenv sets them) */
	if (getenv("COHORTD_TEST_POSTGRESQL") && !db_dir) {
		static int made;
		char name[64], cmd[256];
		snprintf(name, sizeof name, "cohortd_test_%d_%d", (int)getpid(), ++made);
		snprintf(cmd, sizeof cmd,
			 "psql -X -q -d postgres -c \"CREATE DATABASE %s ENCODING 'UTF8' TEMPLATE "
			 "template0\" >&2",
			 name);
		if (system(cmd) != 0) {
			fprintf(stderr, "harness: cannot create the PostgreSQL database %s\n",
				name);
			exit(1);
		}
		snprintf(db_path, sizeof db_path, "postgresql:///%s", name);
	}
	if (with_demo) {
		char cmd[1200];
		snprintf(cmd, sizeof cmd, "'%s' demo --db '%s' >&2", bin, db_path);
		if (system(cmd) != 0) {
			fprintf(stderr, "harness: cohortd demo failed\n");
			exit(1);
		}
	}

	/* Every request of the suites carries this admin token unless a test
	 * sends its own Authorization header. */
	char *token = api_token_create("admin", "test-admin");
	snprintf(admin_token, sizeof admin_token, "%s", token);
	free(token);
}

/* Starts cohortd with --port 0 on the test database and reads the port it
 * bound from its "listening" log line on stderr; the rest of its stderr is
 * passed through. */
static void spawn(const char *const *extra_args, pid_t *pid, char url[64])
{
	const char *bin = cohortd_bin();

	/* COHORTD_VALGRIND=1: the server runs under valgrind memcheck, and any
	 * error or leak makes it exit non-zero, which api_stop reports. */
	const char *argv[40];
	int argc = 0;
	if (getenv("COHORTD_VALGRIND")) {
		argv[argc++] = "valgrind";
		argv[argc++] = "-q";
		argv[argc++] = "--error-exitcode=99";
		argv[argc++] = "--leak-check=full";
		argv[argc++] = "--errors-for-leak-kinds=definite,indirect";
	}
	const char *base[] = {bin, "--db", db_path, "--port", "0", "--threads", "2"};
	for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
		argv[argc++] = base[i];
	for (int i = 0; extra_args && extra_args[i] && argc < 39; i++)
		argv[argc++] = extra_args[i];
	argv[argc] = NULL;

	int pipefd[2];
	if (pipe(pipefd) != 0)
		die("pipe");
	*pid = fork();
	if (*pid < 0)
		die("fork");
	if (*pid == 0) {
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		close(pipefd[1]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	FILE *log = fdopen(pipefd[0], "r");
	char line[1024];
	unsigned port = 0;
	FILE *early = fopen(log_path, "a"); /* what it says before it listens, too */
	while (fgets(line, sizeof line, log)) {
		fputs(line, stderr);
		if (early)
			fputs(line, early);
		char *p = strstr(line, "\"msg\":\"listening\"");
		if (p && (p = strstr(line, "\"port\":")) != NULL) {
			port = (unsigned)atoi(p + 7);
			break;
		}
	}
	if (early)
		fclose(early);
	if (port == 0) {
		fprintf(stderr, "harness: cohortd did not start\n");
		exit(1);
	}
	/* Keep relaying the server's log so sanitizer reports reach the test log,
	 * and keep a copy that tests can read. */
	if (fork() == 0) {
		FILE *copy = fopen(log_path, "a");
		while (fgets(line, sizeof line, log)) {
			fputs(line, stderr);
			if (copy) {
				fputs(line, copy);
				fflush(copy);
			}
		}
		_exit(0);
	}
	fclose(log);
	snprintf(url, 64, "http://127.0.0.1:%u", port);
}

void api_launch(const char *const *extra_args)
{
	spawn(extra_args, &server_pid, base_url);
	server_crashed = false;
	instances[0].pid = server_pid;
	snprintf(instances[0].url, sizeof instances[0].url, "%s", base_url);
	if (ninstances == 0)
		ninstances = 1; /* a restart keeps the others */
	curl_global_init(CURL_GLOBAL_ALL);
}

int api_launch_instance(const char *const *extra_args)
{
	ck_assert_int_lt(ninstances, INSTANCES_MAX);
	int i = ninstances++;
	spawn(extra_args, &instances[i].pid, instances[i].url);
	return i;
}

void api_use_instance(int i)
{
	ck_assert(i >= 0 && i < ninstances);
	snprintf(base_url, sizeof base_url, "%s", instances[i].url);
}

const char *api_instance_url(int i)
{
	ck_assert(i >= 0 && i < ninstances);
	return instances[i].url;
}

/* Stops a server and asserts a clean exit. */
static void stop_one(pid_t pid)
{
	int status = 0;
	kill(pid, SIGTERM);
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "harness: cohortd exited badly (status %d)\n", status);
		exit(1);
	}
}

void api_shutdown(void)
{
	for (int i = 1; i < ninstances; i++)
		stop_one(instances[i].pid);
	ninstances = 0;
	if (!server_crashed)
		stop_one(server_pid);
}

void api_crash(void)
{
	int status = 0;
	kill(server_pid, SIGKILL);
	if (waitpid(server_pid, &status, 0) != server_pid)
		die("waitpid");
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		fprintf(stderr, "harness: cohortd was not killed (status %d)\n", status);
		exit(1);
	}
	server_crashed = true;
}

void api_stop(void)
{
	api_shutdown();
	api_remove_files();
}

void api_remove_files(void)
{
	char cmd[600];
	if (strncmp(db_path, "postgresql:///", 14) == 0) {
		snprintf(cmd, sizeof cmd,
			 "psql -X -q -d postgres -c 'DROP DATABASE IF EXISTS %s WITH (FORCE)' >&2",
			 db_path + 14);
		if (system(cmd) != 0)
			fprintf(stderr, "harness: could not drop %s\n", db_path + 14);
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "harness: could not remove %s\n", tmp_dir);
}

size_t sink_write(char *ptr, size_t size, size_t n, void *cls)
{
	struct sink *s = cls;
	size_t add = size * n;
	s->data = realloc(s->data, s->len + add + 1);
	memcpy(s->data + s->len, ptr, add);
	s->len += add;
	s->data[s->len] = '\0';
	return add;
}

/* The final header block of a raw one (after any 1xx answer) as an object of
 * lower-case names; a repeated header's values are joined with ", ". */
static json_t *headers_object(const char *raw)
{
	json_t *out = json_object();
	for (const char *line = raw; line && *line;) {
		const char *end = strstr(line, "\r\n");
		if (!end)
			end = line + strlen(line);
		const char *colon = memchr(line, ':', (size_t)(end - line));
		if (strncmp(line, "HTTP/", 5) == 0) {
			json_object_clear(out);
		} else if (colon) {
			char name[256];
			size_t n = (size_t)(colon - line);
			if (n >= sizeof name)
				n = sizeof name - 1;
			for (size_t i = 0; i < n; i++)
				name[i] = (char)tolower((unsigned char)line[i]);
			name[n] = '\0';
			const char *v = colon + 1;
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			json_t *old = json_object_get(out, name);
			char *joined;
			if (asprintf(&joined, "%s%s%.*s", old ? json_string_value(old) : "",
				     old ? ", " : "", (int)(end - v), v) < 0)
				die("asprintf");
			json_object_set_new(out, name, json_string(joined));
			free(joined);
		}
		line = *end ? end + 2 : end;
	}
	return out;
}

void traffic_record(const char *method, const char *path, const char *const *req_headers,
		    long status, const char *resp_headers, const char *body, size_t len)
{
	const char *dir = getenv("COHORTD_TRAFFIC_LOG");
	if (!dir || !*dir)
		return;
	/* tests may send requests from several threads (test_slow_reads.c) */
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&lock);
	static unsigned seq;
	const char *req_ct = NULL;
	for (int i = 0; req_headers && req_headers[i]; i++)
		if (strncasecmp(req_headers[i], "Content-Type:", 13) == 0)
			req_ct = req_headers[i] + 13 + strspn(req_headers[i] + 13, " ");
	json_t *headers = headers_object(resp_headers);
	json_t *line = json_pack("{s:s, s:I, s:s, s:s, s:s?, s:i, s:o}", "test",
				 program_invocation_short_name, "seq", (json_int_t)++seq, "method",
				 method, "path", path, "request_content_type", req_ct, "status",
				 (int)status, "headers", headers);
	/* A body that is compressed or not UTF-8 goes as base64. */
	json_t *text = NULL;
	if (!json_object_get(headers, "content-encoding"))
		text = json_stringn(body ? body : "", body ? len : 0);
	if (text) {
		json_object_set_new(line, "body", text);
	} else {
		unsigned char *b64 = malloc(4 * ((len + 2) / 3) + 1);
		EVP_EncodeBlock(b64, (const unsigned char *)body, (int)len);
		json_object_set_new(line, "body_base64", json_string((char *)b64));
		free(b64);
	}
	char file[600];
	snprintf(file, sizeof file, "%s/%s-%d.ndjson", dir, program_invocation_short_name,
		 (int)getpid());
	mkdir(dir, 0755); /* made by the first test that records; EEXIST after */
	FILE *f = fopen(file, "a");
	char *text_line = json_dumps(line, JSON_COMPACT);
	ck_assert_msg(f && text_line, "cannot record traffic in %s", file);
	fprintf(f, "%s\n", text_line);
	fclose(f);
	pthread_mutex_unlock(&lock);
	free(text_line);
	json_decref(line);
}

void traffic_record_raw(const char *request, const char *reply, size_t reply_len)
{
	char method[16], path[2048];
	int status = 0;
	if (sscanf(request, "%15s %2047s", method, path) != 2 ||
	    sscanf(reply, "HTTP/1.%*d %d", &status) != 1)
		return;
	const char *ct = strcasestr(request, "\r\nContent-Type:");
	char ct_header[256] = "";
	if (ct && ct < strstr(request, "\r\n\r\n"))
		snprintf(ct_header, sizeof ct_header, "%.*s", (int)strcspn(ct + 2, "\r"), ct + 2);
	const char *const req_headers[] = {ct_header, NULL};
	const char *end = strstr(reply, "\r\n\r\n");
	size_t head_len = end ? (size_t)(end - reply) + 2 : reply_len;
	char *head = strndup(reply, head_len);
	const char *body = end ? end + 4 : reply + reply_len;
	traffic_record(method, path, req_headers, status, head, body,
		       reply_len - (size_t)(body - reply));
	free(head);
}

static long timeout_override;

void http_timeout(long seconds)
{
	timeout_override = seconds;
}

struct resp *http(const char *method, const char *path, const char *const *headers,
		  const char *body, size_t body_len)
{
	CURL *curl = curl_easy_init();
	struct sink out = {0}, hdr = {0};
	struct curl_slist *list = NULL;
	char url[4096];
	snprintf(url, sizeof url, "%s%s", base_url, path);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, sink_write);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &hdr);
	/* under valgrind (the valgrind lane's meson timeouts are 4x) as long again */
	curl_easy_setopt(curl, CURLOPT_TIMEOUT,
			 timeout_override             ? timeout_override
			 : getenv("COHORTD_VALGRIND") ? 80L
						      : 20L);
	list = curl_slist_append(list, "Expect:");
	bool has_auth = false, has_reason = false;
	for (int i = 0; headers && headers[i]; i++) {
		list = curl_slist_append(list, headers[i]);
		has_auth |= strncasecmp(headers[i], "Authorization:", 14) == 0;
		has_reason |= strncasecmp(headers[i], "Change-Reason:", 14) == 0;
	}
	char auth[200];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", admin_token);
	if (!has_auth && admin_token[0])
		list = curl_slist_append(list, auth);
	if (!has_reason && (strcmp(method, "PATCH") == 0 || strcmp(method, "DELETE") == 0))
		list = curl_slist_append(list, "Change-Reason: test suite");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	CURLcode rc = curl_easy_perform(curl);
	ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
	struct resp *r = calloc(1, sizeof *r);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	r->body = out.data ? out.data : strdup("");
	r->len = out.len;
	r->headers = hdr.data ? hdr.data : strdup("");
	r->json = json_loadb(r->body, r->len, 0, NULL);
	traffic_record(method, path, headers, r->status, r->headers, r->body, r->len);
	curl_slist_free_all(list);
	curl_easy_cleanup(curl);
	return r;
}

static const char *const json_headers[] = {"Content-Type: application/json", NULL};

struct resp *http_get(const char *path)
{
	return http("GET", path, NULL, NULL, 0);
}

struct resp *http_post_json(const char *path, const char *json)
{
	return http("POST", path, json_headers, json, strlen(json));
}

struct resp *http_patch_json(const char *path, const char *json)
{
	static const char *const merge[] = {"Content-Type: application/merge-patch+json", NULL};
	return http("PATCH", path, merge, json, strlen(json));
}

struct resp *http_delete(const char *path)
{
	return http("DELETE", path, NULL, NULL, 0);
}

json_t *get_json(const char *path)
{
	struct resp *r = http_get(path);
	ck_assert_msg(r->status == 200, "GET %s -> %ld %s", path, r->status, r->body);
	json_t *j = json_incref(r->json);
	resp_free(r);
	return j;
}

int64_t assert_created(const struct resp *r, const char *collection)
{
	ck_assert_msg(r->status == 201, "POST /%s -> %ld %s", collection, r->status, r->body);
	ck_assert_str_eq(resp_header(r, "Content-Type"), "application/json");
	ck_assert_str_eq(resp_header(r, "ETag"), "\"1\"");
	json_int_t id = json_integer_value(json_object_get(r->json, "id"));
	ck_assert_int_gt(id, 0);
	ck_assert_str_eq(resp_header(r, "Location"), record_path(collection, id));
	return id;
}

struct resp *get_ok(const char *path)
{
	struct resp *r = http_get(path);
	ck_assert_msg(r->status == 200, "GET %s -> %ld %s", path, r->status, r->body);
	ck_assert_ptr_nonnull(r->json);
	return r;
}

const char *resp_str(const struct resp *r, const char *key)
{
	return json_string_value(json_object_get(r->json, key));
}

json_int_t resp_int(const struct resp *r, const char *key)
{
	json_t *v = json_object_get(r->json, key);
	ck_assert_msg(json_is_integer(v), "%s is not an integer in %s", key, r->body);
	return json_integer_value(v);
}

json_t *patch_ok(const char *path, const char *body)
{
	struct resp *r = http_patch_json(path, body);
	ck_assert_msg(r->status == 200, "PATCH %s %s -> %ld %s", path, body, r->status, r->body);
	json_t *j = json_incref(r->json);
	resp_free(r);
	return j;
}

const char *record_path(const char *collection, int64_t id)
{
	static char path[96];
	snprintf(path, sizeof path, "/%s/%lld", collection, (long long)id);
	return path;
}

void assert_member_str(json_t *o, const char *key, const char *want)
{
	json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_string(v), "%s is not a string", key);
	ck_assert_str_eq(json_string_value(v), want);
}

void assert_member_int(json_t *o, const char *key, json_int_t want)
{
	json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
	ck_assert_int_eq(json_integer_value(v), want);
}

void assert_member_number(json_t *o, const char *key, double want)
{
	json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_number(v), "%s is not a number", key);
	ck_assert_double_eq(json_number_value(v), want);
}

void assert_member_null(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	ck_assert_msg(v != NULL && json_is_null(v), "%s should be null", key);
}

void assert_keys_in_order(json_t *o, const char *const *keys)
{
	void *it = json_object_iter(o);
	for (int i = 0; keys[i]; i++) {
		ck_assert_msg(it != NULL, "missing key %s", keys[i]);
		ck_assert_str_eq(json_object_iter_key(it), keys[i]);
		it = json_object_iter_next(o, it);
	}
	ck_assert_msg(it == NULL, "extra key %s", it ? json_object_iter_key(it) : "");
}

const char *resp_header(const struct resp *r, const char *name)
{
	static char value[2048];
	size_t n = strlen(name);
	for (const char *line = r->headers; line && *line;) {
		const char *end = strstr(line, "\r\n");
		if (!end)
			end = line + strlen(line);
		if ((size_t)(end - line) > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ')
				v++;
			snprintf(value, sizeof value, "%.*s", (int)(end - v), v);
			return value;
		}
		line = *end ? end + 2 : end;
	}
	return NULL;
}

bool resp_varies_on(const struct resp *r, const char *name)
{
	size_t n = strlen(name);
	for (const char *line = r->headers; line && *line; line = strstr(line, "\n")) {
		while (*line == '\r' || *line == '\n')
			line++;
		if (strncasecmp(line, "Vary:", 5) != 0)
			continue;
		const char *end = line + strcspn(line, "\r\n");
		for (const char *p = line + 5; p < end;) {
			p += strspn(p, " ,");
			size_t len = strcspn(p, " ,\r\n");
			if (len == n && strncasecmp(p, name, n) == 0)
				return true;
			p += len ? len : 1;
		}
	}
	return false;
}

void resp_free(struct resp *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->headers);
	json_decref(r->json);
	free(r);
}

char *api_token_create(const char *role, const char *name)
{
	const char *bin = getenv("COHORTD_BIN");
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "'%s' token create --role %s --name '%s' --db '%s'",
		 bin ? bin : "./cohortd", role, name, db_path);
	FILE *p = popen(cmd, "r");
	char line[512] = "";
	if (!p || !fgets(line, sizeof line, p)) {
		fprintf(stderr, "harness: token create failed\n");
		exit(1);
	}
	pclose(p);
	line[strcspn(line, "\n")] = '\0';
	char *last = strrchr(line, ' ');
	return strdup(last ? last + 1 : line);
}

const char *unique_code(const char *prefix)
{
	static char code[64];
	static int n;
	snprintf(code, sizeof code, "%s-%d-%d", prefix, (int)getpid(), ++n);
	return code;
}

/* Posts defaults merged with extra and returns the new id. */
char *json_merged(json_t *base, const char *extra, const char *drop)
{
	if (extra) {
		json_error_t err;
		json_t *e = json_loads(extra, JSON_ALLOW_NUL, &err);
		ck_assert_msg(e != NULL, "bad extra JSON in test: %s (%s)", extra, err.text);
		json_object_update(base, e);
		json_decref(e);
	}
	if (drop)
		json_object_del(base, drop);
	char *out = json_dumps(base, JSON_COMPACT);
	json_decref(base);
	return out;
}

static int64_t make(const char *path, json_t *defaults, const char *extra)
{
	char *body = json_merged(defaults, extra, NULL);
	struct resp *r = http_post_json(path, body);
	ck_assert_msg(r->status == 201, "POST %s %s -> %ld %s", path, body, r->status, r->body);
	int64_t id = json_integer_value(json_object_get(r->json, "id"));
	free(body);
	resp_free(r);
	return id;
}

int64_t make_patient(const char *extra)
{
	return make("/patients",
		    json_pack("{s:s, s:s, s:s, s:s, s:s}", "code", unique_code("P"), "histology",
			      "melanoma", "setting", "metastatic", "regimen", "il2_alone",
			      "enrolled_on", "1985-01-10"),
		    extra);
}

int64_t make_course(int64_t patient_id, const char *extra)
{
	return make("/courses",
		    json_pack("{s:I, s:s, s:f, s:s}", "patient_id", (json_int_t)patient_id,
			      "started_on", "1985-02-01", "il2_dose", 720000.0, "il2_dose_unit",
			      "IU/kg"),
		    extra);
}

int64_t make_outcome(int64_t course_id, const char *extra)
{
	return make("/outcomes",
		    json_pack("{s:I, s:s, s:s}", "course_id", (json_int_t)course_id, "assessed_on",
			      "1985-04-01", "response", "PR"),
		    extra);
}

int64_t make_toxicity(int64_t course_id, const char *extra)
{
	return make("/toxicities",
		    json_pack("{s:I, s:s, s:i, s:s, s:s}", "course_id", (json_int_t)course_id,
			      "term", "Hypotension", "grade", 3, "onset_on", "1985-02-02",
			      "attribution", "definite"),
		    extra);
}

int64_t make_course_of_new_patient(int64_t *patient_id, const char *patient_extra)
{
	int64_t p = make_patient(patient_extra);
	if (patient_id)
		*patient_id = p;
	return make_course(p, NULL);
}

struct family make_family(void)
{
	struct family f;
	f.patient = make_patient(NULL);
	f.course = make_course(f.patient, NULL);
	f.outcome = make_outcome(f.course, NULL);
	f.toxicity = make_toxicity(f.course, NULL);
	return f;
}

char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *data = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return data;
}

/* The first row sql gives on the database at path (a file, or a
 * postgresql: URI, read with psql), its columns joined by '/'. */
static void query_row(const char *path, const char *sql, char *out, size_t n);

void db_query_row(const char *sql, char *out, size_t n)
{
	query_row(db_path, sql, out, n);
}

bool api_on_postgresql(void)
{
	return getenv("COHORTD_TEST_POSTGRESQL") != NULL;
}

static void query_row(const char *path, const char *sql, char *out, size_t n)
{
	out[0] = '\0';
	if (strncmp(path, "postgresql:", 11) == 0) {
		PGconn *conn = PQconnectdb(path);
		ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "%s", PQerrorMessage(conn));
		PGresult *res = PQexec(conn, sql);
		ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK ||
				      PQresultStatus(res) == PGRES_COMMAND_OK,
			      "%s: %s", sql, PQresultErrorMessage(res));
		out[0] = '\0';
		size_t used = 0;
		for (int i = 0; PQntuples(res) > 0 && i < PQnfields(res); i++) {
			int k = snprintf(out + used, n - used, "%s%s", i ? "/" : "",
					 PQgetvalue(res, 0, i));
			used += k > 0 && (size_t)k < n - used ? (size_t)k : 0;
		}
		PQclear(res);
		PQfinish(conn);
		return;
	}
	sqlite3 *db;
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	sqlite3_stmt *st;
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	int rc = sqlite3_step(st);
	ck_assert_msg(rc == SQLITE_ROW || rc == SQLITE_DONE, "%s: %s", sql, sqlite3_errmsg(db));
	out[0] = '\0';
	size_t used = 0;
	for (int i = 0; rc == SQLITE_ROW && i < sqlite3_column_count(st); i++) {
		const unsigned char *v = sqlite3_column_text(st, i);
		int k = snprintf(out + used, n - used, "%s%s", i ? "/" : "",
				 v ? (const char *)v : "");
		used += k > 0 && (size_t)k < n - used ? (size_t)k : 0;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

char *db_fingerprint(void)
{
	static const char *const tables[] = {"patients", "courses", "outcomes", "toxicities"};
	char *out = calloc(1, 1024);
	size_t used = 0;
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		char sql[256], row[256];
		snprintf(sql, sizeof sql,
			 "SELECT count(*), coalesce(sum(version), 0), coalesce(max(id), 0), "
			 "coalesce(max(updated_at), '') FROM %s",
			 tables[i]);
		query_row(db_path, sql, row, sizeof row);
		used += (size_t)snprintf(out + used, 1024 - used, "%s:%s ", tables[i], row);
	}
	/* and the audit trail: a refused request appends no row */
	char row[256];
	query_row(db_path, "SELECT count(*), coalesce(max(seq), 0) FROM audit", row, sizeof row);
	snprintf(out + used, 1024 - used, "audit:%s", row);
	return out;
}

void assert_unchanged(char *before)
{
	char *after = db_fingerprint();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
}

int64_t db_count(const char *table)
{
	return db_count_at(db_path, table);
}

int64_t db_count_at(const char *path, const char *table)
{
	char sql[128], row[64];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	query_row(path, sql, row, sizeof row);
	return strtoll(row, NULL, 10);
}

void assert_problem(const struct resp *r, long status, const char *type)
{
	ck_assert_msg(r->status == status, "expected %ld, got %ld: %s", status, r->status, r->body);
	const char *ct = resp_header(r, "Content-Type");
	ck_assert_msg(ct && strcmp(ct, "application/problem+json") == 0, "content type %s",
		      ct ? ct : "(none)");
	ck_assert_msg(r->json != NULL, "problem body is not JSON: %s", r->body);
	ck_assert_str_eq(json_string_value(json_object_get(r->json, "type")), type);
	ck_assert_int_eq(json_integer_value(json_object_get(r->json, "status")), status);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(r->json, "title")));
	const char *detail = json_string_value(json_object_get(r->json, "detail"));
	ck_assert_msg(detail && *detail, "problem without detail");
	/* the instance names this request, as its X-Request-ID header does */
	const char *id = resp_header(r, "X-Request-ID");
	ck_assert_msg(id && *id, "no X-Request-ID on a problem answer");
	char want[200];
	snprintf(want, sizeof want, "urn:cohortd:request:%s", id);
	ck_assert_str_eq(json_string_value(json_object_get(r->json, "instance")), want);
	ck_assert_str_eq(json_string_value(json_object_get(r->json, "request_id")), id);
}

void assert_field_error(const struct resp *r, const char *field)
{
	json_t *errors = json_object_get(r->json, "errors");
	ck_assert_msg(json_is_array(errors), "no errors[] in %s", r->body);
	size_t i;
	json_t *e;
	json_array_foreach(errors, i, e)
	{
		const char *f = json_string_value(json_object_get(e, "field"));
		const char *m = json_string_value(json_object_get(e, "message"));
		if (f && strcmp(f, field) == 0 && m && *m)
			return;
	}
	ck_abort_msg("errors[] does not name %s: %s", field, r->body);
}

void assert_refused(const char *method, const char *path, const char *const *headers,
		    const char *body, long status, const char *type, const char *field)
{
	char *before = db_fingerprint();
	struct resp *r = http(method, path, headers, body, body ? strlen(body) : 0);
	assert_problem(r, status, type);
	if (field)
		assert_field_error(r, field);
	assert_unchanged(before);
	resp_free(r);
}

Suite *api_suite(const char *name, TCase **tc)
{
	Suite *s = suite_create(name);
	*tc = tcase_create(name);
	tcase_add_unchecked_fixture(*tc, api_start, api_stop);
	tcase_set_timeout(*tc, 60);
	suite_add_tcase(s, *tc);
	return s;
}

int run_suite(Suite *s)
{
	/* the part of a suite that needs the real server's timing or size: a
	 * meson test of its own (tests/meson.build), skipped (77) under valgrind */
	if (getenv("COHORTD_REAL_TIME") && getenv("COHORTD_VALGRIND")) {
		printf("skipped: these tests need the server's own timing and size, which "
		       "valgrind's memcheck slows and swells\n");
		srunner_free(srunner_create(s)); /* frees the suite */
		return 77;
	}
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

int api_connect(void)
{
	unsigned port = (unsigned)atoi(strrchr(api_base_url(), ':') + 1);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

double monotonic_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

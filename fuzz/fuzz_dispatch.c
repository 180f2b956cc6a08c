/* libFuzzer: whole requests through the dispatcher and the handlers, in
 * process, on a database of its own. The input is a request as text:
 *     METHOD PATH[?key=value&...]
 *     Name: value            (header fields, up to an empty line)
 *
 *     body
 * Whatever it holds, the request must be answered (a status, a body that
 * parses as JSON when it says it is JSON) and freed without a leak. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "resources.h"
#include "router.h"
#include "routes.h"
#include "store.h"

static char dir[64];

static void remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_dispatch: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	snprintf(dir, sizeof dir, "/tmp/cohortd-fuzz-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	atexit(remove_dir);
	char path[128];
	snprintf(path, sizeof path, "%s/fuzz.db", dir);
	struct db *db = NULL;
	if (db_open(path, &db) != DB_OK || db_migrate(db) != DB_OK)
		abort();
	db_close(db);
	log_set_level(LOG_ERROR);
	if (store_init(resources_all, RESOURCES_COUNT) != DB_OK)
		abort();
	if (db_pool_init(path) != DB_OK)
		abort();
	router_configure(routes, routes_count, ROLE_ADMIN, NULL, 0, 1024 * 1024);
	return 0;
}

/* The next line of text at *p (cut at '\n', NUL-terminated in place). */
static char *next_line(char **p)
{
	char *line = *p, *nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = line + strlen(line);
	}
	return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	struct request *req = calloc(1, sizeof *req);
	char *p = text, *line = next_line(&p), *space = strchr(line, ' ');
	req->method = "GET";
	req->path = line;
	if (space) {
		*space = '\0';
		req->method = line;
		req->path = space + 1;
	}
	char *query = strchr(req->path, '?');
	if (query)
		*query++ = '\0';
	int n = 0;
	while (*p && n < REQUEST_INLINE_FIELDS) {
		line = next_line(&p);
		char *colon = strchr(line, ':');
		if (!*line || !colon)
			break;
		*colon = '\0';
		req->inline_fields[n++] =
			(struct request_field){line, colon + 1 + strspn(colon + 1, " ")};
	}
	req->in_headers = req->inline_fields;
	req->nin_headers = n;
	req->in_query = req->inline_fields + n;
	for (char *pair = query ? strtok(query, "&") : NULL; pair && n < REQUEST_INLINE_FIELDS;
	     pair = strtok(NULL, "&")) {
		char *eq = strchr(pair, '=');
		if (eq)
			*eq = '\0';
		req->inline_fields[n++] = (struct request_field){pair, eq ? eq + 1 : ""};
	}
	req->nin_query = n - req->nin_headers;
	snprintf(req->request_id, sizeof req->request_id, "fuzz");
	req->body_len = strlen(p);
	req->body = malloc(req->body_len + 1);
	memcpy(req->body, p, req->body_len + 1);
	req->body_limit = 1024 * 1024;

	router_dispatch(req);
	db_thread_done();
	if (req->status < 100 || req->status > 599)
		abort();
	if (req->out && req->content_type && strstr(req->content_type, "json") && !req->stream) {
		json_t *j = json_loadb(req->out, req->out_len, 0, NULL);
		if (!j)
			abort();
		json_decref(j);
	}
	request_free(req);
	free(text);
	return 0;
}

/* JSON lines on stderr (see log.h). */
#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static const char *const names[] = {"debug", "info", "warn", "error", NULL};
static enum log_level threshold = LOG_INFO;

bool log_level_parse(const char *text, enum log_level *level)
{
	for (int i = 0; names[i]; i++) {
		if (strcmp(text, names[i]) == 0) {
			*level = (enum log_level)i;
			return true;
		}
	}
	return false;
}

void log_set_level(enum log_level level)
{
	threshold = level;
}

bool log_enabled(enum log_level level)
{
	return level >= threshold;
}

void log_write(enum log_level level, const char *msg, json_t *fields)
{
	if (!log_enabled(level)) {
		json_decref(fields);
		return;
	}
	char now[32];
	utc_now_rfc3339(now);
	json_t *line = json_pack("{s:s, s:s, s:s}", "time", now, "level", names[level], "msg", msg);
	if (line && fields)
		json_object_update(line, fields);
	json_decref(fields);
	char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
	json_decref(line);
	if (!text)
		return;
	size_t n = strlen(text);
	char *line_end = xrealloc(text, n + 2);
	if (!line_end) {
		free(text);
		return;
	}
	text = line_end;
	text[n] = '\n';
	text[n + 1] = '\0';
	ssize_t written = write(STDERR_FILENO, text, n + 1);
	(void)written;
	free(text);
}

/* True when text needs no escaping inside a JSON string. */
static bool json_plain(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if (*p < 0x20 || *p == '"' || *p == '\\' || *p >= 0x7f)
			return false;
	return true;
}

void log_request(const char *request_id, const char *method, const char *route, unsigned status,
		 size_t bytes, long long micros, const char *actor, bool terminated)
{
	if (!log_enabled(LOG_INFO))
		return;
	if (!json_plain(method) || !json_plain(request_id) || (actor && !json_plain(actor))) {
		json_t *f = json_pack("{s:s, s:s, s:s?, s:i, s:I, s:I, s:s?}", "request_id", request_id,
				      "method", method, "route", route, "status", (int)status, "bytes",
				      (json_int_t)bytes, "us", (json_int_t)micros, "actor", actor);
		if (terminated && f)
			json_object_set_new(f, "terminated", json_true());
		log_write(LOG_INFO, "request", f);
		return;
	}
	char now[32], line[1024];
	utc_now_rfc3339(now);
	int n = snprintf(line, sizeof line,
			 "{\"time\":\"%s\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"%s\","
			 "\"method\":\"%.32s\",\"route\":%s%s%s,\"status\":%u,\"bytes\":%zu,\"us\":%lld,"
			 "\"actor\":%s%s%s%s}\n",
			 now, request_id, method, route ? "\"" : "", route ? route : "null",
			 route ? "\"" : "", status, bytes, micros, actor ? "\"" : "",
			 actor ? actor : "null", actor ? "\"" : "", terminated ? ",\"terminated\":true" : "");
	if (n > 0 && (size_t)n < sizeof line) {
		ssize_t written = write(STDERR_FILENO, line, (size_t)n);
		(void)written;
	}
}

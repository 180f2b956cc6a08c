/* JSON lines on stderr (see log.h). Request lines are gathered in one
 * buffer and written when it fills or, at the latest, at the next
 * log_flush (the server calls it twice a second): a write() per request
 * costs a system call and the file's lock on every answer. Every other
 * line is written at once, after the request lines before it. */
#include "log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static const char *const names[] = {"debug", "info", "warn", "error", NULL};
static enum log_level threshold = LOG_INFO;

#define LOG_BUFFER 32768

static struct {
	pthread_mutex_t lock;
	size_t len;
	char data[LOG_BUFFER];
} pending = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void write_all(const char *text, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, text, n);
		if (w <= 0)
			return; /* nowhere to log to: the line is dropped */
		text += w;
		n -= (size_t)w;
	}
}

static void flush_locked(void)
{
	write_all(pending.data, pending.len);
	pending.len = 0;
}

/* Queues a whole line (with its newline), or writes it now with what is
 * queued before it. */
static void emit(const char *line, size_t n, bool now)
{
	pthread_mutex_lock(&pending.lock);
	if (pending.len + n > sizeof pending.data)
		flush_locked();
	if (n > sizeof pending.data) {
		write_all(line, n);
	} else {
		memcpy(pending.data + pending.len, line, n);
		pending.len += n;
	}
	if (now)
		flush_locked();
	pthread_mutex_unlock(&pending.lock);
}

void log_flush(void)
{
	pthread_mutex_lock(&pending.lock);
	flush_locked();
	pthread_mutex_unlock(&pending.lock);
}

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
	emit(text, n + 1, true);
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
		json_t *f =
			json_pack("{s:s, s:s, s:s?, s:i, s:I, s:I, s:s?}", "request_id", request_id,
				  "method", method, "route", route, "status", (int)status, "bytes",
				  (json_int_t)bytes, "us", (json_int_t)micros, "actor", actor);
		if (terminated && f)
			json_object_set_new(f, "terminated", json_true());
		log_write(LOG_INFO, "request", f);
		return;
	}
	char now[32], line[1024];
	utc_now_rfc3339(now);
	int n = snprintf(
		line, sizeof line,
		"{\"time\":\"%s\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"%s\","
		"\"method\":\"%.32s\",\"route\":%s%s%s,\"status\":%u,\"bytes\":%zu,\"us\":%lld,"
		"\"actor\":%s%s%s%s}\n",
		now, request_id, method, route ? "\"" : "", route ? route : "null",
		route ? "\"" : "", status, bytes, micros, actor ? "\"" : "", actor ? actor : "null",
		actor ? "\"" : "", terminated ? ",\"terminated\":true" : "");
	if (n > 0 && (size_t)n < sizeof line)
		emit(line, (size_t)n, false);
}

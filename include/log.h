/* The server's log: one JSON object a line on stderr, for collectors to
 * read as they are. Every line has time (UTC), level and msg; fields are
 * added as a Jansson object (stolen). Lines from different threads never
 * interleave. Request lines are written in blocks, at the latest at the
 * next log_flush(); every other line at once, after them. Never log a token
 * or a request body. */
#ifndef COHORTD_LOG_H
#define COHORTD_LOG_H

#include <jansson.h>
#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

bool log_level_parse(const char *text, enum log_level *level);
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);
/* Writes {"time", "level", "msg", ...fields}; fields may be NULL. */
void log_write(enum log_level level, const char *msg, json_t *fields);

/* Writes the request lines not yet written. */
void log_flush(void);

/* The line of one answered request (level info): route and actor may be
 * NULL. Formatted directly, as it is written for every request. */
void log_request(const char *request_id, const char *method, const char *route, unsigned status,
		 size_t bytes, long long micros, const char *actor, bool terminated);

#endif

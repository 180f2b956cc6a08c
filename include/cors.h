/* Cross-origin access for browser dashboards: only origins on the
 * allow-list (--cors-origin) get Access-Control-* headers; preflights are
 * answered without authentication, as browsers send them without tokens. */
#ifndef COHORTD_CORS_H
#define COHORTD_CORS_H

#include <stdbool.h>

struct request;

#define CORS_MAX_ORIGINS 16

void cors_configure(const char *const *origins, int count);
/* A preflight (OPTIONS with Origin and Access-Control-Request-Method)? */
bool cors_is_preflight(struct request *req);
/* Answers a preflight for a path that allows the given methods. */
void cors_preflight(struct request *req, const char *allow);
/* Adds the headers an allowed origin needs on any answer. */
void cors_decorate(struct request *req);

#endif

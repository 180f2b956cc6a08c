/* The HTTP server's life cycle (server/http_glue.c): start listening, stop
 * accepting, let in-flight requests finish, stop. */
#ifndef COHORTD_SERVER_H
#define COHORTD_SERVER_H

#include "config.h"

struct server;

/* Starts the worker threads; *port_out receives the bound port (useful with
 * port 0). Returns NULL after logging why. */
struct server *server_start(const struct config *cfg, unsigned *port_out);
void server_stop(struct server *srv);

#endif

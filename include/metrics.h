/* Prometheus metrics: requests by route template, method and status, a
 * latency histogram per route, requests in flight, database and WAL size,
 * records per resource, build info. Counters are atomics updated by the
 * glue as each request completes; GET /metrics renders them. Labels are
 * route templates ("/patients/{id}"), never raw paths. */
#ifndef COHORTD_METRICS_H
#define COHORTD_METRICS_H

struct route;

/* A request has come in / has been completed (the glue calls both, once
 * each, for every request); and how many are in between. */
void metrics_request_begun(void);
void metrics_request_ended(void);
int metrics_requests_in_flight(void);

/* Records one answered request (route NULL when none matched). */
void metrics_observe(const struct route *route, const char *method, unsigned status,
		     double seconds);

#endif

/* Prometheus metrics: requests by route template, method and status, a
 * latency histogram per route, requests in flight, database and WAL size,
 * records per resource, build info. Counters are atomics updated by the
 * glue as each request completes; GET /metrics renders them. Labels are
 * route templates ("/patients/{id}"), never raw paths. */
#ifndef COHORTD_METRICS_H
#define COHORTD_METRICS_H

struct route;

/* Records one answered request (route NULL when none matched). */
void metrics_observe(const struct route *route, const char *method, unsigned status,
		     double seconds);

#endif

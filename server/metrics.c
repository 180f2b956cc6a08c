/* Request counters and latency histograms, and their Prometheus text form
 * (GET /metrics). One slot per route of the table and one for requests no
 * route matched; statuses are the ones cohortd answers, the rest "other". */
#include "metrics.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "handlers.h"
#include "http.h"
#include "resources.h"
#include "router.h"
#include "store.h"
#include "util.h"

#define MAX_ROUTES 64
static const unsigned statuses[] = {200, 201, 204, 304, 400, 401, 403, 404, 405,
				    409, 412, 413, 415, 422, 500, 503, 507, 0};
#define NSTATUS (sizeof statuses / sizeof statuses[0]) /* the last: any other */
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				 0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

struct route_metrics {
	atomic_uint_fast64_t by_status[NSTATUS];
	atomic_uint_fast64_t le[NBUCKETS]; /* non-cumulative; summed when rendered */
	atomic_uint_fast64_t count;
	atomic_uint_fast64_t micros;
};

static struct route_metrics slots[MAX_ROUTES + 1]; /* the last: unmatched */
static atomic_int in_flight;

void metrics_request_begun(void)
{
	atomic_fetch_add(&in_flight, 1);
}

void metrics_request_ended(void)
{
	atomic_fetch_sub(&in_flight, 1);
}

int metrics_requests_in_flight(void)
{
	return atomic_load(&in_flight);
}

void metrics_observe(const struct route *route, const char *method, unsigned status, double seconds)
{
	(void)method;
	size_t count;
	const struct route *table = router_table(&count);
	size_t slot = route && table ? (size_t)(route - table) : MAX_ROUTES;
	if (slot > MAX_ROUTES)
		slot = MAX_ROUTES;
	struct route_metrics *m = &slots[slot];
	size_t s = 0;
	while (s < NSTATUS - 1 && statuses[s] != status)
		s++;
	atomic_fetch_add(&m->by_status[s], 1);
	size_t b = 0;
	while (b < NBUCKETS && seconds > buckets[b])
		b++;
	if (b < NBUCKETS)
		atomic_fetch_add(&m->le[b], 1);
	atomic_fetch_add(&m->count, 1);
	atomic_fetch_add(&m->micros, (uint_fast64_t)(seconds * 1e6));
}

static void labels(struct strbuf *sb, size_t slot)
{
	size_t count;
	const struct route *table = router_table(&count);
	if (slot < count)
		strbuf_printf(sb, "route=\"%s\",method=\"%s\"", table[slot].pattern,
			      table[slot].method);
	else
		strbuf_puts(sb, "route=\"(none)\",method=\"(any)\"");
}

void metrics_scrape(struct request *req)
{
	struct strbuf sb = {0};
	size_t count;
	router_table(&count);
	size_t nslots = count < MAX_ROUTES ? count : MAX_ROUTES;

	strbuf_puts(&sb, "# HELP cohortd_requests_total Requests answered, by route template, "
			 "method and status.\n# TYPE cohortd_requests_total counter\n");
	for (size_t r = 0; r <= MAX_ROUTES; r++) {
		if (r >= nslots && r != MAX_ROUTES)
			continue;
		for (size_t s = 0; s < NSTATUS; s++) {
			uint64_t n = atomic_load(&slots[r].by_status[s]);
			if (!n)
				continue;
			strbuf_puts(&sb, "cohortd_requests_total{");
			labels(&sb, r);
			if (statuses[s])
				strbuf_printf(&sb, ",status=\"%u\"} %llu\n", statuses[s],
					      (unsigned long long)n);
			else
				strbuf_printf(&sb, ",status=\"other\"} %llu\n",
					      (unsigned long long)n);
		}
	}
	strbuf_puts(&sb, "# HELP cohortd_request_duration_seconds Time from the request's first "
			 "byte to its answer being queued.\n"
			 "# TYPE cohortd_request_duration_seconds histogram\n");
	for (size_t r = 0; r <= MAX_ROUTES; r++) {
		if (r >= nslots && r != MAX_ROUTES)
			continue;
		uint64_t count = atomic_load(&slots[r].count);
		if (!count)
			continue;
		uint64_t cumulative = 0;
		for (size_t b = 0; b < NBUCKETS; b++) {
			cumulative += atomic_load(&slots[r].le[b]);
			strbuf_puts(&sb, "cohortd_request_duration_seconds_bucket{");
			labels(&sb, r);
			strbuf_printf(&sb, ",le=\"%g\"} %llu\n", buckets[b],
				      (unsigned long long)cumulative);
		}
		strbuf_puts(&sb, "cohortd_request_duration_seconds_bucket{");
		labels(&sb, r);
		strbuf_printf(&sb, ",le=\"+Inf\"} %llu\n", (unsigned long long)count);
		strbuf_puts(&sb, "cohortd_request_duration_seconds_sum{");
		labels(&sb, r);
		strbuf_printf(&sb, "} %.6f\n", (double)atomic_load(&slots[r].micros) / 1e6);
		strbuf_puts(&sb, "cohortd_request_duration_seconds_count{");
		labels(&sb, r);
		strbuf_printf(&sb, "} %llu\n", (unsigned long long)count);
	}
	strbuf_printf(&sb,
		      "# HELP cohortd_requests_in_flight Requests being processed.\n"
		      "# TYPE cohortd_requests_in_flight gauge\ncohortd_requests_in_flight %d\n",
		      metrics_requests_in_flight());

	int64_t db_bytes = 0, wal_bytes = 0;
	if (db_file_sizes(req->db, &db_bytes, &wal_bytes) == DB_OK)
		strbuf_printf(&sb,
			      "# HELP cohortd_database_bytes Size of the database file.\n"
			      "# TYPE cohortd_database_bytes gauge\ncohortd_database_bytes %lld\n"
			      "# HELP cohortd_wal_bytes Size of the write-ahead log.\n"
			      "# TYPE cohortd_wal_bytes gauge\ncohortd_wal_bytes %lld\n",
			      (long long)db_bytes, (long long)wal_bytes);
	struct db_pool_figures pool;
	db_pool_figures(&pool);
	strbuf_printf(
		&sb,
		"# HELP cohortd_db_connections Database connections open: the workers' and the "
		"writer's.\n"
		"# TYPE cohortd_db_connections gauge\ncohortd_db_connections{engine=\"%s\"} %lld\n"
		"# HELP cohortd_db_writers_waiting Writers waiting for the write lock now.\n"
		"# TYPE cohortd_db_writers_waiting gauge\ncohortd_db_writers_waiting %lld\n"
		"# HELP cohortd_db_writer_waits_total Writers that waited for the write lock.\n"
		"# TYPE cohortd_db_writer_waits_total counter\ncohortd_db_writer_waits_total %lld\n"
		"# HELP cohortd_db_writer_wait_seconds_total Time writers spent waiting for it.\n"
		"# TYPE cohortd_db_writer_wait_seconds_total counter\n"
		"cohortd_db_writer_wait_seconds_total %.6f\n"
		"# HELP cohortd_db_commits_total Commits of the shared writer (one per group).\n"
		"# TYPE cohortd_db_commits_total counter\ncohortd_db_commits_total %lld\n"
		"# HELP cohortd_db_committed_writes_total Writes those commits held.\n"
		"# TYPE cohortd_db_committed_writes_total counter\n"
		"cohortd_db_committed_writes_total %lld\n",
		db_engine_name(req->db), (long long)pool.connections,
		(long long)pool.writers_waiting, (long long)pool.writer_waits,
		pool.writer_wait_seconds, (long long)pool.commits,
		(long long)pool.committed_writes);
	const struct resource *const *resources = resources_all;
	strbuf_puts(&sb, "# HELP cohortd_records Records held, by resource.\n"
			 "# TYPE cohortd_records gauge\n");
	for (size_t i = 0; i < RESOURCES_COUNT; i++) {
		int64_t n = 0;
		if (store_count(req->db, resources[i], &n) == DB_OK)
			strbuf_printf(&sb, "cohortd_records{resource=\"%s\"} %lld\n",
				      resources[i]->name, (long long)n);
	}
	strbuf_printf(&sb,
		      "# HELP cohortd_build_info The running build.\n"
		      "# TYPE cohortd_build_info gauge\ncohortd_build_info{version=\"%s\"} 1\n",
		      COHORTD_VERSION);
	size_t len = sb.len;
	reply_owned(req, 200, "text/plain; version=0.0.4; charset=utf-8", strbuf_steal(&sb), len);
}

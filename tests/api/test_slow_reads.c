/* Reads never wait behind statistics. A statistic that is not cached is
 * computed on the slow-read pool (--stats-threads), so the HTTP workers go
 * on answering point reads. The server is told to pause each statistic it
 * computes for HOLD_MS (COHORTD_INJECT_PAUSE=statistic:MS, inject.h), and
 * runs one HTTP worker: two statistics are held while a patient is read.
 * With the pool the read is answered at once; without it (--stats-threads
 * 0) it waits behind them, which is what shows this test can fail. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define HOLD_MS 3000

struct held {
	const char *path;
	long status;
	double seconds;
};

static void *get_statistic(void *arg)
{
	struct held *h = arg;
	double t0 = monotonic_seconds();
	struct resp *r = http_get(h->path);
	h->seconds = monotonic_seconds() - t0;
	h->status = r->status;
	resp_free(r);
	return NULL;
}

/* Starts the server with one HTTP worker and extra, sends two statistics,
 * reads a patient while they are held; returns the read's seconds, after
 * checking both statistics were answered 200 and were indeed held. */
static double point_read_beside_held_statistics(const char *const *extra)
{
	setenv("COHORTD_INJECT_PAUSE", "statistic:3000", 1);
	const char *args[8] = {"--threads", "1"};
	for (int i = 0; extra && extra[i]; i++)
		args[2 + i] = extra[i];
	api_start_with(args);
	unsetenv("COHORTD_INJECT_PAUSE");
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);

	struct held stats[2] = {{.path = "/stats/toxicity"}, {.path = "/stats/survival"}};
	pthread_t threads[2];
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&threads[i], NULL, get_statistic, &stats[i]), 0);
	usleep(300 * 1000); /* both are in, and held */
	double t0 = monotonic_seconds();
	struct resp *r = http_get(path);
	double read = monotonic_seconds() - t0;
	ck_assert_int_eq(r->status, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(r->json, "id")), id);
	resp_free(r);
	for (int i = 0; i < 2; i++) {
		pthread_join(threads[i], NULL);
		ck_assert_int_eq(stats[i].status, 200);
		ck_assert_msg(stats[i].seconds >= HOLD_MS / 1000.0 * 0.9,
			      "%s took %.2f s: it was not held", stats[i].path, stats[i].seconds);
	}
	/* a statistic now cached is answered on the worker, not held again */
	t0 = monotonic_seconds();
	r = http_get("/stats/toxicity");
	ck_assert_int_eq(r->status, 200);
	ck_assert_double_lt(monotonic_seconds() - t0, HOLD_MS / 1000.0 / 2);
	resp_free(r);
	api_stop();
	return read;
}

START_TEST(test_a_point_read_is_answered_while_statistics_are_computed)
{
	double read = point_read_beside_held_statistics(NULL);
	ck_assert_msg(read < 0.5, "the read took %.2f s behind the statistics", read);
}
END_TEST

START_TEST(test_on_the_http_workers_a_point_read_waits_behind_a_statistic)
{
	static const char *const no_pool[] = {"--stats-threads", "0", NULL};
	double read = point_read_beside_held_statistics(no_pool);
	ck_assert_msg(read >= HOLD_MS / 1000.0 / 2, "the read took only %.2f s", read);
}
END_TEST

int main(void)
{
	/* each test starts its own server; all of it is real-time (its timing
	 * is the real server's, not valgrind's: tests/meson.build) */
	Suite *s = suite_create("slow_reads");
	TCase *tc = tcase_create("slow_reads");
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tcase_add_test(tc, test_a_point_read_is_answered_while_statistics_are_computed);
	tcase_add_test(tc, test_on_the_http_workers_a_point_read_waits_behind_a_statistic);
	return run_suite(s);
}

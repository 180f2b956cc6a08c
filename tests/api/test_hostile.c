/* Hostile clients: hundreds of slow connections trickling bytes do not slow
 * a normal client or grow memory without bound; idle connections are closed
 * after the timeout; oversized headers, URLs and query strings are refused
 * and the server goes on serving. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define SLOW 500

static long server_rss_kib(void)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", api_pid());
	FILE *f = fopen(path, "r");
	long kib = -1;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = atol(line + 6);
	if (f)
		fclose(f);
	return kib;
}

START_TEST(test_slow_connections_do_not_starve_a_normal_client)
{
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	int fds[SLOW];
	for (int i = 0; i < SLOW; i++) {
		fds[i] = api_connect();
		const char *start = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
		ck_assert_int_eq(write(fds[i], start, strlen(start)), (ssize_t)strlen(start));
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
	}
	double worst = 0;
	for (int round = 0; round < 20; round++) {
		/* every slow client sends one more byte of a header that never ends */
		for (int i = 0; i < SLOW; i++)
			if (write(fds[i], "a", 1) < 0 && errno != EAGAIN)
				ck_abort_msg("slow connection %d dropped early", i);
		double t0 = monotonic_seconds();
		struct resp *r = http_get(path);
		double took = monotonic_seconds() - t0;
		ck_assert_int_eq(r->status, 200);
		resp_free(r);
		if (took > worst)
			worst = took;
		usleep(100 * 1000);
	}
	long rss = server_rss_kib();
	for (int i = 0; i < SLOW; i++)
		close(fds[i]);
	ck_assert_msg(worst < 0.5, "a normal request took %.3f s beside %d slow ones", worst, SLOW);
	/* (under valgrind the process's size is valgrind's) */
	if (!getenv("COHORTD_VALGRIND"))
		ck_assert_msg(rss > 0 && rss < 64 * 1024,
			      "server RSS %ld KiB with %d slow connections", rss, SLOW);
}
END_TEST

START_TEST(test_idle_connection_is_closed_after_the_timeout)
{
	int fd = api_connect();
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	double t0 = monotonic_seconds();
	char buf[64];
	ssize_t n = read(fd, buf, sizeof buf); /* 0: closed by the server */
	double took = monotonic_seconds() - t0;
	close(fd);
	ck_assert_int_eq(n, 0);
	ck_assert_msg(took >= 1.5 && took < 6, "closed after %.2f s (timeout 2 s)", took);
}
END_TEST

/* Sends raw bytes and returns the status line's code (0 when closed). */
static int raw_status(const char *request, size_t len)
{
	int fd = api_connect();
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	size_t sent = 0;
	while (sent < len) {
		ssize_t n = write(fd, request + sent, len - sent);
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	char buf[256] = "";
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	int code = 0;
	if (n > 12)
		sscanf(buf, "HTTP/1.1 %d", &code);
	return code;
}

START_TEST(test_oversized_header_url_and_query_are_refused_and_serving_goes_on)
{
	size_t big = 64 * 1024;
	char *req = malloc(big + 256);
	int n = sprintf(req, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + n, 'a', big);
	sprintf(req + n + big, "\r\n\r\n");
	int code = raw_status(req, strlen(req));
	ck_assert_msg(code == 431 || code == 413 || code == 0, "oversized header: %d", code);
	n = sprintf(req, "GET /patients?code=");
	memset(req + n, 'b', big);
	sprintf(req + n + big, " HTTP/1.1\r\nHost: x\r\n\r\n");
	code = raw_status(req, strlen(req));
	ck_assert_msg(code == 414 || code == 431 || code == 413 || code == 0, "oversized URL: %d",
		      code);
	free(req);
	/* more query parameters than any route takes */
	char path[1024] = "/patients?";
	for (int i = 0; i < 40; i++)
		sprintf(path + strlen(path), "%sp%d=1", i ? "&" : "", i);
	struct resp *r = http_get(path);
	assert_problem(r, 400, "urn:cohortd:problem:invalid-parameter");
	resp_free(r);
	r = http_get("/healthz");
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
}
END_TEST

static void start_for_hostile_clients(void)
{
	static const char *const args[] = {
		"--max-per-ip", "1000", "--max-connections", "1200", "--timeout", "2", NULL};
	api_start_with(args);
}

int main(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("hostile");
	tcase_add_unchecked_fixture(tc, start_for_hostile_clients, api_stop);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_slow_connections_do_not_starve_a_normal_client);
	tcase_add_test(tc, test_idle_connection_is_closed_after_the_timeout);
	tcase_add_test(tc, test_oversized_header_url_and_query_are_refused_and_serving_goes_on);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

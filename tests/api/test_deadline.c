/* --request-timeout: a request must arrive whole within the deadline,
 * however steadily it trickles in. A body sent a byte at a time and headers
 * sent a byte at a time are cut off at the deadline (here 2 s), long before
 * the inactivity timeout (here 10 s) would; a normal client beside them
 * keeps getting answers, and a slow request that makes it in time is
 * answered. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static void send_all(int fd, const char *s)
{
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* True once the server has closed fd (end of file or reset). */
static bool closed_by_server(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 0) <= 0)
		return false;
	char buf[512];
	ssize_t n = read(fd, buf, sizeof buf);
	ck_assert_msg(n <= 0, "the server answered a request still arriving: %.*s", (int)n, buf);
	return true;
}

/* Sends one byte of `more` every 250 ms until the server closes the
 * connection, checking between bytes that a normal client is still served;
 * returns the seconds from t0 to the close. */
static double trickle_until_closed(int fd, const char *more, double t0)
{
	signal(SIGPIPE, SIG_IGN);
	size_t len = strlen(more);
	for (size_t i = 0; monotonic_seconds() - t0 < 30; i++) {
		if (closed_by_server(fd))
			return monotonic_seconds() - t0;
		if (write(fd, more + i % len, 1) < 0)
			return monotonic_seconds() - t0; /* reset */
		if (i % 4 == 0) {
			struct resp *r = http_get("/healthz");
			ck_assert_int_eq(r->status, 200);
			resp_free(r);
		}
		usleep(250 * 1000);
	}
	ck_abort_msg("the connection was still open after 30 s");
	return 0;
}

/* Under valgrind the server is slow to notice; the bound is looser. */
static double upper_bound(void)
{
	return getenv("COHORTD_VALGRIND") ? 8.0 : 4.0;
}

START_TEST(test_a_body_trickled_past_the_deadline_is_cut_off)
{
	int fd = api_connect();
	double t0 = monotonic_seconds();
	char head[512];
	snprintf(head, sizeof head,
		 "POST /patients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
		 "Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n",
		 api_admin_token());
	send_all(fd, head);
	double took = trickle_until_closed(fd, " ", t0);
	close(fd);
	ck_assert_msg(took >= 1.9 && took < upper_bound(), "cut off after %.2f s (deadline 2 s)",
		      took);
}
END_TEST

START_TEST(test_headers_trickled_past_the_deadline_are_cut_off)
{
	int fd = api_connect();
	double t0 = monotonic_seconds();
	send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
	double took = trickle_until_closed(fd, "X-Slow: a\r\n", t0);
	close(fd);
	ck_assert_msg(took >= 1.9 && took < upper_bound(), "cut off after %.2f s (deadline 2 s)",
		      took);
}
END_TEST

START_TEST(test_a_slow_request_that_arrives_in_time_is_answered)
{
	int fd = api_connect();
	char *body = NULL;
	char head[512];
	int n = asprintf(&body,
			 "{\"code\":\"%s\",\"histology\":\"melanoma\",\"setting\":\"metastatic\","
			 "\"regimen\":\"il2_alone\",\"enrolled_on\":\"1985-01-10\"}",
			 unique_code("SLOW"));
	ck_assert_int_gt(n, 0);
	snprintf(head, sizeof head,
		 "POST /patients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		 api_admin_token(), strlen(body));
	send_all(fd, head);
	/* the body in four pieces over about a second */
	size_t quarter = strlen(body) / 4;
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(write(fd, body + i * quarter, quarter), (ssize_t)quarter);
		usleep(300 * 1000);
	}
	send_all(fd, body + 3 * quarter);
	char buf[1024] = "";
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	ssize_t got = read(fd, buf, sizeof buf - 1);
	close(fd);
	free(body);
	ck_assert_msg(got > 12 && strncmp(buf, "HTTP/1.1 201", 12) == 0, "answer: %s", buf);
}
END_TEST

START_TEST(test_the_deadline_restarts_with_each_request_on_a_connection)
{
	/* three requests on one connection, 1.2 s apart: 2.4 s in all, each in time */
	int fd = api_connect();
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	for (int i = 0; i < 3; i++) {
		if (i)
			usleep(1200 * 1000);
		send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
		char buf[512] = "";
		ssize_t got = read(fd, buf, sizeof buf - 1);
		ck_assert_msg(got > 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0, "answer %d: %s",
			      i + 1, buf);
	}
	close(fd);
}
END_TEST

static void start_with_a_short_deadline(void)
{
	static const char *const args[] = {"--request-timeout", "2", "--timeout", "10", NULL};
	api_start_with(args);
}

int main(void)
{
	Suite *s = suite_create("deadline");
	TCase *tc = tcase_create("deadline");
	tcase_add_unchecked_fixture(tc, start_with_a_short_deadline, api_stop);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_a_body_trickled_past_the_deadline_is_cut_off);
	tcase_add_test(tc, test_headers_trickled_past_the_deadline_are_cut_off);
	tcase_add_test(tc, test_a_slow_request_that_arrives_in_time_is_answered);
	tcase_add_test(tc, test_the_deadline_restarts_with_each_request_on_a_connection);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

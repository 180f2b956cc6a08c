/* Unit tests of the framing checks (framing.h) over raw request heads: each
 * rule refuses its case with its status, and the heads a client or proxy
 * sends every day pass. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"

static const struct {
	const char *head;
	unsigned status;
	const char *says; /* a phrase of the detail */
} cases[] = {
	{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, ""},
	{"GET / HTTP/1.1\nHost: a\n\n", 0, ""},
	{"GET / HTTP/1.0\r\n\r\n", 0, ""},
	{"GET /%41 HTTP/1.1\r\nHost: a\r\nAccept:\r\n\r\n", 0, ""},
	{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", 0, ""},
	{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 0, ""},
	{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 0, ""},
	{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 0, ""},
	{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n", 0, ""},
	{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400,
	 "different values"},
	{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400, "different values"},
	{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400, "number of bytes"},
	{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400, "number of bytes"},
	{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400,
	 "too large"},
	{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	 400, "both"},
	{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "gzip"},
	{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "gzip"},
	{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400, "final"},
	{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
	 "chunked\r\n\r\n",
	 400, "final"},
	{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400, "final"},
	{"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0"},
	{"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "whitespace"},
	{"GET / HTTP/1.1\r\nHost: a\r\nAccept\t: x\r\n\r\n", 400, "whitespace"},
	{"GET / HTTP/1.1\r\nHost: a\r\nAc(cept: x\r\n\r\n", 400, "not allowed"},
	{"GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400, "no name"},
	{"GET / HTTP/1.1\r\nHost: a\r\nAccept: x\r\n y\r\n\r\n", 400, "obs-fold"},
	{"GET / HTTP/1.1\r\nHost: a\r\nAccept: x\r\n\ty\r\n\r\n", 400, "obs-fold"},
	{"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "whitespace"},
	{"GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n", 400, "no colon"},
	{"GET / HTTP/1.1\r\n\r\n", 400, "Host"},
	{"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400, "one Host"},
	{"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: a\r\nauthorization: a\r\n\r\n", 400,
	 "Authorization"},
	{"GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "control character"},
	{"GET /a?b=%0a HTTP/1.1\r\nHost: a\r\n\r\n", 400, "control character"},
	{"GET /a?%7F=1 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "control character"},
	{"GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400, "control character"},
	{"", 400, "empty"},
};

START_TEST(test_each_head_is_refused_or_passed_as_rfc_9112_says)
{
	char detail[FRAMING_DETAIL];
	const char *head = cases[_i].head;
	unsigned status = framing_check_raw(head, strlen(head), detail);
	ck_assert_msg(status == cases[_i].status, "case %d: %u, not %u (%s)", _i, status,
		      cases[_i].status, detail);
	ck_assert_msg(strstr(detail, cases[_i].says), "case %d: \"%s\" does not say \"%s\"", _i,
		      detail, cases[_i].says);
}
END_TEST

/* The first refusal found is the one reported. */
START_TEST(test_first_refusal_is_kept)
{
	struct framing f;
	framing_begin(&f, "HTTP/1.1");
	framing_field(&f, "Transfer-Encoding", 17, "gzip", 4, false);
	framing_field(&f, "Content-Length", 14, "3", 1, false);
	ck_assert_uint_eq(framing_end(&f), 501);
	ck_assert_ptr_nonnull(strstr(f.detail, "gzip"));
}
END_TEST

START_TEST(test_folded_flag_refuses)
{
	struct framing f;
	framing_begin(&f, "HTTP/1.1");
	framing_field(&f, "Host", 4, "a", 1, false);
	framing_field(&f, "Acceptb", 7, "a", 1, true);
	ck_assert_uint_eq(framing_end(&f), 400);
	ck_assert_ptr_nonnull(strstr(f.detail, "obs-fold"));
}
END_TEST

Suite *suite(void)
{
	Suite *s = suite_create("framing");
	TCase *tc = tcase_create("framing");
	tcase_add_loop_test(tc, test_each_head_is_refused_or_passed_as_rfc_9112_says, 0,
			    (int)(sizeof cases / sizeof cases[0]));
	tcase_add_test(tc, test_first_refusal_is_kept);
	tcase_add_test(tc, test_folded_flag_refuses);
	suite_add_tcase(s, tc);
	return s;
}

/* gzip: answers over 1 KiB in a compressible type are compressed when the
 * client accepts gzip, with Vary: Accept-Encoding, the same bytes once
 * inflated, and an ETag whose "-gz" form still names the same version. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "harness.h"

static const char *const gzip[] = {"Accept-Encoding: gzip", NULL};

static char *inflate_gzip(const char *data, size_t len, size_t *out_len)
{
	z_stream z = {0};
	ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
	size_t cap = len * 20 + 1024;
	char *out = malloc(cap);
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	ck_assert_int_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
	*out_len = z.total_out;
	inflateEnd(&z);
	return out;
}

static bool has_vary_encoding(const struct resp *r)
{
	return resp_varies_on(r, "Accept-Encoding");
}

START_TEST(test_large_answer_is_gzipped_and_inflates_to_the_same_bytes)
{
	for (int i = 0; i < 12; i++)
		make_patient(NULL);
	struct resp *plain = http_get("/patients?limit=12");
	struct resp *packed = http("GET", "/patients?limit=12", gzip, NULL, 0);
	ck_assert_int_eq(packed->status, 200);
	ck_assert_uint_gt(plain->len, 1024);
	ck_assert_str_eq(resp_header(packed, "Content-Encoding"), "gzip");
	ck_assert(has_vary_encoding(packed));
	ck_assert(has_vary_encoding(plain));
	ck_assert_ptr_null(resp_header(plain, "Content-Encoding"));
	ck_assert_uint_lt(packed->len, plain->len);
	size_t n;
	char *inflated = inflate_gzip(packed->body, packed->len, &n);
	ck_assert_uint_eq(n, plain->len);
	ck_assert(memcmp(inflated, plain->body, n) == 0);
	free(inflated);
	resp_free(plain);
	resp_free(packed);
}
END_TEST

START_TEST(test_small_answer_or_refused_gzip_is_not_compressed)
{
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	struct resp *r = http("GET", path, gzip, NULL, 0);
	ck_assert_uint_lt(r->len, 1024);
	ck_assert_ptr_null(resp_header(r, "Content-Encoding"));
	ck_assert_str_eq(resp_header(r, "ETag"), "\"1\"");
	ck_assert(has_vary_encoding(r));
	resp_free(r);
	static const char *const refused[] = {"Accept-Encoding: gzip;q=0, identity", NULL};
	r = http("GET", "/openapi.yaml", refused, NULL, 0);
	ck_assert_ptr_null(resp_header(r, "Content-Encoding"));
	resp_free(r);
	static const char *const star[] = {"Accept-Encoding: br, *", NULL};
	r = http("GET", "/openapi.yaml", star, NULL, 0);
	ck_assert_str_eq(resp_header(r, "Content-Encoding"), "gzip");
	resp_free(r);
}
END_TEST

START_TEST(test_gzip_etag_revalidates_in_both_forms)
{
	for (int i = 0; i < 5; i++)
		make_patient(NULL);
	struct resp *r = http("GET", "/stats/summary?group_by=histology", gzip, NULL, 0);
	ck_assert_str_eq(resp_header(r, "Content-Encoding"), "gzip");
	char tag[128];
	snprintf(tag, sizeof tag, "%s", resp_header(r, "ETag"));
	ck_assert_ptr_nonnull(strstr(tag, "-gz\""));
	resp_free(r);
	char inm[200];
	snprintf(inm, sizeof inm, "If-None-Match: %s", tag);
	const char *headers[] = {"Accept-Encoding: gzip", inm, NULL};
	r = http("GET", "/stats/summary?group_by=histology", headers, NULL, 0);
	ck_assert_int_eq(r->status, 304);
	ck_assert_str_eq(resp_header(r, "ETag"), tag);
	ck_assert_uint_eq(r->len, 0);
	resp_free(r);
	/* the identity form names the same answer */
	r = http_get("/stats/summary?group_by=histology");
	snprintf(inm, sizeof inm, "If-None-Match: %s", resp_header(r, "ETag"));
	resp_free(r);
	const char *identity[] = {"Accept-Encoding: gzip", inm, NULL};
	r = http("GET", "/stats/summary?group_by=histology", identity, NULL, 0);
	ck_assert_int_eq(r->status, 304);
	resp_free(r);
}
END_TEST

START_TEST(test_if_match_accepts_the_gzip_form_of_the_current_version)
{
	int64_t id = make_patient(NULL);
	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)id);
	static const char *const stale[] = {"Content-Type: application/merge-patch+json",
					    "If-Match: \"7-gz\"", NULL};
	assert_refused("PATCH", path, stale, "{\"age\":50}", 412,
		       "urn:cohortd:problem:precondition-failed", NULL);
	static const char *const current[] = {"Content-Type: application/merge-patch+json",
					      "If-Match: \"1-gz\"", NULL};
	struct resp *r = http("PATCH", path, current, "{\"age\":50}", 10);
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	ck_assert_str_eq(resp_header(r, "ETag"), "\"2\"");
	resp_free(r);
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("compression", &tc);
	tcase_add_test(tc, test_large_answer_is_gzipped_and_inflates_to_the_same_bytes);
	tcase_add_test(tc, test_small_answer_or_refused_gzip_is_not_compressed);
	tcase_add_test(tc, test_gzip_etag_revalidates_in_both_forms);
	tcase_add_test(tc, test_if_match_accepts_the_gzip_form_of_the_current_version);
	return run_suite(s);
}

/* Placeholder: being written. */
#include "harness.h"

START_TEST(test_server_answers)
{
	struct resp *r = http_get("/healthz");
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("test_ops", &tc);
	tcase_add_test(tc, test_server_answers);
	return run_suite(s);
}

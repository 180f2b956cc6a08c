#include <check.h>
#include <stdlib.h>
START_TEST(placeholder) { ck_assert(1); }
END_TEST
int main(void)
{
	Suite *s = suite_create("test_router");
	TCase *tc = tcase_create("test_router");
	tcase_add_test(tc, placeholder);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int f = srunner_ntests_failed(sr);
	srunner_free(sr);
	return f ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* The one main() of the unit tests: each test file defines suite(), and
 * this runs it (Check's fork mode unless CK_FORK=no, as the valgrind lane
 * sets), exiting 0 only when no test failed. */
#include <check.h>
#include <stdlib.h>

Suite *suite(void);

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

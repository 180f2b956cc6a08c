/* The numbers are the engine's to keep, never to change: the demo cohort
 * loaded into a SQLite file and into PostgreSQL gives the same answer,
 * byte for byte, to every statistic with every parameter (their data
 * version, as_of, aside: it counts audit rows, and the ETag with it), as
 * JSON and as CSV. Runs in the postgresql lane, which has both engines; on
 * SQLite alone there is nothing to compare with, and it says so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char *const QUERIES[] = {
	"/stats/summary",
	"/stats/summary?group_by=regimen",
	"/stats/summary?group_by=histology&setting=metastatic",
	"/stats/response",
	"/stats/response?ci=wilson&level=0.9",
	"/stats/response?population=evaluable&group_by=regimen",
	"/stats/response?confirmed_only=true&group_by=histology",
	"/stats/response?regimen=il2_lak&histology=melanoma",
	"/stats/mortality",
	"/stats/mortality?group_by=regimen&ci=wilson",
	"/stats/mortality?setting=metastatic&level=0.99",
	"/stats/toxicity",
	"/stats/toxicity?unit=course&min_grade=4",
	"/stats/toxicity?group_by=regimen&min_grade=1",
	"/stats/toxicity?histology=renal_cell&ci=wilson",
	"/stats/survival",
	"/stats/survival?group_by=histology&level=0.9",
	"/stats/survival?regimen=il2_alone",
	"/stats/survival?endpoint=progression_free&group_by=regimen&at=180,365,730&tau=730",
	"/stats/survival?endpoint=response_duration&group_by=histology&reference=renal_cell",
	"/stats/survival?endpoint=response_duration&confirmed_only=true&at=365&tau=365",
	"/stats/survival?group_by=setting&tau=1000&level=0.9",
	"/stats/durable-response",
	"/stats/durable-response?min_months=24&confirmed_only=true",
	"/stats/durable-response?group_by=regimen",
	"/stats/durable-response?limit=3",
	NULL,
};

/* Every answer, JSON with as_of removed and CSV as it is, in order. */
static char *answers(void)
{
	size_t cap = 1, len = 0;
	char *out = calloc(1, 1);
	static const char *const csv[] = {"Accept: text/csv", NULL};
	for (size_t i = 0; QUERIES[i]; i++) {
		struct resp *r = http_get(QUERIES[i]);
		ck_assert_msg(r->status == 200, "%s: %ld %s", QUERIES[i], r->status, r->body);
		ck_assert_ptr_nonnull(r->json);
		json_object_del(r->json, "as_of");
		char *json = json_dumps(r->json, JSON_COMPACT | JSON_PRESERVE_ORDER);
		resp_free(r);
		r = http("GET", QUERIES[i], csv, NULL, 0);
		ck_assert_msg(r->status == 200, "%s as CSV: %ld", QUERIES[i], r->status);
		cap += 2 * strlen(QUERIES[i]) + strlen(json) + r->len + 16;
		out = realloc(out, cap);
		len += (size_t)sprintf(out + len, "%s\n%s\n%s csv\n%.*s\n", QUERIES[i], json,
				       QUERIES[i], (int)r->len, r->body);
		free(json);
		resp_free(r);
	}
	return out;
}

/* The first line where a and b differ, for the failure message. */
static void first_difference(const char *a, const char *b, char *out, size_t n)
{
	size_t line = 1, at = 0;
	while (a[at] && a[at] == b[at]) {
		if (a[at] == '\n')
			line++;
		at++;
	}
	size_t from = at;
	while (from > 0 && a[from - 1] != '\n')
		from--;
	snprintf(out, n, "line %zu:\n  PostgreSQL: %.300s\n  SQLite:     %.300s", line, a + from,
		 b + from);
}

START_TEST(test_every_statistic_is_the_same_on_both_engines)
{
	if (!api_on_postgresql()) {
		fprintf(stderr,
			"skipped on SQLite alone: %s: the postgresql lane compares the two\n",
			__func__);
		return;
	}
	api_start_demo();
	char *on_postgresql = answers();
	api_stop();

	/* the same cohort in a file of its own: SQLite */
	char dir[] = "/tmp/cohortd-engines-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	api_use_db_dir(dir);
	api_start_demo();
	api_use_db_dir(NULL);
	ck_assert_ptr_null(strstr(api_db_path(), "postgresql:"));
	char *on_sqlite = answers();
	api_stop();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);

	char where[800];
	first_difference(on_postgresql, on_sqlite, where, sizeof where);
	ck_assert_msg(strcmp(on_postgresql, on_sqlite) == 0, "the engines differ at %s", where);
	/* and the answers are not empty ones */
	ck_assert_ptr_nonnull(strstr(on_sqlite, "\"patients\":652"));
	free(on_postgresql);
	free(on_sqlite);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("engines");
	TCase *tc = tcase_create("engines");
	tcase_set_timeout(tc, 180);
	suite_add_tcase(s, tc);
	tcase_add_test(tc, test_every_statistic_is_the_same_on_both_engines);
	return run_suite(s);
}

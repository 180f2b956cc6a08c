/* The demo cohort, as a new user meets it: every figure CONTRACT.md quotes
 * from Rosenberg et al. (Ann Surg 1989) read back through the stats routes, the
 * realism the issue asks for read from the records, and the loader's own
 * promises (deterministic, only into an empty database). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

static json_t *overall(const char *path)
{
	struct resp *r = http_get(path);
	ck_assert_msg(r->status == 200, "%s -> %ld %s", path, r->status, r->body);
	json_t *o = json_incref(json_object_get(r->json, "overall"));
	resp_free(r);
	return o;
}

static json_int_t int_at(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);
	if (b)
		v = json_object_get(v, b);
	ck_assert_msg(json_is_integer(v), "%s.%s is not an integer", a, b ? b : "");
	return json_integer_value(v);
}

static double real_at(json_t *o, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(json_object_get(o, a), b);
	if (c)
		v = json_object_get(v, c);
	ck_assert_msg(json_is_number(v), "%s.%s.%s is not a number", a, b, c ? c : "");
	return json_number_value(v);
}

/* The integer sql gives, on either engine (SQL both read alike). */
static int64_t scalar(const char *sql)
{
	char row[64];
	db_query_row(sql, row, sizeof row);
	ck_assert_msg(row[0] != '\0', "no row: %s", sql);
	return strtoll(row, NULL, 10);
}

START_TEST(test_652_patients_1039_courses_596_metastatic_56_adjuvant)
{
	json_t *o = overall("/stats/summary");
	ck_assert_int_eq(int_at(o, "patients", NULL), 652);
	ck_assert_int_eq(int_at(o, "treated", NULL), 652);
	ck_assert_int_eq(int_at(o, "courses", NULL), 1039);
	ck_assert_int_eq(int_at(o, "by_setting", "metastatic"), 596);
	ck_assert_int_eq(int_at(o, "by_setting", "adjuvant"), 56);
	json_decref(o);
}
END_TEST

START_TEST(test_regimen_counts_of_the_paper)
{
	json_t *o = overall("/stats/summary");
	ck_assert_int_eq(int_at(o, "by_regimen", "il2_alone"), 155);
	ck_assert_int_eq(int_at(o, "by_regimen", "il2_lak"), 214);
	ck_assert_int_eq(int_at(o, "by_regimen", "il2_til"), 66);
	ck_assert_int_eq(int_at(o, "by_regimen", "il2_ifn_alpha"), 128);
	ck_assert_int_eq(int_at(o, "by_regimen", "il2_tnf"), 38);
	ck_assert_int_eq(int_at(o, "by_regimen", "il2_antibody"), 32);
	ck_assert_int_eq(int_at(o, "by_regimen", "il2_cyclophosphamide"), 19);
	json_decref(o);
}
END_TEST

START_TEST(test_18_complete_responses_10_durable_at_18_to_52_months)
{
	json_t *o = overall("/stats/response");
	ck_assert_int_eq(int_at(o, "complete_response", "count"), 18);
	ck_assert_int_eq(int_at(o, "complete_response", "total"), 596);
	ck_assert_int_eq(int_at(o, "best_response", "CR"), 18);
	json_decref(o);

	o = overall("/stats/durable-response");
	ck_assert_int_eq(int_at(o, "complete_responders", NULL), 18);
	ck_assert_int_eq(int_at(o, "durable", NULL), 10);
	ck_assert_int_eq(int_at(o, "recurred", NULL), 8);
	size_t i;
	json_t *p;
	int durable = 0;
	json_array_foreach(json_object_get(o, "patients"), i, p)
	{
		if (!json_is_true(json_object_get(p, "durable")))
			continue;
		double months = json_real_value(json_object_get(p, "months_followed"));
		ck_assert_msg(months >= 18 && months <= 52, "durable CR followed %.1f months",
			      months);
		durable++;
	}
	ck_assert_int_eq(durable, 10);
	json_decref(o);
}
END_TEST

START_TEST(test_objective_response_20_to_35_percent_in_renal_and_melanoma_under_il2_or_lak)
{
	static const char *const cells[] = {
		"histology=renal_cell&regimen=il2_alone", "histology=renal_cell&regimen=il2_lak",
		"histology=melanoma&regimen=il2_alone", "histology=melanoma&regimen=il2_lak"};
	for (size_t i = 0; i < 4; i++) {
		char path[128];
		snprintf(path, sizeof path, "/stats/response?%s", cells[i]);
		json_t *o = overall(path);
		double rate = real_at(o, "objective_response", "rate", NULL);
		ck_assert_msg(rate >= 0.20 && rate <= 0.35, "%s: objective response %.3f", cells[i],
			      rate);
		json_decref(o);
	}
}
END_TEST

START_TEST(test_treatment_related_deaths_one_percent_of_courses_one_and_a_half_of_patients)
{
	json_t *o = overall("/stats/mortality");
	ck_assert_int_eq(int_at(o, "per_course", "count"), 10);
	ck_assert_int_eq(int_at(o, "per_course", "total"), 1039);
	ck_assert(fabs(real_at(o, "per_course", "rate", NULL) - 10.0 / 1039) < 1e-12);
	ck_assert(fabs(real_at(o, "per_course", "ci", "lower") - 0.004624763499) < 1e-9);
	ck_assert(fabs(real_at(o, "per_course", "ci", "upper") - 0.017628620041) < 1e-9);
	ck_assert_int_eq(int_at(o, "per_patient", "count"), 10);
	ck_assert_int_eq(int_at(o, "per_patient", "total"), 652);
	ck_assert(fabs(real_at(o, "per_patient", "rate", NULL) - 10.0 / 652) < 1e-12);
	ck_assert(fabs(real_at(o, "per_patient", "ci", "lower") - 0.007378752688) < 1e-9);
	ck_assert(fabs(real_at(o, "per_patient", "ci", "upper") - 0.028024716354) < 1e-9);
	json_t *first = json_array_get(json_object_get(o, "causes"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(first, "term")), "Sepsis");
	ck_assert_int_gt(json_integer_value(json_object_get(first, "count")), 2);
	json_decref(o);
	/* the grade-5 death from progression is not treatment-related */
	ck_assert_int_eq(scalar("SELECT count(*) FROM toxicities WHERE grade = 5"), 11);
}
END_TEST

/* Share of courses with the term at any grade. */
static double any_grade_rate(json_t *o, const char *term)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(o, "terms"), i, t)
	{
		if (strcmp(json_string_value(json_object_get(t, "term")), term) != 0)
			continue;
		int64_t n = 0;
		for (size_t g = 0; g < 5; g++)
			n += json_integer_value(json_array_get(json_object_get(t, "by_grade"), g));
		return (double)n / (double)json_integer_value(json_object_get(o, "units"));
	}
	ck_abort_msg("no term %s", term);
	return 0;
}

START_TEST(test_toxicity_profile_of_the_era)
{
	json_t *o = overall("/stats/toxicity?unit=course");
	ck_assert_int_eq(int_at(o, "units", NULL), 1039);
	json_t *first = json_array_get(json_object_get(o, "terms"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(first, "term")), "Hypotension");
	/* grade 3 hypotension means pressors: in most courses */
	ck_assert(real_at(first, "at_or_above", "rate", NULL) > 0.5);
	static const char *const common[] = {"Capillary leak syndrome",
					     "Oliguria",
					     "Creatinine increased",
					     "Blood bilirubin increased",
					     "Chills",
					     "Nausea",
					     "Diarrhea"};
	for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
		ck_assert_msg(any_grade_rate(o, common[i]) > 0.4, "%s is not common", common[i]);
	ck_assert(any_grade_rate(o, "Confusion") > 0.2);
	json_decref(o);
}
END_TEST

START_TEST(test_realistic_dates_assessments_deaths_and_losses)
{
	ck_assert_int_eq(
		scalar("SELECT CASE WHEN min(enrolled_on) >= '1984-01-01' THEN 1 ELSE 0 END "
		       "FROM patients"),
		1);
	ck_assert_int_eq(scalar("SELECT CASE WHEN coalesce(max(last_contact_on), '') <= "
				"'1988-12-31' AND coalesce(max(died_on), '') <= '1988-12-31' "
				"THEN 1 ELSE 0 END FROM patients"),
			 1);
	ck_assert_int_eq(
		scalar("SELECT CASE WHEN max(assessed_on) <= '1988-12-31' THEN 1 ELSE 0 END "
		       "FROM outcomes"),
		1);
	ck_assert_int_eq(scalar("SELECT count(DISTINCT substr(started_on, 1, 4)) FROM courses"), 5);
	/* several assessments per patient who has any */
	ck_assert_int_ge(scalar("SELECT count(*) * 10 / count(DISTINCT patient_id) FROM outcomes"),
			 20);
	ck_assert_int_gt(
		scalar("SELECT count(*) FROM patients WHERE death_cause = 'Progressive disease'"),
		100);
	ck_assert_int_gt(scalar("SELECT count(*) FROM patients WHERE vital_status = 'unknown'"), 5);
	ck_assert_int_gt(
		scalar("SELECT count(*) FROM outcomes WHERE response = 'PR' AND confirmed = 0"), 0);
	json_t *o = overall("/stats/survival");
	ck_assert_int_eq(int_at(o, "n", NULL), 652);
	ck_assert(json_is_integer(json_object_get(json_object_get(o, "median"), "time_days")));
	json_decref(o);
}
END_TEST

/* Everything but the server-set timestamps, as text. */
static char *content_of(const char *path)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd,
		 "sqlite3 '%s' \"SELECT * FROM patients ORDER BY id\" \"SELECT * FROM courses "
		 "ORDER BY id\" "
		 "\"SELECT * FROM outcomes ORDER BY id\" \"SELECT * FROM toxicities ORDER BY id\" "
		 "| sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z//g' | md5sum",
		 path);
	FILE *p = popen(cmd, "r");
	char *out = calloc(1, 64);
	ck_assert(fgets(out, 64, p) != NULL);
	pclose(p);
	return out;
}

static int run(const char *cmd)
{
	int status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_demo_is_deterministic_and_only_fills_an_empty_database)
{
	char dir[] = "/tmp/cohortd-demo-XXXXXX", cmd[1024], a[256], b[256];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(a, sizeof a, "%s/a.db", dir);
	snprintf(b, sizeof b, "%s/b.db", dir);
	snprintf(cmd, sizeof cmd, "'%s' demo --db '%s' >/dev/null", getenv("COHORTD_BIN"), a);
	ck_assert_int_eq(run(cmd), 0);
	snprintf(cmd, sizeof cmd, "'%s' demo --db '%s' >/dev/null", getenv("COHORTD_BIN"), b);
	ck_assert_int_eq(run(cmd), 0);
	char *ca = content_of(a), *cb = content_of(b);
	ck_assert_str_eq(ca, cb);
	/* a second load into a database that has patients is refused and adds nothing */
	snprintf(cmd, sizeof cmd, "'%s' demo --db '%s' 2>/dev/null >/dev/null",
		 getenv("COHORTD_BIN"), a);
	ck_assert_int_eq(run(cmd), 1);
	char *again = content_of(a);
	ck_assert_str_eq(ca, again);
	free(ca);
	free(cb);
	free(again);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(run(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("demo");
	TCase *tc = tcase_create("demo");
	tcase_add_unchecked_fixture(tc, api_start_demo, api_stop);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_652_patients_1039_courses_596_metastatic_56_adjuvant);
	tcase_add_test(tc, test_regimen_counts_of_the_paper);
	tcase_add_test(tc, test_18_complete_responses_10_durable_at_18_to_52_months);
	tcase_add_test(
		tc,
		test_objective_response_20_to_35_percent_in_renal_and_melanoma_under_il2_or_lak);
	tcase_add_test(
		tc,
		test_treatment_related_deaths_one_percent_of_courses_one_and_a_half_of_patients);
	tcase_add_test(tc, test_toxicity_profile_of_the_era);
	tcase_add_test(tc, test_realistic_dates_assessments_deaths_and_losses);
	tcase_add_test(tc, test_demo_is_deterministic_and_only_fills_an_empty_database);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

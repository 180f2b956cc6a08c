/* Unit tests of the estimators against reference values: SciPy for the
 * proportion intervals (to 1e-9), R's survfit(conf.type = "log-log") for
 * Kaplan-Meier on the Gehan 6-MP arm, and the edges (n = 0, k = 0, k = n,
 * ties, all censored, another level). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "estimators.h"

#define EPS 1e-9

static void expect_ci(int64_t k, int64_t n, enum ci_method m, double level, double lo, double hi)
{
	struct proportion p = proportion_ci(k, n, m, level);
	ck_assert(p.defined);
	ck_assert_msg(fabs(p.lower - lo) < EPS, "%lld/%lld lower %.12f want %.12f", (long long)k,
		      (long long)n, p.lower, lo);
	ck_assert_msg(fabs(p.upper - hi) < EPS, "%lld/%lld upper %.12f want %.12f", (long long)k,
		      (long long)n, p.upper, hi);
	ck_assert(fabs(p.rate - (double)k / (double)n) < 1e-15);
}

START_TEST(test_exact_intervals_match_scipy)
{
	expect_ci(10, 1039, CI_EXACT, 0.95, 0.004624763499, 0.017628620041);
	expect_ci(10, 652, CI_EXACT, 0.95, 0.007378752688, 0.028024716354);
	expect_ci(10, 652, CI_EXACT, 0.90, 0.008344120993, 0.025876783764);
	expect_ci(18, 596, CI_EXACT, 0.95, 0.017995416144, 0.047312247721);
	expect_ci(10, 18, CI_EXACT, 0.95, 0.307571658999, 0.784698492613);
}
END_TEST

START_TEST(test_exact_edges_k_zero_and_k_n)
{
	expect_ci(0, 56, CI_EXACT, 0.95, 0, 0.063750096662);
	expect_ci(56, 56, CI_EXACT, 0.95, 0.936249903338, 1);
	struct proportion p = proportion_ci(0, 56, CI_EXACT, 0.95);
	ck_assert(p.lower == 0.0 && p.rate == 0.0);
	p = proportion_ci(56, 56, CI_EXACT, 0.95);
	ck_assert(p.upper == 1.0 && p.rate == 1.0);
}
END_TEST

/* GSL's beta inverse does not converge for some counts (2 of 260 at 95%
 * among them); every interval must still satisfy its definition. */
START_TEST(test_exact_interval_defined_for_every_count_up_to_300)
{
	static const double levels[] = {0.95, 0.90};
	for (int l = 0; l < 2; l++) {
		double a2 = (1 - levels[l]) / 2;
		for (int64_t n = 1; n <= 300; n++) {
			for (int64_t k = 0; k <= n; k++) {
				struct proportion p = proportion_ci(k, n, CI_EXACT, levels[l]);
				ck_assert_msg(isfinite(p.lower) && isfinite(p.upper) &&
						      p.lower <= p.rate && p.rate <= p.upper,
					      "%lld/%lld at %g", (long long)k, (long long)n,
					      levels[l]);
				if (k > 0)
					ck_assert_msg(fabs(gsl_cdf_beta_P(p.lower, (double)k,
									  (double)(n - k + 1)) -
							   a2) < 1e-9,
						      "lower %lld/%lld", (long long)k,
						      (long long)n);
				if (k < n)
					ck_assert_msg(fabs(gsl_cdf_beta_Q(p.upper, (double)(k + 1),
									  (double)(n - k)) -
							   a2) < 1e-9,
						      "upper %lld/%lld", (long long)k,
						      (long long)n);
			}
		}
	}
}
END_TEST

START_TEST(test_wilson_intervals_match_scipy)
{
	expect_ci(10, 1039, CI_WILSON, 0.95, 0.005236211816, 0.017625804859);
	expect_ci(1, 1, CI_WILSON, 0.95, 0.206549314377, 1);
	struct proportion p = proportion_ci(0, 10, CI_WILSON, 0.95);
	ck_assert(p.lower == 0.0);
}
END_TEST

START_TEST(test_empty_denominator_is_undefined)
{
	struct proportion p = proportion_ci(0, 0, CI_EXACT, 0.95);
	ck_assert(!p.defined);
	ck_assert_int_eq(p.count, 0);
	ck_assert_int_eq(p.total, 0);
	p = proportion_ci(0, 0, CI_WILSON, 0.95);
	ck_assert(!p.defined);
}
END_TEST

/* Gehan (1965) 6-MP arm: times with event 6 6 6 7 10 13 16 22 23;
 * censored 6 9 10 11 17 19 20 25 32 32 34 35. */
static struct km_subject gehan[] = {
	{6, true},   {6, true},   {6, true},   {7, true},   {10, true},  {13, true},  {16, true},
	{22, true},  {23, true},  {6, false},  {9, false},  {10, false}, {11, false}, {17, false},
	{19, false}, {20, false}, {25, false}, {32, false}, {32, false}, {34, false}, {35, false},
};

static const struct km_point *point_at(const struct km_fit *fit, double t)
{
	for (size_t i = 0; i < fit->npoints; i++)
		if (fit->points[i].time == t)
			return &fit->points[i];
	ck_abort_msg("no point at %g", t);
	return NULL;
}

START_TEST(test_km_matches_r_on_gehan)
{
	struct km_fit fit;
	ck_assert_int_eq(km_estimate(gehan, 21, 0.95, &fit), 0);
	ck_assert_int_eq(fit.n, 21);
	ck_assert_int_eq(fit.events, 9);
	/* distinct times: 6 7 9 10 11 13 16 17 19 20 22 23 25 32 34 35 */
	ck_assert_uint_eq(fit.npoints, 16);
	const struct km_point *p = point_at(&fit, 6);
	ck_assert_int_eq(p->n_risk, 21);
	ck_assert_int_eq(p->n_event, 3);
	ck_assert_int_eq(p->n_censor, 1);
	ck_assert(fabs(p->survival - 0.857143) < 5e-7);
	ck_assert(fabs(p->lower - 0.619718) < 5e-7);
	ck_assert(fabs(p->upper - 0.951552) < 5e-7);
	p = point_at(&fit, 10);
	ck_assert_int_eq(p->n_risk, 15);
	ck_assert(fabs(p->survival - 0.752941) < 5e-7);
	ck_assert(fabs(p->lower - 0.503200) < 5e-7);
	ck_assert(fabs(p->upper - 0.889362) < 5e-7);
	p = point_at(&fit, 23);
	ck_assert(fabs(p->survival - 0.448179) < 5e-7);
	ck_assert(fabs(p->lower - 0.188052) < 5e-7);
	ck_assert(fabs(p->upper - 0.680143) < 5e-7);
	p = point_at(&fit, 9); /* censoring only: survival carries over */
	ck_assert_int_eq(p->n_event, 0);
	ck_assert_int_eq(p->n_censor, 1);
	ck_assert(fabs(p->survival - 96.0 / 119.0) < 1e-12); /* 6/7 * 16/17 */
	ck_assert(fit.median.reached && fit.median.time == 23);
	ck_assert(fit.median.lower_reached && fit.median.lower == 13);
	ck_assert(!fit.median.upper_reached);
	km_fit_free(&fit);
}
END_TEST

START_TEST(test_km_with_every_subject_censored_stays_at_one_without_a_median)
{
	struct km_subject s[] = {{5, false}, {3, false}, {9, false}};
	struct km_fit fit;
	ck_assert_int_eq(km_estimate(s, 3, 0.95, &fit), 0);
	ck_assert_int_eq(fit.events, 0);
	ck_assert_uint_eq(fit.npoints, 3);
	ck_assert(fit.points[0].time == 3);
	for (size_t i = 0; i < fit.npoints; i++) {
		ck_assert(fit.points[i].survival == 1);
		ck_assert(!fit.points[i].ci_defined); /* R prints NA where S is 1 */
	}
	ck_assert(!fit.median.reached && !fit.median.lower_reached && !fit.median.upper_reached);
	km_fit_free(&fit);
}
END_TEST

START_TEST(test_km_of_no_subjects_has_no_curve_and_no_median)
{
	struct km_fit fit;
	ck_assert_int_eq(km_estimate(NULL, 0, 0.95, &fit), 0);
	ck_assert_int_eq(fit.n, 0);
	ck_assert_uint_eq(fit.npoints, 0);
	ck_assert(!fit.median.reached);
	km_fit_free(&fit);
}
END_TEST

START_TEST(test_km_median_at_exact_half_takes_midpoint)
{
	/* 4 subjects, events at 1, 2, 3, 4: S = .75 .5 .25 0; R gives median 2.5 */
	struct km_subject s[] = {{1, true}, {2, true}, {3, true}, {4, true}};
	struct km_fit fit;
	ck_assert_int_eq(km_estimate(s, 4, 0.95, &fit), 0);
	ck_assert(fit.median.reached);
	ck_assert(fabs(fit.median.time - 2.5) < 1e-12);
	ck_assert(fit.points[3].survival == 0);
	ck_assert(!fit.points[3].ci_defined);
	km_fit_free(&fit);
}
END_TEST

START_TEST(test_km_ties_between_events_and_censoring)
{
	/* at t=2 one event and one censored: censored ones are at risk at t */
	struct km_subject s[] = {{2, true}, {2, false}, {4, true}};
	struct km_fit fit;
	ck_assert_int_eq(km_estimate(s, 3, 0.95, &fit), 0);
	ck_assert_uint_eq(fit.npoints, 2);
	ck_assert_int_eq(fit.points[0].n_risk, 3);
	ck_assert(fabs(fit.points[0].survival - 2.0 / 3.0) < 1e-12);
	ck_assert_int_eq(fit.points[1].n_risk, 1);
	ck_assert(fit.points[1].survival == 0);
	km_fit_free(&fit);
}
END_TEST

START_TEST(test_km_level_changes_interval_only)
{
	struct km_subject copy[21];
	memcpy(copy, gehan, sizeof copy);
	struct km_fit a, b;
	ck_assert_int_eq(km_estimate(copy, 21, 0.95, &a), 0);
	memcpy(copy, gehan, sizeof copy);
	ck_assert_int_eq(km_estimate(copy, 21, 0.90, &b), 0);
	ck_assert(a.points[0].survival == b.points[0].survival);
	ck_assert(b.points[0].lower > a.points[0].lower);
	ck_assert(b.points[0].upper < a.points[0].upper);
	km_fit_free(&a);
	km_fit_free(&b);
	ck_assert_int_eq(km_estimate(copy, 21, 1.5, &b), -1);
	km_fit_free(&b);
}
END_TEST

Suite *suite(void)
{
	Suite *s = suite_create("estimators");
	TCase *tc = tcase_create("estimators");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_exact_intervals_match_scipy);
	tcase_add_test(tc, test_exact_edges_k_zero_and_k_n);
	tcase_add_test(tc, test_exact_interval_defined_for_every_count_up_to_300);
	tcase_add_test(tc, test_wilson_intervals_match_scipy);
	tcase_add_test(tc, test_empty_denominator_is_undefined);
	tcase_add_test(tc, test_km_matches_r_on_gehan);
	tcase_add_test(tc, test_km_with_every_subject_censored_stays_at_one_without_a_median);
	tcase_add_test(tc, test_km_of_no_subjects_has_no_curve_and_no_median);
	tcase_add_test(tc, test_km_median_at_exact_half_takes_midpoint);
	tcase_add_test(tc, test_km_ties_between_events_and_censoring);
	tcase_add_test(tc, test_km_level_changes_interval_only);
	suite_add_tcase(s, tc);
	return s;
}

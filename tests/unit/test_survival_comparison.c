/* Unit tests of the survival summaries and comparisons against R's
 * numbers (survival 3.4, printed with sprintf("%.17g")), held here as
 * constants for small fixed data sets: ties of events and censorings at one
 * time, a group of one, a group with no events, no events at all. The R
 * lane (tools/r-check) checks the same against R live on whole cohorts.
 *
 * Set 1, three groups (R: t, e, g):
 *   t <- c(1,2,2,2,3,4,4,5,6,6,7,8,3,5,5,9,2)
 *   e <- c(1,1,1,0,0,1,0,1,0,1,1,0,1,1,0,1,1)
 *   g <- c("a","a","b","b","a","b","a","b","a","b","a","b","b","a","b","b","c") */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "estimators.h"
#include "group_comparison.h"

#define REL 1e-9

static void near(double got, double want, const char *what)
{
	ck_assert_msg(fabs(got - want) <= REL * fmax(fabs(want), 1e-300) || got == want,
		      "%s: %.17g, R %.17g", what, got, want);
}

/* Groups 1 and 2 of hr against R's hr, lower, upper and p, group 0 the
 * reference. */
static void cox_near(const struct hazard_ratio *hr, const double want[2][4])
{
	for (int g = 1; g <= 2; g++) {
		ck_assert(hr[g].defined);
		near(hr[g].hr, want[g - 1][0], "hr");
		near(hr[g].lower, want[g - 1][1], "lower");
		near(hr[g].upper, want[g - 1][2], "upper");
		near(hr[g].p, want[g - 1][3], "p");
	}
}

static const double set1_t[] = {1, 2, 2, 2, 3, 4, 4, 5, 6, 6, 7, 8, 3, 5, 5, 9, 2};
static const int set1_e[] = {1, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1};
static const char set1_g[] = "aabbababababbabbc";

/* The subjects of one group of set 1 ('*' for all), counted by time. */
static size_t set1_counts(char group, struct km_group *out)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof set1_t / sizeof *set1_t; i++) {
		if (group != '*' && set1_g[i] != group)
			continue;
		out[n++] = (struct km_group){set1_t[i], set1_e[i], !set1_e[i]};
	}
	return n;
}

static void set1_fit(struct km_fit *fit)
{
	struct km_group g[32];
	size_t n = set1_counts('*', g);
	ck_assert_int_eq(km_estimate_groups(g, n, 0.95, fit), 0);
}

START_TEST(test_landmarks_match_r_summary_with_extend)
{
	/* summary(fit, times = c(0, 2, 4.5, 9, 10), extend = TRUE) */
	struct km_fit fit;
	set1_fit(&fit);
	const double times[] = {0, 2, 4.5, 9, 10};
	const int64_t n_risk[] = {17, 16, 8, 1, 0};
	const double surv[] = {1, 0.76470588235294112, 0.63088235294117645, 0, 0};
	const double lower[] = {1, 0.48827811295432966, 0.35282450420675315};
	const double upper[] = {1, 0.90448589480919861, 0.81572747474446627};
	for (int i = 0; i < 5; i++) {
		struct km_landmark at = km_at(&fit, times[i]);
		ck_assert_int_eq(at.n_risk, n_risk[i]);
		near(at.survival, surv[i], "survival");
		ck_assert(at.ci_defined == (i < 3)); /* NA where S is 0 */
		if (i < 3) {
			near(at.lower, lower[i], "lower");
			near(at.upper, upper[i], "upper");
		}
	}
	km_fit_free(&fit);
}
END_TEST

START_TEST(test_restricted_mean_matches_r_rmean)
{
	/* summary(fit, rmean = 6)$table, rmean = 12 (beyond the last time) */
	struct km_fit fit;
	set1_fit(&fit);
	struct km_rmean m = km_restricted_mean(&fit, 6, 0.95);
	near(m.estimate, 4.5109068627450979, "rmean 6");
	near(m.se, 0.43372279991421486, "se 6");
	near(m.lower, 4.5109068627450979 - 1.959963984540054 * 0.43372279991421486, "lower");
	ck_assert(!m.before_first);
	m = km_restricted_mean(&fit, 12, 0.95);
	near(m.estimate, 5.3941421568627446, "rmean 12");
	near(m.se, 0.70689512293475176, "se 12");
	/* before the first time R refuses; the curve is 1 up to it */
	m = km_restricted_mean(&fit, 0.5, 0.95);
	ck_assert(m.before_first);
	near(m.estimate, 0.5, "before the first");
	ck_assert(m.se == 0);
	km_fit_free(&fit);
}
END_TEST

START_TEST(test_logrank_and_cox_match_r_with_ties_and_a_group_of_one)
{
	struct km_group a[32], b[32], c[32];
	struct survival_group groups[] = {
		{a, set1_counts('a', a)}, {b, set1_counts('b', b)}, {c, set1_counts('c', c)}};
	ck_assert_uint_eq(groups[2].n, 1);
	/* survdiff(Surv(t, e) ~ g) */
	struct logrank lr = logrank_test(groups, 3);
	ck_assert(lr.defined);
	ck_assert_int_eq(lr.df, 2);
	near(lr.chisq, 2.8378232339162794, "chisq");
	near(lr.p, 0.24197723755047107, "p");
	/* coxph(Surv(t, e) ~ factor(g), ties = "efron"): b and c against a */
	struct hazard_ratio hr[3];
	ck_assert(cox_hazard_ratios(groups, 3, 0, 0.95, hr));
	ck_assert(!hr[0].defined && hr[0].note == NULL);
	const double want[2][4] = {
		{0.79355333724008492, 0.21262640626619267, 2.9616589496250247, 0.73074989115810729},
		{6.0286385968592713, 0.54875139845773357, 66.231235917917559, 0.14178006179181521}};
	cox_near(hr, want);
	/* another reference: the ratio inverts */
	ck_assert(cox_hazard_ratios(groups, 3, 1, 0.95, hr));
	near(hr[0].hr, 1 / 0.79355333724008492, "inverse");
}
END_TEST

/* Set 2: up to 20 tied events a time, and at the last time every subject
 * still at risk has one (18), where Efron's shares of a tie differ most;
 * counted by time as the server counts them. In R:
 *   t <- c(); e <- c(); g <- c(); sizes <- c(40, 35, 25)
 *   for (gi in 0:2) {
 *     for (i in 0:(sizes[gi + 1] - 1)) { t <- c(t, 1 + i %% 4)
 *       e <- c(e, as.integer((i * (gi + 2)) %% 5 != 0)); g <- c(g, gi) }
 *     for (i in 1:6) { t <- c(t, 5); e <- c(e, 1); g <- c(g, gi) } } */
static size_t set2_counts(int group, struct km_group *out)
{
	static const int sizes[] = {40, 35, 25};
	for (int time = 1; time <= 5; time++)
		out[time - 1] = (struct km_group){time, time == 5 ? 6 : 0, 0};
	for (int i = 0; i < sizes[group]; i++) {
		struct km_group *at = &out[i % 4];
		if ((i * (group + 2)) % 5 != 0)
			at->events++;
		else
			at->censored++;
	}
	return 5;
}

START_TEST(test_cox_matches_r_with_many_ties_and_a_whole_risk_set_dying)
{
	struct km_group a[5], b[5], c[5];
	struct survival_group groups[] = {
		{a, set2_counts(0, a)}, {b, set2_counts(1, b)}, {c, set2_counts(2, c)}};
	/* summary(coxph(Surv(t, e) ~ factor(g), ties = "efron")) */
	struct hazard_ratio hr[3];
	ck_assert(cox_hazard_ratios(groups, 3, 0, 0.95, hr));
	const double want[2][4] = {
		{0.98872936883629303, 0.62244313409422036, 1.5705623714879557, 0.96171180533321554},
		{0.901503637732193, 0.54694938694606565, 1.4858939935598059, 0.68422855482595946}};
	cox_near(hr, want);
}
END_TEST

START_TEST(test_a_group_without_events_has_no_hazard_ratio)
{
	/* t2 <- c(1,2,3,4,5,6,2,3,7,8); e2 <- c(1,0,1,1,0,1,0,0,0,0); group b
	 * has no events: survdiff 3.7924727063780885, p 0.051483539520255583;
	 * coxph warns "Loglik converged before variable 1; coefficient may be
	 * infinite" (coef -21.25) */
	struct km_group a[] = {{1, 1, 0}, {2, 0, 1}, {3, 1, 0}, {4, 1, 0}, {5, 0, 1}, {6, 1, 0}};
	struct km_group b[] = {{2, 0, 1}, {3, 0, 1}, {7, 0, 1}, {8, 0, 1}};
	struct survival_group groups[] = {{a, 6}, {b, 4}};
	struct logrank lr = logrank_test(groups, 2);
	ck_assert(lr.defined && lr.df == 1);
	near(lr.chisq, 3.7924727063780885, "chisq");
	near(lr.p, 0.051483539520255583, "p");
	struct hazard_ratio hr[2];
	ck_assert(cox_hazard_ratios(groups, 2, 0, 0.95, hr));
	ck_assert(!hr[1].defined);
	ck_assert_ptr_nonnull(hr[1].note);
	/* with b as the reference, a's ratio runs to infinity */
	ck_assert(cox_hazard_ratios(groups, 2, 1, 0.95, hr));
	ck_assert(!hr[0].defined);
	ck_assert_ptr_nonnull(hr[0].note);
}
END_TEST

START_TEST(test_no_events_at_all)
{
	/* t3 <- c(1,2,3), no events: summary(times = c(0, 2, 5)) n.risk 3 2 0,
	 * survival 1, lower 1 NA NA; rmean = 2.5: 2.5, se 0 */
	struct km_group g[] = {{1, 0, 1}, {2, 0, 1}, {3, 0, 1}};
	struct km_fit fit;
	ck_assert_int_eq(km_estimate_groups(g, 3, 0.95, &fit), 0);
	const double times[] = {0, 2, 5};
	const int64_t n_risk[] = {3, 2, 0};
	for (int i = 0; i < 3; i++) {
		struct km_landmark at = km_at(&fit, times[i]);
		ck_assert_int_eq(at.n_risk, n_risk[i]);
		ck_assert(at.survival == 1);
		ck_assert(at.ci_defined == (i == 0));
	}
	struct km_rmean m = km_restricted_mean(&fit, 2.5, 0.95);
	ck_assert(m.estimate == 2.5 && m.se == 0);
	km_fit_free(&fit);
	struct km_group h[] = {{4, 0, 1}};
	struct survival_group groups[] = {{g, 3}, {h, 1}};
	struct logrank lr = logrank_test(groups, 2);
	ck_assert(!lr.defined); /* nothing expected anywhere */
	struct hazard_ratio hr[2];
	ck_assert(cox_hazard_ratios(groups, 2, 0, 0.95, hr));
	ck_assert(!hr[1].defined && hr[1].note != NULL);
}
END_TEST

START_TEST(test_one_group_is_no_comparison)
{
	struct km_group a[] = {{1, 1, 0}, {2, 1, 0}};
	struct survival_group groups[] = {{a, 2}};
	ck_assert(!logrank_test(groups, 1).defined);
	struct hazard_ratio hr[1];
	ck_assert(cox_hazard_ratios(groups, 1, 0, 0.95, hr));
	ck_assert(!hr[0].defined && hr[0].note == NULL);
}
END_TEST

Suite *suite(void)
{
	Suite *s = suite_create("survival_comparison");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_landmarks_match_r_summary_with_extend);
	tcase_add_test(tc, test_restricted_mean_matches_r_rmean);
	tcase_add_test(tc, test_logrank_and_cox_match_r_with_ties_and_a_group_of_one);
	tcase_add_test(tc, test_cox_matches_r_with_many_ties_and_a_whole_risk_set_dying);
	tcase_add_test(tc, test_a_group_without_events_has_no_hazard_ratio);
	tcase_add_test(tc, test_no_events_at_all);
	tcase_add_test(tc, test_one_group_is_no_comparison);
	suite_add_tcase(s, tc);
	return s;
}

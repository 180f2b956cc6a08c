/* Survival compared between groups, as pure functions of counts: the
 * log-rank test (R's survdiff, rho = 0) and the Cox proportional-hazards
 * model of one grouping (R's coxph(Surv(t, e) ~ group, ties = "efron")).
 * Each group is given as the subjects counted by time (km_group, as the
 * Kaplan-Meier estimator takes them), which is all either needs. No I/O:
 * the unit tests hold them to R's numbers. */
#ifndef COHORTD_GROUP_COMPARISON_H
#define COHORTD_GROUP_COMPARISON_H

#include <stdbool.h>
#include <stddef.h>

#include "estimators.h"

struct survival_group {
	const struct km_group *counts; /* times may repeat, in any order */
	size_t n;
};

struct logrank {
	bool defined; /* false with fewer than two groups expecting events */
	double chisq, p;
	int df;
};

/* survdiff's chi-square over the groups whose expected events are
 * positive, df one fewer than them. */
struct logrank logrank_test(const struct survival_group *groups, size_t ngroups);

struct hazard_ratio {
	bool defined; /* false where R warns: the estimate does not exist */
	double hr, lower, upper, p;
	const char *note; /* why not defined; NULL when it is */
};

/* hr[g] for every group but reference (hr[reference] is left undefined,
 * note NULL): exp(coef) of the group's indicator, its Wald interval at
 * level and Wald p, after R's Newton-Raphson (start 0, at most 20 steps,
 * step halving, converged when the log partial likelihood changes by a
 * relative 1e-9). Groups with no subjects take no part. Returns false when
 * memory ran out. */
bool cox_hazard_ratios(const struct survival_group *groups, size_t ngroups, size_t reference,
		       double level, struct hazard_ratio *hr);

#endif

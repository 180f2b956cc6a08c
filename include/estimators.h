/* The statistics behind the stats routes, as pure functions of numbers: confidence
 * intervals for a proportion and the Kaplan-Meier estimator. No I/O, no
 * records: the unit tests hold them to SciPy's and R's reference values.
 * Quantiles come from GSL, never from hand-written special functions. */
#ifndef COHORTD_ESTIMATORS_H
#define COHORTD_ESTIMATORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ci_method { CI_EXACT, CI_WILSON };

struct proportion {
	int64_t count, total;
	bool defined; /* false when total is 0: rate and bounds are null */
	double rate, lower, upper;
};

/* k of n with a two-sided interval at level (0 < level < 1): Clopper-Pearson
 * from the beta quantile, or Wilson's score interval from the normal one. */
struct proportion proportion_ci(int64_t k, int64_t n, enum ci_method method, double level);

/* One subject: follow-up time in days and whether it ended in the event. */
struct km_subject {
	double time;
	bool event;
};

struct km_point {
	double time;
	int64_t n_risk, n_event, n_censor;
	double survival;
	bool ci_defined; /* false where R prints NA (survival 1 or 0) */
	double lower, upper;
};

struct km_median {
	bool reached, lower_reached, upper_reached;
	double time, lower, upper;
};

struct km_fit {
	int64_t n, events;
	struct km_point *points; /* one per distinct time, ascending; caller frees */
	size_t npoints;
	struct km_median median;
};

/* Kaplan-Meier with Greenwood variance and log(-log) pointwise intervals
 * at level, and the median with its interval, as R's
 * survfit(Surv(t, e) ~ 1, conf.type = "log-log") gives them. Sorts subjects
 * in place. Returns 0, or -1 when level is out of range. */
int km_estimate(struct km_subject *subjects, size_t n, double level, struct km_fit *fit);
/* The same from subjects counted by time: how many died and how many were
 * censored at each (times may repeat; groups are sorted in place). */
struct km_group {
	double time;
	int64_t events, censored;
};
int km_estimate_groups(struct km_group *groups, size_t n, double level, struct km_fit *fit);
void km_fit_free(struct km_fit *fit);

/* The curve at a fixed time, as R's summary(fit, times = t, extend = TRUE)
 * gives it: the estimate and interval of the last time at or before t (1
 * and [1, 1] before the first), and how many were at risk at t. */
struct km_landmark {
	double time;
	int64_t n_risk;
	double survival;
	bool ci_defined; /* false where R gives NA */
	double lower, upper;
};
struct km_landmark km_at(const struct km_fit *fit, double t);

/* The restricted mean survival time up to tau, as R's
 * print(fit, rmean = tau) gives it (rmean, se(rmean)), and the interval
 * estimate +- z se at level. Where tau is before the curve's first time
 * (R refuses), the curve is 1 up to tau: estimate tau, se 0. */
struct km_rmean {
	double tau, estimate, se, lower, upper;
	bool before_first;
};
struct km_rmean km_restricted_mean(const struct km_fit *fit, double tau, double level);

#endif

/* Confidence intervals for proportions and the Kaplan-Meier estimator.
 * Every formula here is the textbook one that R and SciPy implement, so a
 * biostatistician can reproduce each figure: Clopper-Pearson from GSL's beta
 * quantile, Wilson from GSL's normal quantile, Greenwood's variance and
 * R survival's log(-log) transform and median rule, and its landmark and
 * restricted-mean summaries of a curve. */
#include "estimators.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "util.h"

static pthread_once_t gsl_quiet = PTHREAD_ONCE_INIT;

/* GSL's default error handler aborts the process; a failed inversion must
 * instead be caught and retried below. */
static void gsl_errors_off(void)
{
	gsl_set_error_handler_off();
}

/* The x with P(X <= x) = p (upper: P(X > x) = p) for X ~ Beta(a, b). GSL's
 * inverse fails to converge for some (a, b), e.g. 2 of 260 at 95%: then the
 * answer is found by bisection on GSL's own CDF, which is robust, to the
 * last representable digit. */
static double beta_quantile(double p, double a, double b, bool upper)
{
	pthread_once(&gsl_quiet, gsl_errors_off);
	double x = upper ? gsl_cdf_beta_Qinv(p, a, b) : gsl_cdf_beta_Pinv(p, a, b);
	double back = upper ? gsl_cdf_beta_Q(x, a, b) : gsl_cdf_beta_P(x, a, b);
	if (isfinite(x) && x >= 0 && x <= 1 && fabs(back - p) <= 1e-12 * fmax(p, 1e-300))
		return x;
	double lo = 0, hi = 1;
	for (int i = 0; i < 200 && hi - lo > 0; i++) {
		double mid = lo + (hi - lo) / 2;
		if (mid <= lo || mid >= hi)
			break;
		bool below = upper ? gsl_cdf_beta_Q(mid, a, b) > p : gsl_cdf_beta_P(mid, a, b) < p;
		if (below)
			lo = mid;
		else
			hi = mid;
	}
	return lo + (hi - lo) / 2;
}

struct proportion proportion_ci(int64_t k, int64_t n, enum ci_method method, double level)
{
	struct proportion p = {.count = k, .total = n};
	if (n <= 0 || k < 0 || k > n)
		return p;
	double alpha = 1 - level;
	double kd = (double)k, nd = (double)n;
	p.defined = true;
	p.rate = kd / nd;
	if (method == CI_EXACT) {
		p.lower = k == 0 ? 0 : beta_quantile(alpha / 2, kd, nd - kd + 1, false);
		p.upper = k == n ? 1 : beta_quantile(alpha / 2, kd + 1, nd - kd, true);
	} else {
		pthread_once(&gsl_quiet, gsl_errors_off);
		double z = gsl_cdf_ugaussian_Qinv(alpha / 2);
		double z2 = z * z;
		double centre = (p.rate + z2 / (2 * nd)) / (1 + z2 / nd);
		double half =
			z / (1 + z2 / nd) * sqrt(p.rate * (1 - p.rate) / nd + z2 / (4 * nd * nd));
		p.lower = k == 0 ? 0 : centre - half;
		p.upper = k == n ? 1 : centre + half;
	}
	return p;
}

static int by_time(const void *a, const void *b)
{
	const struct km_subject *x = a, *y = b;
	return (x->time > y->time) - (x->time < y->time);
}

static int group_by_time(const void *a, const void *b)
{
	const struct km_group *x = a, *y = b;
	return (x->time > y->time) - (x->time < y->time);
}

/* R's rule for a quantile of a step function: the first time the curve is
 * at or below p; where it sits exactly at p, the midpoint to the next time
 * it drops below. */
static bool km_quantile(const struct km_point *pts, size_t n, const double *curve, double p,
			double *out)
{
	const double tol = 1e-8;
	for (size_t i = 0; i < n; i++) {
		if (curve[i] > p + tol)
			continue;
		*out = pts[i].time;
		if (fabs(curve[i] - p) < tol) {
			for (size_t j = i + 1; j < n; j++) {
				if (curve[j] < p - tol) {
					*out = (pts[i].time + pts[j].time) / 2;
					break;
				}
			}
		}
		return true;
	}
	return false;
}

int km_estimate(struct km_subject *subjects, size_t n, double level, struct km_fit *fit)
{
	if (n > 0)
		qsort(subjects, n, sizeof *subjects, by_time);
	struct km_group *groups = xcalloc(n ? n : 1, sizeof *groups);
	if (!groups) {
		*fit = (struct km_fit){.n = (int64_t)n};
		return -1;
	}
	size_t ngroups = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ngroups || groups[ngroups - 1].time != subjects[i].time)
			groups[ngroups++].time = subjects[i].time;
		if (subjects[i].event)
			groups[ngroups - 1].events++;
		else
			groups[ngroups - 1].censored++;
	}
	int rc = km_estimate_groups(groups, ngroups, level, fit);
	free(groups);
	return rc;
}

int km_estimate_groups(struct km_group *groups, size_t n, double level, struct km_fit *fit)
{
	int64_t subjects = 0;
	for (size_t i = 0; i < n; i++)
		subjects += groups[i].events + groups[i].censored;
	*fit = (struct km_fit){.n = subjects};
	if (!(level > 0 && level < 1))
		return -1;
	if (n > 0)
		qsort(groups, n, sizeof *groups, group_by_time);
	pthread_once(&gsl_quiet, gsl_errors_off);
	double z = gsl_cdf_ugaussian_Qinv((1 - level) / 2);
	fit->points = xcalloc(n ? n : 1, sizeof *fit->points);
	if (!fit->points)
		return -1;
	double survival = 1, greenwood = 0;
	int64_t at_risk = subjects;
	for (size_t i = 0; i < n;) {
		struct km_point *pt = &fit->points[fit->npoints++];
		pt->time = groups[i].time;
		pt->n_risk = at_risk;
		while (i < n && groups[i].time == pt->time) {
			pt->n_event += groups[i].events;
			pt->n_censor += groups[i].censored;
			i++;
		}
		double d = (double)pt->n_event, r = (double)pt->n_risk;
		if (pt->n_event > 0) {
			survival *= 1 - d / r;
			if (r > d)
				greenwood += d / (r * (r - d));
		}
		fit->events += pt->n_event;
		at_risk -= pt->n_event + pt->n_censor;
		pt->survival = survival;
		/* R's survfit (survival >= 3) prints NA bounds where S is 1 or 0. */
		if (survival > 0 && survival < 1) {
			double se = sqrt(greenwood), ll = log(-log(survival)), ls = log(survival);
			pt->ci_defined = true;
			pt->lower = exp(-exp(ll - z * se / ls));
			pt->upper = exp(-exp(ll + z * se / ls));
		}
	}

	double *curve = xcalloc(fit->npoints ? fit->npoints : 1, sizeof *curve);
	struct km_median *m = &fit->median;
	if (!curve)
		return -1; /* no median */
	for (size_t i = 0; i < fit->npoints; i++)
		curve[i] = fit->points[i].survival;
	m->reached = km_quantile(fit->points, fit->npoints, curve, 0.5, &m->time);
	/* Where a bound is undefined (R's NA) it can never be the quantile, as
	 * print.survfit drops NA bounds: INFINITY never qualifies. */
	for (size_t i = 0; i < fit->npoints; i++)
		curve[i] = fit->points[i].ci_defined ? fit->points[i].lower : INFINITY;
	m->lower_reached = km_quantile(fit->points, fit->npoints, curve, 0.5, &m->lower);
	for (size_t i = 0; i < fit->npoints; i++)
		curve[i] = fit->points[i].ci_defined ? fit->points[i].upper : INFINITY;
	m->upper_reached = km_quantile(fit->points, fit->npoints, curve, 0.5, &m->upper);
	free(curve);
	return 0;
}

void km_fit_free(struct km_fit *fit)
{
	free(fit->points);
	fit->points = NULL;
	fit->npoints = 0;
}

struct km_landmark km_at(const struct km_fit *fit, double t)
{
	struct km_landmark at = {
		.time = t, .survival = 1, .ci_defined = true, .lower = 1, .upper = 1};
	size_t i = 0;
	while (i < fit->npoints && fit->points[i].time <= t)
		i++;
	/* at risk at t: those whose time is t or later */
	size_t first_on = i > 0 && fit->points[i - 1].time == t ? i - 1 : i;
	at.n_risk = first_on < fit->npoints ? fit->points[first_on].n_risk : 0;
	if (i > 0) {
		const struct km_point *pt = &fit->points[i - 1];
		at.survival = pt->survival;
		at.ci_defined = pt->ci_defined;
		at.lower = pt->lower;
		at.upper = pt->upper;
	}
	return at;
}

/* R's survmean: the area under the curve in rectangles from 0 to tau; its
 * variance sums, over the event times up to tau, the square of the area
 * after each times d / (r (r - d)). */
struct km_rmean km_restricted_mean(const struct km_fit *fit, double tau, double level)
{
	struct km_rmean m = {.tau = tau};
	pthread_once(&gsl_quiet, gsl_errors_off);
	double z = gsl_cdf_ugaussian_Qinv((1 - level) / 2);
	size_t keep = 0;
	while (keep < fit->npoints && fit->points[keep].time <= tau)
		keep++;
	if (keep == 0) {
		m.before_first = true;
		m.estimate = m.lower = m.upper = tau;
		return m;
	}
	/* rectangle i spans from time i - 1 (0 for the first) to time i, at
	 * the survival before time i; the last, from the last kept time to tau */
	double area = 0, previous_time = 0, previous_survival = 1;
	double *after = xcalloc(keep + 1, sizeof *after);
	if (!after) {
		m.estimate = m.se = m.lower = m.upper = NAN;
		return m;
	}
	for (size_t i = 0; i < keep; i++) {
		area += (fit->points[i].time - previous_time) * previous_survival;
		previous_time = fit->points[i].time;
		previous_survival = fit->points[i].survival;
		after[i] = area;
	}
	area += (tau - previous_time) * previous_survival;
	double variance = 0;
	for (size_t i = 0; i < keep; i++) {
		const struct km_point *pt = &fit->points[i];
		double d = (double)pt->n_event, r = (double)pt->n_risk;
		if (pt->n_event == 0 || r == d)
			continue;
		double rest = area - after[i];
		variance += rest * rest * d / (r * (r - d));
	}
	free(after);
	m.estimate = area;
	m.se = sqrt(variance);
	m.lower = area - z * m.se;
	m.upper = area + z * m.se;
	return m;
}

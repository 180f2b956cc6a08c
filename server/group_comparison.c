/* The log-rank test and the Cox model of a grouping, from counts by time
 * (group_comparison.h). Both walk the distinct times in order, with each
 * group's number at risk and events there: the hypergeometric variance of
 * survdiff, and the Efron-tied partial likelihood, its score and its
 * information, with R coxph's iteration and its test for an estimate that
 * runs off to infinity. Linear algebra and the chi-square and normal tails
 * come from GSL. */
#include "group_comparison.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* R coxph.control()'s defaults */
#define COX_EPS       1e-9
#define COX_ITER_MAX  20
#define COX_TOLER_INF 3.1622776601683795e-05 /* sqrt(eps) */

/* Every group's count at each distinct time: risk[t * ng + g] at risk and
 * dead[t * ng + g] events at the t-th time. */
struct table {
	size_t ng, nt;
	double *risk, *dead;
};

static int by_time(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static size_t time_index(const double *times, size_t nt, double t)
{
	size_t lo = 0, hi = nt;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (times[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void table_free(struct table *tb)
{
	free(tb->risk);
	free(tb->dead);
}

static bool table_make(const struct survival_group *groups, size_t ng, struct table *tb)
{
	memset(tb, 0, sizeof *tb);
	tb->ng = ng;
	size_t all = 0;
	for (size_t g = 0; g < ng; g++)
		all += groups[g].n;
	double *times = xmalloc((all ? all : 1) * sizeof *times);
	if (!times)
		return false;
	size_t n = 0;
	for (size_t g = 0; g < ng; g++)
		for (size_t i = 0; i < groups[g].n; i++)
			times[n++] = groups[g].counts[i].time;
	qsort(times, n, sizeof *times, by_time);
	size_t nt = 0;
	for (size_t i = 0; i < n; i++)
		if (nt == 0 || times[nt - 1] != times[i])
			times[nt++] = times[i];
	tb->nt = nt;
	double *left = xcalloc((nt + 1) * ng, sizeof *left); /* leaving at each time */
	tb->risk = xcalloc((nt ? nt : 1) * ng, sizeof *tb->risk);
	tb->dead = xcalloc((nt ? nt : 1) * ng, sizeof *tb->dead);
	if (!left || !tb->risk || !tb->dead) {
		free(left);
		free(times);
		table_free(tb);
		return false;
	}
	for (size_t g = 0; g < ng; g++)
		for (size_t i = 0; i < groups[g].n; i++) {
			const struct km_group *c = &groups[g].counts[i];
			size_t t = time_index(times, nt, c->time);
			tb->dead[t * ng + g] += (double)c->events;
			left[t * ng + g] += (double)(c->events + c->censored);
		}
	/* at risk at a time: everyone leaving at it or later */
	for (size_t g = 0; g < ng; g++) {
		double at_risk = 0;
		for (size_t t = nt; t-- > 0;) {
			at_risk += left[t * ng + g];
			tb->risk[t * ng + g] = at_risk;
		}
	}
	free(left);
	free(times);
	return true;
}

/* --- the log-rank test ---------------------------------------------------- */

struct logrank logrank_test(const struct survival_group *groups, size_t ng)
{
	struct logrank lr = {0};
	struct table tb;
	if (ng < 2 || !table_make(groups, ng, &tb))
		return lr;
	double *o_e = xcalloc(ng, sizeof *o_e), *expected = xcalloc(ng, sizeof *expected);
	double *var = xcalloc(ng * ng, sizeof *var);
	size_t *kept = xcalloc(ng, sizeof *kept);
	if (!o_e || !expected || !var || !kept)
		goto out;
	for (size_t t = 0; t < tb.nt; t++) {
		double n = 0, d = 0;
		for (size_t g = 0; g < ng; g++) {
			n += tb.risk[t * ng + g];
			d += tb.dead[t * ng + g];
		}
		if (d == 0)
			continue;
		for (size_t g = 0; g < ng; g++) {
			double e = d * tb.risk[t * ng + g] / n;
			expected[g] += e;
			o_e[g] += tb.dead[t * ng + g] - e;
		}
		if (n <= 1)
			continue;
		double kt = d * (n - d) / (n * (n - 1));
		for (size_t j = 0; j < ng; j++) {
			double rj = tb.risk[t * ng + j];
			var[j * ng + j] += kt * rj;
			for (size_t k = 0; k < ng; k++)
				var[j * ng + k] -= kt * rj * tb.risk[t * ng + k] / n;
		}
	}
	/* survdiff: the groups expecting events, the first of them dropped */
	size_t nk = 0;
	for (size_t g = 0; g < ng; g++)
		if (expected[g] > 0)
			kept[nk++] = g;
	if (nk < 2)
		goto out;
	size_t m = nk - 1;
	gsl_matrix *v = gsl_matrix_alloc(m, m);
	gsl_vector *b = gsl_vector_alloc(m), *x = gsl_vector_alloc(m);
	gsl_permutation *perm = gsl_permutation_alloc(m);
	if (v && b && x && perm) {
		for (size_t i = 0; i < m; i++) {
			gsl_vector_set(b, i, o_e[kept[i + 1]]);
			for (size_t j = 0; j < m; j++)
				gsl_matrix_set(v, i, j, var[kept[i + 1] * ng + kept[j + 1]]);
		}
		int sign;
		if (gsl_linalg_LU_decomp(v, perm, &sign) == 0 &&
		    gsl_linalg_LU_solve(v, perm, b, x) == 0) {
			double chisq = 0;
			for (size_t i = 0; i < m; i++)
				chisq += gsl_vector_get(x, i) * gsl_vector_get(b, i);
			if (isfinite(chisq)) {
				lr.defined = true;
				lr.chisq = chisq;
				lr.df = (int)m;
				lr.p = gsl_cdf_chisq_Q(chisq, (double)m);
			}
		}
	}
	gsl_matrix_free(v);
	gsl_vector_free(b);
	gsl_vector_free(x);
	gsl_permutation_free(perm);
out:
	free(o_e);
	free(expected);
	free(var);
	free(kept);
	table_free(&tb);
	return lr;
}

/* --- the Cox model -------------------------------------------------------- */

/* The model's groups: column c of the indicators is group col[c]. */
struct cox {
	const struct table *tb;
	size_t p;
	const size_t *col;
};

/* The log partial likelihood at beta, with Efron's handling of tied
 * events, its score u and its information imat (p x p). */
static double cox_fit_at(const struct cox *m, const double *beta, double *u, double *imat)
{
	const struct table *tb = m->tb;
	size_t p = m->p, ng = tb->ng;
	double loglik = 0;
	memset(u, 0, p * sizeof *u);
	memset(imat, 0, p * p * sizeof *imat);
	double w[64];
	/* R's coxsafe: a linear predictor kept within [-200, 22] */
	for (size_t c = 0; c < p; c++)
		w[c] = exp(beta[c] < -200 ? -200 : beta[c] > 22 ? 22 : beta[c]);
	for (size_t t = 0; t < tb->nt; t++) {
		/* the reference's score is 1; groups outside the model have no
		 * subjects */
		double s1[64], e1[64];
		double s0 = tb->risk[t * ng + m->col[p]], e0 = tb->dead[t * ng + m->col[p]];
		double deaths = e0;
		for (size_t c = 0; c < p; c++) {
			double r = tb->risk[t * ng + m->col[c]], d = tb->dead[t * ng + m->col[c]];
			s1[c] = r * w[c];
			e1[c] = d * w[c];
			s0 += s1[c];
			e0 += e1[c];
			deaths += d;
			loglik += d * beta[c];
			u[c] += d;
		}
		if (deaths == 0)
			continue;
		/* Efron: the l-th of the d tied deaths (f = l/d) takes its share
		 * a_j = (s1_j - f e1_j) / den, den = s0 - f e0, from the score
		 * and a_j a_k from the information. Summed over l those are
		 * s1_j H1 - e1_j G1 and s1_j s1_k H2 - (s1_j e1_k + e1_j s1_k) G2
		 * + e1_j e1_k K2, with H, G, K the sums of 1, f and f^2 over den
		 * and den^2: a time's cost is d + p^2, not d p^2 (a day with
		 * hundreds of events at a million patients). */
		double h1 = 0, g1 = 0, h2 = 0, g2 = 0, k2 = 0;
		for (double l = 0; l < deaths; l++) {
			double f = l / deaths, den = s0 - f * e0, inv = 1 / den;
			loglik -= log(den);
			h1 += inv;
			g1 += f * inv;
			h2 += inv * inv;
			g2 += f * inv * inv;
			k2 += f * f * inv * inv;
		}
		for (size_t j = 0; j < p; j++) {
			double a = s1[j] * h1 - e1[j] * g1;
			u[j] -= a;
			imat[j * p + j] += a;
			for (size_t k = 0; k < p; k++)
				imat[j * p + k] -= s1[j] * s1[k] * h2 -
						   (s1[j] * e1[k] + e1[j] * s1[k]) * g2 +
						   e1[j] * e1[k] * k2;
		}
	}
	return loglik;
}

/* R survival's generalised Cholesky (cholesky2, chsolve2, chinv2 in its C
 * sources), which coxph iterates with: a pivot below tolerance times the
 * largest diagonal marks its column singular (its step and its variance
 * 0) instead of failing, so that a coefficient running to infinity does
 * not stop the others converging. GSL's Cholesky refuses such a matrix, and
 * R's answer for the other groups depends on going on, so the rule is
 * R's. m is p x p, row-major, symmetric; factored in place. */
#define COX_TOLER_CHOL 1.8189894035458565e-12 /* .Machine$double.eps^0.75 */

static void cholesky2(double *m, size_t p)
{
	double eps = 0;
	for (size_t i = 0; i < p; i++) {
		if (m[i * p + i] > eps)
			eps = m[i * p + i];
		for (size_t j = i + 1; j < p; j++)
			m[j * p + i] = m[i * p + j];
	}
	eps = eps == 0 ? COX_TOLER_CHOL : eps * COX_TOLER_CHOL;
	for (size_t i = 0; i < p; i++) {
		double pivot = m[i * p + i];
		if (!isfinite(pivot) || pivot < eps) {
			m[i * p + i] = 0;
			continue;
		}
		for (size_t j = i + 1; j < p; j++) {
			double t = m[j * p + i] / pivot;
			m[j * p + i] = t;
			m[j * p + j] -= t * t * pivot;
			for (size_t k = j + 1; k < p; k++)
				m[k * p + j] -= t * m[k * p + i];
		}
	}
}

/* y = m^-1 y, m as cholesky2 left it */
static void chsolve2(const double *m, size_t p, double *y)
{
	for (size_t i = 0; i < p; i++)
		for (size_t j = 0; j < i; j++)
			y[i] -= y[j] * m[i * p + j];
	for (size_t i = p; i-- > 0;) {
		if (m[i * p + i] == 0) {
			y[i] = 0;
			continue;
		}
		double t = y[i] / m[i * p + i];
		for (size_t j = i + 1; j < p; j++)
			t -= y[j] * m[j * p + i];
		y[i] = t;
	}
}

/* m = the inverse of the matrix cholesky2 factored (0 on singular rows) */
static void chinv2(double *m, size_t p)
{
	for (size_t i = 0; i < p; i++) {
		if (m[i * p + i] <= 0)
			continue;
		m[i * p + i] = 1 / m[i * p + i];
		for (size_t j = i + 1; j < p; j++) {
			m[j * p + i] = -m[j * p + i];
			for (size_t k = 0; k < i; k++)
				m[j * p + k] += m[j * p + i] * m[i * p + k];
		}
	}
	for (size_t i = 0; i < p; i++) {
		if (m[i * p + i] == 0) {
			for (size_t j = 0; j < i; j++)
				m[j * p + i] = 0;
			for (size_t j = i; j < p; j++)
				m[i * p + j] = 0;
			continue;
		}
		for (size_t j = i + 1; j < p; j++) {
			double t = m[j * p + i] * m[j * p + j];
			m[i * p + j] = t;
			for (size_t k = i; k < j; k++)
				m[i * p + k] += t * m[j * p + k];
		}
	}
	for (size_t i = 0; i < p; i++)
		for (size_t j = 0; j < i; j++)
			m[i * p + j] = m[j * p + i];
}

static void set_undefined(struct hazard_ratio *hr, const char *note)
{
	*hr = (struct hazard_ratio){.note = note};
}

bool cox_hazard_ratios(const struct survival_group *groups, size_t ng, size_t reference,
		       double level, struct hazard_ratio *hr)
{
	gsl_set_error_handler_off();
	for (size_t g = 0; g < ng; g++)
		set_undefined(&hr[g], NULL);
	if (ng > 64)
		return false;
	struct table tb;
	if (!table_make(groups, ng, &tb))
		return false;
	/* the model's columns: every other group with subjects; col[p] is the
	 * reference */
	size_t col[65], p = 0;
	double subjects[65] = {0}, events[65] = {0};
	for (size_t g = 0; g < ng; g++)
		for (size_t i = 0; i < groups[g].n; i++) {
			subjects[g] +=
				(double)(groups[g].counts[i].events + groups[g].counts[i].censored);
			events[g] += (double)groups[g].counts[i].events;
		}
	for (size_t g = 0; g < ng; g++)
		if (g != reference && subjects[g] > 0)
			col[p++] = g;
	col[p] = reference;
	double total_events = events[reference];
	for (size_t c = 0; c < p; c++)
		total_events += events[col[c]];
	if (p == 0 || subjects[reference] == 0 || total_events == 0) {
		for (size_t c = 0; c < p; c++)
			set_undefined(&hr[col[c]], "no events in the groups compared: "
						   "the model has nothing to estimate");
		table_free(&tb);
		return true;
	}
	struct cox m = {&tb, p, col};
	double *work = xcalloc(5 * p + 2 * p * p, sizeof *work);
	if (!work) {
		table_free(&tb);
		return false;
	}
	double *beta = work, *newbeta = beta + p, *u = newbeta + p, *step = u + p, *se = step + p,
	       *imat = se + p, *var = imat + p * p;
	/* R's coxfit6: Newton-Raphson from 0, halving a step that lowers the
	 * likelihood */
	double loglik = cox_fit_at(&m, beta, u, imat), newlk = loglik;
	cholesky2(imat, p);
	memcpy(step, u, p * sizeof *step);
	chsolve2(imat, p, step);
	for (size_t c = 0; c < p; c++)
		newbeta[c] = beta[c] + step[c];
	bool converged = false, halving = false;
	for (int iter = 1; iter <= COX_ITER_MAX; iter++) {
		newlk = cox_fit_at(&m, newbeta, u, imat);
		cholesky2(imat, p);
		if (fabs(1 - loglik / newlk) <= COX_EPS && !halving) {
			converged = true;
			break;
		}
		if (iter == COX_ITER_MAX)
			break;
		if (newlk < loglik) {
			halving = true;
			for (size_t c = 0; c < p; c++)
				newbeta[c] = (newbeta[c] + beta[c]) / 2;
		} else {
			halving = false;
			loglik = newlk;
			memcpy(step, u, p * sizeof *step);
			chsolve2(imat, p, step);
			for (size_t c = 0; c < p; c++) {
				beta[c] = newbeta[c];
				newbeta[c] += step[c];
			}
		}
	}
	memcpy(var, imat, p * p * sizeof *var);
	chinv2(var, p);
	double z = gsl_cdf_ugaussian_Qinv((1 - level) / 2);
	for (size_t c = 0; c < p; c++) {
		struct hazard_ratio *h = &hr[col[c]];
		if (!converged) {
			set_undefined(h, "the model did not converge (R: 'Ran out of iterations "
					 "and did not converge')");
			continue;
		}
		/* R's test for an infinite coefficient: |u var| beyond eps and
		 * toler.inf times |coef| */
		double inf = 0;
		for (size_t k = 0; k < p; k++)
			inf += u[k] * var[k * p + c];
		inf = fabs(inf);
		se[c] = sqrt(var[c * p + c]);
		double coef = newbeta[c];
		if (events[col[c]] == 0 || events[reference] == 0 || var[c * p + c] == 0 ||
		    (inf > COX_EPS && inf > COX_TOLER_INF * fabs(coef)) || !isfinite(se[c])) {
			set_undefined(h, events[col[c]] == 0 ? "no events in this group: the "
							       "hazard ratio runs to 0"
					 : events[reference] == 0
						 ? "no events in the reference group: the hazard "
						   "ratio runs to infinity"
						 : "the estimate runs to infinity (R: 'coefficient "
						   "may be infinite')");
			continue;
		}
		h->defined = true;
		h->hr = exp(coef);
		h->lower = exp(coef - z * se[c]);
		h->upper = exp(coef + z * se[c]);
		h->p = 2 * gsl_cdf_ugaussian_Q(fabs(coef / se[c]));
	}
	free(work);
	table_free(&tb);
	return true;
}

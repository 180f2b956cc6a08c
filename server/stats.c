/* The statistics clinicians publish, computed from the registry exactly as
 * CONTRACT.md defines them: best overall response, response rates,
 * treatment-related mortality, toxicity by worst grade, Kaplan-Meier
 * survival and durable complete responses. Each answer has the same frame:
 * definitions, the data version it was computed at (as_of), overall, and
 * groups when asked. The CSV form is written from the JSON answer, so the
 * two always agree. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cohort.h"
#include "compress.h"
#include "db.h"
#include "estimators.h"
#include "group_comparison.h"
#include "handlers.h"
#include "http.h"
#include "inject.h"
#include "query.h"
#include "resources.h"
#include "router.h"
#include "stats_csv.h"
#include "summary.h"
#include "util.h"
#include "validate.h"

#define MAX_SLOTS      9 /* overall + the largest grouping (8 histologies) */
#define DAYS_PER_MONTH 30.4375

/* The patient fields a population can be filtered and grouped by. */
static const char *const groupings[] = {"regimen", "histology", "setting", NULL};
enum { NGROUPINGS = 3 };

/* Which parameters a statistic takes beyond the filters, group_by, format. */
enum stats_params {
	PARAM_CI = 1 << 0, /* ci and level */
	PARAM_LEVEL = 1 << 1,
	PARAM_POPULATION = 1 << 2,
	PARAM_CONFIRMED_ONLY = 1 << 3,
	PARAM_UNIT = 1 << 4,
	PARAM_MIN_GRADE = 1 << 5,
	PARAM_MIN_MONTHS = 1 << 6,
	PARAM_PAGE = 1 << 7,     /* limit and after: a page of a list */
	PARAM_SURVIVAL = 1 << 8, /* endpoint, at, tau, reference (and confirmed_only) */
};

/* /stats/survival's endpoints */
enum endpoint { ENDPOINT_OVERALL, ENDPOINT_PROGRESSION_FREE, ENDPOINT_RESPONSE_DURATION };
static const char *const endpoints[] = {"overall", "progression_free", "response_duration", NULL};
#define MAX_LANDMARKS 20
#define MAX_DAYS      1000000.0

/* complete responders listed per answer, unless limit says otherwise */
#define DURABLE_PAGE_DEFAULT 1000
#define DURABLE_PAGE_MAX     10000

struct stats_query {
	int group_by; /* index into groupings, or -1 */
	const char *filter[NGROUPINGS];
	enum ci_method ci;
	double level;
	bool evaluable;
	bool confirmed_only;
	bool by_course;
	int min_grade;
	double min_months;
	int limit;                /* PARAM_PAGE */
	int64_t after;            /* PARAM_PAGE */
	int endpoint;             /* PARAM_SURVIVAL */
	double at[MAX_LANDMARKS]; /* ascending */
	int nat;
	double tau;            /* 0: no restricted mean */
	const char *reference; /* a group_by choice, or NULL */
	bool csv;
};

/* --- parameters --------------------------------------------------------- */

static const char *const *grouping_choices(int g)
{
	const struct resource *res = &patients_resource;
	return res->fields[resource_field_index(res, groupings[g])].choices;
}

static bool parse_number(const char *text, double min, double max, double *out)
{
	char *end;
	double v = strtod(text, &end);
	if (!*text || *end || !isfinite(v) || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static void take_choice(struct query *qs, const char *key, const char *const *choices,
			const char *message, int *out)
{
	const char *v = query_take(qs, key);
	if (!v)
		return;
	for (int i = 0; choices[i]; i++) {
		if (strcmp(v, choices[i]) == 0) {
			*out = i;
			return;
		}
	}
	query_error(qs, key, message);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* at (landmark days, comma-separated), tau and reference */
static void parse_survival(struct query *qs, struct stats_query *q)
{
	const char *v = query_take(qs, "at");
	if (v) {
		bool ok = *v != '\0';
		for (const char *p = v; ok && *p;) {
			const char *comma = strchr(p, ',');
			size_t len = comma ? (size_t)(comma - p) : strlen(p);
			char item[32];
			double d;
			ok = len > 0 && len < sizeof item && q->nat < MAX_LANDMARKS;
			if (ok) {
				memcpy(item, p, len);
				item[len] = '\0';
				ok = parse_number(item, 0, MAX_DAYS, &d);
			}
			if (ok)
				q->at[q->nat++] = d;
			p = comma ? comma + 1 : p + len;
			ok = ok && !(comma && !*p);
		}
		if (!ok) {
			q->nat = 0;
			query_error(qs, "at",
				    "must be 1 to 20 times in days (numbers from 0 to 1000000), "
				    "separated by commas, e.g. 180,365,730");
		}
		qsort(q->at, (size_t)q->nat, sizeof *q->at, by_value);
	}
	if ((v = query_take(qs, "tau")) != NULL) {
		double d;
		if (!parse_number(v, 0, MAX_DAYS, &d) || d <= 0)
			query_error(qs, "tau",
				    "must be a time in days greater than 0 (at most 1000000)");
		else
			q->tau = d;
	}
	if ((v = query_take(qs, "reference")) != NULL) {
		if (q->group_by < 0) {
			query_error(qs, "reference", "applies only with group_by");
			return;
		}
		for (const char *const *c = grouping_choices(q->group_by); *c; c++)
			if (strcmp(*c, v) == 0)
				q->reference = *c;
		if (!q->reference)
			query_error(qs, "reference", "is not a group of this group_by");
	}
}

/* Is item one of the comma-separated values in list? */
static bool listed(const char *list, const char *item)
{
	size_t n = strlen(item);
	for (const char *p = list; p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == n && strncmp(p, item, n) == 0)
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

/* A filter's value, or several separated by commas (melanoma,renal_cell),
 * each one of choices and none twice; NULL when absent or refused. */
static const char *take_values(struct query *qs, const char *key, const char *const *choices)
{
	const char *v = query_take(qs, key);
	if (!v)
		return NULL;
	bool ok = *v != '\0';
	int count = 0;
	for (const char *p = v; ok && p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		bool known = false;
		for (int i = 0; choices[i] && !known; i++)
			known = strlen(choices[i]) == len && strncmp(choices[i], p, len) == 0;
		/* not seen before this one */
		for (const char *q = v; known && q < p;) {
			const char *c = strchr(q, ',');
			size_t l = (size_t)(c - q);
			known = !(l == len && strncmp(q, p, len) == 0);
			q = c + 1;
		}
		ok = known && ++count <= 8;
		p = comma ? comma + 1 : NULL;
	}
	if (!ok) {
		query_error(qs, key,
			    "is not a valid value for this filter (one of its values, or several "
			    "separated by commas, each once)");
		return NULL;
	}
	return v;
}

static bool parse_query(struct request *req, unsigned allowed, struct stats_query *q)
{
	static const char *const formats[] = {"json", "csv", NULL};
	static const char *const ci_methods[] = {"exact", "wilson", NULL};
	static const char *const populations[] = {"all", "evaluable", NULL};
	static const char *const booleans[] = {"false", "true", NULL};
	static const char *const units[] = {"patient", "course", NULL};
	struct query qs;
	double d;
	int choice;

	*q = (struct stats_query){.group_by = -1,
				  .ci = CI_EXACT,
				  .level = 0.95,
				  .min_grade = 3,
				  .min_months = 18,
				  .limit = DURABLE_PAGE_DEFAULT};
	const char *accept = request_header(req, "Accept");
	q->csv = accept && strstr(accept, "text/csv") && !strstr(accept, "application/json");

	query_parse(req, &qs);
	choice = q->csv;
	take_choice(&qs, "format", formats, "must be json or csv", &choice);
	q->csv = choice == 1;
	take_choice(&qs, "group_by", groupings, "must be one of: regimen, histology, setting",
		    &q->group_by);
	for (int g = 0; g < NGROUPINGS; g++)
		q->filter[g] = take_values(&qs, groupings[g], grouping_choices(g));
	if (allowed & PARAM_CI) {
		choice = 0;
		take_choice(&qs, "ci", ci_methods, "must be exact or wilson", &choice);
		q->ci = choice == 0 ? CI_EXACT : CI_WILSON;
	}
	const char *v;
	if ((allowed & PARAM_LEVEL) && (v = query_take(&qs, "level")) != NULL) {
		if (!parse_number(v, 0, 1, &d) || d <= 0 || d >= 1)
			query_error(&qs, "level", "must be a number between 0 and 1, e.g. 0.95");
		else
			q->level = d;
	}
	if (allowed & PARAM_POPULATION) {
		choice = 0;
		take_choice(&qs, "population", populations, "must be all or evaluable", &choice);
		q->evaluable = choice == 1;
	}
	if (allowed & PARAM_SURVIVAL) {
		take_choice(&qs, "endpoint", endpoints,
			    "must be overall, progression_free or response_duration", &q->endpoint);
		parse_survival(&qs, q);
		if (q->endpoint == ENDPOINT_RESPONSE_DURATION)
			allowed |= PARAM_CONFIRMED_ONLY;
		else if (query_take(&qs, "confirmed_only"))
			query_error(&qs, "confirmed_only",
				    "applies only to endpoint=response_duration");
	}
	if (allowed & PARAM_CONFIRMED_ONLY) {
		choice = 0;
		take_choice(&qs, "confirmed_only", booleans, "must be true or false", &choice);
		q->confirmed_only = choice == 1;
	}
	if (allowed & PARAM_UNIT) {
		choice = 0;
		take_choice(&qs, "unit", units, "must be patient or course", &choice);
		q->by_course = choice == 1;
	}
	if ((allowed & PARAM_MIN_GRADE) && (v = query_take(&qs, "min_grade")) != NULL) {
		if (!parse_number(v, 1, 5, &d) || d != floor(d))
			query_error(&qs, "min_grade", "must be an integer from 1 to 5");
		else
			q->min_grade = (int)d;
	}
	if ((allowed & PARAM_MIN_MONTHS) && (v = query_take(&qs, "min_months")) != NULL) {
		if (!parse_number(v, 0, 1200, &d))
			query_error(&qs, "min_months", "must be a number of months from 0 to 1200");
		else
			q->min_months = d;
	}
	int64_t n;
	if ((allowed & PARAM_PAGE) && (v = query_take(&qs, "limit")) != NULL) {
		if (!parse_int64(v, &n) || n < 1 || n > DURABLE_PAGE_MAX)
			query_error(&qs, "limit", "must be an integer from 1 to 10000");
		else
			q->limit = (int)n;
	}
	if ((allowed & PARAM_PAGE) && (v = query_take(&qs, "after")) != NULL) {
		if (!parse_int64(v, &n) || n < 0)
			query_error(&qs, "after", "must be a patient id (an integer >= 0)");
		else
			q->after = n;
	}
	query_refuse_unused(&qs, "is not a parameter of this statistic");
	bool refused = query_reply_errors(req, &qs);
	query_free(&qs);
	return !refused;
}

/* --- populations and groups --------------------------------------------- */

static const char *cell_value(const struct cohort_cell *c, int g)
{
	return g == 0 ? c->regimen : g == 1 ? c->histology : c->setting;
}

static int slot_count(const struct stats_query *q)
{
	int n = 1;
	if (q->group_by >= 0)
		for (const char *const *c = grouping_choices(q->group_by); *c; c++)
			n++;
	return n;
}

/* The group slot (1..n) of a cell's patients, 0 when not grouping, -1
 * when the filters leave them out. Slot 0 always holds the overall
 * figures. */
static int cell_slot(const struct stats_query *q, const struct cohort_cell *c)
{
	for (int g = 0; g < NGROUPINGS; g++)
		if (q->filter[g] && !listed(q->filter[g], cell_value(c, g)))
			return -1;
	if (q->group_by < 0)
		return 0;
	const char *const *choices = grouping_choices(q->group_by);
	for (int i = 0; choices[i]; i++)
		if (strcmp(choices[i], cell_value(c, q->group_by)) == 0)
			return i + 1;
	return -1;
}

/* Visits the slots a patient's figures go to: overall (0), then its own
 * group's slot when grouping (slot > 0). */
#define FOR_SLOTS(slot, s) for (int s = 0; s <= (slot); s += (slot) > 0 ? (slot) : 1)

/* --- JSON pieces --------------------------------------------------------- */

static const char *ci_name(enum ci_method m)
{
	return m == CI_EXACT ? "exact" : "wilson";
}

static json_t *real_or_null(bool defined, double v)
{
	return defined ? json_real(v) : json_null();
}

static json_t *proportion_json(int64_t k, int64_t n, const struct stats_query *q)
{
	struct proportion p = proportion_ci(k, n, q->ci, q->level);
	return json_pack("{s:I, s:I, s:o, s:{s:o, s:o, s:s, s:f}}", "count", (json_int_t)k, "total",
			 (json_int_t)n, "rate", real_or_null(p.defined, p.rate), "ci", "lower",
			 real_or_null(p.defined, p.lower), "upper",
			 real_or_null(p.defined, p.upper), "method", ci_name(q->ci), "level",
			 q->level);
}

static json_t *ci_definition(const struct stats_query *q)
{
	return json_pack("{s:s, s:f}", "method",
			 q->ci == CI_EXACT ? "exact (Clopper-Pearson, from the beta quantile)"
					   : "wilson (score interval, from the normal quantile)",
			 "level", q->level);
}

static json_t *filters_definition(const struct stats_query *q)
{
	json_t *f = json_object();
	for (int g = 0; g < NGROUPINGS; g++)
		if (q->filter[g])
			json_object_set_new(f, groupings[g], json_string(q->filter[g]));
	return f;
}

/* The link to the next page of a paged list (PARAM_PAGE): this request's
 * path and parameters, with after moved past the page's last record. */
static int keep_but_after(void *cls, const char *key, const char *value)
{
	if (strcmp(key, "after") != 0)
		query_keep(cls, key, value);
	return 0;
}

static char *next_link(const struct request *req, int64_t last)
{
	struct strbuf sb = {0};
	request_query_each(req, keep_but_after, &sb);
	char *url = xasprintf("%s?%s%safter=%lld", req->path, sb.data ? sb.data : "",
			      sb.len ? "&" : "", (long long)last);
	strbuf_free(&sb);
	return url;
}

/* Wraps per-slot figures into the common frame and replies (JSON or CSV);
 * next, when a list was cut at a page, goes in a Link header and, in JSON,
 * a "next" member. */
static void reply_stats_with(struct request *req, const struct stats_query *q, int64_t as_of,
			     json_t *definitions, json_t *slots[MAX_SLOTS], enum stats_kind kind,
			     const char *next, json_t *extra);

static void reply_stats(struct request *req, const struct stats_query *q, int64_t as_of,
			json_t *definitions, json_t *slots[MAX_SLOTS], enum stats_kind kind)
{
	reply_stats_with(req, q, as_of, definitions, slots, kind, NULL, NULL);
}

/* extra (taken, may be NULL): members of the body beyond the frame */
static void reply_stats_with(struct request *req, const struct stats_query *q, int64_t as_of,
			     json_t *definitions, json_t *slots[MAX_SLOTS], enum stats_kind kind,
			     const char *next, json_t *extra)
{
	json_object_set_new(definitions, "filters", filters_definition(q));
	json_object_set_new(definitions, "group_by",
			    q->group_by >= 0 ? json_string(groupings[q->group_by]) : json_null());
	json_t *body = json_pack("{s:o, s:I, s:o}", "definitions", definitions, "as_of",
				 (json_int_t)as_of, "overall", slots[0]);
	if (q->group_by >= 0) {
		json_t *groups = json_array();
		const char *const *choices = grouping_choices(q->group_by);
		for (int s = 1; s < slot_count(q); s++) {
			json_t *g = json_pack("{s:s}", "key", choices[s - 1]);
			json_object_update(g, slots[s]);
			json_decref(slots[s]);
			json_array_append_new(groups, g);
		}
		json_object_set_new(body, "groups", groups);
	}
	if (extra)
		json_object_update_new(body, extra);
	if (next) {
		/* the link holds only the path and percent-encoded parameters */
		json_object_set_new(body, "next", json_string(next));
		reply_header(req, "Link", "<%s>; rel=\"next\"", next);
	}
	if (!q->csv) {
		reply_json(req, 200, body);
		return;
	}
	char *csv = stats_csv(kind, body);
	json_decref(body);
	reply_owned(req, 200, "text/csv; charset=utf-8; header=present", csv,
		    csv ? strlen(csv) : 0);
}

/* --- /stats/summary ------------------------------------------------------ */

static json_t *count_object(const char *const *choices, const int64_t *counts)
{
	json_t *o = json_object();
	for (int i = 0; choices[i]; i++)
		json_object_set_new(o, choices[i], json_integer(counts[i]));
	return o;
}

static void summary(struct request *req, const struct stats_query *q, const struct cohort *c)
{
	int64_t patients[MAX_SLOTS] = {0}, treated_n[MAX_SLOTS] = {0}, courses[MAX_SLOTS] = {0};
	int64_t by[MAX_SLOTS][NGROUPINGS][8] = {{{0}}};
	for (size_t i = 0; i < c->ntallies; i++) {
		const struct cohort_tally *t = &c->tallies[i];
		int slot = cell_slot(q, &t->cell);
		if (slot < 0)
			continue;
		FOR_SLOTS(slot, s)
		{
			if (t->kind == TALLY_TREATED)
				treated_n[s] += t->n;
			else if (t->kind == TALLY_COURSES)
				courses[s] += t->n;
			if (t->kind != TALLY_PATIENTS)
				continue;
			patients[s] += t->n;
			for (int g = 0; g < NGROUPINGS; g++) {
				const char *const *choices = grouping_choices(g);
				for (int k = 0; choices[k]; k++)
					if (strcmp(choices[k], cell_value(&t->cell, g)) == 0)
						by[s][g][k] += t->n;
			}
		}
	}
	json_t *slots[MAX_SLOTS];
	for (int s = 0; s < slot_count(q); s++)
		slots[s] = json_pack("{s:I, s:I, s:I, s:o, s:o, s:o}", "patients",
				     (json_int_t)patients[s], "treated", (json_int_t)treated_n[s],
				     "courses", (json_int_t)courses[s], "by_setting",
				     count_object(grouping_choices(2), by[s][2]), "by_regimen",
				     count_object(grouping_choices(0), by[s][0]), "by_histology",
				     count_object(grouping_choices(1), by[s][1]));
	json_t *defs = json_pack("{s:s, s:s, s:s}", "population", "every patient (filters applied)",
				 "treated", "patients with at least one course", "courses",
				 "every course of those patients");
	reply_stats(req, q, c->as_of, defs, slots, STATS_COUNTS);
}

/* --- best overall response ---------------------------------------------- */

static const char *const *const responses = summary_responses;
enum { CR = RANK_CR, PR = RANK_PR, NE = RANK_NE };

static void response(struct request *req, const struct stats_query *q, const struct cohort *c)
{
	int64_t counts[MAX_SLOTS][RANK_COUNT] = {{0}}, n[MAX_SLOTS] = {0};
	/* the tallies hold treated metastatic patients by best response */
	for (size_t i = 0; i < c->ntallies; i++) {
		const struct cohort_tally *t = &c->tallies[i];
		int slot = cell_slot(q, &t->cell);
		if (slot < 0 || t->key < CR || t->key > NE || (q->evaluable && t->key == NE))
			continue;
		FOR_SLOTS(slot, s)
		{
			counts[s][t->key] += t->n;
			n[s] += t->n;
		}
	}
	json_t *slots[MAX_SLOTS];
	for (int s = 0; s < slot_count(q); s++) {
		json_t *best = json_object();
		for (int r = CR; r <= NE; r++)
			json_object_set_new(best, responses[r], json_integer(counts[s][r]));
		slots[s] = json_pack("{s:I, s:o, s:o, s:o}", "patients", (json_int_t)n[s],
				     "best_response", best, "objective_response",
				     proportion_json(counts[s][CR] + counts[s][PR], n[s], q),
				     "complete_response", proportion_json(counts[s][CR], n[s], q));
	}
	json_t *defs = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:b, s:o}", "population",
		q->evaluable ? "treated metastatic patients whose best overall response is not NE"
			     : "treated metastatic patients (adjuvant patients never count)",
		"best_response",
		"the best response over all of a patient's outcomes, CR > PR > MR > SD > PD > NE; "
		"NE when it has none",
		"objective_response",
		"patients whose best overall response is CR or PR / population",
		"complete_response", "patients whose best overall response is CR / population",
		"confirmed_only_rule",
		"with confirmed_only=true an unconfirmed CR or PR counts as SD", "confirmed_only",
		q->confirmed_only, "ci", ci_definition(q));
	reply_stats(req, q, c->as_of, defs, slots, STATS_PROPORTIONS);
}

/* --- per-slot term tallies (mortality's causes, toxicity's terms) ------- */

/* One term's counts in one slot: count orders the list (patients with a
 * death of that term; units at or above min_grade), by_grade is toxicity's. */
struct term_tally {
	const char *term; /* borrowed from the cohort */
	int64_t count;
	int64_t by_grade[5];
};

/* Per slot, a list with room for every event, and its length. */
struct tallies {
	struct term_tally *list[MAX_SLOTS];
	size_t n[MAX_SLOTS];
};

static void tallies_free(struct tallies *t)
{
	for (int s = 0; s < MAX_SLOTS; s++)
		free(t->list[s]);
}

/* False (nothing held) when memory ran out. */
static bool tallies_init(struct tallies *t, size_t events)
{
	bool ok = true;
	*t = (struct tallies){0};
	for (int s = 0; s < MAX_SLOTS; s++)
		ok &= (t->list[s] = xcalloc(events + 1, sizeof *t->list[s])) != NULL;
	if (!ok)
		tallies_free(t);
	return ok;
}

/* The term's tally in slot s, added when it is new. */
static struct term_tally *tally_of(struct tallies *t, int s, const char *term)
{
	size_t k = 0;
	while (k < t->n[s] && strcmp(t->list[s][k].term, term) != 0)
		k++;
	if (k == t->n[s])
		t->list[s][t->n[s]++].term = term;
	return &t->list[s][k];
}

static int by_count_then_term(const void *a, const void *b)
{
	const struct term_tally *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->term, y->term);
}

static void tallies_sort(struct tallies *t, int s)
{
	qsort(t->list[s], t->n[s], sizeof *t->list[s], by_count_then_term);
}

/* Per slot, the treated patients and their courses (each set to 0 first). */
static void count_treated(const struct stats_query *q, const struct cohort *c,
			  int64_t patients[MAX_SLOTS], int64_t courses[MAX_SLOTS])
{
	for (int s = 0; s < MAX_SLOTS; s++)
		patients[s] = courses[s] = 0;
	for (size_t i = 0; i < c->ntallies; i++) {
		const struct cohort_tally *t = &c->tallies[i];
		int slot = cell_slot(q, &t->cell);
		if (slot < 0 || (t->kind != TALLY_TREATED && t->kind != TALLY_COURSES))
			continue;
		FOR_SLOTS(slot, s)
		{
			if (t->kind == TALLY_TREATED)
				patients[s] += t->n;
			else
				courses[s] += t->n;
		}
	}
}

/* --- /stats/mortality ---------------------------------------------------- */

static void mortality(struct request *req, const struct stats_query *q, const struct cohort *c)
{
	int64_t courses[MAX_SLOTS] = {0}, treated_n[MAX_SLOTS] = {0};
	int64_t death_courses[MAX_SLOTS] = {0}, death_patients[MAX_SLOTS] = {0};
	struct tallies causes;
	if (!tallies_init(&causes, c->ndeaths)) {
		reply_out_of_memory(req);
		return;
	}

	count_treated(q, c, treated_n, courses);
	/* Deaths come ordered by patient and course: count each course and each
	 * patient once, and each term once per patient. */
	for (size_t e = 0; e < c->ndeaths; e++) {
		const struct cohort_death *ev = &c->deaths[e];
		int slot = cell_slot(q, &ev->cell);
		if (slot < 0)
			continue;
		bool new_patient = e == 0 || c->deaths[e - 1].patient_id != ev->patient_id;
		bool new_course = new_patient || c->deaths[e - 1].course_id != ev->course_id;
		bool new_term = true;
		for (size_t k = e; k-- > 0 && c->deaths[k].patient_id == ev->patient_id;)
			if (strcmp(c->deaths[k].term, ev->term) == 0)
				new_term = false;
		FOR_SLOTS(slot, s)
		{
			death_patients[s] += new_patient;
			death_courses[s] += new_course;
			if (new_term)
				tally_of(&causes, s, ev->term)->count++;
		}
	}
	json_t *slots[MAX_SLOTS];
	for (int s = 0; s < slot_count(q); s++) {
		tallies_sort(&causes, s);
		json_t *list = json_array();
		for (size_t k = 0; k < causes.n[s]; k++)
			json_array_append_new(list, json_pack("{s:s, s:I}", "term",
							      causes.list[s][k].term, "count",
							      (json_int_t)causes.list[s][k].count));
		slots[s] = json_pack(
			"{s:o, s:o, s:o}", "per_course",
			proportion_json(death_courses[s], courses[s], q), "per_patient",
			proportion_json(death_patients[s], treated_n[s], q), "causes", list);
	}
	tallies_free(&causes);
	json_t *defs = json_pack(
		"{s:s, s:s, s:s, s:s, s:o}", "treatment_related_death",
		"a grade-5 toxicity with attribution possible, probable or definite", "per_course",
		"courses with at least one treatment-related death / all courses of the "
		"population's patients",
		"per_patient",
		"patients with at least one treatment-related death / treated patients", "causes",
		"per term, patients with a treatment-related death of that term; most first", "ci",
		ci_definition(q));
	reply_stats(req, q, c->as_of, defs, slots, STATS_PROPORTIONS);
}

/* --- /stats/toxicity ----------------------------------------------------- */

static void toxicity(struct request *req, const struct stats_query *q, const struct cohort *c)
{
	int64_t units[MAX_SLOTS] = {0};
	struct tallies terms;
	if (!tallies_init(&terms, c->ntallies)) {
		reply_out_of_memory(req);
		return;
	}

	int64_t treated_n[MAX_SLOTS] = {0}, courses[MAX_SLOTS] = {0};
	count_treated(q, c, treated_n, courses);
	for (int s = 0; s < MAX_SLOTS; s++)
		units[s] = q->by_course ? courses[s] : treated_n[s];
	/* Each worst-grade tally counts the units whose worst grade for one term
	 * is its key. */
	for (size_t e = 0; e < c->ntallies; e++) {
		const struct cohort_tally *ev = &c->tallies[e];
		int slot = cell_slot(q, &ev->cell);
		if (slot < 0 || !ev->term || ev->key < 1 || ev->key > 5)
			continue;
		FOR_SLOTS(slot, s)
		{
			struct term_tally *t = tally_of(&terms, s, ev->term);
			t->by_grade[ev->key - 1] += ev->n;
			t->count += ev->key >= q->min_grade ? ev->n : 0;
		}
	}
	json_t *slots[MAX_SLOTS];
	for (int s = 0; s < slot_count(q); s++) {
		tallies_sort(&terms, s);
		json_t *list = json_array();
		for (size_t k = 0; k < terms.n[s]; k++) {
			const struct term_tally *t = &terms.list[s][k];
			json_array_append_new(
				list,
				json_pack("{s:s, s:[I,I,I,I,I], s:o}", "term", t->term, "by_grade",
					  (json_int_t)t->by_grade[0], (json_int_t)t->by_grade[1],
					  (json_int_t)t->by_grade[2], (json_int_t)t->by_grade[3],
					  (json_int_t)t->by_grade[4], "at_or_above",
					  proportion_json(t->count, units[s], q)));
		}
		slots[s] = json_pack("{s:I, s:o}", "units", (json_int_t)units[s], "terms", list);
	}
	tallies_free(&terms);
	json_t *defs = json_pack(
		"{s:s, s:s, s:s, s:i, s:s, s:o}", "unit", q->by_course ? "course" : "patient",
		"units",
		q->by_course ? "every course of the population's patients" : "treated patients",
		"counting", "each unit counted once per term, at its worst grade for that term",
		"min_grade", q->min_grade, "at_or_above",
		"units whose worst grade for the term is >= min_grade / units; terms ordered by "
		"it, "
		"most first",
		"ci", ci_definition(q));
	reply_stats(req, q, c->as_of, defs, slots, STATS_TOXICITY);
}

/* --- /stats/survival ----------------------------------------------------- */

/* Days are whole except for a median taken between two times. */
static json_t *days_or_null(bool defined, double days)
{
	if (!defined)
		return json_null();
	return days == floor(days) ? json_integer((json_int_t)days) : json_real(days);
}

static json_t *median_json(const struct km_median *m)
{
	return json_pack("{s:o, s:o, s:o}", "time_days", days_or_null(m->reached, m->time), "lower",
			 days_or_null(m->lower_reached, m->lower), "upper",
			 days_or_null(m->upper_reached, m->upper));
}

static json_t *landmarks_json(const struct km_fit *fit, const struct stats_query *q)
{
	json_t *list = json_array();
	for (int i = 0; i < q->nat; i++) {
		struct km_landmark at = km_at(fit, q->at[i]);
		json_array_append_new(list,
				      json_pack("{s:o, s:I, s:f, s:o, s:o}", "time_days",
						days_or_null(true, at.time), "n_risk",
						(json_int_t)at.n_risk, "survival", at.survival,
						"lower", real_or_null(at.ci_defined, at.lower),
						"upper", real_or_null(at.ci_defined, at.upper)));
	}
	return list;
}

static json_t *rmst_json(const struct km_fit *fit, const struct stats_query *q)
{
	if (fit->n == 0)
		return json_pack("{s:o, s:n, s:n, s:n, s:n, s:s}", "tau_days",
				 days_or_null(true, q->tau), "estimate", "se", "lower", "upper",
				 "note", "no patients");
	struct km_rmean m = km_restricted_mean(fit, q->tau, q->level);
	json_t *out =
		json_pack("{s:o, s:f, s:f, s:f, s:f}", "tau_days", days_or_null(true, m.tau),
			  "estimate", m.estimate, "se", m.se, "lower", m.lower, "upper", m.upper);
	if (m.before_first)
		json_object_set_new(out, "note",
				    json_string("tau is before the curve's first time: the curve "
						"is 1 up to it (R refuses such a tau)"));
	return out;
}

static json_t *survival_slot(struct km_group *groups, size_t n, const struct stats_query *q)
{
	struct km_fit fit;
	km_estimate_groups(groups, n, q->level, &fit);
	json_t *curve = json_array();
	for (size_t i = 0; i < fit.npoints; i++) {
		const struct km_point *pt = &fit.points[i];
		json_array_append_new(curve,
				      json_pack("{s:o, s:I, s:I, s:I, s:f, s:o, s:o}", "time_days",
						days_or_null(true, pt->time), "n_risk",
						(json_int_t)pt->n_risk, "n_event",
						(json_int_t)pt->n_event, "n_censor",
						(json_int_t)pt->n_censor, "survival", pt->survival,
						"lower", real_or_null(pt->ci_defined, pt->lower),
						"upper", real_or_null(pt->ci_defined, pt->upper)));
	}
	json_t *out = json_pack("{s:I, s:I, s:o, s:o}", "n", (json_int_t)fit.n, "events",
				(json_int_t)fit.events, "median", median_json(&fit.median), "curve",
				curve);
	if (q->nat > 0)
		json_object_set_new(out, "at", landmarks_json(&fit, q));
	if (q->tau > 0)
		json_object_set_new(out, "rmst", rmst_json(&fit, q));
	km_fit_free(&fit);
	return out;
}

/* The log-rank test and the hazard ratios of the groups with patients
 * (slots 1..), into body; false (a 400 sent) when the reference asked for
 * has no patients. */
static bool compare_groups(struct request *req, const struct stats_query *q,
			   struct km_group *groups[MAX_SLOTS], const size_t n[MAX_SLOTS],
			   json_t *body)
{
	const char *const *choices = grouping_choices(q->group_by);
	struct survival_group present[MAX_SLOTS];
	const char *keys[MAX_SLOTS];
	size_t np = 0, reference = 0;
	bool found = false;
	for (int s = 1; s < slot_count(q); s++) {
		int64_t subjects = 0;
		for (size_t i = 0; i < n[s]; i++)
			subjects += groups[s][i].events + groups[s][i].censored;
		if (subjects == 0)
			continue;
		if (q->reference && strcmp(q->reference, choices[s - 1]) == 0) {
			reference = np;
			found = true;
		}
		keys[np] = choices[s - 1];
		present[np++] = (struct survival_group){groups[s], n[s]};
	}
	if (q->reference && !found) {
		struct query qs;
		query_init(&qs);
		query_error(&qs, "reference", "has no patients in this population");
		query_reply_errors(req, &qs);
		query_free(&qs);
		return false;
	}
	struct logrank lr = logrank_test(present, np);
	json_t *comparison = json_pack("{s:s, s:o, s:i, s:o}", "test", "logrank", "chisq",
				       real_or_null(lr.defined, lr.chisq), "df",
				       lr.defined ? lr.df : 0, "p", real_or_null(lr.defined, lr.p));
	if (!lr.defined)
		json_object_set_new(comparison, "note",
				    json_string("fewer than two groups with patients expecting "
						"events: nothing to compare"));
	json_t *ratios = json_array();
	struct hazard_ratio hr[MAX_SLOTS];
	if (np > 0 && !cox_hazard_ratios(present, np, reference, q->level, hr)) {
		json_decref(comparison);
		json_decref(ratios);
		reply_out_of_memory(req);
		return false;
	}
	for (size_t g = 0; g < np; g++) {
		if (g == reference)
			continue;
		json_t *r = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "key", keys[g], "reference",
				      keys[reference], "hr", real_or_null(hr[g].defined, hr[g].hr),
				      "lower", real_or_null(hr[g].defined, hr[g].lower), "upper",
				      real_or_null(hr[g].defined, hr[g].upper), "p",
				      real_or_null(hr[g].defined, hr[g].p));
		if (!hr[g].defined)
			json_object_set_new(r, "note", json_string(hr[g].note));
		json_array_append_new(ratios, r);
	}
	json_object_set_new(body, "comparison", comparison);
	json_object_set_new(body, "hazard_ratios", ratios);
	return true;
}

/* What each endpoint counts: population, time zero, event, censoring. */
static json_t *endpoint_definition(const struct stats_query *q)
{
	switch (q->endpoint) {
	case ENDPOINT_PROGRESSION_FREE:
		return json_pack(
			"{s:s, s:s, s:s, s:s, s:s}", "endpoint", "progression_free", "population",
			"treated patients", "time_zero", "the patient's first course's started_on",
			"event",
			"the earlier of the first outcome with response PD and death (died_on)",
			"censoring",
			"at the latest outcome assessment on or after time zero; at time zero when "
			"there is none");
	case ENDPOINT_RESPONSE_DURATION:
		return json_pack(
			"{s:s, s:s, s:s, s:s, s:s}", "endpoint", "response_duration", "population",
			q->confirmed_only
				? "treated metastatic patients whose best overall response, "
				  "read confirmed_only, is CR or PR"
				: "treated metastatic patients whose best overall "
				  "response is CR or PR",
			"time_zero",
			q->confirmed_only ? "the first outcome with a confirmed CR or PR"
					  : "the first outcome with CR or PR",
			"event",
			"the earlier of the first outcome with PD after time zero and death",
			"censoring", "at the latest outcome assessment");
	default:
		return json_pack(
			"{s:s, s:s, s:s, s:s, s:s}", "endpoint", "overall", "population",
			"treated patients", "time_zero", "the patient's first course's started_on",
			"event", "death (died_on)", "censoring",
			"at the patient's latest date on record: the latest of last_contact_on, "
			"died_on and every date on its courses, outcomes and toxicities");
	}
}

static json_t *survival_definitions(const struct stats_query *q)
{
	json_t *defs = endpoint_definition(q);
	json_object_update_new(
		defs,
		json_pack("{s:s, s:s, s:f}", "estimator",
			  "Kaplan-Meier; Greenwood variance; log(-log) pointwise intervals",
			  "median",
			  "R survival's rule: first time S(t) <= 0.5 (midpoint where S(t) = 0.5 "
			  "over an interval); its interval from the same rule on the bounds; null "
			  "when not reached",
			  "level", q->level));
	if (q->nat > 0)
		json_object_set_new(
			defs, "at",
			json_string("the estimate and interval at the last time at or "
				    "before each time, 1 before the first; n_risk: those "
				    "followed to that time or later (R: summary(fit, "
				    "times, extend = TRUE))"));
	if (q->tau > 0)
		json_object_set_new(
			defs, "rmst",
			json_string("restricted mean survival time: the area under the "
				    "curve from 0 to tau_days; se as R's print(fit, "
				    "rmean = tau); interval estimate +- z se at level"));
	if (q->group_by >= 0) {
		json_object_set_new(defs, "comparison",
				    json_string("log-rank test over the groups with patients (R: "
						"survdiff, rho = 0); df one fewer than the groups "
						"expecting events"));
		json_object_set_new(
			defs, "hazard_ratios",
			json_string("Cox proportional hazards of the grouping, Efron ties (R: "
				    "coxph(Surv(t, e) ~ group, ties = 'efron')); hr = exp(coef) "
				    "against the reference (reference=, else the first group with "
				    "patients), Wald interval at level, Wald p; null with a note "
				    "where the estimate does not exist"));
	}
	return defs;
}

static void survival(struct request *req, const struct stats_query *q, const struct cohort *c)
{
	/* patients counted by days from time zero to the event or censoring,
	 * a group per tally: the estimator adds up groups of one time */
	struct km_group *groups[MAX_SLOTS];
	size_t n[MAX_SLOTS] = {0};
	bool ok = true;
	for (int s = 0; s < MAX_SLOTS; s++)
		ok &= (groups[s] = xmalloc((c->ntallies + 1) * sizeof **groups)) != NULL;
	if (!ok) {
		for (int s = 0; s < MAX_SLOTS; s++)
			free(groups[s]);
		reply_out_of_memory(req);
		return;
	}
	for (size_t i = 0; i < c->ntallies; i++) {
		const struct cohort_tally *t = &c->tallies[i];
		int slot = cell_slot(q, &t->cell);
		if (slot < 0)
			continue;
		bool event = t->kind == TALLY_DIED || t->kind == TALLY_PFS_EVENT ||
			     t->kind == TALLY_DOR_EVENT || t->kind == TALLY_DOR_EVENT_CONFIRMED;
		struct km_group g = {(double)t->key, event ? t->n : 0, event ? 0 : t->n};
		FOR_SLOTS(slot, s)
		groups[s][n[s]++] = g;
	}
	json_t *extra = json_object();
	if (q->group_by >= 0 && !compare_groups(req, q, groups, n, extra)) {
		json_decref(extra);
		for (int s = 0; s < MAX_SLOTS; s++)
			free(groups[s]);
		return;
	}
	json_t *slots[MAX_SLOTS];
	for (int s = 0; s < slot_count(q); s++)
		slots[s] = survival_slot(groups[s], n[s], q);
	for (int s = 0; s < MAX_SLOTS; s++)
		free(groups[s]);
	reply_stats_with(req, q, c->as_of, survival_definitions(q), slots, STATS_SURVIVAL, NULL,
			 extra);
}

/* --- /stats/durable-response --------------------------------------------- */

static void durable_response(struct request *req, const struct stats_query *q,
			     const struct cohort *c)
{
	json_t *lists[MAX_SLOTS];
	int64_t responders[MAX_SLOTS] = {0}, durable_n[MAX_SLOTS] = {0},
		recurred_n[MAX_SLOTS] = {0};
	for (int s = 0; s < MAX_SLOTS; s++)
		lists[s] = json_array();
	/* the counts, of every complete responder, from the tallies (key: days
	 * from the first CR to the latest date on record) */
	for (size_t i = 0; i < c->ntallies; i++) {
		const struct cohort_tally *t = &c->tallies[i];
		int slot = cell_slot(q, &t->cell);
		if (slot < 0)
			continue;
		bool recurred =
			t->kind == TALLY_CR_RECURRED || t->kind == TALLY_CR_RECURRED_CONFIRMED;
		bool durable = !recurred && (double)t->key / DAYS_PER_MONTH >= q->min_months;
		FOR_SLOTS(slot, s)
		{
			responders[s] += t->n;
			durable_n[s] += durable ? t->n : 0;
			recurred_n[s] += recurred ? t->n : 0;
		}
	}
	/* the list: the page's */
	for (size_t i = 0; i < c->nresponders; i++) {
		const struct cohort_responder *p = &c->responders[i];
		int slot = cell_slot(q, &p->cell);
		if (slot < 0)
			continue;
		double months =
			(double)(date_days(p->latest) - date_days(p->first_cr)) / DAYS_PER_MONTH;
		bool durable = !p->recurred && months >= q->min_months;
		FOR_SLOTS(slot, s)
		json_array_append_new(lists[s],
				      json_pack("{s:I, s:s, s:f, s:b, s:b}", "patient_id",
						(json_int_t)p->patient_id, "first_cr_on",
						p->first_cr, "months_followed", months, "recurred",
						p->recurred, "durable", durable));
	}
	json_t *slots[MAX_SLOTS];
	for (int s = 0; s < slot_count(q); s++)
		slots[s] = json_pack("{s:I, s:I, s:I, s:o}", "complete_responders",
				     (json_int_t)responders[s], "durable", (json_int_t)durable_n[s],
				     "recurred", (json_int_t)recurred_n[s], "patients", lists[s]);
	for (int s = slot_count(q); s < MAX_SLOTS; s++)
		json_decref(lists[s]);
	json_t *defs = json_pack(
		"{s:s, s:s, s:s, s:s, s:f, s:f, s:b}", "population",
		"patients whose best overall response is CR", "first_cr_on",
		"the earliest outcome with response CR", "recurred",
		"a PD assessed after the first CR", "durable",
		"no PD after the first CR, and at least min_months from the first CR to the latest "
		"date on record",
		"min_months", q->min_months, "days_per_month", DAYS_PER_MONTH, "confirmed_only",
		q->confirmed_only);
	char *next = c->more_responders && c->nresponders
			     ? next_link(req, c->responders[c->nresponders - 1].patient_id)
			     : NULL;
	reply_stats_with(req, q, c->as_of, defs, slots, STATS_DURABLE, next, NULL);
	free(next);
}

/* --- the routes ---------------------------------------------------------- */

typedef void (*stats_fn)(struct request *, const struct stats_query *, const struct cohort *);

/* Computed answers, reused while the data version they were computed at is
 * still current: a dashboard polling the same figures costs one indexed
 * read, not a recomputation. A write moves the version on, and the next
 * request computes afresh, so an answer is never stale. */
#define ANSWER_CACHE_SIZE 64

struct cached_answer {
	uint64_t key;
	char path[32];
	int64_t as_of;
	char *body;
	size_t len;
	const char *content_type;
	char *link; /* its Link header (a paged list's next), or NULL */
	uint64_t used;
};

static struct cached_answer answers[ANSWER_CACHE_SIZE];
static uint64_t answers_clock;
static pthread_mutex_t answers_lock = PTHREAD_MUTEX_INITIALIZER;

static bool answer_cached(struct request *req, uint64_t key, int64_t as_of)
{
	bool hit = false;
	pthread_mutex_lock(&answers_lock);
	for (int i = 0; i < ANSWER_CACHE_SIZE && !hit; i++) {
		struct cached_answer *a = &answers[i];
		if (a->body && a->key == key && a->as_of == as_of &&
		    strcmp(a->path, req->path) == 0) {
			a->used = ++answers_clock;
			char *copy = xmalloc(a->len + 1);
			if (copy)
				memcpy(copy, a->body, a->len + 1);
			reply_owned(req, 200, a->content_type, copy, a->len); /* a 503 when NULL */
			if (a->link)
				reply_header(req, "Link", "%s", a->link);
			hit = true;
		}
	}
	pthread_mutex_unlock(&answers_lock);
	return hit;
}

/* Never an answer made while an allocation failed: it may lack a member
 * that Jansson could not add (util.h), and would be served again. */
static void answer_keep(const struct request *req, uint64_t key, int64_t as_of)
{
	if (req->status != 200 || !req->out || strlen(req->path) >= sizeof answers[0].path ||
	    alloc_failure_seen())
		return;
	char *copy = xmalloc(req->out_len + 1);
	if (!copy)
		return;
	memcpy(copy, req->out, req->out_len);
	copy[req->out_len] = '\0';
	char *link = NULL;
	for (int i = 0; i < req->nheaders; i++)
		if (strcmp(req->headers[i].name, "Link") == 0 &&
		    !(link = xstrdup(req->headers[i].value))) {
			free(copy);
			return;
		}
	pthread_mutex_lock(&answers_lock);
	struct cached_answer *slot = &answers[0];
	for (int i = 0; i < ANSWER_CACHE_SIZE; i++)
		if (answers[i].used < slot->used)
			slot = &answers[i];
	free(slot->body);
	free(slot->link);
	*slot = (struct cached_answer){.key = key,
				       .as_of = as_of,
				       .body = copy,
				       .len = req->out_len,
				       .content_type = req->content_type,
				       .link = link,
				       .used = ++answers_clock};
	snprintf(slot->path, sizeof slot->path, "%s", req->path);
	pthread_mutex_unlock(&answers_lock);
}

void stats_cache_clear(void)
{
	pthread_mutex_lock(&answers_lock);
	for (int i = 0; i < ANSWER_CACHE_SIZE; i++) {
		free(answers[i].body);
		free(answers[i].link);
		answers[i] = (struct cached_answer){0};
	}
	pthread_mutex_unlock(&answers_lock);
}

/* FNV-1a over the route and the parsed query (every bit of each number,
 * so queries whose answers differ never share a tag or a cached answer). */
static uint64_t query_key(const struct request *req, const struct stats_query *q)
{
	uint64_t h = 1469598103934665603ULL;
	const char *texts[] = {req->path, q->csv ? "csv" : "json"};
	for (int i = 0; i < 2; i++)
		for (const char *p = texts[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ (uint64_t)q->group_by) * 1099511628211ULL;
	for (int g = 0; g < NGROUPINGS; g++)
		for (const char *p = q->filter[g] ? q->filter[g] : "-"; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (const char *p = q->reference ? q->reference : "-"; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	double numbers[MAX_LANDMARKS + 12] = {
		q->ci,        q->level,      q->evaluable, q->confirmed_only, q->by_course,
		q->min_grade, q->min_months, q->limit,     (double)q->after,  q->endpoint,
		q->tau,       q->nat};
	for (int i = 0; i < q->nat; i++)
		numbers[12 + i] = q->at[i];
	for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
		uint64_t bits;
		memcpy(&bits, &numbers[i], sizeof bits);
		h = (h ^ bits) * 1099511628211ULL;
	}
	return h;
}

/* Parses; reads the data version; answers 304 when the client holds the
 * current answer, the cached answer when there is one, else loads the
 * cohort parts the statistic needs and computes. The ETag is made of the
 * data version and the query. */
static void serve_stats(struct request *req, unsigned allowed, unsigned parts, stats_fn fn)
{
	struct stats_query q;
	if (!parse_query(req, allowed, &q))
		return;
	uint64_t key = query_key(req, &q);
	int64_t as_of = 0;
	int rc = store_data_version(req->db, &as_of);
	if (rc != DB_OK) {
		reply_db_error(req, rc);
		return;
	}
	char etag[64];
	snprintf(etag, sizeof etag, "\"%lld-%016llx\"", (long long)as_of, (unsigned long long)key);
	const char *inm = request_header(req, "If-None-Match");
	if (etag_in_list(inm, etag)) {
		reply_header(req, "ETag", "%s", etag);
		reply_vary(req, "Accept");
		reply_empty(req, 304);
		return;
	}
	if (!answer_cached(req, key, as_of)) {
		if (reply_defer(req))
			return;
		inject_pause("statistic");
		struct cohort c;
		struct cohort_filter filter = {q.filter[0], q.filter[1], q.filter[2], q.after,
					       q.limit};
		if (q.confirmed_only && (parts & COHORT_BEST))
			parts = (parts & ~COHORT_BEST) | COHORT_BEST_CONFIRMED;
		if (q.confirmed_only && (parts & COHORT_RESPONDERS))
			parts = (parts & ~COHORT_RESPONDERS) | COHORT_RESPONDERS_CONFIRMED;
		if ((parts & COHORT_SURVIVAL) && q.endpoint != ENDPOINT_OVERALL)
			parts = (parts & ~COHORT_SURVIVAL) |
				(q.endpoint == ENDPOINT_PROGRESSION_FREE ? COHORT_PROGRESSION_FREE
				 : q.confirmed_only ? COHORT_RESPONSE_DURATION_CONFIRMED
						    : COHORT_RESPONSE_DURATION);
		rc = store_cohort_load(req->db, parts, &filter, &c);
		if (rc != DB_OK) {
			reply_db_error(req, rc);
			return;
		}
		/* the snapshot may be newer than the version read above */
		as_of = c.as_of;
		snprintf(etag, sizeof etag, "\"%lld-%016llx\"", (long long)as_of,
			 (unsigned long long)key);
		fn(req, &q, &c);
		cohort_free(&c);
		answer_keep(req, key, as_of);
	}
	/* a refusal the figures led to (a reference group without patients)
	 * is no representation to tag */
	if (req->status == 200)
		reply_header(req, "ETag", "%s", etag);
	reply_vary(req, "Accept");
}

void stats_summary(struct request *req)
{
	serve_stats(req, 0, COHORT_COUNTS, summary);
}

void stats_response(struct request *req)
{
	serve_stats(req, PARAM_CI | PARAM_LEVEL | PARAM_POPULATION | PARAM_CONFIRMED_ONLY,
		    COHORT_BEST, response);
}

void stats_mortality(struct request *req)
{
	serve_stats(req, PARAM_CI | PARAM_LEVEL, COHORT_COUNTS | COHORT_DEATHS, mortality);
}

void stats_toxicity(struct request *req)
{
	const char *unit = request_query(req, "unit");
	bool by_course = unit && strcmp(unit, "course") == 0;
	serve_stats(req, PARAM_CI | PARAM_LEVEL | PARAM_UNIT | PARAM_MIN_GRADE,
		    COHORT_COUNTS | (by_course ? COHORT_WORST_BY_COURSE : COHORT_WORST_BY_PATIENT),
		    toxicity);
}

void stats_survival(struct request *req)
{
	serve_stats(req, PARAM_LEVEL | PARAM_SURVIVAL, COHORT_SURVIVAL, survival);
}

void stats_durable_response(struct request *req)
{
	serve_stats(req, PARAM_CONFIRMED_ONLY | PARAM_MIN_MONTHS | PARAM_PAGE, COHORT_RESPONDERS,
		    durable_response);
}

/* CSV for the statistics routes: R's read.csv and SAS's PROC IMPORT read
 * it as it is. Columns are fixed per kind of statistic; an empty cell is a
 * null (an undefined rate or interval, a median not reached). */
#include "stats_csv.h"

#include <stdbool.h>
#include <string.h>

#include "csv.h"
#include "util.h"

/* A JSON scalar as a cell: integers plainly, reals to 15 significant digits (as in JSON),
 * booleans as true/false, null as empty; text neutralised (csv.h), numbers never. */
static void cell(struct strbuf *sb, json_t *v)
{
	char buf[64];
	if (json_is_integer(v)) {
		snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
		csv_number(sb, buf, false);
	} else if (json_is_real(v)) {
		snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
		csv_number(sb, buf, false);
	} else if (json_is_boolean(v)) {
		csv_cell(sb, json_is_true(v) ? "true" : "false", false);
	} else {
		csv_cell(sb, json_string_value(v), false); /* NULL (empty) for null */
	}
}

static void proportion_cells(struct strbuf *sb, json_t *p)
{
	json_t *ci = json_object_get(p, "ci");
	cell(sb, json_object_get(p, "count"));
	cell(sb, json_object_get(p, "total"));
	cell(sb, json_object_get(p, "rate"));
	cell(sb, json_object_get(ci, "lower"));
	cell(sb, json_object_get(ci, "upper"));
	cell(sb, json_object_get(ci, "method"));
	cell(sb, json_object_get(ci, "level"));
}

/* group,figure,count,total,rate,ci_lower,ci_upper,ci_method,ci_level */
static void figure_rows(struct strbuf *sb, const char *group, json_t *figures)
{
	const char *name;
	json_t *v;
	json_object_foreach(figures, name, v)
	{
		if (strcmp(name, "key") == 0)
			continue;
		if (json_is_integer(v)) {
			csv_cell(sb, group, true);
			csv_cell(sb, name, false);
			cell(sb, v);
			strbuf_puts(sb, ",,,,,,");
			csv_end_row(sb);
		} else if (json_is_object(v) && json_object_get(v, "ci")) {
			csv_cell(sb, group, true);
			csv_cell(sb, name, false);
			proportion_cells(sb, v);
			csv_end_row(sb);
		} else if (json_is_object(v)) {
			const char *k;
			json_t *count;
			json_object_foreach(v, k, count)
			{
				char *figure = xasprintf("%s.%s", name, k);
				csv_cell(sb, group, true);
				csv_cell(sb, figure, false);
				cell(sb, count);
				strbuf_puts(sb, ",,,,,,");
				csv_end_row(sb);
				free(figure);
			}
		} else if (json_is_array(v)) {
			size_t i;
			json_t *item;
			json_array_foreach(v, i, item)
			{
				char *figure =
					xasprintf("%s.%s", name,
						  json_string_value(json_object_get(item, "term")));
				csv_cell(sb, group, true);
				csv_cell(sb, figure, false);
				cell(sb, json_object_get(item, "count"));
				strbuf_puts(sb, ",,,,,,");
				csv_end_row(sb);
				free(figure);
			}
		}
	}
}

/* group,term,units,grade_1..grade_5,count,total,rate,ci_lower,ci_upper,ci_method,ci_level */
static void toxicity_rows(struct strbuf *sb, const char *group, json_t *figures)
{
	size_t i;
	json_t *term;
	json_array_foreach(json_object_get(figures, "terms"), i, term)
	{
		csv_cell(sb, group, true);
		cell(sb, json_object_get(term, "term"));
		cell(sb, json_object_get(figures, "units"));
		for (size_t g = 0; g < 5; g++)
			cell(sb, json_array_get(json_object_get(term, "by_grade"), g));
		proportion_cells(sb, json_object_get(term, "at_or_above"));
		csv_end_row(sb);
	}
}

/* group,figure,time_days,n_risk,n_event,n_censor,survival,lower,upper,
 * estimate,se,df,p,reference: the median row carries n and events in n_risk
 * and n_event; a landmark (figure "at") its time, n_risk, survival and
 * bounds; the restricted mean (figure "rmst") tau in time_days, estimate,
 * se and bounds. The comparison between groups follows the groups
 * (survival_comparison_rows). */
static void survival_rows(struct strbuf *sb, const char *group, json_t *figures)
{
	json_t *median = json_object_get(figures, "median");
	csv_cell(sb, group, true);
	csv_cell(sb, "median", false);
	cell(sb, json_object_get(median, "time_days"));
	cell(sb, json_object_get(figures, "n"));
	cell(sb, json_object_get(figures, "events"));
	strbuf_puts(sb, ",,");
	cell(sb, json_object_get(median, "lower"));
	cell(sb, json_object_get(median, "upper"));
	strbuf_puts(sb, ",,,,,");
	csv_end_row(sb);
	size_t i;
	json_t *pt;
	json_array_foreach(json_object_get(figures, "curve"), i, pt)
	{
		static const char *const cols[] = {"time_days", "n_risk", "n_event", "n_censor",
						   "survival",  "lower",  "upper"};
		csv_cell(sb, group, true);
		csv_cell(sb, "curve", false);
		for (size_t c = 0; c < 7; c++)
			cell(sb, json_object_get(pt, cols[c]));
		strbuf_puts(sb, ",,,,,");
		csv_end_row(sb);
	}
	json_array_foreach(json_object_get(figures, "at"), i, pt)
	{
		csv_cell(sb, group, true);
		csv_cell(sb, "at", false);
		cell(sb, json_object_get(pt, "time_days"));
		cell(sb, json_object_get(pt, "n_risk"));
		strbuf_puts(sb, ",,");
		cell(sb, json_object_get(pt, "survival"));
		cell(sb, json_object_get(pt, "lower"));
		cell(sb, json_object_get(pt, "upper"));
		strbuf_puts(sb, ",,,,,");
		csv_end_row(sb);
	}
	json_t *rmst = json_object_get(figures, "rmst");
	if (rmst) {
		csv_cell(sb, group, true);
		csv_cell(sb, "rmst", false);
		cell(sb, json_object_get(rmst, "tau_days"));
		strbuf_puts(sb, ",,,,");
		cell(sb, json_object_get(rmst, "lower"));
		cell(sb, json_object_get(rmst, "upper"));
		cell(sb, json_object_get(rmst, "estimate"));
		cell(sb, json_object_get(rmst, "se"));
		strbuf_puts(sb, ",,,");
		csv_end_row(sb);
	}
}

/* The log-rank row (group "all", figure "logrank": chi-square in estimate,
 * df, p) and a row per hazard ratio (its group, figure "hazard_ratio": hr
 * in estimate, bounds, p, reference). */
static void survival_comparison_rows(struct strbuf *sb, json_t *body)
{
	json_t *c = json_object_get(body, "comparison");
	if (!c)
		return;
	csv_cell(sb, "all", true);
	csv_cell(sb, "logrank", false);
	strbuf_puts(sb, ",,,,,,,");
	cell(sb, json_object_get(c, "chisq"));
	strbuf_puts(sb, ",");
	cell(sb, json_object_get(c, "df"));
	cell(sb, json_object_get(c, "p"));
	strbuf_puts(sb, ",");
	csv_end_row(sb);
	size_t i;
	json_t *h;
	json_array_foreach(json_object_get(body, "hazard_ratios"), i, h)
	{
		csv_cell(sb, json_string_value(json_object_get(h, "key")), true);
		csv_cell(sb, "hazard_ratio", false);
		strbuf_puts(sb, ",,,,,");
		cell(sb, json_object_get(h, "lower"));
		cell(sb, json_object_get(h, "upper"));
		cell(sb, json_object_get(h, "hr"));
		strbuf_puts(sb, ",,");
		cell(sb, json_object_get(h, "p"));
		cell(sb, json_object_get(h, "reference"));
		csv_end_row(sb);
	}
}

/* group,patient_id,first_cr_on,months_followed,recurred,durable */
static void durable_rows(struct strbuf *sb, const char *group, json_t *figures)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(figures, "patients"), i, p)
	{
		static const char *const cols[] = {"patient_id", "first_cr_on", "months_followed",
						   "recurred", "durable"};
		csv_cell(sb, group, true);
		for (size_t c = 0; c < 5; c++)
			cell(sb, json_object_get(p, cols[c]));
		csv_end_row(sb);
	}
}

char *stats_csv(enum stats_kind kind, json_t *body)
{
	static const char *const headers[] = {
		[STATS_COUNTS] =
			"group,figure,count,total,rate,ci_lower,ci_upper,ci_method,ci_level",
		[STATS_PROPORTIONS] =
			"group,figure,count,total,rate,ci_lower,ci_upper,ci_method,ci_level",
		[STATS_TOXICITY] =
			("group,term,units,grade_1,grade_2,grade_3,grade_4,grade_5,count,total,"
			 "rate,ci_lower,ci_upper,ci_method,ci_level"),
		[STATS_SURVIVAL] =
			("group,figure,time_days,n_risk,n_event,n_censor,survival,lower,upper,"
			 "estimate,se,df,p,reference"),
		[STATS_DURABLE] = "group,patient_id,first_cr_on,months_followed,recurred,durable",
	};
	void (*rows)(struct strbuf *, const char *, json_t *) =
		kind == STATS_TOXICITY   ? toxicity_rows
		: kind == STATS_SURVIVAL ? survival_rows
		: kind == STATS_DURABLE  ? durable_rows
					 : figure_rows;
	struct strbuf sb = {0};
	strbuf_puts(&sb, headers[kind]);
	csv_end_row(&sb);
	rows(&sb, "overall", json_object_get(body, "overall"));
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(body, "groups"), i, g)
		rows(&sb, json_string_value(json_object_get(g, "key")), g);
	if (kind == STATS_SURVIVAL)
		survival_comparison_rows(&sb, body);
	return strbuf_steal(&sb);
}

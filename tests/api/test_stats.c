/* The six /stats routes against a small hand-made cohort loaded once through
 * the API (15 patients, 15 courses, 15 outcomes, 14 toxicities, fixed dates),
 * holding every figure to CONTRACT.md's definitions: the summary tables;
 * best overall response with an unconfirmed PR and CR (SD under
 * confirmed_only), an MR (not a response), a treated patient without
 * assessment (NE, dropped by population=evaluable), an adjuvant and an
 * untreated patient (in no response denominator); treatment-related deaths
 * (an unrelated grade 5 is none, two grade 5 in one course are one death,
 * two terms are two causes); toxicity at the worst grade per patient or per
 * course and min_grade; Kaplan-Meier with tied events, an event tied with a
 * censoring, a median at the midpoint, and curves that reach 0; durable
 * complete responses (recurred, durable, followed too short). Also group_by
 * with empty groups, filters, ci=wilson, level, CSV (header, rows, CRLF),
 * ETag/304, every bad parameter (400), and, in a second test case with its
 * own server, as_of and ETag moving with writes and the figures with them.
 *
 * Reference values were computed offline, independently of the server, by
 * an R 4.2.2 script (survival 3.5-3) from the same cohort written as data
 * frames: best response, populations and counts by direct R code;
 * Clopper-Pearson as qbeta(a/2, k, n-k+1) and qbeta(1-a/2, k+1, n-k) (0 and 1
 * at k = 0 and k = n); Wilson as prop.test(k, n, correct = FALSE)$conf.int;
 * the curves and medians as print() and summary(censored = TRUE) of
 * survfit(Surv(time, event) ~ 1, conf.type = "log-log", conf.int = level);
 * months as (latest date - first CR) days / 30.4375. R prints NA for the
 * log(-log) bounds where S = 1; the server answers 1 there (its documented
 * choice) and these tests expect 1. Every real is compared to 1e-9 (relative
 * above 1). */
#include "harness.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INVALID_PARAMETER "urn:cohortd:problem:invalid-parameter"
#define VALIDATION        "urn:cohortd:problem:validation"
#define EPS               1e-9
#define NA                NAN /* a null in a reference table */
#define CSV_TYPE          "text/csv; charset=utf-8; header=present"
#define LOADED_ROWS       59 /* 15 patients + 15 courses + 15 outcomes + 14 toxicities */

static const char *const JSON[] = {"Content-Type: application/json", NULL};

/* --- the cohort ----------------------------------------------------------
 * Every patient is enrolled 1985-01-10. Survival: days from the first course
 * to death (e) or to the latest date on record (c). All metastatic but P8.
 *  P1  melanoma   il2_alone     contact 1987-06-01  850c  CR unconfirmed, then CR confirmed
 *  P2  melanoma   il2_lak       died 1986-03-01     365e  CR unconfirmed, then PD (recurred)
 *  P3  renal_cell il2_lak       contact 1986-09-01  535c  PD, then CR confirmed (7.5 months)
 *  P4  renal_cell il2_alone     died 1985-12-01     244e  PR unconfirmed
 *  P5  melanoma   il2_ifn_alpha contact 1986-05-01  365c  SD, then PR confirmed
 *  P6  colorectal il2_alone     died 1985-08-01     181e  MR
 *  P7  colorectal il2_til       died 1985-11-29     181e  no outcome (NE)
 *  P8  melanoma   il2_alone     adjuvant, alive     275c  PD; latest date: a resolved_on
 *  P9  melanoma   il2_alone     died 1985-03-01     -     untreated (no course)
 *  P10 sarcoma    il2_tnf       died 1985-06-08     127e  SD; 2 courses; 2 grade-5 TRDs in one
 *  P11 lung       il2_alone     died 1985-07-05     4e    none; a grade 5 unrelated
 *  P12 breast     il2_antibody  died 1985-03-10     9e    none; a grade-5 TRD (Sepsis)
 *  P13 melanoma   il2_lak       died 1987-01-02     700e  PD
 *  P14 renal_cell il2_lak       died 1985-08-20     200e  NE recorded
 *  P15 lung       il2_til       contact 1986-04-05  400c  SD
 */
static int64_t pid[16]; /* pid[1..15] */
static int64_t cid[16]; /* Pk's course for k <= 8 and k >= 11; P10's are cid[9] and cid[10] */

static int64_t patient(const char *histology, const char *setting, const char *regimen,
		       const char *extra)
{
	char body[512];
	snprintf(body, sizeof body,
		 "{\"histology\": \"%s\", \"setting\": \"%s\", \"regimen\": \"%s\"%s%s}", histology,
		 setting, regimen, extra ? ", " : "", extra ? extra : "");
	return make_patient(body);
}

static int64_t course(int64_t patient_id, const char *started, const char *ended)
{
	char body[256];
	if (ended)
		snprintf(body, sizeof body, "{\"started_on\": \"%s\", \"ended_on\": \"%s\"}",
			 started, ended);
	else
		snprintf(body, sizeof body, "{\"started_on\": \"%s\"}", started);
	return make_course(patient_id, body);
}

static void outcome(int64_t course_id, const char *assessed, const char *response, bool confirmed)
{
	char body[256];
	snprintf(body, sizeof body,
		 "{\"assessed_on\": \"%s\", \"response\": \"%s\", \"confirmed\": %s}", assessed,
		 response, confirmed ? "true" : "false");
	make_outcome(course_id, body);
}

static void toxicity(int64_t course_id, const char *term, int grade, const char *onset,
		     const char *attribution, const char *extra)
{
	char body[512];
	snprintf(body, sizeof body,
		 "{\"term\": \"%s\", \"grade\": %d, \"onset_on\": \"%s\", \"attribution\": \"%s\""
		 "%s%s%s}",
		 term, grade, onset, attribution, grade == 5 ? ", \"outcome\": \"fatal\"" : "",
		 extra ? ", " : "", extra ? extra : "");
	make_toxicity(course_id, body);
}

/* The second unchecked fixture of the test case: runs once, after api_start. */
static void load_cohort(void)
{
	const char *dead = "\"vital_status\": \"dead\", \"died_on\": ";
	char x[128];
#define DEAD(date) (snprintf(x, sizeof x, "%s\"%s\"", dead, date), x)
	pid[1] = patient("melanoma", "metastatic", "il2_alone",
			 "\"last_contact_on\": \"1987-06-01\"");
	pid[2] = patient("melanoma", "metastatic", "il2_lak", DEAD("1986-03-01"));
	pid[3] = patient("renal_cell", "metastatic", "il2_lak",
			 "\"last_contact_on\": \"1986-09-01\"");
	pid[4] = patient("renal_cell", "metastatic", "il2_alone", DEAD("1985-12-01"));
	pid[5] = patient("melanoma", "metastatic", "il2_ifn_alpha",
			 "\"last_contact_on\": \"1986-05-01\"");
	pid[6] = patient("colorectal", "metastatic", "il2_alone", DEAD("1985-08-01"));
	pid[7] = patient("colorectal", "metastatic", "il2_til", DEAD("1985-11-29"));
	pid[8] = patient("melanoma", "adjuvant", "il2_alone", NULL);
	pid[9] = patient("melanoma", "metastatic", "il2_alone", DEAD("1985-03-01"));
	pid[10] = patient("sarcoma", "metastatic", "il2_tnf", DEAD("1985-06-08"));
	pid[11] = patient("lung", "metastatic", "il2_alone", DEAD("1985-07-05"));
	pid[12] = patient("breast", "metastatic", "il2_antibody", DEAD("1985-03-10"));
	pid[13] = patient("melanoma", "metastatic", "il2_lak", DEAD("1987-01-02"));
	pid[14] = patient("renal_cell", "metastatic", "il2_lak", DEAD("1985-08-20"));
	pid[15] = patient("lung", "metastatic", "il2_til", "\"last_contact_on\": \"1986-04-05\"");
#undef DEAD

	cid[1] = course(pid[1], "1985-02-01", "1985-02-10");
	cid[2] = course(pid[2], "1985-03-01", NULL);
	cid[3] = course(pid[3], "1985-03-15", NULL);
	cid[4] = course(pid[4], "1985-04-01", NULL);
	cid[5] = course(pid[5], "1985-05-01", NULL);
	cid[6] = course(pid[6], "1985-02-01", NULL);
	cid[7] = course(pid[7], "1985-06-01", NULL);
	cid[8] = course(pid[8], "1985-03-01", "1985-03-12");
	cid[9] = course(pid[10], "1985-02-01", "1985-02-12");
	cid[10] = course(pid[10], "1985-06-01", NULL);
	cid[11] = course(pid[11], "1985-07-01", NULL);
	cid[12] = course(pid[12], "1985-03-01", NULL);
	cid[13] = course(pid[13], "1985-02-01", NULL);
	cid[14] = course(pid[14], "1985-02-01", NULL);
	cid[15] = course(pid[15], "1985-03-01", NULL);

	outcome(cid[1], "1985-04-01", "CR", false);
	outcome(cid[1], "1985-07-01", "CR", true);
	outcome(cid[2], "1985-05-01", "CR", false);
	outcome(cid[2], "1985-09-01", "PD", false);
	outcome(cid[3], "1985-06-01", "PD", false);
	outcome(cid[3], "1986-01-15", "CR", true);
	outcome(cid[4], "1985-06-01", "PR", false);
	outcome(cid[5], "1985-06-15", "SD", false);
	outcome(cid[5], "1985-07-01", "PR", true);
	outcome(cid[6], "1985-04-01", "MR", false);
	outcome(cid[8], "1985-10-01", "PD", false);
	outcome(cid[9], "1985-04-01", "SD", false);
	outcome(cid[13], "1985-04-01", "PD", false);
	outcome(cid[14], "1985-04-01", "NE", false);
	outcome(cid[15], "1985-05-01", "SD", false);

	toxicity(cid[1], "Hypotension", 2, "1985-02-02", "definite", NULL);
	toxicity(cid[1], "Hypotension", 4, "1985-02-05", "definite", NULL);
	toxicity(cid[1], "Fever", 1, "1985-02-02", "probable", NULL);
	toxicity(cid[2], "Hypotension", 3, "1985-03-02", "definite", NULL);
	toxicity(cid[5], "Fever", 2, "1985-05-02", "unlikely", NULL);
	toxicity(cid[5], "Capillary leak syndrome", 1, "1985-05-02", "possible", NULL);
	toxicity(cid[8], "Vitiligo", 1, "1985-04-01", "possible",
		 "\"resolved_on\": \"1985-12-01\"");
	toxicity(cid[9], "Hypotension", 2, "1985-02-02", "probable", NULL);
	toxicity(cid[10], "Hypotension", 3, "1985-06-02", "probable", NULL);
	toxicity(cid[10], "Sepsis", 5, "1985-06-08", "definite", NULL);
	toxicity(cid[10], "Respiratory failure", 5, "1985-06-08", "probable", NULL);
	toxicity(cid[11], "Myocardial infarction", 5, "1985-07-05", "unrelated", NULL);
	toxicity(cid[12], "Hypotension", 3, "1985-03-02", "definite", NULL);
	toxicity(cid[12], "Sepsis", 5, "1985-03-10", "possible", NULL);
}

static void no_teardown(void)
{
}

/* --- JSON helpers -------------------------------------------------------- */

/* The value at a dotted path ("overall.curve.3.lower"; numbers index arrays). */
static json_t *at(json_t *v, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", path);
	char *save = NULL;
	for (char *seg = strtok_r(buf, ".", &save); seg && v; seg = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, strtoul(seg, NULL, 10))
				     : json_object_get(v, seg);
	ck_assert_msg(v != NULL, "no %s", path);
	return v;
}

static void expect_int(json_t *j, const char *path, json_int_t want)
{
	json_t *v = at(j, path);
	ck_assert_msg(json_is_integer(v) && json_integer_value(v) == want, "%s: want %lld, got %s",
		      path, (long long)want, json_dumps(v, JSON_ENCODE_ANY));
}

/* A real to 1e-9, or null when want is NA. */
static void expect_real(json_t *j, const char *path, double want)
{
	json_t *v = at(j, path);
	if (isnan(want)) {
		ck_assert_msg(json_is_null(v), "%s: want null, got %s", path,
			      json_dumps(v, JSON_ENCODE_ANY));
		return;
	}
	ck_assert_msg(json_is_number(v) &&
			      fabs(json_number_value(v) - want) <= EPS * fmax(1, fabs(want)),
		      "%s: want %.15g, got %s", path, want, json_dumps(v, JSON_ENCODE_ANY));
}

static void expect_str(json_t *j, const char *path, const char *want)
{
	json_t *v = at(j, path);
	ck_assert_msg(json_is_string(v) && strcmp(json_string_value(v), want) == 0,
		      "%s: want \"%s\", got %s", path, want, json_dumps(v, JSON_ENCODE_ANY));
}

static void expect_bool(json_t *j, const char *path, bool want)
{
	json_t *v = at(j, path);
	ck_assert_msg(json_is_boolean(v) && json_is_true(v) == want, "%s: want %s", path,
		      want ? "true" : "false");
}

/* Asserts the keys of object o, in order. */
static void expect_keys(json_t *o, const char *const *keys)
{
	ck_assert_msg(json_is_object(o), "not an object: %s", json_dumps(o, JSON_ENCODE_ANY));
	void *it = json_object_iter(o);
	for (size_t i = 0; keys[i]; i++, it = json_object_iter_next(o, it)) {
		ck_assert_msg(it != NULL, "missing key %s in %s", keys[i], json_dumps(o, 0));
		ck_assert_str_eq(json_object_iter_key(it), keys[i]);
	}
	ck_assert_msg(it == NULL, "extra key %s in %s", it ? json_object_iter_key(it) : "",
		      json_dumps(o, 0));
}

/* A proportion k/n: its exact shape, rate k/n (null when n = 0), bounds. */
static void expect_prop_ci(json_t *p, json_int_t k, json_int_t n, double lower, double upper,
			   const char *method, double level)
{
	static const char *const keys[] = {"count", "total", "rate", "ci", NULL};
	static const char *const ci_keys[] = {"lower", "upper", "method", "level", NULL};
	expect_keys(p, keys);
	expect_keys(json_object_get(p, "ci"), ci_keys);
	expect_int(p, "count", k);
	expect_int(p, "total", n);
	expect_real(p, "rate", n ? (double)k / (double)n : NA);
	expect_real(p, "ci.lower", lower);
	expect_real(p, "ci.upper", upper);
	expect_str(p, "ci.method", method);
	expect_real(p, "ci.level", level);
}

static void expect_prop(json_t *p, json_int_t k, json_int_t n, double lower, double upper)
{
	expect_prop_ci(p, k, n, lower, upper, "exact", 0.95);
}

/* GETs a stats path: 200, JSON, Vary: Accept, an ETag "<as_of>-<16 hex>",
 * and the frame {definitions, as_of, overall[, groups][, next]} (next only
 * on a page that ends before its list). Caller frees. */
static struct resp *stats(const char *path)
{
	struct resp *r = http_get(path);
	ck_assert_msg(r->status == 200, "GET %s -> %ld %s", path, r->status, r->body);
	ck_assert_str_eq(resp_header(r, "Content-Type"), "application/json");
	ck_assert(resp_varies_on(r, "Accept"));
	ck_assert_msg(r->json != NULL, "not JSON: %s", r->body);
	char want[64];
	json_int_t as_of = json_integer_value(json_object_get(r->json, "as_of"));
	int n = snprintf(want, sizeof want, "\"%lld-", (long long)as_of);
	const char *etag = resp_header(r, "ETag");
	ck_assert_msg(etag && strncmp(etag, want, (size_t)n) == 0 &&
			      strlen(etag) == (size_t)n + 17 &&
			      strspn(etag + n, "0123456789abcdef") == 16 && etag[n + 16] == '"',
		      "ETag %s for as_of %lld", etag ? etag : "(none)", (long long)as_of);
	static const char *const frame[] = {"definitions", "as_of", "overall", NULL};
	static const char *const grouped[] = {"definitions", "as_of", "overall", "groups", NULL};
	static const char *const compared[] = {"definitions", "as_of",         "overall", "groups",
					       "comparison",  "hazard_ratios", NULL};
	static const char *const frame_next[] = {"definitions", "as_of", "overall", "next", NULL};
	static const char *const grouped_next[] = {"definitions", "as_of", "overall",
						   "groups",      "next",  NULL};
	json_t *group_by = json_object_get(json_object_get(r->json, "definitions"), "group_by");
	ck_assert_msg(group_by != NULL, "definitions.group_by missing: %s", r->body);
	bool next = json_object_get(r->json, "next") != NULL;
	bool survival = strncmp(path, "/stats/survival", 15) == 0;
	expect_keys(r->json, json_is_null(group_by) ? (next ? frame_next : frame)
			     : survival             ? compared
						    : (next ? grouped_next : grouped));
	return r;
}

/* The main test case never writes: the data version is the rows loaded. */
static struct resp *cohort_stats(const char *path)
{
	struct resp *r = stats(path);
	expect_int(r->json, "as_of", LOADED_ROWS);
	return r;
}

/* definitions.filters equals the JSON text filters, group_by is group_by. */
static void expect_scope(json_t *j, const char *filters, const char *group_by)
{
	json_t *want = json_loads(filters, 0, NULL);
	ck_assert_ptr_nonnull(want);
	json_t *got = at(j, "definitions.filters");
	ck_assert_msg(json_equal(got, want), "filters %s, want %s", json_dumps(got, 0), filters);
	json_decref(want);
	if (group_by)
		expect_str(j, "definitions.group_by", group_by);
	else
		ck_assert(json_is_null(at(j, "definitions.group_by")));
}

/* groups[] has exactly these keys, in this order. */
static void expect_group_keys(json_t *j, const char *const *keys)
{
	json_t *groups = at(j, "groups");
	size_t n = 0;
	while (keys[n])
		n++;
	ck_assert_msg(json_array_size(groups) == n, "%zu groups, want %zu", json_array_size(groups),
		      n);
	for (size_t i = 0; i < n; i++)
		expect_str(json_array_get(groups, i), "key", keys[i]);
}

static const char *const REGIMENS[] = {"il2_alone",
				       "il2_lak",
				       "il2_til",
				       "il2_ifn_alpha",
				       "il2_tnf",
				       "il2_antibody",
				       "il2_cyclophosphamide",
				       NULL};
static const char *const HISTOLOGIES[] = {
	"melanoma", "renal_cell", "colorectal", "non_hodgkin_lymphoma", "sarcoma", "breast",
	"lung",     "other",      NULL};
static const char *const SETTINGS[] = {"metastatic", "adjuvant", NULL};

/* --- CSV helpers ---------------------------------------------------------- */

struct csv {
	char **lines;
	size_t n;
};

/* Asserts text/csv, CRLF after every line (no bare LF or CR), the exact
 * header, and returns the lines without their CRLF. */
static struct csv csv_of(const struct resp *r, const char *header)
{
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	ck_assert_str_eq(resp_header(r, "Content-Type"), CSV_TYPE);
	ck_assert(resp_varies_on(r, "Accept"));
	ck_assert_msg(r->len >= 2 && strcmp(r->body + r->len - 2, "\r\n") == 0,
		      "CSV does not end with CRLF");
	struct csv c = {calloc(r->len + 1, sizeof(char *)), 0};
	const char *p = r->body;
	while (*p) {
		const char *end = strstr(p, "\r\n");
		ck_assert_ptr_nonnull(end);
		c.lines[c.n] = strndup(p, (size_t)(end - p));
		ck_assert_msg(strpbrk(c.lines[c.n], "\r\n") == NULL, "bare CR or LF in line %zu",
			      c.n + 1);
		c.n++;
		p = end + 2;
	}
	ck_assert_msg(c.n >= 1 && strcmp(c.lines[0], header) == 0, "header %s, want %s",
		      c.n ? c.lines[0] : "", header);
	return c;
}

static void csv_free(struct csv *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->lines[i]);
	free(c->lines);
}

/* Does line match cells (NULL-terminated)? A cell "~x" matches a number
 * within 1e-9 of x (relative above 1); any other cell matches exactly. */
static bool csv_line_matches(const char *line, const char *const *cells)
{
	char *copy = strdup(line), *p = copy;
	bool ok = true;
	size_t i = 0;
	for (; cells[i] && ok; i++) {
		if (!p) {
			ok = false;
			break;
		}
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (cells[i][0] == '~') {
			char *end;
			double v = strtod(p, &end);
			double want = strtod(cells[i] + 1, NULL);
			ok = *p && !*end && fabs(v - want) <= EPS * fmax(1, fabs(want));
		} else {
			ok = strcmp(p, cells[i]) == 0;
		}
		p = comma ? comma + 1 : NULL;
	}
	ok = ok && p == NULL;
	free(copy);
	return ok;
}

/* Asserts the line at index i matches cells. */
static void expect_row(const struct csv *c, size_t i, const char *const *cells)
{
	ck_assert_msg(i < c->n, "no line %zu (%zu lines)", i + 1, c->n);
	char want[512] = "";
	for (size_t k = 0; cells[k]; k++)
		snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", k ? "," : "",
			 cells[k]);
	ck_assert_msg(csv_line_matches(c->lines[i], cells), "line %zu is %s, want %s", i + 1,
		      c->lines[i], want);
}

#define ROW(...) ((const char *const[]){__VA_ARGS__, NULL})

/* --- bad parameters ------------------------------------------------------- */

/* GET path is 400 invalid-parameter naming field; nothing is written. */
static void refused(const char *path, const char *field)
{
	assert_refused("GET", path, NULL, NULL, 400, INVALID_PARAMETER, field);
}

static const char *const ROUTES[] = {"/stats/summary",
				     "/stats/response",
				     "/stats/mortality",
				     "/stats/toxicity",
				     "/stats/survival",
				     "/stats/durable-response",
				     NULL};

/* path?query on every route in routes. */
static void refused_on(const char *const *routes, const char *query, const char *field)
{
	for (size_t i = 0; routes[i]; i++) {
		char path[256];
		snprintf(path, sizeof path, "%s?%s", routes[i], query);
		refused(path, field);
	}
}

/* === /stats/summary ======================================================= */

START_TEST(test_summary_counts_patients_treated_courses_and_tables)
{
	struct resp *r = cohort_stats("/stats/summary");
	json_t *j = r->json;
	expect_scope(j, "{}", NULL);
	static const char *const keys[] = {"patients",   "treated",      "courses", "by_setting",
					   "by_regimen", "by_histology", NULL};
	expect_keys(at(j, "overall"), keys);
	expect_int(j, "overall.patients", 15);
	expect_int(j, "overall.treated", 14); /* P9 has no course */
	expect_int(j, "overall.courses", 15); /* P10 has two */
	expect_keys(at(j, "overall.by_setting"), SETTINGS);
	expect_int(j, "overall.by_setting.metastatic", 14);
	expect_int(j, "overall.by_setting.adjuvant", 1);
	expect_keys(at(j, "overall.by_regimen"), REGIMENS);
	static const int regimens[] = {6, 4, 2, 1, 1, 1, 0};
	for (int i = 0; REGIMENS[i]; i++) {
		char path[64];
		snprintf(path, sizeof path, "overall.by_regimen.%s", REGIMENS[i]);
		expect_int(j, path, regimens[i]);
	}
	expect_keys(at(j, "overall.by_histology"), HISTOLOGIES);
	static const int histologies[] = {6, 3, 2, 0, 1, 1, 2, 0};
	for (int i = 0; HISTOLOGIES[i]; i++) {
		char path[64];
		snprintf(path, sizeof path, "overall.by_histology.%s", HISTOLOGIES[i]);
		expect_int(j, path, histologies[i]);
	}
	resp_free(r);
}
END_TEST

START_TEST(test_summary_group_by_histology_lists_every_histology_even_empty)
{
	struct resp *r = cohort_stats("/stats/summary?group_by=histology");
	json_t *j = r->json;
	expect_scope(j, "{}", "histology");
	expect_group_keys(j, HISTOLOGIES);
	/* patients, treated, courses per histology, in enum order */
	static const int want[8][3] = {{6, 5, 5}, {3, 3, 3}, {2, 2, 2}, {0, 0, 0},
				       {1, 1, 2}, {1, 1, 1}, {2, 2, 2}, {0, 0, 0}};
	for (int g = 0; g < 8; g++) {
		json_t *grp = json_array_get(at(j, "groups"), (size_t)g);
		expect_int(grp, "patients", want[g][0]);
		expect_int(grp, "treated", want[g][1]);
		expect_int(grp, "courses", want[g][2]);
	}
	/* a group's own tables: melanoma has the adjuvant patient */
	expect_int(j, "groups.0.by_setting.adjuvant", 1);
	expect_int(j, "groups.0.by_histology.melanoma", 6);
	expect_int(j, "groups.0.by_histology.lung", 0);
	expect_int(j, "groups.0.by_regimen.il2_alone", 3);
	expect_int(j, "groups.0.by_regimen.il2_lak", 2);
	expect_int(j, "groups.3.by_setting.metastatic", 0);
	expect_int(j, "overall.patients", 15);
	resp_free(r);
}
END_TEST

START_TEST(test_summary_filters_narrow_the_population)
{
	struct resp *r = cohort_stats("/stats/summary?regimen=il2_alone");
	expect_scope(r->json, "{\"regimen\": \"il2_alone\"}", NULL);
	expect_int(r->json, "overall.patients", 6);
	expect_int(r->json, "overall.treated", 5);
	expect_int(r->json, "overall.courses", 5);
	expect_int(r->json, "overall.by_setting.adjuvant", 1);
	expect_int(r->json, "overall.by_regimen.il2_alone", 6);
	expect_int(r->json, "overall.by_regimen.il2_lak", 0);
	resp_free(r);

	r = cohort_stats("/stats/summary?histology=melanoma&setting=metastatic&group_by=regimen");
	expect_scope(r->json, "{\"histology\": \"melanoma\", \"setting\": \"metastatic\"}",
		     "regimen");
	expect_int(r->json, "overall.patients", 5); /* P1 P2 P5 P9 P13 */
	expect_int(r->json, "overall.treated", 4);
	expect_int(r->json, "overall.courses", 4);
	expect_group_keys(r->json, REGIMENS);
	expect_int(r->json, "groups.0.patients", 2); /* P1, P9 */
	expect_int(r->json, "groups.0.treated", 1);
	expect_int(r->json, "groups.1.patients", 2);
	expect_int(r->json, "groups.6.patients", 0);
	resp_free(r);
}
END_TEST

START_TEST(test_summary_csv_is_exact)
{
	static const char want[] =
		"group,figure,count,total,rate,ci_lower,ci_upper,ci_method,ci_level\r\n"
		"overall,patients,15,,,,,,\r\n"
		"overall,treated,14,,,,,,\r\n"
		"overall,courses,15,,,,,,\r\n"
		"overall,by_setting.metastatic,14,,,,,,\r\n"
		"overall,by_setting.adjuvant,1,,,,,,\r\n"
		"overall,by_regimen.il2_alone,6,,,,,,\r\n"
		"overall,by_regimen.il2_lak,4,,,,,,\r\n"
		"overall,by_regimen.il2_til,2,,,,,,\r\n"
		"overall,by_regimen.il2_ifn_alpha,1,,,,,,\r\n"
		"overall,by_regimen.il2_tnf,1,,,,,,\r\n"
		"overall,by_regimen.il2_antibody,1,,,,,,\r\n"
		"overall,by_regimen.il2_cyclophosphamide,0,,,,,,\r\n"
		"overall,by_histology.melanoma,6,,,,,,\r\n"
		"overall,by_histology.renal_cell,3,,,,,,\r\n"
		"overall,by_histology.colorectal,2,,,,,,\r\n"
		"overall,by_histology.non_hodgkin_lymphoma,0,,,,,,\r\n"
		"overall,by_histology.sarcoma,1,,,,,,\r\n"
		"overall,by_histology.breast,1,,,,,,\r\n"
		"overall,by_histology.lung,2,,,,,,\r\n"
		"overall,by_histology.other,0,,,,,,\r\n";
	struct resp *r = http_get("/stats/summary?format=csv");
	struct csv c =
		csv_of(r, "group,figure,count,total,rate,ci_lower,ci_upper,ci_method,ci_level");
	ck_assert_str_eq(r->body, want);
	csv_free(&c);
	resp_free(r);

	/* grouped: 20 rows per group after the overall ones, the key in column 1 */
	r = http_get("/stats/summary?format=csv&group_by=setting");
	c = csv_of(r, "group,figure,count,total,rate,ci_lower,ci_upper,ci_method,ci_level");
	ck_assert_uint_eq(c.n, 1 + 3 * 20);
	expect_row(&c, 21, ROW("metastatic", "patients", "14", "", "", "", "", "", ""));
	expect_row(&c, 23, ROW("metastatic", "courses", "14", "", "", "", "", "", ""));
	expect_row(&c, 41, ROW("adjuvant", "patients", "1", "", "", "", "", "", ""));
	expect_row(&c, 60, ROW("adjuvant", "by_histology.other", "0", "", "", "", "", "", ""));
	csv_free(&c);
	resp_free(r);
}
END_TEST

/* === /stats/response ======================================================= */

static void expect_bor(json_t *slot, int cr, int pr, int mr, int sd, int pd, int ne)
{
	static const char *const keys[] = {"CR", "PR", "MR", "SD", "PD", "NE", NULL};
	static const char *const slot_keys[] = {"patients", "best_response", "objective_response",
						"complete_response", NULL};
	json_t *b = at(slot, "best_response");
	expect_keys(b, keys);
	const int want[] = {cr, pr, mr, sd, pd, ne};
	for (int i = 0; i < 6; i++)
		expect_int(b, keys[i], want[i]);
	expect_int(slot, "patients", cr + pr + mr + sd + pd + ne);
	/* grouped slots carry "key" first */
	json_t *copy = json_copy(slot);
	json_object_del(copy, "key");
	expect_keys(copy, slot_keys);
	json_decref(copy);
}

START_TEST(test_response_counts_best_overall_response_of_treated_metastatic_patients)
{
	struct resp *r = cohort_stats("/stats/response");
	json_t *j = r->json;
	expect_scope(j, "{}", NULL);
	expect_bool(j, "definitions.confirmed_only", false);
	expect_str(j, "definitions.ci.method", "exact (Clopper-Pearson, from the beta quantile)");
	expect_real(j, "definitions.ci.level", 0.95);
	/* 13: adjuvant P8 and untreated P9 are out; unconfirmed P4 is a PR;
	 * P6's MR is not a response; P7 (no outcome), P11, P12 and P14 are NE */
	expect_bor(at(j, "overall"), 3, 2, 1, 2, 1, 4);
	expect_prop(at(j, "overall.objective_response"), 5, 13, 0.138579338890161,
		    0.684222397085937);
	expect_prop(at(j, "overall.complete_response"), 3, 13, 0.0503810734911515,
		    0.538131539234041);
	resp_free(r);
}
END_TEST

START_TEST(test_response_confirmed_only_counts_unconfirmed_cr_and_pr_as_sd)
{
	struct resp *r = cohort_stats("/stats/response?confirmed_only=true");
	json_t *j = r->json;
	expect_bool(j, "definitions.confirmed_only", true);
	/* P2's CR and P4's PR become SD; P1 keeps its later confirmed CR */
	expect_bor(at(j, "overall"), 2, 1, 1, 4, 1, 4);
	expect_prop(at(j, "overall.objective_response"), 3, 13, 0.0503810734911515,
		    0.538131539234041);
	expect_prop(at(j, "overall.complete_response"), 2, 13, 0.0192066719825285,
		    0.454471055676558);
	resp_free(r);

	r = cohort_stats("/stats/response?confirmed_only=false");
	expect_bor(at(r->json, "overall"), 3, 2, 1, 2, 1, 4);
	resp_free(r);
}
END_TEST

START_TEST(test_response_evaluable_population_drops_bor_ne)
{
	struct resp *r = cohort_stats("/stats/response?population=evaluable");
	expect_bor(at(r->json, "overall"), 3, 2, 1, 2, 1, 0);
	expect_prop(at(r->json, "overall.objective_response"), 5, 9, 0.212008506778868,
		    0.863004337734833);
	expect_prop(at(r->json, "overall.complete_response"), 3, 9, 0.0748546314196918,
		    0.70070494379146);
	resp_free(r);

	r = cohort_stats("/stats/response?population=all");
	expect_bor(at(r->json, "overall"), 3, 2, 1, 2, 1, 4);
	resp_free(r);
}
END_TEST

START_TEST(test_response_wilson_interval_matches_the_reference)
{
	struct resp *r = cohort_stats("/stats/response?ci=wilson");
	expect_str(r->json, "definitions.ci.method",
		   "wilson (score interval, from the normal quantile)");
	expect_prop_ci(at(r->json, "overall.objective_response"), 5, 13, 0.177097077977626,
		       0.644771084873343, "wilson", 0.95);
	expect_prop_ci(at(r->json, "overall.complete_response"), 3, 13, 0.0817952871849856,
		       0.502563759467275, "wilson", 0.95);
	resp_free(r);
}
END_TEST

START_TEST(test_response_level_0_9_exact_and_wilson)
{
	struct resp *r = cohort_stats("/stats/response?level=0.9");
	expect_real(r->json, "definitions.ci.level", 0.9);
	expect_prop_ci(at(r->json, "overall.objective_response"), 5, 13, 0.165659426715072,
		       0.645200718980387, "exact", 0.9);
	expect_prop_ci(at(r->json, "overall.complete_response"), 3, 13, 0.0660495672163096,
		       0.494649730151366, "exact", 0.9);
	resp_free(r);

	r = cohort_stats("/stats/response?ci=wilson&level=0.9");
	expect_prop_ci(at(r->json, "overall.objective_response"), 5, 13, 0.201592602583068,
		       0.607392039765127, "wilson", 0.9);
	expect_prop_ci(at(r->json, "overall.complete_response"), 3, 13, 0.0962317459294417,
		       0.458065752883013, "wilson", 0.9);
	resp_free(r);
}
END_TEST

START_TEST(test_response_group_by_regimen_has_every_regimen_and_empty_ones)
{
	struct resp *r = cohort_stats("/stats/response?group_by=regimen");
	json_t *j = r->json;
	expect_scope(j, "{}", "regimen");
	expect_group_keys(j, REGIMENS);
	expect_bor(at(j, "overall"), 3, 2, 1, 2, 1, 4);
	json_t *g = at(j, "groups");
	/* il2_alone: P1 CR, P4 PR, P6 MR, P11 NE (P8 adjuvant, P9 untreated) */
	expect_bor(json_array_get(g, 0), 1, 1, 1, 0, 0, 1);
	expect_prop(at(j, "groups.0.objective_response"), 2, 4, 0.067585986488543,
		    0.932414013511457);
	expect_prop(at(j, "groups.0.complete_response"), 1, 4, 0.00630946320970987,
		    0.805879550316757);
	expect_bor(json_array_get(g, 1), 2, 0, 0, 0, 1, 1);
	expect_prop(at(j, "groups.1.complete_response"), 2, 4, 0.067585986488543,
		    0.932414013511457);
	expect_bor(json_array_get(g, 2), 0, 0, 0, 1, 0, 1);
	expect_prop(at(j, "groups.2.objective_response"), 0, 2, 0, 0.841886116991581);
	expect_bor(json_array_get(g, 3), 0, 1, 0, 0, 0, 0);
	expect_prop(at(j, "groups.3.objective_response"), 1, 1, 0.025, 1);
	expect_prop(at(j, "groups.3.complete_response"), 0, 1, 0, 0.975);
	expect_bor(json_array_get(g, 4), 0, 0, 0, 1, 0, 0);
	expect_bor(json_array_get(g, 5), 0, 0, 0, 0, 0, 1);
	expect_bor(json_array_get(g, 6), 0, 0, 0, 0, 0, 0);
	expect_prop(at(j, "groups.6.objective_response"), 0, 0, NA, NA);
	expect_prop(at(j, "groups.6.complete_response"), 0, 0, NA, NA);
	resp_free(r);
}
END_TEST

START_TEST(test_response_filters_melanoma_and_adjuvant)
{
	struct resp *r = cohort_stats("/stats/response?histology=melanoma");
	expect_scope(r->json, "{\"histology\": \"melanoma\"}", NULL);
	expect_bor(at(r->json, "overall"), 2, 1, 0, 0, 1, 0); /* P1 P2 P5 P13 */
	expect_prop(at(r->json, "overall.objective_response"), 3, 4, 0.194120449683243,
		    0.99369053679029);
	expect_prop(at(r->json, "overall.complete_response"), 2, 4, 0.067585986488543,
		    0.932414013511457);
	resp_free(r);

	/* adjuvant patients never count, even with a PD on record */
	r = cohort_stats("/stats/response?setting=adjuvant");
	expect_bor(at(r->json, "overall"), 0, 0, 0, 0, 0, 0);
	expect_prop(at(r->json, "overall.objective_response"), 0, 0, NA, NA);
	expect_prop(at(r->json, "overall.complete_response"), 0, 0, NA, NA);
	resp_free(r);
}
END_TEST

START_TEST(test_response_csv_has_a_row_per_group_and_figure)
{
	struct resp *r = http_get("/stats/response?format=csv&group_by=setting");
	struct csv c =
		csv_of(r, "group,figure,count,total,rate,ci_lower,ci_upper,ci_method,ci_level");
	ck_assert_uint_eq(c.n, 1 + 3 * 9);
	expect_row(&c, 1, ROW("overall", "patients", "13", "", "", "", "", "", ""));
	expect_row(&c, 2, ROW("overall", "best_response.CR", "3", "", "", "", "", "", ""));
	expect_row(&c, 3, ROW("overall", "best_response.PR", "2", "", "", "", "", "", ""));
	expect_row(&c, 4, ROW("overall", "best_response.MR", "1", "", "", "", "", "", ""));
	expect_row(&c, 7, ROW("overall", "best_response.NE", "4", "", "", "", "", "", ""));
	expect_row(&c, 8,
		   ROW("overall", "objective_response", "5", "13", "~0.384615384615385",
		       "~0.138579338890161", "~0.684222397085937", "exact", "0.95"));
	expect_row(&c, 9,
		   ROW("overall", "complete_response", "3", "13", "~0.230769230769231",
		       "~0.0503810734911515", "~0.538131539234041", "exact", "0.95"));
	expect_row(&c, 10, ROW("metastatic", "patients", "13", "", "", "", "", "", ""));
	expect_row(&c, 19, ROW("adjuvant", "patients", "0", "", "", "", "", "", ""));
	/* an undefined rate and interval are empty cells */
	expect_row(&c, 26,
		   ROW("adjuvant", "objective_response", "0", "0", "", "", "", "exact", "0.95"));
	expect_row(&c, 27,
		   ROW("adjuvant", "complete_response", "0", "0", "", "", "", "exact", "0.95"));
	csv_free(&c);
	resp_free(r);

	r = http_get("/stats/response?format=csv&ci=wilson&level=0.9");
	c = csv_of(r, "group,figure,count,total,rate,ci_lower,ci_upper,ci_method,ci_level");
	ck_assert_uint_eq(c.n, 10);
	expect_row(&c, 8,
		   ROW("overall", "objective_response", "5", "13", "~0.384615384615385",
		       "~0.201592602583068", "~0.607392039765127", "wilson", "0.9"));
	csv_free(&c);
	resp_free(r);
}
END_TEST

/* === /stats/mortality ====================================================== */

/* causes[] is exactly these (term, count) pairs, in order. */
static void expect_causes(json_t *slot, size_t n, ...)
{
	json_t *causes = at(slot, "causes");
	ck_assert_msg(json_array_size(causes) == n, "causes %s", json_dumps(causes, 0));
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const char *term = va_arg(ap, const char *);
		int count = va_arg(ap, int);
		static const char *const keys[] = {"term", "count", NULL};
		json_t *c = json_array_get(causes, i);
		expect_keys(c, keys);
		expect_str(c, "term", term);
		expect_int(c, "count", count);
	}
	va_end(ap);
}

START_TEST(test_mortality_counts_one_death_per_course_and_patient)
{
	struct resp *r = cohort_stats("/stats/mortality");
	json_t *j = r->json;
	expect_scope(j, "{}", NULL);
	static const char *const keys[] = {"per_course", "per_patient", "causes", NULL};
	expect_keys(at(j, "overall"), keys);
	/* P10's course 2 (two grade-5 TRDs) and P12's course; P11's grade 5 is
	 * unrelated; 15 courses, 14 treated patients (P9 untreated) */
	expect_prop(at(j, "overall.per_course"), 2, 15, 0.0165759134400836, 0.404602696603372);
	expect_prop(at(j, "overall.per_patient"), 2, 14, 0.0177945154831915, 0.428129160909699);
	/* P10's two terms each count; P10 and P12 both died of Sepsis */
	expect_causes(at(j, "overall"), 2, "Sepsis", 2, "Respiratory failure", 1);
	resp_free(r);
}
END_TEST

START_TEST(test_mortality_unrelated_grade_5_is_not_a_treatment_related_death)
{
	struct resp *r = cohort_stats("/stats/mortality?histology=lung");
	expect_prop(at(r->json, "overall.per_course"), 0, 2, 0, 0.841886116991581);
	expect_prop(at(r->json, "overall.per_patient"), 0, 2, 0, 0.841886116991581);
	expect_causes(at(r->json, "overall"), 0);
	resp_free(r);
}
END_TEST

START_TEST(test_mortality_groups_by_regimen)
{
	struct resp *r = cohort_stats("/stats/mortality?group_by=regimen");
	json_t *j = r->json;
	expect_group_keys(j, REGIMENS);
	expect_prop(at(j, "groups.0.per_course"), 0, 5, 0, 0.521823750104981);
	expect_prop(at(j, "groups.0.per_patient"), 0, 5, 0, 0.521823750104981);
	expect_causes(at(j, "groups.0"), 0);
	expect_prop(at(j, "groups.1.per_course"), 0, 4, 0, 0.602364635616475);
	expect_prop(at(j, "groups.2.per_patient"), 0, 2, 0, 0.841886116991581);
	expect_prop(at(j, "groups.3.per_patient"), 0, 1, 0, 0.975);
	/* il2_tnf: one death in two courses; equal counts are ordered by term */
	expect_prop(at(j, "groups.4.per_course"), 1, 2, 0.0125791170934251, 0.987420882906575);
	expect_prop(at(j, "groups.4.per_patient"), 1, 1, 0.025, 1);
	expect_causes(at(j, "groups.4"), 2, "Respiratory failure", 1, "Sepsis", 1);
	expect_prop(at(j, "groups.5.per_course"), 1, 1, 0.025, 1);
	expect_prop(at(j, "groups.5.per_patient"), 1, 1, 0.025, 1);
	expect_causes(at(j, "groups.5"), 1, "Sepsis", 1);
	expect_prop(at(j, "groups.6.per_course"), 0, 0, NA, NA);
	expect_prop(at(j, "groups.6.per_patient"), 0, 0, NA, NA);
	expect_causes(at(j, "groups.6"), 0);
	expect_causes(at(j, "overall"), 2, "Sepsis", 2, "Respiratory failure", 1);
	resp_free(r);
}
END_TEST

START_TEST(test_mortality_wilson_and_level_0_9)
{
	struct resp *r = cohort_stats("/stats/mortality?ci=wilson");
	expect_prop_ci(at(r->json, "overall.per_course"), 2, 15, 0.0373612591030654,
		       0.378819828323224, "wilson", 0.95);
	expect_prop_ci(at(r->json, "overall.per_patient"), 2, 14, 0.0400939212714649,
		       0.399413794969703, "wilson", 0.95);
	resp_free(r);
	r = cohort_stats("/stats/mortality?level=0.9");
	expect_prop_ci(at(r->json, "overall.per_course"), 2, 15, 0.0242257324685366,
		       0.363441765541402, "exact", 0.9);
	expect_prop_ci(at(r->json, "overall.per_patient"), 2, 14, 0.0259993326008678,
		       0.385389682363882, "exact", 0.9);
	resp_free(r);
}
END_TEST

START_TEST(test_mortality_csv_has_a_row_per_group_and_figure)
{
	struct resp *r = http_get("/stats/mortality?format=csv");
	struct csv c =
		csv_of(r, "group,figure,count,total,rate,ci_lower,ci_upper,ci_method,ci_level");
	ck_assert_uint_eq(c.n, 5);
	expect_row(&c, 1,
		   ROW("overall", "per_course", "2", "15", "~0.133333333333333",
		       "~0.0165759134400836", "~0.404602696603372", "exact", "0.95"));
	expect_row(&c, 2,
		   ROW("overall", "per_patient", "2", "14", "~0.142857142857143",
		       "~0.0177945154831915", "~0.428129160909699", "exact", "0.95"));
	ck_assert_str_eq(c.lines[3], "overall,causes.Sepsis,2,,,,,,");
	ck_assert_str_eq(c.lines[4], "overall,causes.Respiratory failure,1,,,,,,");
	csv_free(&c);
	resp_free(r);

	r = http_get("/stats/mortality?format=csv&group_by=regimen");
	c = csv_of(r, "group,figure,count,total,rate,ci_lower,ci_upper,ci_method,ci_level");
	/* overall 4 rows; il2_tnf 4, il2_antibody 3, the other five groups 2 each */
	ck_assert_uint_eq(c.n, 1 + 4 + 4 + 3 + 5 * 2);
	expect_row(&c, 5,
		   ROW("il2_alone", "per_course", "0", "5", "~0", "~0", "~0.521823750104981",
		       "exact", "0.95"));
	ck_assert_str_eq(c.lines[15], "il2_tnf,causes.Respiratory failure,1,,,,,,");
	ck_assert_str_eq(c.lines[16], "il2_tnf,causes.Sepsis,1,,,,,,");
	ck_assert_str_eq(c.lines[19], "il2_antibody,causes.Sepsis,1,,,,,,");
	ck_assert_str_eq(c.lines[20], "il2_cyclophosphamide,per_course,0,0,,,,exact,0.95");
	ck_assert_str_eq(c.lines[21], "il2_cyclophosphamide,per_patient,0,0,,,,exact,0.95");
	csv_free(&c);
	resp_free(r);
}
END_TEST

/* === /stats/toxicity ======================================================= */

struct term_ref {
	const char *term;
	int g[5];
	int k;
	double lower, upper;
};

static void expect_terms_ci(json_t *slot, int units, const struct term_ref *t, size_t n,
			    const char *method, double level)
{
	static const char *const keys[] = {"term", "by_grade", "at_or_above", NULL};
	expect_int(slot, "units", units);
	json_t *terms = at(slot, "terms");
	ck_assert_msg(json_array_size(terms) == n, "%zu terms, want %zu: %s",
		      json_array_size(terms), n, json_dumps(terms, 0));
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(terms, i);
		expect_keys(e, keys);
		expect_str(e, "term", t[i].term);
		json_t *g = at(e, "by_grade");
		ck_assert_uint_eq(json_array_size(g), 5);
		for (size_t k = 0; k < 5; k++)
			ck_assert_msg(json_is_integer(json_array_get(g, k)) &&
					      json_integer_value(json_array_get(g, k)) == t[i].g[k],
				      "%s by_grade %s", t[i].term, json_dumps(g, 0));
		expect_prop_ci(at(e, "at_or_above"), t[i].k, units, t[i].lower, t[i].upper, method,
			       level);
	}
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define EXPECT_TERMS(slot, units, refs)                                                            \
	expect_terms_ci(slot, units, refs, N_OF(refs), "exact", 0.95)

/* 14 treated patients: k/14 exact 95% bounds */
#define P0_14 0, 0.231635761650116
#define P1_14 0.00180678065912539, 0.338684489931821
#define P2_14 0.0177945154831915, 0.428129160909699
#define P4_14 0.0838893183071276, 0.581035257183661

START_TEST(test_toxicity_counts_each_patient_once_per_term_at_its_worst_grade)
{
	/* P1's Hypotension 2 and 4 count once at 4; P10's 2 and 3 (two courses)
	 * once at 3; every attribution counts, so P11's unrelated grade 5 too */
	static const struct term_ref want[] = {
		{"Hypotension", {0, 0, 3, 1, 0}, 4, P4_14},
		{"Sepsis", {0, 0, 0, 0, 2}, 2, P2_14},
		{"Myocardial infarction", {0, 0, 0, 0, 1}, 1, P1_14},
		{"Respiratory failure", {0, 0, 0, 0, 1}, 1, P1_14},
		{"Capillary leak syndrome", {1, 0, 0, 0, 0}, 0, P0_14},
		{"Fever", {1, 1, 0, 0, 0}, 0, P0_14},
		{"Vitiligo", {1, 0, 0, 0, 0}, 0, P0_14},
	};
	struct resp *r = cohort_stats("/stats/toxicity");
	expect_scope(r->json, "{}", NULL);
	expect_str(r->json, "definitions.unit", "patient");
	expect_int(r->json, "definitions.min_grade", 3);
	static const char *const keys[] = {"units", "terms", NULL};
	expect_keys(at(r->json, "overall"), keys);
	EXPECT_TERMS(at(r->json, "overall"), 14, want);
	resp_free(r);

	r = cohort_stats("/stats/toxicity?unit=patient&min_grade=3");
	EXPECT_TERMS(at(r->json, "overall"), 14, want);
	resp_free(r);
}
END_TEST

START_TEST(test_toxicity_unit_course_counts_each_course)
{
	/* 15 courses; P10's Hypotension counts in each of its two courses */
	static const struct term_ref want[] = {
		{"Hypotension", {0, 1, 3, 1, 0}, 4, 0.0778715462910436, 0.551003241036971},
		{"Sepsis", {0, 0, 0, 0, 2}, 2, 0.0165759134400836, 0.404602696603372},
		{"Myocardial infarction",
		 {0, 0, 0, 0, 1},
		 1,
		 0.0016864302413527,
		 0.319484566578303},
		{"Respiratory failure", {0, 0, 0, 0, 1}, 1, 0.0016864302413527, 0.319484566578303},
		{"Capillary leak syndrome", {1, 0, 0, 0, 0}, 0, 0, 0.218019360910534},
		{"Fever", {1, 1, 0, 0, 0}, 0, 0, 0.218019360910534},
		{"Vitiligo", {1, 0, 0, 0, 0}, 0, 0, 0.218019360910534},
	};
	struct resp *r = cohort_stats("/stats/toxicity?unit=course");
	expect_str(r->json, "definitions.unit", "course");
	EXPECT_TERMS(at(r->json, "overall"), 15, want);
	resp_free(r);

	/* sarcoma: one patient, two courses */
	static const struct term_ref by_course[] = {
		{"Hypotension", {0, 1, 1, 0, 0}, 1, 0.0125791170934251, 0.987420882906575},
		{"Respiratory failure", {0, 0, 0, 0, 1}, 1, 0.0125791170934251, 0.987420882906575},
		{"Sepsis", {0, 0, 0, 0, 1}, 1, 0.0125791170934251, 0.987420882906575},
	};
	static const struct term_ref by_patient[] = {
		{"Hypotension", {0, 0, 1, 0, 0}, 1, 0.025, 1},
		{"Respiratory failure", {0, 0, 0, 0, 1}, 1, 0.025, 1},
		{"Sepsis", {0, 0, 0, 0, 1}, 1, 0.025, 1},
	};
	r = cohort_stats("/stats/toxicity?unit=course&histology=sarcoma");
	EXPECT_TERMS(at(r->json, "overall"), 2, by_course);
	resp_free(r);
	r = cohort_stats("/stats/toxicity?histology=sarcoma");
	EXPECT_TERMS(at(r->json, "overall"), 1, by_patient);
	resp_free(r);
}
END_TEST

START_TEST(test_toxicity_min_grade_counts_and_orders_terms)
{
	static const struct term_ref g1[] = {
		{"Hypotension", {0, 0, 3, 1, 0}, 4, P4_14},
		{"Fever", {1, 1, 0, 0, 0}, 2, P2_14},
		{"Sepsis", {0, 0, 0, 0, 2}, 2, P2_14},
		{"Capillary leak syndrome", {1, 0, 0, 0, 0}, 1, P1_14},
		{"Myocardial infarction", {0, 0, 0, 0, 1}, 1, P1_14},
		{"Respiratory failure", {0, 0, 0, 0, 1}, 1, P1_14},
		{"Vitiligo", {1, 0, 0, 0, 0}, 1, P1_14},
	};
	static const struct term_ref g2[] = {
		{"Hypotension", {0, 0, 3, 1, 0}, 4, P4_14},
		{"Sepsis", {0, 0, 0, 0, 2}, 2, P2_14},
		{"Fever", {1, 1, 0, 0, 0}, 1, P1_14},
		{"Myocardial infarction", {0, 0, 0, 0, 1}, 1, P1_14},
		{"Respiratory failure", {0, 0, 0, 0, 1}, 1, P1_14},
		{"Capillary leak syndrome", {1, 0, 0, 0, 0}, 0, P0_14},
		{"Vitiligo", {1, 0, 0, 0, 0}, 0, P0_14},
	};
	static const struct term_ref g5[] = {
		{"Sepsis", {0, 0, 0, 0, 2}, 2, P2_14},
		{"Myocardial infarction", {0, 0, 0, 0, 1}, 1, P1_14},
		{"Respiratory failure", {0, 0, 0, 0, 1}, 1, P1_14},
		{"Capillary leak syndrome", {1, 0, 0, 0, 0}, 0, P0_14},
		{"Fever", {1, 1, 0, 0, 0}, 0, P0_14},
		{"Hypotension", {0, 0, 3, 1, 0}, 0, P0_14},
		{"Vitiligo", {1, 0, 0, 0, 0}, 0, P0_14},
	};
	struct resp *r = cohort_stats("/stats/toxicity?min_grade=1");
	expect_int(r->json, "definitions.min_grade", 1);
	EXPECT_TERMS(at(r->json, "overall"), 14, g1);
	resp_free(r);
	r = cohort_stats("/stats/toxicity?min_grade=2");
	EXPECT_TERMS(at(r->json, "overall"), 14, g2);
	resp_free(r);
	r = cohort_stats("/stats/toxicity?min_grade=5");
	EXPECT_TERMS(at(r->json, "overall"), 14, g5);
	resp_free(r);
}
END_TEST

START_TEST(test_toxicity_course_wilson_level_0_9)
{
	static const struct term_ref want[] = {
		{"Hypotension", {0, 1, 3, 1, 0}, 5, 0.172774715549019, 0.544827852654361},
		{"Sepsis", {0, 0, 0, 0, 2}, 2, 0.0451508867575785, 0.333574763289858},
		{"Fever", {1, 1, 0, 0, 0}, 1, 0.0150161141956112, 0.250750563133177},
		{"Myocardial infarction",
		 {0, 0, 0, 0, 1},
		 1,
		 0.0150161141956112,
		 0.250750563133177},
		{"Respiratory failure", {0, 0, 0, 0, 1}, 1, 0.0150161141956112, 0.250750563133177},
		{"Capillary leak syndrome", {1, 0, 0, 0, 0}, 0, 0, 0.15280770461014},
		{"Vitiligo", {1, 0, 0, 0, 0}, 0, 0, 0.15280770461014},
	};
	struct resp *r =
		cohort_stats("/stats/toxicity?unit=course&min_grade=2&ci=wilson&level=0.9");
	expect_terms_ci(at(r->json, "overall"), 15, want, N_OF(want), "wilson", 0.9);
	resp_free(r);
}
END_TEST

START_TEST(test_toxicity_group_by_setting_and_empty_groups)
{
	static const struct term_ref metastatic[] = {
		{"Hypotension", {0, 0, 3, 1, 0}, 4, 0.0909203945720966, 0.614261661750705},
		{"Sepsis", {0, 0, 0, 0, 2}, 2, 0.0192066719825285, 0.454471055676558},
		{"Myocardial infarction",
		 {0, 0, 0, 0, 1},
		 1,
		 0.00194562849734675,
		 0.360297435267877},
		{"Respiratory failure", {0, 0, 0, 0, 1}, 1, 0.00194562849734675, 0.360297435267877},
		{"Capillary leak syndrome", {1, 0, 0, 0, 0}, 0, 0, 0.247052638000471},
		{"Fever", {1, 1, 0, 0, 0}, 0, 0, 0.247052638000471},
	};
	static const struct term_ref adjuvant[] = {
		{"Vitiligo", {1, 0, 0, 0, 0}, 0, 0, 0.975},
	};
	struct resp *r = cohort_stats("/stats/toxicity?group_by=setting");
	expect_group_keys(r->json, SETTINGS);
	EXPECT_TERMS(at(r->json, "groups.0"), 13, metastatic);
	EXPECT_TERMS(at(r->json, "groups.1"), 1, adjuvant);
	resp_free(r);

	r = cohort_stats("/stats/toxicity?group_by=histology&unit=course");
	expect_group_keys(r->json, HISTOLOGIES);
	expect_int(r->json, "groups.3.units", 0); /* non_hodgkin_lymphoma */
	ck_assert_uint_eq(json_array_size(at(r->json, "groups.3.terms")), 0);
	expect_int(r->json, "groups.2.units", 2); /* colorectal: courses, no toxicity */
	ck_assert_uint_eq(json_array_size(at(r->json, "groups.2.terms")), 0);
	expect_int(r->json, "groups.4.units", 2); /* sarcoma: two courses */
	resp_free(r);
}
END_TEST

START_TEST(test_toxicity_csv_has_a_row_per_group_and_term)
{
	static const char header[] = "group,term,units,grade_1,grade_2,grade_3,grade_4,grade_5,"
				     "count,total,rate,ci_lower,ci_upper,ci_method,ci_level";
	struct resp *r = http_get("/stats/toxicity?format=csv");
	struct csv c = csv_of(r, header);
	ck_assert_uint_eq(c.n, 8);
	expect_row(&c, 1,
		   ROW("overall", "Hypotension", "14", "0", "0", "3", "1", "0", "4", "14",
		       "~0.285714285714286", "~0.0838893183071276", "~0.581035257183661", "exact",
		       "0.95"));
	expect_row(&c, 2,
		   ROW("overall", "Sepsis", "14", "0", "0", "0", "0", "2", "2", "14",
		       "~0.142857142857143", "~0.0177945154831915", "~0.428129160909699", "exact",
		       "0.95"));
	expect_row(&c, 7,
		   ROW("overall", "Vitiligo", "14", "1", "0", "0", "0", "0", "0", "14", "~0", "~0",
		       "~0.231635761650116", "exact", "0.95"));
	csv_free(&c);
	resp_free(r);

	r = http_get("/stats/toxicity?format=csv&unit=course&histology=sarcoma&group_by=setting");
	c = csv_of(r, header);
	ck_assert_uint_eq(c.n, 1 + 3 + 3); /* overall and metastatic; adjuvant has no term */
	expect_row(&c, 1,
		   ROW("overall", "Hypotension", "2", "0", "1", "1", "0", "0", "1", "2", "~0.5",
		       "~0.0125791170934251", "~0.987420882906575", "exact", "0.95"));
	expect_row(&c, 6,
		   ROW("metastatic", "Sepsis", "2", "0", "0", "0", "0", "1", "1", "2", "~0.5",
		       "~0.0125791170934251", "~0.987420882906575", "exact", "0.95"));
	csv_free(&c);
	resp_free(r);
}
END_TEST

/* === /stats/survival ======================================================= */

struct km_ref {
	int t, risk, event, censor;
	double s, lower, upper; /* NA: null */
};

static void expect_median(json_t *slot, double t, double lower, double upper)
{
	static const char *const keys[] = {"time_days", "lower", "upper", NULL};
	expect_keys(at(slot, "median"), keys);
	expect_real(slot, "median.time_days", t);
	expect_real(slot, "median.lower", lower);
	expect_real(slot, "median.upper", upper);
	/* whole days are JSON integers */
	const char *names[] = {"median.time_days", "median.lower", "median.upper"};
	const double vals[] = {t, lower, upper};
	for (int i = 0; i < 3; i++)
		if (!isnan(vals[i]) && vals[i] == floor(vals[i]))
			ck_assert_msg(json_is_integer(at(slot, names[i])), "%s not an integer",
				      names[i]);
}

static void expect_curve(json_t *slot, int n, int events, const struct km_ref *pts, size_t npts)
{
	static const char *const slot_keys[] = {"n", "events", "median", "curve", NULL};
	static const char *const keys[] = {"time_days", "n_risk", "n_event", "n_censor",
					   "survival",  "lower",  "upper",   NULL};
	json_t *copy = json_copy(slot);
	json_object_del(copy, "key");
	expect_keys(copy, slot_keys);
	json_decref(copy);
	expect_int(slot, "n", n);
	expect_int(slot, "events", events);
	json_t *curve = at(slot, "curve");
	ck_assert_msg(json_array_size(curve) == npts, "%zu points, want %zu: %s",
		      json_array_size(curve), npts, json_dumps(curve, 0));
	for (size_t i = 0; i < npts; i++) {
		json_t *p = json_array_get(curve, i);
		expect_keys(p, keys);
		expect_int(p, "time_days", pts[i].t);
		expect_int(p, "n_risk", pts[i].risk);
		expect_int(p, "n_event", pts[i].event);
		expect_int(p, "n_censor", pts[i].censor);
		expect_real(p, "survival", pts[i].s);
		expect_real(p, "lower", pts[i].lower);
		expect_real(p, "upper", pts[i].upper);
	}
}

#define EXPECT_CURVE(slot, n, events, pts) expect_curve(slot, n, events, pts, N_OF(pts))
/* The same, on a slot that also holds at and rmst. */
#define EXPECT_CURVE_WITH(slot, n, events, pts)                                                    \
	do {                                                                                       \
		json_t *bare_ = json_copy(slot);                                                   \
		json_object_del(bare_, "at");                                                      \
		json_object_del(bare_, "rmst");                                                    \
		expect_curve(bare_, n, events, pts, N_OF(pts));                                    \
		json_decref(bare_);                                                                \
	} while (0)

/* All 14 treated patients, 95%: deaths tied at 181, a death and a
 * censoring at 365 (the censored one is at risk there) */
static const struct km_ref overall_95[] = {
	{4, 14, 1, 0, 0.928571428571429, 0.590766867426758, 0.98961982313685},
	{9, 13, 1, 0, 0.857142857142857, 0.539448177623169, 0.962231856406329},
	{127, 12, 1, 0, 0.785714285714286, 0.472463679914261, 0.925365226255237},
	{181, 11, 2, 0, 0.642857142857143, 0.343306877899713, 0.833106828191954},
	{200, 9, 1, 0, 0.571428571428571, 0.284005282558811, 0.779742263661165},
	{244, 8, 1, 0, 0.5, 0.228594814090808, 0.72212764966531},
	{275, 7, 0, 1, 0.5, 0.228594814090808, 0.72212764966531},
	{365, 6, 1, 1, 0.416666666666667, 0.164159423836948, 0.654310673019254},
	{400, 4, 0, 1, 0.416666666666667, 0.164159423836948, 0.654310673019254},
	{535, 3, 0, 1, 0.416666666666667, 0.164159423836948, 0.654310673019254},
	{700, 2, 1, 0, 0.208333333333333, 0.0158452875363911, 0.552314870763168},
	{850, 1, 0, 1, 0.208333333333333, 0.0158452875363911, 0.552314870763168},
};

START_TEST(test_survival_curve_with_ties_and_censoring_matches_r)
{
	struct resp *r = cohort_stats("/stats/survival");
	expect_scope(r->json, "{}", NULL);
	expect_real(r->json, "definitions.level", 0.95);
	EXPECT_CURVE(at(r->json, "overall"), 14, 9, overall_95);
	/* S is exactly 0.5 from 244 until the drop at 365: the midpoint */
	expect_median(at(r->json, "overall"), 304.5, 127, NA);
	resp_free(r);
}
END_TEST

START_TEST(test_survival_level_0_9)
{
	static const struct km_ref want[] = {
		{4, 14, 1, 0, 0.928571428571429, 0.68110249568105, 0.985801286745195},
		{9, 13, 1, 0, 0.857142857142857, 0.610291060672114, 0.953019711225289},
		{127, 12, 1, 0, 0.785714285714286, 0.53536942730883, 0.911116354938333},
		{181, 11, 2, 0, 0.642857142857143, 0.395527559105844, 0.810205169917667},
		{200, 9, 1, 0, 0.571428571428571, 0.331227266819058, 0.753200137984947},
		{244, 8, 1, 0, 0.5, 0.270641521297439, 0.692386418740329},
		{275, 7, 0, 1, 0.5, 0.270641521297439, 0.692386418740329},
		{365, 6, 1, 1, 0.416666666666667, 0.200245400532082, 0.620901711024247},
		{400, 4, 0, 1, 0.416666666666667, 0.200245400532082, 0.620901711024247},
		{535, 3, 0, 1, 0.416666666666667, 0.200245400532082, 0.620901711024247},
		{700, 2, 1, 0, 0.208333333333333, 0.028856768770786, 0.499568012334284},
		{850, 1, 0, 1, 0.208333333333333, 0.028856768770786, 0.499568012334284},
	};
	struct resp *r = cohort_stats("/stats/survival?level=0.9");
	expect_real(r->json, "definitions.level", 0.9);
	EXPECT_CURVE(at(r->json, "overall"), 14, 9, want);
	expect_median(at(r->json, "overall"), 304.5, 181, 700);
	resp_free(r);
}
END_TEST

START_TEST(test_survival_group_by_histology)
{
	/* melanoma: P8 censored first (S = 1: bounds 1), P5 censored at P2's death */
	static const struct km_ref melanoma[] = {
		{275, 5, 0, 1, 1, NA, NA},
		{365, 4, 1, 1, 0.75, 0.127946917595146, 0.960548642285078},
		{700, 2, 1, 0, 0.375, 0.0109711215748446, 0.808001072481343},
		{850, 1, 0, 1, 0.375, 0.0109711215748446, 0.808001072481343},
	};
	static const struct km_ref renal[] = {
		{200, 3, 1, 0, 0.666666666666667, 0.0540734267865168, 0.945206387272047},
		{244, 2, 1, 0, 0.333333333333333, 0.00896162833097908, 0.774148650360833},
		{535, 1, 0, 1, 0.333333333333333, 0.00896162833097908, 0.774148650360833},
	};
	/* colorectal: both die on day 181: S = 0, bounds null */
	static const struct km_ref colorectal[] = {{181, 2, 2, 0, 0, NA, NA}};
	/* lung: S = 0.5 from day 4 and never drops below: the median is day 4 */
	static const struct km_ref lung[] = {
		{4, 2, 1, 0, 0.5, 0.00598308763914576, 0.910410084836737},
		{400, 1, 0, 1, 0.5, 0.00598308763914576, 0.910410084836737},
	};
	struct resp *r = cohort_stats("/stats/survival?group_by=histology");
	json_t *j = r->json;
	expect_group_keys(j, HISTOLOGIES);
	EXPECT_CURVE(at(j, "groups.0"), 5, 2, melanoma);
	expect_median(at(j, "groups.0"), 700, 365, NA);
	EXPECT_CURVE(at(j, "groups.1"), 3, 2, renal);
	expect_median(at(j, "groups.1"), 244, 200, NA);
	EXPECT_CURVE(at(j, "groups.2"), 2, 2, colorectal);
	expect_median(at(j, "groups.2"), 181, NA, NA); /* R: 181, NA, NA */
	expect_curve(at(j, "groups.3"), 0, 0, NULL, 0);
	expect_median(at(j, "groups.3"), NA, NA, NA);
	expect_median(at(j, "groups.4"), 127, NA, NA);
	expect_median(at(j, "groups.5"), 9, NA, NA);
	EXPECT_CURVE(at(j, "groups.6"), 2, 1, lung);
	expect_median(at(j, "groups.6"), 4, 4, NA);
	expect_curve(at(j, "groups.7"), 0, 0, NULL, 0);
	EXPECT_CURVE(at(j, "overall"), 14, 9, overall_95);
	resp_free(r);
}
END_TEST

START_TEST(test_survival_median_bounds_are_null_where_r_prints_na)
{
	/* il2_lak ends at S = 0 (bounds null): R's upper bound of the median is
	 * NA, not the last time; il2_til sits at 0.5 to its end */
	static const struct km_ref lak[] = {
		{200, 4, 1, 0, 0.75, 0.127946917595146, 0.960548642285078},
		{365, 3, 1, 0, 0.5, 0.0578470829951446, 0.844861281190374},
		{535, 2, 0, 1, 0.5, 0.0578470829951446, 0.844861281190374},
		{700, 1, 1, 0, 0, NA, NA},
	};
	static const struct km_ref til[] = {
		{181, 2, 1, 0, 0.5, 0.00598308763914576, 0.910410084836737},
		{400, 1, 0, 1, 0.5, 0.00598308763914576, 0.910410084836737},
	};
	static const struct km_ref ifn[] = {{365, 1, 0, 1, 1, NA, NA}};
	static const struct km_ref tnf[] = {{127, 1, 1, 0, 0, NA, NA}};
	struct resp *r = cohort_stats("/stats/survival?group_by=regimen");
	json_t *j = r->json;
	expect_group_keys(j, REGIMENS);
	EXPECT_CURVE(at(j, "groups.1"), 4, 3, lak);
	expect_median(at(j, "groups.1"), 532.5, 200, NA);
	EXPECT_CURVE(at(j, "groups.2"), 2, 1, til);
	expect_median(at(j, "groups.2"), 181, 181, NA);
	EXPECT_CURVE(at(j, "groups.3"), 1, 0, ifn);
	expect_median(at(j, "groups.3"), NA, NA, NA);
	EXPECT_CURVE(at(j, "groups.4"), 1, 1, tnf);
	expect_median(at(j, "groups.4"), 127, NA, NA);
	expect_median(at(j, "groups.5"), 9, NA, NA);
	expect_curve(at(j, "groups.6"), 0, 0, NULL, 0);
	expect_median(at(j, "groups.6"), NA, NA, NA);
	resp_free(r);
}
END_TEST

START_TEST(test_survival_excludes_untreated_and_censors_at_latest_date_on_record)
{
	/* il2_alone: P9 (untreated, dead) is not in it; P8 is censored at its
	 * toxicity's resolved_on (day 275), P1 at its last contact (day 850) */
	static const struct km_ref alone[] = {
		{4, 5, 1, 0, 0.8, 0.203809263267639, 0.969179788866743},
		{181, 4, 1, 0, 0.6, 0.125730182994431, 0.881756407393532},
		{244, 3, 1, 0, 0.4, 0.0519757503774676, 0.752815791358755},
		{275, 2, 0, 1, 0.4, 0.0519757503774676, 0.752815791358755},
		{850, 1, 0, 1, 0.4, 0.0519757503774676, 0.752815791358755},
	};
	struct resp *r = cohort_stats("/stats/survival?regimen=il2_alone");
	expect_scope(r->json, "{\"regimen\": \"il2_alone\"}", NULL);
	EXPECT_CURVE(at(r->json, "overall"), 5, 3, alone);
	expect_median(at(r->json, "overall"), 244, 4, NA);
	resp_free(r);

	static const struct km_ref adjuvant[] = {{275, 1, 0, 1, 1, NA, NA}};
	r = cohort_stats("/stats/survival?setting=adjuvant");
	EXPECT_CURVE(at(r->json, "overall"), 1, 0, adjuvant);
	expect_median(at(r->json, "overall"), NA, NA, NA);
	resp_free(r);
}
END_TEST

START_TEST(test_survival_csv_has_the_median_and_a_row_per_curve_point)
{
	static const char header[] = "group,figure,time_days,n_risk,n_event,n_censor,survival,"
				     "lower,upper,estimate,se,df,p,reference";
	struct resp *r = http_get("/stats/survival?format=csv");
	struct csv c = csv_of(r, header);
	ck_assert_uint_eq(c.n, 1 + 1 + 12);
	/* the median row: n and events in n_risk and n_event, the median's bounds */
	ck_assert_str_eq(c.lines[1], "overall,median,304.5,14,9,,,127,,,,,,");
	expect_row(&c, 2,
		   ROW("overall", "curve", "4", "14", "1", "0", "~0.928571428571429",
		       "~0.590766867426758", "~0.98961982313685", "", "", "", "", ""));
	expect_row(&c, 5,
		   ROW("overall", "curve", "181", "11", "2", "0", "~0.642857142857143",
		       "~0.343306877899713", "~0.833106828191954", "", "", "", "", ""));
	expect_row(&c, 9,
		   ROW("overall", "curve", "365", "6", "1", "1", "~0.416666666666667",
		       "~0.164159423836948", "~0.654310673019254", "", "", "", "", ""));
	csv_free(&c);
	resp_free(r);

	r = http_get("/stats/survival?format=csv&histology=colorectal&group_by=regimen");
	c = csv_of(r, header);
	/* overall: median + 1 point; il2_alone and il2_til: median + 1 point each;
	 * the other five regimens: a median row only */
	/* and the comparison: the log-rank row and il2_til's hazard ratio */
	ck_assert_uint_eq(c.n, 1 + 2 + 2 + 2 + 5 + 2);
	ck_assert_str_eq(c.lines[1], "overall,median,181,2,2,,,,,,,,,");
	expect_row(&c, 2,
		   ROW("overall", "curve", "181", "2", "2", "0", "~0", "", "", "", "", "", "", ""));
	ck_assert_str_eq(c.lines[3], "il2_alone,median,181,1,1,,,,,,,,,");
	ck_assert_str_eq(c.lines[5], "il2_lak,median,,0,0,,,,,,,,,");
	csv_free(&c);
	resp_free(r);
}
END_TEST

/* --- survival endpoints, landmarks, restricted mean, comparisons ----------
 * Progression-free survival of the 14 treated patients, days from the first
 * course to the first PD or death, whichever came first (e), else to the
 * latest assessment on or after it (c):
 *  P1 150c  P2 184e (PD)  P3 78e (PD)  P4 244e  P5 61c  P6 181e  P7 181e
 *  P8 214e (PD)  P10 127e  P11 4e  P12 9e  P13 59e (PD)  P14 200e  P15 61c
 * Duration of response, treated metastatic with best CR or PR, from the
 * first CR or PR: P1 91c (CR unconfirmed 04-01 to 07-01), P2 123e (PD),
 * P3 0c (its PD came before its CR), P4 183e (death), P5 0c; confirmed_only:
 * P1 0c (from its confirmed CR), P3 0c, P5 0c.
 * R (survival 3.4): survfit(conf.type = "log-log"), summary(times, extend =
 * TRUE), summary(rmean = tau)$table, survdiff, coxph(ties = "efron") with
 * il2_alone first (il2_ifn_alpha's coefficient "may be infinite"). */

START_TEST(test_survival_progression_free_with_landmarks_and_restricted_mean_matches_r)
{
	struct resp *r =
		cohort_stats("/stats/survival?endpoint=progression_free&at=1000,60,200&tau=200");
	json_t *o = at(r->json, "overall");
	expect_int(o, "n", 14);
	expect_int(o, "events", 11);
	expect_median(o, 181, 59, 200);
	expect_str(r->json, "definitions.endpoint", "progression_free");
	expect_str(r->json, "definitions.event",
		   "the earlier of the first outcome with response PD and death (died_on)");
	/* landmarks in ascending order, as R sorts them */
	json_t *marks = at(o, "at");
	ck_assert_uint_eq(json_array_size(marks), 3);
	static const struct {
		int t, risk;
		double s, lower, upper;
	} want[] = {{60, 11, 0.7857142857142857, 0.47246367991426069, 0.92536522625523687},
		    {200, 3, 0.20370370370370364, 0.032860739102654482, 0.47654002348574281},
		    {1000, 0, 0, NA, NA}};
	for (size_t i = 0; i < 3; i++) {
		json_t *m = json_array_get(marks, i);
		expect_int(m, "time_days", want[i].t);
		expect_int(m, "n_risk", want[i].risk);
		expect_real(m, "survival", want[i].s);
		expect_real(m, "lower", want[i].lower);
		expect_real(m, "upper", want[i].upper);
	}
	expect_int(o, "rmst.tau_days", 200);
	expect_real(o, "rmst.estimate", 139.76190476190476);
	expect_real(o, "rmst.se", 19.432052061640395);
	expect_real(o, "rmst.lower", 139.76190476190476 - 1.959963984540054 * 19.432052061640395);
	expect_real(o, "rmst.upper", 139.76190476190476 + 1.959963984540054 * 19.432052061640395);
	ck_assert_ptr_null(json_object_get(r->json, "comparison"));
	resp_free(r);
}
END_TEST

static void expect_ratio(json_t *h, const char *key, const char *reference, double hr, double lower,
			 double upper, double p)
{
	expect_str(h, "key", key);
	expect_str(h, "reference", reference);
	expect_real(h, "hr", hr);
	expect_real(h, "lower", lower);
	expect_real(h, "upper", upper);
	expect_real(h, "p", p);
	ck_assert(isnan(hr) == (json_object_get(h, "note") != NULL));
}

START_TEST(test_survival_log_rank_and_hazard_ratios_match_r)
{
	struct resp *r = cohort_stats("/stats/survival?endpoint=progression_free&group_by=regimen");
	expect_str(r->json, "comparison.test", "logrank");
	expect_real(r->json, "comparison.chisq", 7.6219788989664208);
	expect_int(r->json, "comparison.df", 5);
	expect_real(r->json, "comparison.p", 0.17833656496171985);
	/* one per regimen with patients but the reference: il2_cyclophosphamide
	 * has none and is left out */
	json_t *hr = at(r->json, "hazard_ratios");
	ck_assert_uint_eq(json_array_size(hr), 5);
	expect_ratio(json_array_get(hr, 0), "il2_lak", "il2_alone", 2.7428375157027496,
		     0.49678888503481072, 15.143570768535358, 0.24709085388913246);
	expect_ratio(json_array_get(hr, 1), "il2_til", "il2_alone", 2.433894999720815,
		     0.20291823953383734, 29.193259725073474, 0.48285650516049605);
	expect_ratio(json_array_get(hr, 2), "il2_ifn_alpha", "il2_alone", NA, NA, NA, NA);
	expect_ratio(json_array_get(hr, 3), "il2_tnf", "il2_alone", 5.36573706414051,
		     0.40409498207320382, 71.248432964395377, 0.20292878529705646);
	expect_ratio(json_array_get(hr, 4), "il2_antibody", "il2_alone", 25.700013775929566,
		     1.1635433960655222, 567.65455445529017, 0.039793660267219533);
	resp_free(r);

	/* another reference and level: il2_alone against il2_lak at 90% */
	r = cohort_stats("/stats/survival?endpoint=progression_free&group_by=regimen"
			 "&reference=il2_lak&level=0.9");
	hr = at(r->json, "hazard_ratios");
	ck_assert_uint_eq(json_array_size(hr), 5);
	expect_ratio(json_array_get(hr, 0), "il2_alone", "il2_lak", 0.36458594221312723,
		     0.08691009294012049, 1.5294300668970093, 0.24709085388913249);
	expect_real(r->json, "comparison.chisq", 7.6219788989664208); /* level-free */
	resp_free(r);

	/* one group with patients: nothing to compare */
	r = cohort_stats("/stats/survival?group_by=regimen&histology=sarcoma");
	expect_real(r->json, "comparison.chisq", NA);
	expect_int(r->json, "comparison.df", 0);
	expect_real(r->json, "comparison.p", NA);
	ck_assert_uint_eq(json_array_size(at(r->json, "hazard_ratios")), 0);
	resp_free(r);
}
END_TEST

START_TEST(test_survival_response_duration_and_confirmed_only)
{
	static const struct km_ref any[] = {
		{0, 5, 0, 2, 1, NA, NA},
		{91, 3, 0, 1, 1, NA, NA},
		{123, 2, 1, 0, 0.5, 0.00598308763914576, 0.910410084836737},
		{183, 1, 1, 0, 0, NA, NA},
	};
	struct resp *r = cohort_stats("/stats/survival?endpoint=response_duration&tau=150");
	EXPECT_CURVE_WITH(at(r->json, "overall"), 5, 2, any);
	expect_real(r->json, "overall.rmst.estimate", 136.5);
	expect_real(r->json, "overall.rmst.se", 9.5459415460183923);
	expect_str(r->json, "definitions.population",
		   "treated metastatic patients whose best overall response is CR or PR");
	resp_free(r);
	static const struct km_ref confirmed[] = {{0, 3, 0, 3, 1, NA, NA}};
	r = cohort_stats("/stats/survival?endpoint=response_duration&confirmed_only=true");
	EXPECT_CURVE(at(r->json, "overall"), 3, 0, confirmed);
	expect_str(r->json, "definitions.time_zero", "the first outcome with a confirmed CR or PR");
	resp_free(r);
}
END_TEST

START_TEST(test_survival_csv_carries_landmarks_rmst_and_the_comparison)
{
	static const char header[] = "group,figure,time_days,n_risk,n_event,n_censor,survival,"
				     "lower,upper,estimate,se,df,p,reference";
	struct resp *r = http_get("/stats/survival?format=csv&endpoint=progression_free"
				  "&group_by=regimen&at=60&tau=200");
	struct csv c = csv_of(r, header);
	bool saw_at = false, saw_rmst = false, saw_logrank = false, saw_hr = false;
	for (size_t i = 1; i < c.n; i++) {
		if (strncmp(c.lines[i], "overall,at,", 11) == 0) {
			expect_row(&c, i,
				   ROW("overall", "at", "60", "11", "", "", "~0.7857142857142857",
				       "~0.47246367991426069", "~0.92536522625523687", "", "", "",
				       "", ""));
			saw_at = true;
		} else if (strncmp(c.lines[i], "overall,rmst,", 13) == 0) {
			expect_row(&c, i,
				   ROW("overall", "rmst", "200", "", "", "", "",
				       "~101.67578257538207", "~177.84802694842745",
				       "~139.76190476190476", "~19.432052061640395", "", "", ""));
			saw_rmst = true;
		} else if (strncmp(c.lines[i], "all,logrank,", 12) == 0) {
			expect_row(&c, i,
				   ROW("all", "logrank", "", "", "", "", "", "", "",
				       "~7.6219788989664208", "", "5", "~0.17833656496171985", ""));
			saw_logrank = true;
		} else if (strncmp(c.lines[i], "il2_antibody,hazard_ratio,", 26) == 0) {
			expect_row(&c, i,
				   ROW("il2_antibody", "hazard_ratio", "", "", "", "", "",
				       "~1.1635433960655222", "~567.65455445529017",
				       "~25.700013775929566", "", "", "~0.039793660267219533",
				       "il2_alone"));
			saw_hr = true;
		}
	}
	ck_assert(saw_at && saw_rmst && saw_logrank && saw_hr);
	/* the comparison comes last */
	ck_assert(strncmp(c.lines[c.n - 1], "il2_antibody,hazard_ratio,", 26) == 0);
	csv_free(&c);
	resp_free(r);
}
END_TEST

START_TEST(test_bad_survival_parameters_are_400)
{
	refused("/stats/survival?endpoint=foo", "endpoint");
	refused("/stats/survival?endpoint=", "endpoint");
	refused("/stats/survival?at=-1", "at");
	refused("/stats/survival?at=abc", "at");
	refused("/stats/survival?at=", "at");
	refused("/stats/survival?at=1,,2", "at");
	refused("/stats/survival?at=1,2,", "at");
	refused("/stats/survival?at=1000001", "at");
	refused("/stats/survival?at=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21", "at");
	refused("/stats/survival?tau=0", "tau");
	refused("/stats/survival?tau=-5", "tau");
	refused("/stats/survival?tau=nan", "tau");
	refused("/stats/survival?reference=il2_alone", "reference");
	refused("/stats/survival?group_by=regimen&reference=nope", "reference");
	/* a group of group_by, but without patients in this population */
	refused("/stats/survival?group_by=regimen&reference=il2_cyclophosphamide", "reference");
	struct resp *no_tag =
		http_get("/stats/survival?group_by=regimen&reference=il2_cyclophosphamide");
	ck_assert_ptr_null(resp_header(no_tag, "ETag")); /* a refusal has no tag */
	resp_free(no_tag);
	refused("/stats/survival?confirmed_only=true", "confirmed_only");
	refused("/stats/survival?endpoint=progression_free&confirmed_only=true", "confirmed_only");
	/* twenty landmarks are allowed; the other routes take none of these */
	struct resp *r =
		http_get("/stats/survival?at=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20");
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
	refused("/stats/response?endpoint=overall", "endpoint");
	refused("/stats/mortality?at=30", "at");
	refused("/stats/toxicity?tau=30", "tau");
}
END_TEST

/* === /stats/durable-response ============================================== */

struct durable_ref {
	int p; /* index into pid[] */
	const char *first_cr_on;
	double months;
	bool recurred, durable;
};

static void expect_durable(json_t *slot, int responders, int durable, int recurred,
			   const struct durable_ref *want, size_t n)
{
	static const char *const slot_keys[] = {"complete_responders", "durable", "recurred",
						"patients", NULL};
	static const char *const keys[] = {"patient_id", "first_cr_on", "months_followed",
					   "recurred",   "durable",     NULL};
	json_t *copy = json_copy(slot);
	json_object_del(copy, "key");
	expect_keys(copy, slot_keys);
	json_decref(copy);
	expect_int(slot, "complete_responders", responders);
	expect_int(slot, "durable", durable);
	expect_int(slot, "recurred", recurred);
	json_t *list = at(slot, "patients");
	ck_assert_msg(json_array_size(list) == n, "patients %s", json_dumps(list, 0));
	for (size_t i = 0; i < n; i++) {
		json_t *p = json_array_get(list, i);
		expect_keys(p, keys);
		expect_int(p, "patient_id", pid[want[i].p]);
		expect_str(p, "first_cr_on", want[i].first_cr_on);
		expect_real(p, "months_followed", want[i].months);
		expect_bool(p, "recurred", want[i].recurred);
		expect_bool(p, "durable", want[i].durable);
	}
}

/* months = (latest date on record - first CR) / 30.4375:
 * P1 (1987-06-01 - 1985-04-01) = 791 d; P2 (death 1986-03-01 - 1985-05-01) = 304 d;
 * P3 (1986-09-01 - 1986-01-15) = 229 d */
#define M_P1 25.9876796714579
#define M_P2 9.98767967145791
#define M_P3 7.52361396303901

START_TEST(test_durable_response_default_18_months)
{
	static const struct durable_ref want[] = {
		{1, "1985-04-01", M_P1, false, true},  /* CR followed 26 months */
		{2, "1985-05-01", M_P2, true, false},  /* PD after the CR */
		{3, "1986-01-15", M_P3, false, false}, /* PD before the CR is no recurrence;
							* followed 7.5 months only */
	};
	struct resp *r = cohort_stats("/stats/durable-response");
	expect_scope(r->json, "{}", NULL);
	expect_real(r->json, "definitions.min_months", 18);
	expect_real(r->json, "definitions.days_per_month", 30.4375);
	expect_bool(r->json, "definitions.confirmed_only", false);
	expect_durable(at(r->json, "overall"), 3, 1, 1, want, N_OF(want));
	resp_free(r);
}
END_TEST

START_TEST(test_durable_response_min_months_6)
{
	static const struct durable_ref want[] = {
		{1, "1985-04-01", M_P1, false, true},
		{2, "1985-05-01", M_P2, true, false},
		{3, "1986-01-15", M_P3, false, true},
	};
	struct resp *r = cohort_stats("/stats/durable-response?min_months=6");
	expect_real(r->json, "definitions.min_months", 6);
	expect_durable(at(r->json, "overall"), 3, 2, 1, want, N_OF(want));
	resp_free(r);

	/* 7.52 months is below 7.6 and at or above 7.5 */
	r = cohort_stats("/stats/durable-response?min_months=7.6");
	expect_int(r->json, "overall.durable", 1);
	resp_free(r);
	r = cohort_stats("/stats/durable-response?min_months=7.5");
	expect_int(r->json, "overall.durable", 2);
	resp_free(r);
	r = cohort_stats("/stats/durable-response?min_months=0");
	expect_int(r->json, "overall.durable", 2); /* P2 recurred */
	resp_free(r);
}
END_TEST

/* CSV rows end in CRLF. */
static int count_lines(const char *text)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, "\r\n")) != NULL; p += 2)
		n++;
	return n;
}

/* The list of complete responders comes a page at a time (limit, default
 * 1000; after: a patient id), in patient order; the counts are always of
 * every responder. A page that ends before the list has a "next" member
 * and a Link header naming the same URL; the last page has neither. */
START_TEST(test_durable_response_lists_responders_a_page_at_a_time)
{
	static const struct durable_ref want[] = {
		{1, "1985-04-01", M_P1, false, true},
		{2, "1985-05-01", M_P2, true, false},
		{3, "1986-01-15", M_P3, false, false},
	};
	char path[256];
	snprintf(path, sizeof path, "/stats/durable-response?limit=2&group_by=setting");
	struct resp *r = cohort_stats(path);
	expect_durable(at(r->json, "overall"), 3, 1, 1, want, 2);
	char next[256];
	snprintf(next, sizeof next, "/stats/durable-response?limit=2&group_by=setting&after=%lld",
		 (long long)pid[2]);
	expect_str(r->json, "next", next);
	char link[300];
	snprintf(link, sizeof link, "<%s>; rel=\"next\"", next);
	ck_assert_str_eq(resp_header(r, "Link"), link);
	resp_free(r);

	r = cohort_stats(next);
	expect_durable(at(r->json, "overall"), 3, 1, 1, want + 2, 1);
	ck_assert_ptr_null(json_object_get(r->json, "next"));
	ck_assert_ptr_null(resp_header(r, "Link"));
	resp_free(r);

	/* the same page again: from the cache, with its link */
	r = cohort_stats(path);
	ck_assert_str_eq(resp_header(r, "Link"), link);
	resp_free(r);

	/* CSV pages alike: its rows, and the Link header */
	static const char *const csv[] = {"Accept: text/csv", NULL};
	r = http("GET", "/stats/durable-response?limit=1", csv, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	snprintf(link, sizeof link, "</stats/durable-response?limit=1&after=%lld>; rel=\"next\"",
		 (long long)pid[1]);
	ck_assert_str_eq(resp_header(r, "Link"), link);
	ck_assert_int_eq(count_lines(r->body), 2); /* the header and one patient */
	resp_free(r);

	refused("/stats/durable-response?limit=0", "limit");
	refused("/stats/durable-response?limit=10001", "limit");
	refused("/stats/durable-response?limit=all", "limit");
	refused("/stats/durable-response?after=-1", "after");
	refused("/stats/durable-response?after=x", "after");
}
END_TEST

START_TEST(test_durable_response_confirmed_only_uses_first_confirmed_cr)
{
	/* P2's only CR is unconfirmed: out; P1's first confirmed CR is 1985-07-01
	 * (700 days before 1987-06-01) */
	static const struct durable_ref want[] = {
		{1, "1985-07-01", 700 / 30.4375, false, true},
		{3, "1986-01-15", M_P3, false, false},
	};
	struct resp *r = cohort_stats("/stats/durable-response?confirmed_only=true");
	expect_bool(r->json, "definitions.confirmed_only", true);
	expect_durable(at(r->json, "overall"), 2, 1, 0, want, N_OF(want));
	resp_free(r);
}
END_TEST

START_TEST(test_durable_response_group_by_regimen_and_filter)
{
	static const struct durable_ref alone[] = {{1, "1985-04-01", M_P1, false, true}};
	static const struct durable_ref lak[] = {
		{2, "1985-05-01", M_P2, true, false},
		{3, "1986-01-15", M_P3, false, false},
	};
	struct resp *r = cohort_stats("/stats/durable-response?group_by=regimen");
	expect_group_keys(r->json, REGIMENS);
	expect_durable(at(r->json, "groups.0"), 1, 1, 0, alone, 1);
	expect_durable(at(r->json, "groups.1"), 2, 0, 1, lak, 2);
	for (int g = 2; g < 7; g++) {
		char path[32];
		snprintf(path, sizeof path, "groups.%d", g);
		expect_durable(at(r->json, path), 0, 0, 0, NULL, 0);
	}
	resp_free(r);

	r = cohort_stats("/stats/durable-response?histology=renal_cell&min_months=6");
	static const struct durable_ref renal[] = {{3, "1986-01-15", M_P3, false, true}};
	expect_durable(at(r->json, "overall"), 1, 1, 0, renal, 1);
	resp_free(r);
}
END_TEST

START_TEST(test_durable_response_csv_has_a_row_per_complete_responder)
{
	static const char header[] =
		"group,patient_id,first_cr_on,months_followed,recurred,durable";
	struct resp *r = http_get("/stats/durable-response?format=csv&group_by=setting");
	struct csv c = csv_of(r, header);
	ck_assert_uint_eq(c.n, 1 + 3 + 3);
	char p[3][32];
	for (int i = 0; i < 3; i++)
		snprintf(p[i], sizeof p[i], "%lld", (long long)pid[i + 1]);
	expect_row(&c, 1, ROW("overall", p[0], "1985-04-01", "~25.9876796714579", "false", "true"));
	expect_row(&c, 2, ROW("overall", p[1], "1985-05-01", "~9.98767967145791", "true", "false"));
	expect_row(&c, 3,
		   ROW("overall", p[2], "1986-01-15", "~7.52361396303901", "false", "false"));
	expect_row(&c, 4,
		   ROW("metastatic", p[0], "1985-04-01", "~25.9876796714579", "false", "true"));
	expect_row(&c, 6,
		   ROW("metastatic", p[2], "1986-01-15", "~7.52361396303901", "false", "false"));
	csv_free(&c);
	resp_free(r);
}
END_TEST

/* === common to every route ================================================= */

START_TEST(test_accept_text_csv_answers_the_same_csv_as_format_csv)
{
	static const char *const accept[] = {"Accept: text/csv", NULL};
	for (size_t i = 0; ROUTES[i]; i++) {
		char path[128];
		snprintf(path, sizeof path, "%s?format=csv", ROUTES[i]);
		struct resp *a = http_get(path);
		struct resp *b = http("GET", ROUTES[i], accept, NULL, 0);
		ck_assert_int_eq(a->status, 200);
		ck_assert_int_eq(b->status, 200);
		ck_assert_str_eq(resp_header(b, "Content-Type"), CSV_TYPE);
		ck_assert_str_eq(a->body, b->body);
		char etag[128];
		snprintf(etag, sizeof etag, "%s", resp_header(a, "ETag"));
		ck_assert_str_eq(resp_header(b, "ETag"), etag);
		resp_free(a);
		resp_free(b);
		/* format=json wins over Accept */
		snprintf(path, sizeof path, "%s?format=json", ROUTES[i]);
		a = http("GET", path, accept, NULL, 0);
		ck_assert_str_eq(resp_header(a, "Content-Type"), "application/json");
		resp_free(a);
	}
}
END_TEST

START_TEST(test_current_etag_gives_304_on_every_route)
{
	for (size_t i = 0; ROUTES[i]; i++) {
		struct resp *r = cohort_stats(ROUTES[i]);
		char etag[128], inm[160], weak[170];
		snprintf(etag, sizeof etag, "%s", resp_header(r, "ETag"));
		resp_free(r);
		snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
		snprintf(weak, sizeof weak, "If-None-Match: W/%s", etag);
		const char *const tries[][2] = {
			{inm, NULL}, {weak, NULL}, {"If-None-Match: *", NULL}};
		for (size_t k = 0; k < 3; k++) {
			r = http("GET", ROUTES[i], tries[k], NULL, 0);
			ck_assert_msg(r->status == 304, "%s %s -> %ld", ROUTES[i], tries[k][0],
				      r->status);
			ck_assert_uint_eq(r->len, 0);
			ck_assert_str_eq(resp_header(r, "ETag"), etag);
			resp_free(r);
		}
		/* another tag: the full answer */
		const char *const other[] = {"If-None-Match: \"1-0000000000000000\"", NULL};
		r = http("GET", ROUTES[i], other, NULL, 0);
		ck_assert_int_eq(r->status, 200);
		resp_free(r);
	}
}
END_TEST

START_TEST(test_etag_differs_between_queries_and_formats)
{
	static const char *const paths[] = {"/stats/response",
					    "/stats/response?format=csv",
					    "/stats/response?ci=wilson",
					    "/stats/response?level=0.9",
					    "/stats/response?group_by=regimen",
					    "/stats/response?regimen=il2_lak",
					    "/stats/response?confirmed_only=true",
					    "/stats/response?population=evaluable",
					    "/stats/mortality",
					    "/stats/summary",
					    NULL};
	char tags[16][128];
	size_t n = 0;
	for (; paths[n]; n++) {
		struct resp *r = http_get(paths[n]);
		ck_assert_int_eq(r->status, 200);
		snprintf(tags[n], sizeof tags[n], "%s", resp_header(r, "ETag"));
		resp_free(r);
		for (size_t k = 0; k < n; k++)
			ck_assert_msg(strcmp(tags[k], tags[n]) != 0, "%s and %s share ETag %s",
				      paths[k], paths[n], tags[n]);
	}
	/* the same query gives the same tag; a 304 for one query is not one for another */
	char inm[160];
	snprintf(inm, sizeof inm, "If-None-Match: %s", tags[0]);
	const char *const h[] = {inm, NULL};
	struct resp *r = http("GET", "/stats/response", h, NULL, 0);
	ck_assert_int_eq(r->status, 304);
	resp_free(r);
	r = http("GET", "/stats/response?ci=wilson", h, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
}
END_TEST

/* P3 is followed 7.52361396303901 months: these two thresholds give
 * different answers, so they must not share an ETag (a 304 would be wrong) */
START_TEST(test_etag_tells_apart_parameters_closer_than_a_millionth)
{
	struct resp *r = cohort_stats("/stats/durable-response?min_months=7.5236139");
	expect_int(r->json, "overall.durable", 2);
	char inm[160];
	snprintf(inm, sizeof inm, "If-None-Match: %s", resp_header(r, "ETag"));
	resp_free(r);
	const char *const h[] = {inm, NULL};
	r = http("GET", "/stats/durable-response?min_months=7.5236139999", h, NULL, 0);
	ck_assert_msg(r->status == 200, "a different threshold answered %ld", r->status);
	expect_int(r->json, "overall.durable", 1);
	resp_free(r);
	r = http("GET", "/stats/durable-response?min_months=7.5236139", h, NULL, 0);
	ck_assert_int_eq(r->status, 304);
	resp_free(r);
}
END_TEST

/* --- bad parameters: 400 invalid-parameter naming the parameter ---------- */

START_TEST(test_bad_group_by_filter_and_format_are_400)
{
	refused_on(ROUTES, "group_by=sex", "group_by");
	refused_on(ROUTES, "group_by=", "group_by");
	refused_on(ROUTES, "regimen=bogus", "regimen");
	refused_on(ROUTES, "histology=Melanoma", "histology");
	refused_on(ROUTES, "setting=x", "setting");
	refused_on(ROUTES, "format=xml", "format");
	/* several values: each one of the field's, each once, no empty one */
	refused_on(ROUTES, "histology=melanoma,,renal_cell", "histology");
	refused_on(ROUTES, "histology=melanoma,melanoma", "histology");
	refused_on(ROUTES, "histology=melanoma,", "histology");
	refused_on(ROUTES, "regimen=il2_lak,bogus", "regimen");
}
END_TEST

/* A filter of several values keeps the patients of any of them: every
 * count is the sum of each value's, and a grouping shows only them. */
START_TEST(test_a_filter_of_several_values_keeps_any_of_them)
{
	struct resp *a = cohort_stats("/stats/response?histology=melanoma");
	struct resp *b = cohort_stats("/stats/response?histology=renal_cell");
	struct resp *ab = cohort_stats("/stats/response?histology=melanoma,renal_cell");
	static const char *const figures[] = {"overall.objective_response.count",
					      "overall.objective_response.total",
					      "overall.complete_response.count", NULL};
	for (int i = 0; figures[i]; i++)
		expect_int(ab->json, figures[i],
			   json_integer_value(at(a->json, figures[i])) +
				   json_integer_value(at(b->json, figures[i])));
	expect_str(ab->json, "definitions.filters.histology", "melanoma,renal_cell");
	resp_free(a);
	resp_free(b);
	resp_free(ab);
	struct resp *s = cohort_stats("/stats/survival?histology=melanoma,renal_cell,lung");
	expect_int(s->json, "overall.n", 10); /* P1-5, P13-15 and P11, P8 */
	resp_free(s);
	struct resp *g = cohort_stats("/stats/summary?histology=sarcoma,breast&group_by=histology");
	size_t i;
	json_t *grp;
	json_array_foreach(at(g->json, "groups"), i, grp)
	{
		const char *key = json_string_value(json_object_get(grp, "key"));
		bool kept = strcmp(key, "sarcoma") == 0 || strcmp(key, "breast") == 0;
		ck_assert_msg(kept == (json_integer_value(json_object_get(grp, "patients")) > 0),
			      "group %s", key);
	}
	expect_int(g->json, "overall.patients", 2);
	resp_free(g);
	/* the page of complete responders: those of either value */
	struct resp *d = cohort_stats("/stats/durable-response?histology=melanoma,renal_cell&"
				      "min_months=0&limit=1");
	expect_int(d->json, "overall.complete_responders", 3); /* P1, P2, P3 */
	ck_assert_uint_eq(json_array_size(at(d->json, "overall.patients")), 1);
	ck_assert_ptr_nonnull(json_object_get(d->json, "next"));
	resp_free(d);
}
END_TEST

START_TEST(test_bad_ci_and_level_are_400)
{
	static const char *const with_ci[] = {"/stats/response", "/stats/mortality",
					      "/stats/toxicity", NULL};
	static const char *const with_level[] = {"/stats/response", "/stats/mortality",
						 "/stats/toxicity", "/stats/survival", NULL};
	refused_on(with_ci, "ci=bayes", "ci");
	refused_on(with_ci, "ci=EXACT", "ci");
	refused_on(with_level, "level=0", "level");
	refused_on(with_level, "level=1", "level");
	refused_on(with_level, "level=abc", "level");
	refused_on(with_level, "level=-0.5", "level");
	refused_on(with_level, "level=95", "level");
	refused_on(with_level, "level=", "level");
	refused_on(with_level, "level=0.9x", "level");
	refused_on(with_level, "level=nan", "level");
}
END_TEST

START_TEST(test_bad_unit_and_min_grade_are_400)
{
	refused("/stats/toxicity?min_grade=6", "min_grade");
	refused("/stats/toxicity?min_grade=0", "min_grade");
	refused("/stats/toxicity?min_grade=2.5", "min_grade");
	refused("/stats/toxicity?min_grade=abc", "min_grade");
	refused("/stats/toxicity?unit=day", "unit");
	refused("/stats/toxicity?unit=Patient", "unit");
	refused("/stats/toxicity?unit=course&unit=patient", "unit");
}
END_TEST

START_TEST(test_bad_min_months_population_and_confirmed_only_are_400)
{
	refused("/stats/durable-response?min_months=-1", "min_months");
	refused("/stats/durable-response?min_months=1201", "min_months");
	refused("/stats/durable-response?min_months=abc", "min_months");
	refused("/stats/response?population=x", "population");
	refused("/stats/response?population=", "population");
	static const char *const with_confirmed[] = {"/stats/response", "/stats/durable-response",
						     NULL};
	refused_on(with_confirmed, "confirmed_only=yes", "confirmed_only");
	refused_on(with_confirmed, "confirmed_only=1", "confirmed_only");
}
END_TEST

START_TEST(test_unknown_and_repeated_params_are_400)
{
	refused_on(ROUTES, "foo=1", "foo");
	refused_on(ROUTES, "group_by=regimen&group_by=setting", "group_by");
	refused_on(ROUTES, "regimen=il2_lak&regimen=il2_lak", "regimen");
	static const char *const unpaged[] = {"/stats/summary",   "/stats/response",
					      "/stats/mortality", "/stats/toxicity",
					      "/stats/survival",  NULL};
	refused_on(unpaged, "limit=10", "limit");
	refused_on(unpaged, "after=10", "after");
	refused("/stats/durable-response?limit=2&limit=2", "limit");
	refused("/stats/response?level=0.9&level=0.9", "level");
}
END_TEST

START_TEST(test_param_a_route_does_not_take_is_400)
{
	refused("/stats/response?unit=patient", "unit");
	refused("/stats/response?min_grade=3", "min_grade");
	refused("/stats/response?min_months=18", "min_months");
	refused("/stats/summary?ci=exact", "ci");
	refused("/stats/summary?level=0.95", "level");
	refused("/stats/summary?confirmed_only=true", "confirmed_only");
	refused("/stats/mortality?min_grade=3", "min_grade");
	refused("/stats/mortality?population=all", "population");
	refused("/stats/toxicity?confirmed_only=true", "confirmed_only");
	refused("/stats/toxicity?min_months=3", "min_months");
	refused("/stats/survival?ci=wilson", "ci");
	refused("/stats/survival?unit=course", "unit");
	refused("/stats/durable-response?level=0.9", "level");
	refused("/stats/durable-response?ci=exact", "ci");
	refused("/stats/durable-response?population=evaluable", "population");
}
END_TEST

START_TEST(test_every_bad_param_is_named_in_one_answer)
{
	struct resp *r =
		http_get("/stats/toxicity?unit=day&min_grade=9&ci=bayes&level=2&group_by=sex&x=1");
	assert_problem(r, 400, INVALID_PARAMETER);
	static const char *const fields[] = {"unit", "min_grade", "ci", "level", "group_by", "x"};
	for (size_t i = 0; i < N_OF(fields); i++)
		assert_field_error(r, fields[i]);
	ck_assert_uint_eq(json_array_size(json_object_get(r->json, "errors")), N_OF(fields));
	resp_free(r);
}
END_TEST

/* === writes (own server): as_of, ETag and figures follow the data ======== */

static json_int_t as_of_now(void)
{
	struct resp *r = stats("/stats/summary");
	json_int_t v = json_integer_value(json_object_get(r->json, "as_of"));
	resp_free(r);
	return v;
}

/* GETs path, asserts as_of is want_as_of, returns the answer. */
static struct resp *stats_at(const char *path, json_int_t want_as_of)
{
	struct resp *r = stats(path);
	expect_int(r->json, "as_of", want_as_of);
	return r;
}

START_TEST(test_writes_advance_as_of_and_stats_show_them)
{
	/* this test owns histology "other" on this server */
	json_int_t a = as_of_now();
	struct resp *r = stats_at("/stats/response?histology=other", a);
	expect_int(r->json, "overall.patients", 0);
	resp_free(r);

	int64_t p = make_patient("{\"histology\": \"other\"}");
	r = stats_at("/stats/summary?histology=other", a + 1);
	expect_int(r->json, "overall.patients", 1);
	expect_int(r->json, "overall.treated", 0);
	resp_free(r);
	r = stats_at("/stats/response?histology=other", a + 1);
	expect_int(r->json, "overall.patients", 0); /* untreated */
	resp_free(r);

	int64_t c = make_course(p, "{\"started_on\": \"1985-02-01\"}");
	r = stats_at("/stats/response?histology=other", a + 2);
	expect_bor(at(r->json, "overall"), 0, 0, 0, 0, 0, 1);
	resp_free(r);

	int64_t o = make_outcome(c, "{\"assessed_on\": \"1985-04-01\", \"response\": \"PR\"}");
	r = stats_at("/stats/response?histology=other", a + 3);
	expect_bor(at(r->json, "overall"), 0, 1, 0, 0, 0, 0);
	expect_prop(at(r->json, "overall.objective_response"), 1, 1, 0.025, 1);
	resp_free(r);

	char path[64];
	snprintf(path, sizeof path, "/outcomes/%lld", (long long)o);
	struct resp *w = http_patch_json(path, "{\"response\": \"CR\", \"confirmed\": true}");
	ck_assert_int_eq(w->status, 200);
	resp_free(w);
	r = stats_at("/stats/response?histology=other", a + 4);
	expect_bor(at(r->json, "overall"), 1, 0, 0, 0, 0, 0);
	resp_free(r);
	/* the latest date on record is the CR itself: 0 months */
	struct durable_ref d = {0, "1985-04-01", 0, false, false};
	pid[0] = p;
	r = stats_at("/stats/durable-response?histology=other", a + 4);
	expect_durable(at(r->json, "overall"), 1, 0, 0, &d, 1);
	resp_free(r);

	snprintf(path, sizeof path, "/patients/%lld", (long long)p);
	w = http_patch_json(path, "{\"last_contact_on\": \"1987-04-01\"}");
	ck_assert_int_eq(w->status, 200);
	resp_free(w);
	d.months = 730 / 30.4375; /* 1985-04-01 to 1987-04-01 */
	d.durable = true;
	r = stats_at("/stats/durable-response?histology=other", a + 5);
	expect_durable(at(r->json, "overall"), 1, 1, 0, &d, 1);
	resp_free(r);

	make_outcome(c, "{\"assessed_on\": \"1987-01-01\", \"response\": \"PD\"}");
	d.recurred = true;
	d.durable = false;
	r = stats_at("/stats/durable-response?histology=other", a + 6);
	expect_durable(at(r->json, "overall"), 1, 0, 1, &d, 1);
	resp_free(r);

	/* the cascade deletes the course and its two outcomes: three rows */
	snprintf(path, sizeof path, "/courses/%lld?cascade=true", (long long)c);
	w = http_delete(path);
	ck_assert_int_eq(w->status, 204);
	resp_free(w);
	r = stats_at("/stats/summary?histology=other", a + 9);
	expect_int(r->json, "overall.patients", 1);
	expect_int(r->json, "overall.treated", 0);
	expect_int(r->json, "overall.courses", 0);
	resp_free(r);
	r = stats_at("/stats/durable-response?histology=other", a + 9);
	expect_int(r->json, "overall.complete_responders", 0);
	resp_free(r);
}
END_TEST

START_TEST(test_etag_changes_after_a_write_and_the_new_one_gives_304)
{
	/* this test owns histology "breast" on this server */
	struct resp *r = stats("/stats/mortality?histology=breast");
	char e1[128], inm[160];
	snprintf(e1, sizeof e1, "%s", resp_header(r, "ETag"));
	json_int_t a = json_integer_value(json_object_get(r->json, "as_of"));
	expect_prop(at(r->json, "overall.per_patient"), 0, 0, NA, NA);
	resp_free(r);
	snprintf(inm, sizeof inm, "If-None-Match: %s", e1);
	const char *const h1[] = {inm, NULL};
	r = http("GET", "/stats/mortality?histology=breast", h1, NULL, 0);
	ck_assert_int_eq(r->status, 304);
	resp_free(r);

	int64_t p = make_patient("{\"histology\": \"breast\", \"vital_status\": \"dead\", "
				 "\"died_on\": \"1985-03-10\"}");
	int64_t c = make_course(p, "{\"started_on\": \"1985-03-01\"}");
	make_toxicity(c, "{\"term\": \"Sepsis\", \"grade\": 5, \"outcome\": \"fatal\", "
			 "\"onset_on\": \"1985-03-10\", \"attribution\": \"possible\"}");

	r = http("GET", "/stats/mortality?histology=breast", h1, NULL, 0);
	ck_assert_msg(r->status == 200, "stale ETag answered %ld", r->status);
	char e2[128];
	snprintf(e2, sizeof e2, "%s", resp_header(r, "ETag"));
	ck_assert_str_ne(e1, e2);
	char prefix[32];
	snprintf(prefix, sizeof prefix, "\"%lld-", (long long)(a + 3));
	ck_assert_msg(strncmp(e2, prefix, strlen(prefix)) == 0, "ETag %s after 3 writes from %lld",
		      e2, (long long)a);
	expect_int(r->json, "as_of", a + 3);
	expect_prop(at(r->json, "overall.per_course"), 1, 1, 0.025, 1);
	expect_prop(at(r->json, "overall.per_patient"), 1, 1, 0.025, 1);
	expect_causes(at(r->json, "overall"), 1, "Sepsis", 1);
	resp_free(r);

	snprintf(inm, sizeof inm, "If-None-Match: %s", e2);
	r = http("GET", "/stats/mortality?histology=breast", h1, NULL, 0);
	ck_assert_int_eq(r->status, 304);
	ck_assert_str_eq(resp_header(r, "ETag"), e2);
	resp_free(r);
}
END_TEST

START_TEST(test_noop_patch_and_refused_write_keep_as_of_and_etag)
{
	int64_t p = make_patient("{\"histology\": \"sarcoma\"}");
	struct resp *r = stats("/stats/summary?histology=sarcoma");
	char etag[128], inm[160];
	snprintf(etag, sizeof etag, "%s", resp_header(r, "ETag"));
	json_int_t a = json_integer_value(json_object_get(r->json, "as_of"));
	resp_free(r);
	snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
	const char *const h[] = {inm, NULL};

	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)p);
	struct resp *w = http_patch_json(path, "{\"histology\": \"sarcoma\"}"); /* no change */
	ck_assert_int_eq(w->status, 200);
	expect_int(w->json, "version", 1);
	resp_free(w);
	/* refused: a course before enrolment */
	char body[128];
	snprintf(body, sizeof body, "{\"patient_id\": %lld, \"started_on\": \"1984-01-01\"}",
		 (long long)p);
	assert_refused("POST", "/courses", JSON, body, 422, VALIDATION, "started_on");

	r = http("GET", "/stats/summary?histology=sarcoma", h, NULL, 0);
	ck_assert_int_eq(r->status, 304);
	resp_free(r);
	ck_assert_int_eq(as_of_now(), a);

	w = http_patch_json(path, "{\"sex\": \"female\"}");
	ck_assert_int_eq(w->status, 200);
	resp_free(w);
	ck_assert_int_eq(as_of_now(), a + 1);
	r = http("GET", "/stats/summary?histology=sarcoma", h, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
}
END_TEST

START_TEST(test_survival_follows_a_death_recorded_by_patch)
{
	/* this test owns histology "lung" on this server */
	int64_t p = make_patient("{\"histology\": \"lung\", \"last_contact_on\": \"1985-12-01\"}");
	make_course(p, "{\"started_on\": \"1985-02-01\"}");
	static const struct km_ref censored[] = {{303, 1, 0, 1, 1, NA, NA}}; /* to 1985-12-01 */
	struct resp *r = stats("/stats/survival?histology=lung");
	EXPECT_CURVE(at(r->json, "overall"), 1, 0, censored);
	expect_median(at(r->json, "overall"), NA, NA, NA);
	resp_free(r);

	char path[64];
	snprintf(path, sizeof path, "/patients/%lld", (long long)p);
	struct resp *w =
		http_patch_json(path, "{\"vital_status\": \"dead\", \"died_on\": \"1985-07-01\", "
				      "\"last_contact_on\": \"1985-06-01\"}");
	ck_assert_msg(w->status == 200, "%ld %s", w->status, w->body);
	resp_free(w);
	static const struct km_ref died[] = {{150, 1, 1, 0, 0, NA, NA}}; /* to 1985-07-01 */
	r = stats("/stats/survival?histology=lung");
	EXPECT_CURVE(at(r->json, "overall"), 1, 1, died);
	expect_median(at(r->json, "overall"), 150, NA, NA);
	resp_free(r);
}
END_TEST

START_TEST(test_survival_endpoints_follow_writes_with_a_new_etag)
{
	/* this test owns histology "sarcoma" on this server */
	int64_t p = make_patient("{\"histology\": \"sarcoma\", \"regimen\": \"il2_tnf\"}");
	int64_t c = make_course(p, "{\"started_on\": \"1985-02-01\"}");
	make_outcome(c, "{\"assessed_on\": \"1985-03-01\", \"response\": \"PR\", "
			"\"confirmed\": true}");
	const char *path = "/stats/survival?endpoint=progression_free&histology=sarcoma"
			   "&group_by=regimen&at=100&tau=100";
	const char *dor = "/stats/survival?endpoint=response_duration&histology=sarcoma";
	struct resp *r = stats(path);
	static const struct km_ref censored[] = {{28, 1, 0, 1, 1, NA, NA}}; /* to 03-01 */
	json_t *bare = json_copy(at(r->json, "overall"));
	json_object_del(bare, "at");
	json_object_del(bare, "rmst");
	EXPECT_CURVE(bare, 1, 0, censored);
	json_decref(bare);
	expect_real(r->json, "overall.rmst.estimate", 100);
	char *etag = strdup(resp_header(r, "ETag"));
	resp_free(r);
	struct resp *d = stats(dor);
	expect_int(d->json, "overall.n", 1);
	expect_int(d->json, "overall.events", 0);
	resp_free(d);

	/* a PD 30 days after the PR: an event for both endpoints */
	make_outcome(c, "{\"assessed_on\": \"1985-03-31\", \"response\": \"PD\", "
			"\"confirmed\": true}");
	r = stats(path);
	ck_assert_str_ne(resp_header(r, "ETag"), etag);
	static const struct km_ref progressed[] = {{58, 1, 1, 0, 0, NA, NA}};
	bare = json_copy(at(r->json, "overall"));
	json_object_del(bare, "at");
	json_object_del(bare, "rmst");
	EXPECT_CURVE(bare, 1, 1, progressed);
	json_decref(bare);
	expect_real(r->json, "overall.rmst.estimate", 58);
	expect_real(r->json, "overall.at.0.survival", 0);
	resp_free(r);
	d = stats(dor);
	expect_int(d->json, "overall.events", 1);
	expect_int(d->json, "overall.curve.0.time_days", 30);
	resp_free(d);
	/* the old tag no longer matches */
	char inm[96];
	snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
	const char *h[] = {inm, NULL};
	r = http("GET", path, h, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
	free(etag);
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("stats", &tc);
	/* a second unchecked fixture: runs once after api_start, in the parent,
	 * so every (forked) test sees the cohort and the ids in pid[] / cid[] */
	tcase_add_unchecked_fixture(tc, load_cohort, no_teardown);
	tcase_add_test(tc, test_summary_counts_patients_treated_courses_and_tables);
	tcase_add_test(tc, test_summary_group_by_histology_lists_every_histology_even_empty);
	tcase_add_test(tc, test_summary_filters_narrow_the_population);
	tcase_add_test(tc, test_summary_csv_is_exact);
	tcase_add_test(tc,
		       test_response_counts_best_overall_response_of_treated_metastatic_patients);
	tcase_add_test(tc, test_response_confirmed_only_counts_unconfirmed_cr_and_pr_as_sd);
	tcase_add_test(tc, test_response_evaluable_population_drops_bor_ne);
	tcase_add_test(tc, test_response_wilson_interval_matches_the_reference);
	tcase_add_test(tc, test_response_level_0_9_exact_and_wilson);
	tcase_add_test(tc, test_response_group_by_regimen_has_every_regimen_and_empty_ones);
	tcase_add_test(tc, test_response_filters_melanoma_and_adjuvant);
	tcase_add_test(tc, test_response_csv_has_a_row_per_group_and_figure);
	tcase_add_test(tc, test_mortality_counts_one_death_per_course_and_patient);
	tcase_add_test(tc, test_mortality_unrelated_grade_5_is_not_a_treatment_related_death);
	tcase_add_test(tc, test_mortality_groups_by_regimen);
	tcase_add_test(tc, test_mortality_wilson_and_level_0_9);
	tcase_add_test(tc, test_mortality_csv_has_a_row_per_group_and_figure);
	tcase_add_test(tc, test_toxicity_counts_each_patient_once_per_term_at_its_worst_grade);
	tcase_add_test(tc, test_toxicity_unit_course_counts_each_course);
	tcase_add_test(tc, test_toxicity_min_grade_counts_and_orders_terms);
	tcase_add_test(tc, test_toxicity_course_wilson_level_0_9);
	tcase_add_test(tc, test_toxicity_group_by_setting_and_empty_groups);
	tcase_add_test(tc, test_toxicity_csv_has_a_row_per_group_and_term);
	tcase_add_test(tc, test_survival_curve_with_ties_and_censoring_matches_r);
	tcase_add_test(tc, test_survival_level_0_9);
	tcase_add_test(tc, test_survival_group_by_histology);
	tcase_add_test(tc, test_survival_median_bounds_are_null_where_r_prints_na);
	tcase_add_test(tc, test_survival_excludes_untreated_and_censors_at_latest_date_on_record);
	tcase_add_test(tc, test_survival_csv_has_the_median_and_a_row_per_curve_point);
	tcase_add_test(tc,
		       test_survival_progression_free_with_landmarks_and_restricted_mean_matches_r);
	tcase_add_test(tc, test_survival_log_rank_and_hazard_ratios_match_r);
	tcase_add_test(tc, test_survival_response_duration_and_confirmed_only);
	tcase_add_test(tc, test_survival_csv_carries_landmarks_rmst_and_the_comparison);
	tcase_add_test(tc, test_bad_survival_parameters_are_400);
	tcase_add_test(tc, test_durable_response_default_18_months);
	tcase_add_test(tc, test_durable_response_min_months_6);
	tcase_add_test(tc, test_durable_response_confirmed_only_uses_first_confirmed_cr);
	tcase_add_test(tc, test_durable_response_group_by_regimen_and_filter);
	tcase_add_test(tc, test_durable_response_csv_has_a_row_per_complete_responder);
	tcase_add_test(tc, test_accept_text_csv_answers_the_same_csv_as_format_csv);
	tcase_add_test(tc, test_current_etag_gives_304_on_every_route);
	tcase_add_test(tc, test_etag_differs_between_queries_and_formats);
	tcase_add_test(tc, test_etag_tells_apart_parameters_closer_than_a_millionth);
	tcase_add_test(tc, test_bad_group_by_filter_and_format_are_400);
	tcase_add_test(tc, test_a_filter_of_several_values_keeps_any_of_them);
	tcase_add_test(tc, test_bad_ci_and_level_are_400);
	tcase_add_test(tc, test_bad_unit_and_min_grade_are_400);
	tcase_add_test(tc, test_bad_min_months_population_and_confirmed_only_are_400);
	tcase_add_test(tc, test_unknown_and_repeated_params_are_400);
	tcase_add_test(tc, test_durable_response_lists_responders_a_page_at_a_time);
	tcase_add_test(tc, test_param_a_route_does_not_take_is_400);
	tcase_add_test(tc, test_every_bad_param_is_named_in_one_answer);

	TCase *writes = tcase_create("stats-writes");
	tcase_add_unchecked_fixture(writes, api_start, api_stop);
	tcase_set_timeout(writes, 60);
	tcase_add_test(writes, test_writes_advance_as_of_and_stats_show_them);
	tcase_add_test(writes, test_etag_changes_after_a_write_and_the_new_one_gives_304);
	tcase_add_test(writes, test_noop_patch_and_refused_write_keep_as_of_and_etag);
	tcase_add_test(writes, test_survival_follows_a_death_recorded_by_patch);
	tcase_add_test(writes, test_survival_endpoints_follow_writes_with_a_new_etag);
	suite_add_tcase(s, writes);
	return run_suite(s);
}

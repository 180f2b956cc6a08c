/* The demo cohort: a deterministic, synthetic copy of the NCI Surgery
 * Branch series of high-dose IL-2 (Rosenberg et al., Ann Surg 1989) that
 * reproduces every figure CONTRACT.md quotes from the paper: 652 patients
 * (596 metastatic, 56 adjuvant), 1039 courses, the seven regimen counts,
 * 18 complete responses of which 10 durable at 18-52 months, objective
 * responses of 20-35% in renal cell and melanoma under IL-2 alone or with
 * LAK, and 10 treatment-related deaths (sepsis the leading cause). Around
 * those fixed figures it is realistic rather than minimal: 1984-1988 dates,
 * several assessments per patient, the era's toxicity profile, deaths from
 * progression, patients lost to follow-up.
 *
 * Every record goes through records_insert(), the same validation as a
 * POST, inside one transaction: the demo cannot hold what the API refuses. */
#include "demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "digest.h"
#include "record_insert.h"
#include "resources.h"
#include "store.h"
#include "util.h"
#include "validate.h"

#define CUTOFF "1988-12-31"

/* --- a seeded generator (splitmix64): the same cohort every time -------- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double chance(void)
{
	return (double)(rng_next() >> 11) / 9007199254740992.0;
}

static int between(int lo, int hi)
{
	return lo + (int)(rng_next() % (uint64_t)(hi - lo + 1));
}

/* --- dates as day numbers ------------------------------------------------ */

static void day_text(int64_t days, char out[11])
{
	/* Howard Hinnant's civil_from_days */
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t doe = days - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = yoe + era * 400 + (m <= 2);
	snprintf(out, 11, "%04d-%02d-%02d", (int)y, (int)m, (int)d);
}

/* --- the plan of the cohort --------------------------------------------- */

/* One cell of the cohort: patients of a regimen, histology and setting, with
 * how many of them reach CR (and stay free of recurrence) and PR. */
struct cell {
	const char *regimen, *histology, *setting;
	int patients, cr, durable, pr;
};

static const struct cell cells[] = {
	{"il2_alone", "renal_cell", "metastatic", 45, 2, 2, 10},
	{"il2_alone", "melanoma", "metastatic", 50, 2, 0, 10},
	{"il2_alone", "colorectal", "metastatic", 20, 0, 0, 1},
	{"il2_alone", "non_hodgkin_lymphoma", "metastatic", 5, 0, 0, 1},
	{"il2_alone", "sarcoma", "metastatic", 5, 0, 0, 0},
	{"il2_alone", "breast", "metastatic", 3, 0, 0, 0},
	{"il2_alone", "lung", "metastatic", 3, 0, 0, 0},
	{"il2_alone", "other", "metastatic", 4, 0, 0, 0},
	{"il2_alone", "melanoma", "adjuvant", 15, 0, 0, 0},
	{"il2_alone", "renal_cell", "adjuvant", 5, 0, 0, 0},
	{"il2_lak", "renal_cell", "metastatic", 70, 4, 3, 16},
	{"il2_lak", "melanoma", "metastatic", 65, 3, 2, 11},
	{"il2_lak", "colorectal", "metastatic", 30, 0, 0, 2},
	{"il2_lak", "non_hodgkin_lymphoma", "metastatic", 6, 2, 1, 1},
	{"il2_lak", "sarcoma", "metastatic", 5, 0, 0, 0},
	{"il2_lak", "breast", "metastatic", 4, 0, 0, 0},
	{"il2_lak", "lung", "metastatic", 3, 0, 0, 0},
	{"il2_lak", "other", "metastatic", 5, 0, 0, 0},
	{"il2_lak", "melanoma", "adjuvant", 18, 0, 0, 0},
	{"il2_lak", "renal_cell", "adjuvant", 6, 0, 0, 0},
	{"il2_lak", "colorectal", "adjuvant", 2, 0, 0, 0},
	{"il2_til", "melanoma", "metastatic", 50, 2, 1, 9},
	{"il2_til", "renal_cell", "metastatic", 8, 0, 0, 1},
	{"il2_til", "breast", "metastatic", 3, 0, 0, 0},
	{"il2_til", "other", "metastatic", 5, 0, 0, 0},
	{"il2_ifn_alpha", "melanoma", "metastatic", 45, 1, 0, 8},
	{"il2_ifn_alpha", "renal_cell", "metastatic", 45, 2, 1, 9},
	{"il2_ifn_alpha", "colorectal", "metastatic", 15, 0, 0, 1},
	{"il2_ifn_alpha", "sarcoma", "metastatic", 4, 0, 0, 0},
	{"il2_ifn_alpha", "lung", "metastatic", 4, 0, 0, 0},
	{"il2_ifn_alpha", "other", "metastatic", 5, 0, 0, 0},
	{"il2_ifn_alpha", "melanoma", "adjuvant", 8, 0, 0, 0},
	{"il2_ifn_alpha", "renal_cell", "adjuvant", 2, 0, 0, 0},
	{"il2_tnf", "melanoma", "metastatic", 12, 0, 0, 1},
	{"il2_tnf", "renal_cell", "metastatic", 10, 0, 0, 1},
	{"il2_tnf", "colorectal", "metastatic", 10, 0, 0, 0},
	{"il2_tnf", "sarcoma", "metastatic", 3, 0, 0, 0},
	{"il2_tnf", "other", "metastatic", 3, 0, 0, 0},
	{"il2_antibody", "melanoma", "metastatic", 14, 0, 0, 1},
	{"il2_antibody", "colorectal", "metastatic", 14, 0, 0, 0},
	{"il2_antibody", "other", "metastatic", 4, 0, 0, 0},
	{"il2_cyclophosphamide", "melanoma", "metastatic", 10, 0, 0, 1},
	{"il2_cyclophosphamide", "renal_cell", "metastatic", 5, 0, 0, 0},
	{"il2_cyclophosphamide", "colorectal", "metastatic", 2, 0, 0, 0},
	{"il2_cyclophosphamide", "other", "metastatic", 2, 0, 0, 0},
};

#define PATIENTS      652
#define THREE_COURSES 43 /* 652 + 301 + 2 * 43 = 1039 courses */
#define TWO_COURSES   301

/* What happens to a patient's disease, best first. */
enum disease {
	CR_DURABLE,
	CR_RECURRED,
	PARTIAL,
	MINOR,
	STABLE,
	ADJUVANT_RECURRED,
	ADJUVANT_FREE,
	PROGRESSIVE,
	NOT_ASSESSED,
};

enum fate { ALIVE, DIED_OF_DISEASE, LOST, TREATMENT_DEATH, DIED_DURING_COURSE };

struct plan {
	const struct cell *cell;
	enum disease disease;
	enum fate fate;
	int courses;
	int durable_months; /* CR_DURABLE: months from first CR to last contact */
	uint64_t order;     /* tie-break for course allocation */
	const char *death_term;
	const char *death_attribution;
};

/* The ten treatment-related deaths: sepsis the leading cause. */
static const char *const death_terms[10][2] = {
	{"Sepsis", "probable"},
	{"Sepsis", "definite"},
	{"Sepsis", "probable"},
	{"Sepsis", "possible"},
	{"Sepsis", "probable"},
	{"Myocardial infarction", "probable"},
	{"Myocardial infarction", "possible"},
	{"Respiratory failure", "probable"},
	{"Ventricular arrhythmia", "definite"},
	{"Colonic perforation", "probable"},
};

static int by_benefit(const void *a, const void *b)
{
	const struct plan *x = a, *y = b;
	if (x->disease != y->disease)
		return x->disease < y->disease ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Lays out the 652 patients: disease course by cell, then courses (the
 * patients who benefit most get the most courses, as in practice), then
 * the ten treatment-related deaths and one other death on treatment among
 * patients who progressed on a single course, then who is lost. */
static void make_plans(struct plan *plans)
{
	int n = 0, durable_seen = 0;
	for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++) {
		const struct cell *cell = &cells[c];
		for (int i = 0; i < cell->patients; i++, n++) {
			struct plan *p = &plans[n];
			*p = (struct plan){.cell = cell, .order = rng_next(), .fate = ALIVE};
			if (strcmp(cell->setting, "adjuvant") == 0) {
				p->disease = chance() < 0.4 ? ADJUVANT_RECURRED : ADJUVANT_FREE;
			} else if (i < cell->durable) {
				p->disease = CR_DURABLE;
				p->durable_months = 19 + (durable_seen++ * 31) / 9; /* 19..50 */
			} else if (i < cell->cr) {
				p->disease = CR_RECURRED;
			} else if (i < cell->cr + cell->pr) {
				p->disease = PARTIAL;
			} else {
				double u = chance();
				p->disease = u < 0.05   ? NOT_ASSESSED
					     : u < 0.11 ? MINOR
					     : u < 0.36 ? STABLE
							: PROGRESSIVE;
			}
		}
	}
	qsort(plans, PATIENTS, sizeof *plans, by_benefit);
	for (int i = 0; i < PATIENTS; i++)
		plans[i].courses = i < THREE_COURSES ? 3 : i < THREE_COURSES + TWO_COURSES ? 2 : 1;

	/* Deaths on treatment: every 23rd eligible patient from the end, so
	 * they spread over regimens and histologies. */
	int deaths = 0, seen = 0;
	for (int i = PATIENTS - 1; i >= 0 && deaths < 11; i--) {
		struct plan *p = &plans[i];
		if (p->courses != 1 || (p->disease != PROGRESSIVE && p->disease != NOT_ASSESSED) ||
		    seen++ % 23 != 0)
			continue;
		p->disease = NOT_ASSESSED;
		if (deaths < 10) {
			p->fate = TREATMENT_DEATH;
			p->death_term = death_terms[deaths][0];
			p->death_attribution = death_terms[deaths][1];
		} else {
			p->fate = DIED_DURING_COURSE; /* grade 5, but unrelated */
			p->death_term = "Disease progression";
			p->death_attribution = "unrelated";
		}
		deaths++;
	}
	for (int i = 0; i < PATIENTS; i++)
		if (plans[i].fate == ALIVE && plans[i].disease != CR_DURABLE && chance() < 0.04)
			plans[i].fate = LOST;
	/* Back to cell order, then shuffled, so codes and ids do not reveal plans. */
	for (int i = PATIENTS - 1; i > 0; i--) {
		int j = between(0, i);
		struct plan t = plans[i];
		plans[i] = plans[j];
		plans[j] = t;
	}
}

/* --- writing it ---------------------------------------------------------- */

struct loader {
	struct db *db;
	struct audit_context audit;
	struct demo_counts *counts;
	int64_t cutoff;
};

/* Validates and inserts one body; the demo is a bug if any is refused. */
static int64_t insert(struct loader *ld, const struct resource *res, json_t *body)
{
	struct record rec = {0};
	struct field_errors errs;
	field_errors_init(&errs);
	int rc = records_insert(ld->db, &ld->audit, res, body, &rec, &errs);
	int64_t id = rec.id;
	if (rc != DB_OK || field_errors_any(&errs)) {
		char *b = json_dumps(body, JSON_COMPACT), *e = json_dumps(errs.list, JSON_COMPACT);
		fprintf(stderr, "demo: %s refused (%d): %s %s\n", res->singular, rc, b, e);
		free(b);
		free(e);
		id = rc != DB_OK ? rc : DB_CONSTRAINT;
	}
	record_clear(&rec);
	field_errors_free(&errs);
	json_decref(body);
	return id;
}

struct toxicity_profile {
	const char *term;
	double p;         /* chance per course */
	double grades[4]; /* cumulative chance of grade 1..4 given the event */
	bool serious;     /* serious whenever it occurs */
};

/* High-dose IL-2 in the 1980s: most courses needed pressors for
 * hypotension; capillary leak, oliguria and creatinine rise, bilirubin rise,
 * confusion, chills, nausea and diarrhoea were common; sepsis the danger. */
static const struct toxicity_profile profile[] = {
	{"Hypotension", 0.88, {0.00, 0.20, 0.92, 1.00}, false},
	{"Chills", 0.85, {0.50, 0.95, 1.00, 1.00}, false},
	{"Fever", 0.90, {0.45, 0.90, 1.00, 1.00}, false},
	{"Capillary leak syndrome", 0.62, {0.00, 0.60, 0.95, 1.00}, false},
	{"Oliguria", 0.66, {0.30, 0.70, 1.00, 1.00}, false},
	{"Creatinine increased", 0.74, {0.40, 0.80, 0.97, 1.00}, false},
	{"Blood bilirubin increased", 0.55, {0.30, 0.75, 0.97, 1.00}, false},
	{"Confusion", 0.34, {0.30, 0.70, 0.95, 1.00}, false},
	{"Nausea", 0.76, {0.40, 0.85, 1.00, 1.00}, false},
	{"Vomiting", 0.62, {0.40, 0.85, 1.00, 1.00}, false},
	{"Diarrhea", 0.74, {0.30, 0.75, 1.00, 1.00}, false},
	{"Anemia", 0.62, {0.20, 0.60, 0.95, 1.00}, false},
	{"Platelet count decreased", 0.48, {0.40, 0.70, 0.95, 1.00}, false},
	{"Pruritus", 0.48, {0.60, 1.00, 1.00, 1.00}, false},
	{"Rash maculo-papular", 0.46, {0.60, 0.95, 1.00, 1.00}, false},
	{"Weight gain", 0.58, {0.40, 0.85, 1.00, 1.00}, false},
	{"Dyspnea", 0.30, {0.30, 0.70, 0.95, 1.00}, false},
	{"Atrial fibrillation", 0.06, {0.00, 0.50, 1.00, 1.00}, false},
	{"Sepsis", 0.07, {0.00, 0.00, 0.60, 1.00}, true},
	{"Myocardial infarction", 0.01, {0.00, 0.00, 0.50, 1.00}, true},
};

static const char *pick_attribution(void)
{
	double u = chance();
	return u < 0.60 ? "definite" : u < 0.90 ? "probable" : "possible";
}

/* Writes the toxicities of one course; on a fatal course, the fatal event
 * and the others unresolved. */
static int course_toxicities(struct loader *ld, int64_t course_id, int64_t start, int64_t end,
			     const struct plan *p, int64_t died)
{
	for (size_t t = 0; t < sizeof profile / sizeof profile[0]; t++) {
		const struct toxicity_profile *tp = &profile[t];
		if (chance() >= tp->p)
			continue;
		double u = chance();
		int grade = 1;
		while (grade < 4 && u >= tp->grades[grade - 1])
			grade++;
		int64_t onset = start + between(0, (int)(end - start));
		if (died && onset > died)
			onset = died;
		json_t *body = json_pack(
			"{s:I, s:s, s:i, s:s, s:s, s:b}", "course_id", (json_int_t)course_id,
			"term", tp->term, "grade", grade, "onset_on", "", "attribution",
			strcmp(tp->term, "Sepsis") == 0 ? "probable" : pick_attribution(),
			"serious", tp->serious || grade >= 4);
		char date[11];
		day_text(onset, date);
		json_object_set_new(body, "onset_on", json_string(date));
		if (died) {
			json_object_set_new(body, "outcome", json_string("not_recovered"));
		} else {
			day_text(onset + between(1, 12), date);
			json_object_set_new(body, "resolved_on", json_string(date));
			json_object_set_new(body, "outcome", json_string("recovered"));
		}
		if (insert(ld, &toxicities_resource, body) < 0)
			return -1;
		ld->counts->toxicities++;
	}
	if (died) {
		char date[11];
		day_text(died, date);
		json_t *body = json_pack("{s:I, s:s, s:i, s:s, s:s, s:b, s:s}", "course_id",
					 (json_int_t)course_id, "term", p->death_term, "grade", 5,
					 "onset_on", date, "attribution", p->death_attribution,
					 "serious", 1, "outcome", "fatal");
		if (insert(ld, &toxicities_resource, body) < 0)
			return -1;
		ld->counts->toxicities++;
	}
	return 0;
}

static int outcome(struct loader *ld, int64_t course_id, int64_t day, const char *response,
		   bool confirmed)
{
	char date[11];
	day_text(day, date);
	json_t *body = json_pack("{s:I, s:s, s:s, s:s, s:b}", "course_id", (json_int_t)course_id,
				 "assessed_on", date, "criteria", "who", "response", response,
				 "confirmed", confirmed);
	if (insert(ld, &outcomes_resource, body) < 0)
		return -1;
	ld->counts->outcomes++;
	return 0;
}

/* The response at each assessment that follows a course, and the ones of
 * follow-up after treatment, for each course of disease. */
static const char *response_after_course(enum disease d, int course, int courses)
{
	bool last = course == courses;
	switch (d) {
	case CR_DURABLE:
	case CR_RECURRED: return course == 1 && courses > 1 ? "PR" : "CR";
	case PARTIAL: return course == 1 && courses > 1 ? "SD" : "PR";
	case MINOR: return last ? "MR" : "SD";
	case STABLE: return "SD";
	case PROGRESSIVE: return last ? "PD" : "SD";
	case ADJUVANT_RECURRED:
	case ADJUVANT_FREE: return "NE";
	case NOT_ASSESSED: break;
	}
	return NULL;
}

/* A planned assessment: its day, the response, the course it follows. */
struct visit {
	int64_t day;
	const char *response;
	int course;
	bool confirmed;
};

/* Writes one patient with its courses, outcomes and toxicities. */
static int write_patient(struct loader *ld, int index, struct plan *p)
{
	int64_t cutoff = ld->cutoff, gap = between(80, 100), course_days = between(12, 18);
	int64_t first_cr = 0, enrolled, last_contact = cutoff - between(0, 45);
	int cr_course = p->courses > 1 ? 2 : 1;

	/* When the course of disease fixes dates, work back from them. */
	if (p->disease == CR_DURABLE) {
		first_cr = last_contact - (int64_t)(p->durable_months * 30.4375 + 10);
		enrolled = first_cr - between(50, 60) - (cr_course - 1) * gap - between(7, 20);
	} else {
		/* late enough for a recurrence after CR to be seen, or at least
		 * for the assessment after the last course */
		int64_t margin = p->disease == CR_RECURRED ? 430 : 150;
		int64_t latest_start = cutoff - margin - (p->courses - 1) * gap;
		int64_t earliest = date_days("1984-06-01");
		enrolled = earliest + (int64_t)(chance() * (double)(latest_start - earliest));
	}
	int64_t start1 = enrolled + between(7, 20);

	/* Assessments: one after each course, then follow-up every ~3 months. */
	struct visit visits[24];
	int nvisits = 0;
	int64_t died = 0;
	for (int c = 1; c <= p->courses; c++) {
		const char *r = response_after_course(p->disease, c, p->courses);
		if (!r)
			break;
		int64_t day = start1 + (c - 1) * gap + between(50, 60);
		if (p->disease == CR_DURABLE && c == cr_course)
			day = first_cr;
		bool confirmed = strcmp(r, "PR") != 0 || chance() < 0.8;
		visits[nvisits++] = (struct visit){day, r, c, confirmed};
	}
	int64_t after = nvisits ? visits[nvisits - 1].day : start1;
	switch (p->disease) {
	case CR_DURABLE:
		for (int64_t d = after + 120; d <= last_contact && nvisits < 20; d += 120)
			visits[nvisits++] = (struct visit){d, "CR", p->courses, true};
		break;
	case CR_RECURRED:
	case PARTIAL:
	case MINOR:
	case STABLE: {
		bool recurs = p->disease == CR_RECURRED || chance() < 0.8;
		const char *holding = visits[nvisits - 1].response;
		int64_t d = after + 90;
		for (int k = between(0, 2); k > 0 && d < cutoff - 60; k--, d += 90)
			visits[nvisits++] = (struct visit){d, holding, p->courses, true};
		if (recurs && d < cutoff - 30)
			visits[nvisits++] = (struct visit){d, "PD", p->courses, true};
		break;
	}
	case ADJUVANT_RECURRED:
		visits[nvisits++] =
			(struct visit){after + between(120, 400), "PD", p->courses, true};
		break;
	default: break;
	}

	/* Fate. */
	int64_t last_visit = nvisits ? visits[nvisits - 1].day : start1 + course_days;
	bool progressed = nvisits && strcmp(visits[nvisits - 1].response, "PD") == 0;
	if (p->fate == TREATMENT_DEATH || p->fate == DIED_DURING_COURSE) {
		died = start1 + between(3, 9);
	} else if (p->fate == ALIVE && (progressed || p->disease == NOT_ASSESSED)) {
		int64_t d = last_visit + between(20, 420);
		if (d < cutoff)
			died = d;
	}
	if (p->fate == LOST) {
		int64_t seen = last_visit + between(30, 200);
		last_contact = seen < cutoff ? seen : cutoff - 10;
	}

	char code[32], enrolled_text[11], date[11];
	snprintf(code, sizeof code, "NCI-SB-%04d", index + 1);
	day_text(enrolled, enrolled_text);
	json_t *body = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "code", code, "sex",
				 chance() < 0.62 ? "male" : "female", "age", between(19, 71),
				 "histology", p->cell->histology, "setting", p->cell->setting,
				 "regimen", p->cell->regimen, "enrolled_on", enrolled_text);
	if (died) {
		day_text(died, date);
		json_object_set_new(body, "vital_status", json_string("dead"));
		json_object_set_new(body, "died_on", json_string(date));
		json_object_set_new(body, "death_cause",
				    json_string(p->fate == TREATMENT_DEATH
							? p->death_term
							: "Progressive disease"));
	} else {
		day_text(last_contact, date);
		json_object_set_new(body, "vital_status",
				    json_string(p->fate == LOST ? "unknown" : "alive"));
		json_object_set_new(body, "last_contact_on", json_string(date));
	}
	int64_t patient_id = insert(ld, &patients_resource, body);
	if (patient_id < 0)
		return -1;
	ld->counts->patients++;

	int64_t course_ids[3];
	static const char *const units_by_regimen[][2] = {{"il2_ifn_alpha", "30000"},
							  {"il2_tnf", "30000"}};
	for (int c = 1; c <= p->courses; c++) {
		int64_t start = start1 + (c - 1) * gap;
		bool fatal = died && (p->fate == TREATMENT_DEATH || p->fate == DIED_DURING_COURSE);
		int64_t end = fatal ? died : start + course_days;
		double dose = 100000;
		for (size_t k = 0; k < 2; k++)
			if (strcmp(p->cell->regimen, units_by_regimen[k][0]) == 0)
				dose = atof(units_by_regimen[k][1]);
		double u = chance();
		const char *stop = fatal      ? "death"
				   : u < 0.68 ? "completed"
				   : u < 0.94 ? "toxicity"
					      : "patient_choice";
		char start_text[11], end_text[11];
		day_text(start, start_text);
		day_text(end, end_text);
		json_t *cb = json_pack("{s:I, s:i, s:s, s:s, s:f, s:s, s:i, s:s}", "patient_id",
				       (json_int_t)patient_id, "number", c, "started_on",
				       start_text, "ended_on", end_text, "il2_dose", dose,
				       "il2_dose_unit", "U/kg", "doses_given",
				       fatal ? between(3, 9) : between(9, 28), "stop_reason", stop);
		course_ids[c - 1] = insert(ld, &courses_resource, cb);
		if (course_ids[c - 1] < 0)
			return -1;
		ld->counts->courses++;
		if (course_toxicities(ld, course_ids[c - 1], start, end, p, fatal ? died : 0) < 0)
			return -1;
	}
	for (int v = 0; v < nvisits; v++) {
		if (died && visits[v].day >= died)
			break;
		if (visits[v].day > cutoff)
			break;
		if (outcome(ld, course_ids[visits[v].course - 1], visits[v].day, visits[v].response,
			    visits[v].confirmed) < 0)
			return -1;
	}
	return 0;
}

int demo_load(struct db *db, struct demo_counts *counts)
{
	memset(counts, 0, sizeof *counts);
	int64_t existing = 0;
	int rc = store_count(db, &patients_resource, &existing);
	if (rc != DB_OK)
		return rc;
	if (existing > 0) {
		fprintf(stderr,
			"demo: the database already holds %lld patients; the demo cohort "
			"is written only into an empty one\n",
			(long long)existing);
		return DB_CONFLICT;
	}
	int planned = 0;
	for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++)
		planned += cells[c].patients;
	if (planned != PATIENTS)
		abort();      /* the table above is wrong: a programming error */
	rng_state = 19890801; /* fixed: the same cohort on every machine */
	struct plan *plans = xcalloc(PATIENTS, sizeof *plans);
	make_plans(plans);
	char request_id[37];
	random_uuid(request_id);
	struct loader ld = {.db = db,
			    .audit = {"cohortd demo", "demo cohort loaded", request_id},
			    .counts = counts,
			    .cutoff = date_days(CUTOFF)};
	rc = db_begin_write(db);
	for (int i = 0; i < PATIENTS && rc == DB_OK; i++)
		if (write_patient(&ld, i, &plans[i]) != 0)
			rc = DB_CONSTRAINT;
	if (rc == DB_OK)
		rc = db_commit(db);
	else
		db_rollback(db);
	free(plans);
	return rc;
}

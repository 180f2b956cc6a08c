/* The SDTM datasets (sdtm.h): each dataset's variables as data (name,
 * label, type, length, core, terms), the registry's values mapped onto
 * them a batch of patients at a time, and the files written through
 * table_file.h. The mapping of each field and the reason for each choice
 * is docs/sdtm.md; a change here changes it there. */
#include "sdtm.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "model.h"
#include "resources.h"
#include "store.h"
#include "util.h"
#include "validate.h"

#define SDTM_BATCH    256 /* patients a batch */
#define SDTM_MAX_VARS 24

static char study_id[21] = "COHORTD";
static char study_title[201] = "Treatment cohort registered in cohortd";

/* A variable: its column, its core (Req, Exp, Perm) and its terms (a
 * codelist, a format or the one value it takes), for the listing. */
struct sdtm_var {
	struct table_column col;
	const char *core;
	const char *terms;
};

#define TEXT(n, l, len, core, terms)                                                               \
	{                                                                                          \
		{n, l, 'C', len}, core, terms                                                      \
	}
#define NUM(n, l, core, terms)                                                                     \
	{                                                                                          \
		{n, l, 'N', 8}, core, terms                                                        \
	}
#define ISO8601 "ISO 8601 date"
#define NY      "NY (C66742)"
#define STUDY_VARS                                                                                 \
	TEXT("STUDYID", "Study Identifier", 20, "Req", "--study-id"),                              \
		TEXT("DOMAIN", "Domain Abbreviation", 2, "Req", NULL)
#define SUBJECT_VARS                                                                               \
	STUDY_VARS, TEXT("USUBJID", "Unique Subject Identifier", 85, "Req", "STUDYID-code")

static const struct sdtm_var dm_vars[] = {
	SUBJECT_VARS,
	TEXT("SUBJID", "Subject Identifier for the Study", 64, "Req", "the patient's code"),
	TEXT("RFSTDTC", "Subject Reference Start Date/Time", 10, "Exp", ISO8601),
	TEXT("RFENDTC", "Subject Reference End Date/Time", 10, "Exp", ISO8601),
	TEXT("RFXSTDTC", "Date/Time of First Study Treatment", 10, "Exp", ISO8601),
	TEXT("RFXENDTC", "Date/Time of Last Study Treatment", 10, "Exp", ISO8601),
	TEXT("RFPENDTC", "Date/Time of End of Participation", 10, "Exp", ISO8601),
	TEXT("DTHDTC", "Date/Time of Death", 10, "Exp", ISO8601),
	TEXT("DTHFL", "Subject Death Flag", 1, "Exp", NY),
	TEXT("SITEID", "Study Site Identifier", 2, "Req", "01"),
	NUM("AGE", "Age", "Exp", NULL),
	TEXT("AGEU", "Age Units", 5, "Exp", "AGEU (C66781)"),
	TEXT("SEX", "Sex", 16, "Req", "SEX (C66731)"),
	TEXT("RACE", "Race", 40, "Exp", "RACE (C74457); not collected"),
	TEXT("ARMCD", "Planned Arm Code", 8, "Req", "the regimen"),
	TEXT("ARM", "Description of Planned Arm", 40, "Req", "the regimen"),
	TEXT("ACTARMCD", "Actual Arm Code", 8, "Req", "the regimen; null when untreated"),
	TEXT("ACTARM", "Description of Actual Arm", 40, "Req", "the regimen; null when untreated"),
	TEXT("ARMNRS", "Reason Arm and/or Actual Arm is Null", 40, "Exp", "ARMNULRS (C142179)"),
	TEXT("COUNTRY", "Country", 3, "Req", "ISO 3166-1 alpha-3"),
};

static const struct sdtm_var ex_vars[] = {
	SUBJECT_VARS,
	NUM("EXSEQ", "Sequence Number", "Req", NULL),
	TEXT("EXGRPID", "Group ID", 12, "Perm", "COURSE n"),
	TEXT("EXSPID", "Sponsor-Defined Identifier", 20, "Perm", "the course's id"),
	TEXT("EXTRT", "Name of Treatment", 40, "Req", NULL),
	NUM("EXDOSE", "Dose", "Exp", "il2_dose, as recorded"),
	TEXT("EXDOSU", "Dose Units", 10, "Exp", "UNIT (C71620)"),
	TEXT("EXDOSFRM", "Dose Form", 20, "Exp", "FRM (C66726)"),
	TEXT("EXDOSFRQ", "Dosing Frequency per Interval", 10, "Perm", "FREQ (C71113)"),
	TEXT("EXROUTE", "Route of Administration", 20, "Perm", "ROUTE (C66729)"),
	TEXT("EXSTDTC", "Start Date/Time of Treatment", 10, "Exp", ISO8601),
	TEXT("EXENDTC", "End Date/Time of Treatment", 10, "Exp", ISO8601),
	NUM("EXSTDY", "Study Day of Start of Treatment", "Perm", "from RFSTDTC"),
	NUM("EXENDY", "Study Day of End of Treatment", "Perm", "from RFSTDTC"),
};

static const struct sdtm_var rs_vars[] = {
	SUBJECT_VARS,
	NUM("RSSEQ", "Sequence Number", "Req", NULL),
	TEXT("RSSPID", "Sponsor-Defined Identifier", 20, "Perm", "the outcome's id"),
	TEXT("RSTESTCD", "Assessment Short Name", 8, "Req", "OVRLRESP"),
	TEXT("RSTEST", "Assessment Name", 40, "Req", "Overall Response"),
	TEXT("RSCAT", "Category for Assessment", 20, "Exp", "WHO | RECIST 1.1"),
	TEXT("RSORRES", "Result or Finding in Original Units", 8, "Exp", "CR PR MR SD PD NE"),
	TEXT("RSSTRESC", "Character Result/Finding in Std Format", 8, "Exp", "CR PR MR SD PD NE"),
	TEXT("RSEVAL", "Evaluator", 20, "Exp", "EVAL (C78735)"),
	TEXT("RSDTC", "Date/Time of Assessment", 10, "Exp", ISO8601),
	NUM("RSDY", "Study Day of Assessment", "Perm", "from RFSTDTC"),
};

static const struct sdtm_var supprs_vars[] = {
	TEXT("STUDYID", "Study Identifier", 20, "Req", "--study-id"),
	TEXT("RDOMAIN", "Related Domain Abbreviation", 2, "Req", "RS"),
	TEXT("USUBJID", "Unique Subject Identifier", 85, "Req", "STUDYID-code"),
	TEXT("IDVAR", "Identifying Variable", 8, "Exp", "RSSEQ"),
	TEXT("IDVARVAL", "Identifying Variable Value", 20, "Exp", "the RS record's RSSEQ"),
	TEXT("QNAM", "Qualifier Variable Name", 8, "Req", "RSCONF"),
	TEXT("QLABEL", "Qualifier Variable Label", 40, "Req", "Response Confirmed"),
	TEXT("QVAL", "Data Value", 1, "Req", NY),
	TEXT("QORIG", "Origin", 20, "Req", "CRF"),
	TEXT("QEVAL", "Evaluator", 20, "Exp", "EVAL (C78735)"),
};

static const struct sdtm_var ae_vars[] = {
	SUBJECT_VARS,
	NUM("AESEQ", "Sequence Number", "Req", NULL),
	TEXT("AESPID", "Sponsor-Defined Identifier", 20, "Perm", "the toxicity's id"),
	TEXT("AETERM", "Reported Term for the Adverse Event", 100, "Req", "CTCAE term"),
	TEXT("AEDECOD", "Dictionary-Derived Term", 100, "Req", "CTCAE term"),
	TEXT("AEBODSYS", "Body System or Organ Class", 100, "Exp", "not coded"),
	TEXT("AESER", "Serious Event", 1, "Exp", NY),
	TEXT("AEACN", "Action Taken with Study Treatment", 30, "Exp",
	     "ACN (C66767); not collected"),
	TEXT("AEREL", "Causality", 20, "Exp", "the attribution"),
	TEXT("AEOUT", "Outcome of Adverse Event", 40, "Exp", "OUT (C66768)"),
	TEXT("AESDTH", "Results in Death", 1, "Perm", NY),
	TEXT("AETOXGR", "Standard Toxicity Grade", 1, "Exp", "CTCAE grade 1-5"),
	TEXT("AESTDTC", "Start Date/Time of Adverse Event", 10, "Exp", ISO8601),
	TEXT("AEENDTC", "End Date/Time of Adverse Event", 10, "Exp", ISO8601),
	NUM("AESTDY", "Study Day of Start of Adverse Event", "Perm", "from RFSTDTC"),
	NUM("AEENDY", "Study Day of End of Adverse Event", "Perm", "from RFSTDTC"),
};

static const struct sdtm_var ds_vars[] = {
	SUBJECT_VARS,
	NUM("DSSEQ", "Sequence Number", "Req", NULL),
	TEXT("DSTERM", "Reported Term for the Disposition Event", 200, "Req", "the death's cause"),
	TEXT("DSDECOD", "Standardized Disposition Term", 40, "Req", "NCOMPLT (C66727): DEATH"),
	TEXT("DSCAT", "Category for Disposition Event", 40, "Exp", "DSCAT (C74558)"),
	TEXT("DSSTDTC", "Start Date/Time of Disposition Event", 10, "Exp", ISO8601),
	NUM("DSSTDY", "Study Day of Start of Disposition Event", "Perm", "from RFSTDTC"),
};

static const struct sdtm_var ts_vars[] = {
	STUDY_VARS,
	NUM("TSSEQ", "Sequence Number", "Req", NULL),
	TEXT("TSPARMCD", "Trial Summary Parameter Short Name", 8, "Req", "TSPARMCD (C66738)"),
	TEXT("TSPARM", "Trial Summary Parameter", 40, "Req", "TSPARM (C67152)"),
	TEXT("TSVAL", "Parameter Value", 200, "Exp", NULL),
	TEXT("TSVALCD", "Parameter Value Code", 20, "Exp", "not coded"),
	TEXT("TSVCDREF", "Name of the Reference Terminology", 20, "Exp", "not coded"),
	TEXT("TSVCDVER", "Version of the Reference Terminology", 20, "Exp", "not coded"),
};

struct sdtm_dataset {
	const char *name;
	const char *label;
	const char *keys; /* the listing's: what one row is */
	const struct sdtm_var *vars;
	int nvars;
};

#define DATASET(n, l, k, v)                                                                        \
	{                                                                                          \
		n, l, k, v, (int)(sizeof v / sizeof *v)                                            \
	}
static const struct sdtm_dataset datasets[SDTM_COUNT] = {
	[SDTM_DM] = DATASET("DM", "Demographics", "a patient", dm_vars),
	[SDTM_EX] = DATASET("EX", "Exposure", "an agent of a course", ex_vars),
	[SDTM_RS] = DATASET("RS", "Disease Response", "an outcome", rs_vars),
	[SDTM_SUPPRS] = DATASET("SUPPRS", "Supplemental Qualifiers for RS",
				"an outcome's confirmation", supprs_vars),
	[SDTM_AE] = DATASET("AE", "Adverse Events", "a toxicity", ae_vars),
	[SDTM_DS] = DATASET("DS", "Disposition", "a death", ds_vars),
	[SDTM_TS] = DATASET("TS", "Trial Summary", "a parameter", ts_vars),
};

void sdtm_set_study(const char *id, const char *title)
{
	if (id)
		snprintf(study_id, sizeof study_id, "%s", id);
	if (title)
		snprintf(study_title, sizeof study_title, "%s", title);
}

const char *sdtm_study_id(void)
{
	return study_id;
}

const char *sdtm_study_title(void)
{
	return study_title;
}

int sdtm_domain_named(const char *name)
{
	for (int d = 0; d < SDTM_COUNT; d++)
		if (strcasecmp(datasets[d].name, name) == 0)
			return d;
	return -1;
}

const char *sdtm_domain_name(enum sdtm_domain d)
{
	return datasets[d].name;
}

void sdtm_file_name(enum sdtm_domain domain, enum table_format format, char out[32])
{
	snprintf(out, 32, "%s.%s", domain == SDTM_COUNT ? "sdtm" : datasets[domain].name,
		 domain == SDTM_COUNT  ? "zip"
		 : format == TABLE_XPT ? "xpt"
				       : "csv");
	for (char *c = out; *c; c++)
		*c = (char)tolower((unsigned char)*c);
}

/* --- the registry's values ------------------------------------------- */

/* One regimen as an arm, and the agent given beside IL-2 (NULL: none). */
struct arm {
	const char *regimen, *code, *description, *companion;
};
static const struct arm arms[] = {
	{"il2_alone", "IL2", "IL-2 alone", NULL},
	{"il2_lak", "IL2LAK", "IL-2 + LAK cells", "LYMPHOKINE-ACTIVATED KILLER CELLS"},
	{"il2_til", "IL2TIL", "IL-2 + TIL", "TUMOR-INFILTRATING LYMPHOCYTES"},
	{"il2_ifn_alpha", "IL2IFNA", "IL-2 + alpha-interferon", "INTERFERON ALFA"},
	{"il2_tnf", "IL2TNF", "IL-2 + TNF", "TUMOR NECROSIS FACTOR"},
	{"il2_antibody", "IL2MAB", "IL-2 + monoclonal antibody", "MONOCLONAL ANTIBODY"},
	{"il2_cyclophosphamide", "IL2CY", "IL-2 + cyclophosphamide", "CYCLOPHOSPHAMIDE"},
};

static const struct arm *arm_of(const char *regimen)
{
	for (size_t i = 0; i < sizeof arms / sizeof *arms; i++)
		if (regimen && strcmp(arms[i].regimen, regimen) == 0)
			return &arms[i];
	return &arms[0];
}

/* A value of an enumeration as its controlled term. */
static const char *term_of(const char *const (*pairs)[2], const char *v)
{
	for (int i = 0; v && pairs[i][0]; i++)
		if (strcmp(pairs[i][0], v) == 0)
			return pairs[i][1];
	return "";
}

static const char *const sexes[][2] = {{"female", "F"},
				       {"male", "M"},
				       {"other", "UNDIFFERENTIATED"},
				       {"unknown", "U"},
				       {NULL, NULL}};
static const char *const attributions[][2] = {
	{"unrelated", "NOT RELATED"},     {"unlikely", "UNLIKELY RELATED"},
	{"possible", "POSSIBLY RELATED"}, {"probable", "PROBABLY RELATED"},
	{"definite", "RELATED"},          {NULL, NULL}};
static const char *const outcomes[][2] = {{"recovered", "RECOVERED/RESOLVED"},
					  {"recovering", "RECOVERING/RESOLVING"},
					  {"not_recovered", "NOT RECOVERED/NOT RESOLVED"},
					  {"sequelae", "RECOVERED/RESOLVED WITH SEQUELAE"},
					  {"fatal", "FATAL"},
					  {"unknown", "UNKNOWN"},
					  {NULL, NULL}};
static const char *const criteria[][2] = {
	{"who", "WHO"}, {"recist_1_1", "RECIST 1.1"}, {NULL, NULL}};

/* A cell of text, of a number, missing. */
static struct table_cell T(const char *s) {
	return (struct table_cell){.text = s ? s : ""};
} static struct table_cell N(double v) {
	return (struct table_cell){.number = v};
} static const struct table_cell MISSING = {.missing = true};

/* The study day of date from the reference start (SDTMIG 4.4.4: day 1 is
 * the reference date, the day before it -1; none without either). */
static struct table_cell study_day(const char *date, const char *reference)
{
	if (!date || !*date || !reference || !*reference)
		return MISSING;
	int64_t d = date_days(date) - date_days(reference);
	return N((double)(d >= 0 ? d + 1 : d));
}

/* --- a batch of patients and their records --------------------------- */

struct kind {
	const struct resource *res;
	struct record *recs;
	size_t n, cap;
	bool failed;
};

static bool keep_record(void *cls, const struct record *rec)
{
	struct kind *k = cls;
	if (!xgrow((void **)&k->recs, &k->cap, k->n, sizeof *k->recs)) {
		k->failed = true;
		return false;
	}
	record_copy(&k->recs[k->n++], rec, k->res->nfields);
	return true;
}

static void kind_clear(struct kind *k)
{
	for (size_t i = 0; i < k->n; i++)
		record_clear(&k->recs[i]);
	k->n = 0;
}

/* What a dataset needs of a patient beside its own record. */
struct subject {
	const struct record *patient;
	char usubjid[96];
	char first_start[11]; /* RFSTDTC: the first course's start; "" untreated */
	char last_treated[11];
	size_t courses_from, courses_to; /* its courses in the batch */
};

struct job {
	struct db *db;
	enum table_format format;
	struct table_file *t;
	struct kind courses, outcomes, toxicities;
	struct record *patients;
	int npatients;
};

/* The courses of the patient from *at on (they are by patient, then id). */
static void subject_of(struct job *j, const struct record *p, size_t *at, struct subject *s)
{
	const struct resource *cr = &courses_resource;
	s->patient = p;
	snprintf(s->usubjid, sizeof s->usubjid, "%s-%s", study_id,
		 record_text(p, &patients_resource, "code"));
	int patient_field = resource_field_index(cr, "patient_id");
	while (*at < j->courses.n && j->courses.recs[*at].v[patient_field].i < p->id)
		(*at)++;
	s->courses_from = *at;
	s->first_start[0] = s->last_treated[0] = '\0';
	for (; *at < j->courses.n && j->courses.recs[*at].v[patient_field].i == p->id; (*at)++) {
		const struct record *c = &j->courses.recs[*at];
		const char *start = record_text(c, cr, "started_on");
		const char *end = record_text(c, cr, "ended_on");
		if (!end)
			end = start;
		if (!s->first_start[0] || strcmp(start, s->first_start) < 0)
			snprintf(s->first_start, sizeof s->first_start, "%s", start);
		if (strcmp(end, s->last_treated) > 0)
			snprintf(s->last_treated, sizeof s->last_treated, "%s", end);
	}
	s->courses_to = *at;
}

static void row_dm(struct job *j, const struct subject *s)
{
	const struct resource *pr = &patients_resource;
	const struct record *p = s->patient;
	const struct arm *arm = arm_of(record_text(p, pr, "regimen"));
	bool treated = s->courses_to > s->courses_from;
	const char *died = record_text(p, pr, "died_on");
	const char *contact = record_text(p, pr, "last_contact_on");
	const char *end = died ? died : contact ? contact : record_text(p, pr, "enrolled_on");
	const struct value *age = record_get(p, pr, "age");
	struct table_cell c[] = {
		T(study_id),
		T("DM"),
		T(s->usubjid),
		T(record_text(p, pr, "code")),
		T(s->first_start),
		T(s->last_treated),
		T(s->first_start),
		T(s->last_treated),
		T(end),
		T(died),
		T(died ? "Y" : ""),
		T("01"),
		age->kind == VALUE_INT ? N((double)age->i) : MISSING,
		T(age->kind == VALUE_INT ? "YEARS" : ""),
		T(term_of(sexes, record_text(p, pr, "sex"))),
		T(""),
		T(arm->code),
		T(arm->description),
		T(treated ? arm->code : ""),
		T(treated ? arm->description : ""),
		T(treated ? "" : "ASSIGNED, NOT TREATED"),
		T("USA"),
	};
	table_file_row(j->t, c);
}

static void row_ex(struct job *j, const struct subject *s, int64_t *seq)
{
	const struct resource *cr = &courses_resource;
	const struct arm *arm = arm_of(record_text(s->patient, &patients_resource, "regimen"));
	for (size_t i = s->courses_from; i < s->courses_to; i++) {
		const struct record *course = &j->courses.recs[i];
		char group[24], spid[24];
		snprintf(group, sizeof group, "COURSE %lld",
			 (long long)record_get(course, cr, "number")->i);
		snprintf(spid, sizeof spid, "%lld", (long long)course->id);
		const char *start = record_text(course, cr, "started_on");
		const char *end = record_text(course, cr, "ended_on");
		const struct value *dose = record_get(course, cr, "il2_dose");
		for (int agent = 0; agent < (arm->companion ? 2 : 1); agent++) {
			bool il2 = agent == 0;
			struct table_cell c[] = {
				T(study_id),
				T("EX"),
				T(s->usubjid),
				N((double)++*seq),
				T(group),
				T(spid),
				T(il2 ? "ALDESLEUKIN" : arm->companion),
				il2 && dose->kind == VALUE_REAL  ? N(dose->r)
				: il2 && dose->kind == VALUE_INT ? N((double)dose->i)
								 : MISSING,
				T(il2 ? record_text(course, cr, "il2_dose_unit") : ""),
				T(il2 ? "INJECTION" : ""),
				T(il2 ? "Q8H" : ""),
				T(il2 ? "INTRAVENOUS" : ""),
				T(start),
				T(end),
				study_day(start, s->first_start),
				study_day(end, s->first_start),
			};
			table_file_row(j->t, c);
		}
	}
}

/* The outcomes (rs) or toxicities (ae) of the subject, from *at on. */
static void rows_of_records(struct job *j, enum sdtm_domain d, const struct subject *s, size_t *at)
{
	struct kind *k = d == SDTM_AE ? &j->toxicities : &j->outcomes;
	int patient_field = resource_field_index(k->res, "patient_id");
	int64_t seq = 0;
	while (*at < k->n && k->recs[*at].v[patient_field].i < s->patient->id)
		(*at)++;
	for (; *at < k->n && k->recs[*at].v[patient_field].i == s->patient->id; (*at)++) {
		const struct record *r = &k->recs[*at];
		char spid[24], seqtext[24];
		snprintf(spid, sizeof spid, "%lld", (long long)r->id);
		snprintf(seqtext, sizeof seqtext, "%lld", (long long)++seq);
		if (d == SDTM_AE) {
			const char *term = record_text(r, k->res, "term");
			const char *start = record_text(r, k->res, "onset_on");
			const char *end = record_text(r, k->res, "resolved_on");
			const char *outcome = record_text(r, k->res, "outcome");
			char grade[4];
			snprintf(grade, sizeof grade, "%lld",
				 (long long)record_get(r, k->res, "grade")->i);
			struct table_cell c[] = {
				T(study_id),
				T("AE"),
				T(s->usubjid),
				N((double)seq),
				T(spid),
				T(term),
				T(term),
				T(""),
				T(record_get(r, k->res, "serious")->i ? "Y" : "N"),
				T(""),
				T(term_of(attributions, record_text(r, k->res, "attribution"))),
				T(term_of(outcomes, outcome)),
				T(outcome && strcmp(outcome, "fatal") == 0 ? "Y" : "N"),
				T(grade),
				T(start),
				T(end),
				study_day(start, s->first_start),
				study_day(end, s->first_start),
			};
			table_file_row(j->t, c);
		} else if (d == SDTM_RS) {
			const char *response = record_text(r, k->res, "response");
			const char *on = record_text(r, k->res, "assessed_on");
			struct table_cell c[] = {
				T(study_id),
				T("RS"),
				T(s->usubjid),
				N((double)seq),
				T(spid),
				T("OVRLRESP"),
				T("Overall Response"),
				T(term_of(criteria, record_text(r, k->res, "criteria"))),
				T(response),
				T(response),
				T("INVESTIGATOR"),
				T(on),
				study_day(on, s->first_start),
			};
			table_file_row(j->t, c);
		} else {
			struct table_cell c[] = {
				T(study_id),
				T("RS"),
				T(s->usubjid),
				T("RSSEQ"),
				T(seqtext),
				T("RSCONF"),
				T("Response Confirmed"),
				T(record_get(r, k->res, "confirmed")->i ? "Y" : "N"),
				T("CRF"),
				T("INVESTIGATOR"),
			};
			table_file_row(j->t, c);
		}
	}
}

static void row_ds(struct job *j, const struct subject *s)
{
	const struct resource *pr = &patients_resource;
	const char *died = record_text(s->patient, pr, "died_on");
	if (!died)
		return;
	const char *cause = record_text(s->patient, pr, "death_cause");
	struct table_cell c[] = {
		T(study_id),
		T("DS"),
		T(s->usubjid),
		N(1),
		T(cause && *cause ? cause : "DEATH"),
		T("DEATH"),
		T("DISPOSITION EVENT"),
		T(died),
		study_day(died, s->first_start),
	};
	table_file_row(j->t, c);
}

static int write_ts(struct job *j, const struct registry_counts *n)
{
	char subjects[24];
	snprintf(subjects, sizeof subjects, "%lld", (long long)n->patients);
	const char *const rows[][3] = {
		{"TITLE", "Trial Title", study_title},
		{"TRT", "Investigational Therapy or Treatment", "ALDESLEUKIN"},
		{"STYPE", "Study Type", "INTERVENTIONAL"},
		{"NARMS", "Planned Number of Arms", "7"},
		{"ACTSUB", "Actual Number of Subjects", subjects},
		{"SSTDTC", "Study Start Date", n->first_enrolled},
		{"SDTIGVER", "SDTM IG Version", "3.3"},
		{"SDTMVER", "SDTM Version", "1.7"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		struct table_cell c[] = {T(study_id),   T("TS"),       N((double)(i + 1)),
					 T(rows[i][0]), T(rows[i][1]), T(rows[i][2]),
					 T(""),         T(""),         T("")};
		table_file_row(j->t, c);
	}
	return DB_OK;
}

static int64_t rows_of(enum sdtm_domain d, const struct registry_counts *n)
{
	switch (d) {
	case SDTM_DM: return n->patients;
	case SDTM_EX: return n->courses + n->companion_courses;
	case SDTM_RS:
	case SDTM_SUPPRS: return n->outcomes;
	case SDTM_AE: return n->toxicities;
	case SDTM_DS: return n->dead;
	default: return 8; /* write_ts's */
	}
}

/* Every patient, a batch at a time, into the open table of dataset d. */
static int walk(struct job *j, enum sdtm_domain d)
{
	struct list_query q = {0};
	q.limit = SDTM_BATCH;
	bool more = true;
	int rc = DB_OK;
	int64_t ex_seq = 0;
	while (more && rc == DB_OK) {
		rc = store_list(j->db, &patients_resource, &q, &j->patients, &j->npatients, &more);
		if (rc != DB_OK || j->npatients == 0)
			break;
		int64_t lo = j->patients[0].id, hi = j->patients[j->npatients - 1].id;
		struct kind *need[] = {&j->courses, d == SDTM_AE ? &j->toxicities
						    : d == SDTM_RS || d == SDTM_SUPPRS
							    ? &j->outcomes
							    : NULL};
		for (int k = 0; k < 2 && rc == DB_OK; k++) {
			if (!need[k])
				continue;
			kind_clear(need[k]);
			rc = store_each_of_patients(j->db, need[k]->res, lo, hi, keep_record,
						    need[k]);
			if (need[k]->failed)
				rc = DB_ERROR;
		}
		size_t at_course = 0, at_record = 0;
		for (int i = 0; i < j->npatients && rc == DB_OK; i++) {
			struct subject s;
			subject_of(j, &j->patients[i], &at_course, &s);
			ex_seq = 0;
			switch (d) {
			case SDTM_DM: row_dm(j, &s); break;
			case SDTM_EX: row_ex(j, &s, &ex_seq); break;
			case SDTM_DS: row_ds(j, &s); break;
			default: rows_of_records(j, d, &s, &at_record);
			}
		}
		q.after = hi;
		store_list_free(j->patients, j->npatients);
		j->patients = NULL;
		j->npatients = 0;
	}
	kind_clear(&j->courses);
	kind_clear(&j->outcomes);
	kind_clear(&j->toxicities);
	return rc;
}

static int write_dataset(struct job *j, enum sdtm_domain d, const struct registry_counts *n,
			 FILE *out)
{
	const struct sdtm_dataset *ds = &datasets[d];
	struct table_column cols[SDTM_MAX_VARS];
	for (int i = 0; i < ds->nvars; i++)
		cols[i] = ds->vars[i].col;
	j->t = table_file_begin(out, j->format, ds->name, ds->label, cols, ds->nvars, rows_of(d, n),
				utc_rfc3339_seconds(n->changed_at));
	if (!j->t)
		return DB_ERROR;
	int rc = d == SDTM_TS ? write_ts(j, n) : walk(j, d);
	if (!table_file_end(j->t) && rc == DB_OK)
		rc = DB_ERROR;
	j->t = NULL;
	return rc;
}

int sdtm_write_define(FILE *out)
{
	struct table_column cols[] = {
		{"Dataset", "", 'C', 8}, {"Description", "", 'C', 40}, {"Row", "", 'C', 40},
		{"Order", "", 'N', 8},   {"Variable", "", 'C', 8},     {"Label", "", 'C', 40},
		{"Type", "", 'C', 4},    {"Length", "", 'N', 8},       {"Core", "", 'C', 4},
		{"Terms", "", 'C', 60},
	};
	struct table_file *t = table_file_begin(out, TABLE_CSV, "DEFINE", "", cols, 10, 0, 0);
	if (!t)
		return DB_ERROR;
	for (int d = 0; d < SDTM_COUNT; d++)
		for (int i = 0; i < datasets[d].nvars; i++) {
			const struct sdtm_var *v = &datasets[d].vars[i];
			struct table_cell c[] = {
				T(datasets[d].name),
				T(datasets[d].label),
				T(datasets[d].keys),
				N(i + 1),
				T(v->col.name),
				T(v->col.label),
				T(v->col.type == 'C' ? "Char" : "Num"),
				N(v->col.length),
				T(v->core),
				T(v->terms                             ? v->terms
				  : strcmp(v->col.name, "DOMAIN") == 0 ? datasets[d].name
								       : ""),
			};
			table_file_row(t, c);
		}
	return table_file_end(t) ? DB_OK : DB_ERROR;
}

/* Every dataset into its own temporary file, then all of them and the
 * listing into one zip. */
static int write_bundle(struct job *j, const struct registry_counts *n, FILE *out)
{
	struct zip_file *z = zip_file_begin(out, utc_rfc3339_seconds(n->changed_at));
	if (!z)
		return DB_ERROR;
	int rc = DB_OK;
	for (int d = 0; d <= SDTM_COUNT && rc == DB_OK; d++) {
		FILE *part = tmpfile();
		if (!part) {
			rc = DB_ERROR;
			break;
		}
		char name[32];
		if (d == SDTM_COUNT) {
			snprintf(name, sizeof name, "define.csv");
			rc = sdtm_write_define(part);
		} else {
			sdtm_file_name((enum sdtm_domain)d, j->format, name);
			rc = write_dataset(j, (enum sdtm_domain)d, n, part);
		}
		if (rc == DB_OK && !zip_file_add(z, name, part))
			rc = DB_ERROR;
		fclose(part);
	}
	if (!zip_file_end(z) && rc == DB_OK)
		rc = DB_ERROR;
	return rc;
}

int sdtm_write(enum sdtm_domain domain, enum table_format format, FILE *out)
{
	struct job j = {.format = format};
	j.courses.res = &courses_resource;
	j.outcomes.res = &outcomes_resource;
	j.toxicities.res = &toxicities_resource;
	int rc = db_open_another(&j.db);
	if (rc == DB_OK)
		rc = db_read_through(j.db);
	if (rc == DB_OK)
		rc = db_begin_read(j.db); /* one snapshot for every dataset */
	struct registry_counts n = {0};
	if (rc == DB_OK)
		rc = store_registry_counts(j.db, &n);
	if (rc == DB_OK)
		rc = domain == SDTM_COUNT ? write_bundle(&j, &n, out)
					  : write_dataset(&j, domain, &n, out);
	if (j.db) {
		db_rollback(j.db);
		db_close(j.db);
	}
	free(j.courses.recs);
	free(j.outcomes.recs);
	free(j.toxicities.recs);
	return rc;
}

/* The patient: one study subject, identified by a code (never a name).
 * Its rules: follow-up and death not before enrolment, a death date exactly
 * when dead, and, against its courses and outcomes, that a change to
 * enrolment, death or setting does not strand records already made. */
#include <stdio.h>
#include <string.h>

#include "resources.h"
#include "store.h"
#include "util.h"
#include "validate.h"

static const char *const sexes[] = {"female", "male", "other", "unknown", NULL};
static const char *const histologies[] = {
	"melanoma", "renal_cell", "colorectal", "non_hodgkin_lymphoma", "sarcoma", "breast",
	"lung",     "other",      NULL};
static const char *const settings[] = {"metastatic", "adjuvant", NULL};
static const char *const regimens[] = {"il2_alone",
				       "il2_lak",
				       "il2_til",
				       "il2_ifn_alpha",
				       "il2_tnf",
				       "il2_antibody",
				       "il2_cyclophosphamide",
				       NULL};
static const char *const vital_statuses[] = {"alive", "dead", "unknown", NULL};

/* clang-format off */
static const struct field fields[] = {
	{.name = "code", .type = FIELD_TEXT, .flags = FIELD_REQUIRED | FIELD_FILTER, .min = 1,
	 .max = 64, .text_ok = valid_code,
	 .text_rule = "must be 1 to 64 of A-Z a-z 0-9 . _ - (a study subject id, never a name)"},
	{.name = "sex", .type = FIELD_ENUM, .flags = FIELD_FILTER, .choices = sexes,
	 .default_text = "unknown"},
	{.name = "age", .type = FIELD_INT, .min = 0, .max = 120},
	{.name = "histology", .type = FIELD_ENUM, .flags = FIELD_REQUIRED | FIELD_FILTER,
	 .choices = histologies},
	{.name = "setting", .type = FIELD_ENUM, .flags = FIELD_REQUIRED | FIELD_FILTER,
	 .choices = settings},
	{.name = "regimen", .type = FIELD_ENUM, .flags = FIELD_REQUIRED | FIELD_FILTER,
	 .choices = regimens},
	{.name = "enrolled_on", .type = FIELD_DATE, .flags = FIELD_REQUIRED},
	{.name = "last_contact_on", .type = FIELD_DATE},
	{.name = "vital_status", .type = FIELD_ENUM, .flags = FIELD_FILTER,
	 .choices = vital_statuses, .default_text = "alive"},
	{.name = "died_on", .type = FIELD_DATE},
	{.name = "death_cause", .type = FIELD_TEXT, .min = 1, .max = 500},
};
/* clang-format on */

enum {
	CODE,
	SEX,
	AGE,
	HISTOLOGY,
	SETTING,
	REGIMEN,
	ENROLLED_ON,
	LAST_CONTACT_ON,
	VITAL_STATUS,
	DIED_ON,
	DEATH_CAUSE
};

static bool is_null(const struct value *v)
{
	return v->kind == VALUE_NULL;
}

static void check_patient(const struct record *rec, struct field_errors *errs)
{
	const struct value *v = rec->v;
	if (!is_null(&v[LAST_CONTACT_ON]) &&
	    rule_ready(errs, NULL, "last_contact_on", "must not be before enrolled_on",
		       "enrolled_on", NULL) &&
	    strcmp(v[LAST_CONTACT_ON].s, v[ENROLLED_ON].s) < 0)
		field_error(errs, "last_contact_on", "must not be before enrolled_on (%s)",
			    v[ENROLLED_ON].s);
	if (rule_ready(errs, NULL, "died_on",
		       "is required when vital_status is dead, and allowed only then",
		       "vital_status", NULL)) {
		bool dead = strcmp(v[VITAL_STATUS].s, "dead") == 0;
		if (dead && is_null(&v[DIED_ON]))
			field_error(errs, "died_on", "is required when vital_status is dead");
		if (!dead && !is_null(&v[DIED_ON]))
			field_error(errs, "died_on", "is allowed only when vital_status is dead");
	}
	if (!is_null(&v[DEATH_CAUSE]) &&
	    rule_ready(errs, NULL, "death_cause", "is allowed only when vital_status is dead",
		       "vital_status", NULL) &&
	    strcmp(v[VITAL_STATUS].s, "dead") != 0)
		field_error(errs, "death_cause", "is allowed only when vital_status is dead");
	if (!is_null(&v[DIED_ON]) &&
	    rule_ready(errs, NULL, "died_on", "must not be before enrolled_on", "enrolled_on",
		       NULL) &&
	    strcmp(v[DIED_ON].s, v[ENROLLED_ON].s) < 0)
		field_error(errs, "died_on", "must not be before enrolled_on (%s)",
			    v[ENROLLED_ON].s);
}

/* A new patient has nothing pointing at it; a changed one must still hold
 * its courses between enrolment and death, and an adjuvant patient cannot
 * have responses other than PD (recurrence) or NE. */
static int check_patient_refs(const struct resource *res, struct db *db, struct record *rec,
			      const struct record *old, struct field_errors *errs)
{
	(void)res;
	if (!old)
		return DB_OK;
	char first[11] = "", last[11] = "";
	int rc = store_patient_course_span(db, rec->id, first, last);
	if (rc != DB_OK)
		return rc;
	const struct value *v = rec->v;
	if (first[0] &&
	    rule_ready(errs, NULL, "enrolled_on", "must not be after the first course's start",
		       NULL) &&
	    strcmp(v[ENROLLED_ON].s, first) > 0)
		field_error(errs, "enrolled_on", "must not be after the first course's start (%s)",
			    first);
	if (last[0] && !is_null(&v[DIED_ON]) &&
	    rule_ready(errs, NULL, "died_on", "must not be before the last course's start", NULL) &&
	    strcmp(v[DIED_ON].s, last) < 0)
		field_error(errs, "died_on", "must not be before the last course's start (%s)",
			    last);
	if (rule_ready(errs, NULL, "setting",
		       "cannot be adjuvant while outcomes record a response other than PD or NE",
		       NULL) &&
	    strcmp(v[SETTING].s, "adjuvant") == 0) {
		int64_t responses = 0;
		rc = store_patient_count_responses(db, rec->id, &responses);
		if (rc != DB_OK)
			return rc;
		if (responses > 0)
			field_error(errs, "setting",
				    "cannot be adjuvant: %lld outcome(s) record a response other "
				    "than PD or NE",
				    (long long)responses);
	}
	return DB_OK;
}

/* A new patient has no parent: nothing to check. */
static void check_patient_parent(const struct record *rec, const struct patient_facts *patient,
				 const struct course_facts *course, struct field_errors *errs)
{
	(void)rec, (void)patient, (void)course, (void)errs;
}

void patient_facts_of(const struct record *patient, struct patient_facts *out)
{
	const struct value *v = patient->v;
	copy_cut(out->enrolled_on, sizeof out->enrolled_on, v[ENROLLED_ON].s);
	copy_cut(out->died_on, sizeof out->died_on, is_null(&v[DIED_ON]) ? "" : v[DIED_ON].s);
	out->adjuvant = strcmp(v[SETTING].s, "adjuvant") == 0;
}

static const struct child children[] = {{&courses_resource, "patient_id"}};

const struct resource *const resources_all[RESOURCES_COUNT] = {
	&patients_resource, &courses_resource, &outcomes_resource, &toxicities_resource};

const struct resource patients_resource = {
	.name = "patients",
	.singular = "patient",
	.fields = fields,
	.nfields = sizeof fields / sizeof fields[0],
	.unique_field = "code",
	.check_record = check_patient,
	.check_refs = check_patient_refs,
	.check_parent = check_patient_parent,
	.children = children,
	.nchildren = 1,
};

/* The outcome: one tumour-response assessment of a course. Its rules: MR
 * exists only under WHO criteria, it is assessed no earlier than its course
 * started, and an adjuvant patient (no evaluable disease) can only recur
 * (PD) or be not evaluable (NE). patient_id is derived from the course. */
#include <string.h>

#include "resources.h"
#include "store.h"
#include "validate.h"

static const char *const criteria[] = {"who", "recist_1_1", NULL};
static const char *const responses[] = {"CR", "PR", "MR", "SD", "PD", "NE", NULL};

/* clang-format off */
static const struct field fields[] = {
	COURSE_CHILD_FIELDS,
	{.name = "assessed_on", .type = FIELD_DATE, .flags = FIELD_REQUIRED},
	{.name = "criteria", .type = FIELD_ENUM, .flags = FIELD_FILTER, .choices = criteria,
	 .default_text = "who"},
	{.name = "response", .type = FIELD_ENUM, .flags = FIELD_REQUIRED | FIELD_FILTER,
	 .choices = responses},
	{.name = "confirmed", .type = FIELD_BOOL, .flags = FIELD_FILTER, .has_default_int = true,
	 .default_int = 0},
};
/* clang-format on */

enum { COURSE_ID, PATIENT_ID, ASSESSED_ON, CRITERIA, RESPONSE, CONFIRMED };

static void check_outcome(const struct record *rec, struct field_errors *errs)
{
	if (rule_ready(errs, NULL, "response", "MR (minor response) exists only under criteria who",
		       "criteria", NULL) &&
	    strcmp(rec->v[RESPONSE].s, "MR") == 0 && strcmp(rec->v[CRITERIA].s, "who") != 0)
		field_error(errs, "response", "MR (minor response) exists only under criteria who");
}

/* c is NULL when the course could not be read: the rules are noted as
 * unchecked, because of course_id. */
static void check_outcome_course(const struct record *rec, const struct patient_facts *patient,
				 const struct course_facts *c, struct field_errors *errs)
{
	(void)patient;
	const struct value *v = rec->v;
	const char *missing = c ? NULL : "course_id";
	if (rule_ready(errs, missing, "assessed_on", "must not be before the course started",
		       NULL) &&
	    strcmp(v[ASSESSED_ON].s, c->started_on) < 0)
		field_error(errs, "assessed_on", "must not be before the course started (%s)",
			    c->started_on);
	static const char *const adjuvant_responses[] = {"PD", "NE", NULL};
	if (rule_ready(errs, missing, "response",
		       "only PD or NE for an adjuvant patient (no evaluable disease)", NULL) &&
	    c->adjuvant && !in_choices(v[RESPONSE].s, adjuvant_responses))
		field_error(
			errs, "response",
			"an adjuvant patient has no evaluable disease: only PD (recurrence) or NE");
}

const struct resource outcomes_resource = {
	.name = "outcomes",
	.singular = "outcome",
	.fields = fields,
	.nfields = sizeof fields / sizeof fields[0],
	.check_record = check_outcome,
	.check_refs = courses_check_child,
	.check_parent = check_outcome_course,
};

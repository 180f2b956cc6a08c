/* The toxicity: one adverse event of a course, graded by NCI CTCAE. Its
 * rules: onset no earlier than the course, resolution no earlier than onset,
 * and grade 5 (death) if and only if the outcome is fatal. patient_id is
 * derived from the course. */
#include <stdbool.h>
#include <string.h>

#include "resources.h"
#include "store.h"

static const char *const attributions[] = {"unrelated", "unlikely", "possible",
					   "probable",  "definite", NULL};
static const char *const event_outcomes[] = {
	"recovered", "recovering", "not_recovered", "sequelae", "fatal", "unknown", NULL};

/* clang-format off */
static const struct field fields[] = {
	COURSE_CHILD_FIELDS,
	{.name = "term", .type = FIELD_TEXT, .flags = FIELD_REQUIRED | FIELD_FILTER, .min = 1,
	 .max = 100},
	{.name = "grade", .type = FIELD_INT, .flags = FIELD_REQUIRED | FIELD_FILTER, .min = 1,
	 .max = 5},
	{.name = "onset_on", .type = FIELD_DATE, .flags = FIELD_REQUIRED},
	{.name = "resolved_on", .type = FIELD_DATE},
	{.name = "attribution", .type = FIELD_ENUM, .flags = FIELD_REQUIRED | FIELD_FILTER,
	 .choices = attributions},
	{.name = "serious", .type = FIELD_BOOL, .flags = FIELD_FILTER, .has_default_int = true,
	 .default_int = 0},
	{.name = "outcome", .type = FIELD_ENUM, .flags = FIELD_FILTER, .choices = event_outcomes,
	 .default_text = "unknown"},
};
/* clang-format on */

enum { COURSE_ID, PATIENT_ID, TERM, GRADE, ONSET_ON, RESOLVED_ON, ATTRIBUTION, SERIOUS, OUTCOME };

static void check_toxicity(const struct record *rec, struct field_errors *errs)
{
	const struct value *v = rec->v;
	if (v[RESOLVED_ON].kind != VALUE_NULL &&
	    rule_ready(errs, NULL, "resolved_on", "must not be before onset_on", "onset_on",
		       NULL) &&
	    strcmp(v[RESOLVED_ON].s, v[ONSET_ON].s) < 0)
		field_error(errs, "resolved_on", "must not be before onset_on (%s)", v[ONSET_ON].s);
	if (!rule_ready(errs, NULL, "outcome", "is fatal exactly when grade is 5", "grade", NULL))
		return;
	bool fatal = strcmp(v[OUTCOME].s, "fatal") == 0;
	if (v[GRADE].i == 5 && !fatal)
		field_error(errs, "outcome", "must be fatal when grade is 5");
	if (v[GRADE].i != 5 && fatal)
		field_error(errs, "grade", "must be 5 when outcome is fatal");
}

/* c is NULL when the course could not be read: the rule is noted as
 * unchecked, because of course_id. */
static void check_toxicity_course(const struct record *rec, const struct patient_facts *patient,
				  const struct course_facts *c, struct field_errors *errs)
{
	(void)patient;
	if (rule_ready(errs, c ? NULL : "course_id", "onset_on",
		       "must not be before the course started", NULL) &&
	    strcmp(rec->v[ONSET_ON].s, c->started_on) < 0)
		field_error(errs, "onset_on", "must not be before the course started (%s)",
			    c->started_on);
}

const struct resource toxicities_resource = {
	.name = "toxicities",
	.singular = "toxicity",
	.fields = fields,
	.nfields = sizeof fields / sizeof fields[0],
	.check_record = check_toxicity,
	.check_refs = courses_check_child,
	.check_parent = check_toxicity_course,
};

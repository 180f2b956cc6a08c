/* The course: up to two cycles of high-dose IL-2 given to one patient.
 * Its rules: it starts within the patient's time on study (not before
 * enrolment, not after death), ends after it starts, carries a dose only
 * with its unit (stored as recorded, never converted), and is numbered
 * 1, 2, ... per patient. A changed start must not pass its own records. */
#include <stdio.h>
#include <string.h>

#include "resources.h"
#include "store.h"
#include "util.h"

static const char *const dose_units[] = {"IU/kg", "U/kg", NULL};
static const char *const stop_reasons[] = {"completed", "toxicity", "progression", "patient_choice",
					   "death",     "other",    NULL};

/* clang-format off */
static const struct field fields[] = {
	{.name = "patient_id", .type = FIELD_INT,
	 .flags = FIELD_REQUIRED | FIELD_IMMUTABLE | FIELD_FILTER, .min = 1, .max = INT64_MAX},
	{.name = "number", .type = FIELD_INT, .min = 1, .max = 1000},
	{.name = "started_on", .type = FIELD_DATE, .flags = FIELD_REQUIRED},
	{.name = "ended_on", .type = FIELD_DATE},
	{.name = "il2_dose", .type = FIELD_REAL},
	{.name = "il2_dose_unit", .type = FIELD_ENUM, .flags = FIELD_FILTER, .choices = dose_units},
	{.name = "doses_given", .type = FIELD_INT, .min = 0, .max = 30},
	{.name = "stop_reason", .type = FIELD_ENUM, .flags = FIELD_FILTER, .choices = stop_reasons},
};
/* clang-format on */

enum {
	PATIENT_ID,
	NUMBER,
	STARTED_ON,
	ENDED_ON,
	IL2_DOSE,
	IL2_DOSE_UNIT,
	DOSES_GIVEN,
	STOP_REASON
};

static void check_course(const struct record *rec, struct field_errors *errs)
{
	const struct value *v = rec->v;
	if (v[ENDED_ON].kind != VALUE_NULL &&
	    rule_ready(errs, NULL, "ended_on", "must not be before started_on", "started_on",
		       NULL) &&
	    strcmp(v[ENDED_ON].s, v[STARTED_ON].s) < 0)
		field_error(errs, "ended_on", "must not be before started_on (%s)",
			    v[STARTED_ON].s);
	if (!rule_ready(errs, NULL, "il2_dose_unit", "is given exactly when il2_dose is",
			"il2_dose", NULL))
		return;
	if (v[IL2_DOSE].kind != VALUE_NULL && v[IL2_DOSE_UNIT].kind == VALUE_NULL)
		field_error(errs, "il2_dose_unit", "is required when il2_dose is given");
	if (v[IL2_DOSE].kind == VALUE_NULL && v[IL2_DOSE_UNIT].kind != VALUE_NULL)
		field_error(errs, "il2_dose", "is required when il2_dose_unit is given");
}

/* p is NULL when the patient could not be read: the rules are noted as
 * unchecked, because of patient_id. */
static void check_course_patient(const struct record *rec, const struct patient_facts *p,
				 const struct course_facts *course, struct field_errors *errs)
{
	(void)course;
	const struct value *v = rec->v;
	const char *missing = p ? NULL : "patient_id";
	if (rule_ready(errs, missing, "started_on", "must not be before the patient's enrolment",
		       NULL) &&
	    strcmp(v[STARTED_ON].s, p->enrolled_on) < 0)
		field_error(errs, "started_on", "must not be before the patient's enrolment (%s)",
			    p->enrolled_on);
	if ((!p || p->died_on[0]) &&
	    rule_ready(errs, missing, "started_on", "must not be after the patient's death",
		       NULL) &&
	    strcmp(v[STARTED_ON].s, p->died_on) > 0)
		field_error(errs, "started_on", "must not be after the patient's death (%s)",
			    p->died_on);
}

static int check_course_refs(const struct resource *res, struct db *db, struct record *rec,
			     const struct record *old, struct field_errors *errs)
{
	(void)res;
	struct value *v = rec->v;
	struct patient_facts p;
	int rc = DB_NOTFOUND;
	if (rule_ready(errs, NULL, "patient_id", "must name an existing patient", NULL)) {
		rc = store_patient_facts(db, v[PATIENT_ID].i, &p);
		if (rc == DB_NOTFOUND)
			field_error(errs, "patient_id", "no patient has id %lld",
				    (long long)v[PATIENT_ID].i);
		else if (rc != DB_OK)
			return rc;
	}
	check_course_patient(rec, rc == DB_OK ? &p : NULL, NULL, errs);
	if (old) {
		char first[11] = "";
		rc = store_course_first_dependant_date(db, rec->id, first);
		if (rc != DB_OK)
			return rc;
		if (first[0] &&
		    rule_ready(errs, NULL, "started_on",
			       "must not be after its earliest outcome or toxicity", NULL) &&
		    strcmp(v[STARTED_ON].s, first) > 0)
			field_error(errs, "started_on",
				    "must not be after its earliest outcome or toxicity (%s)",
				    first);
	}
	if (v[NUMBER].kind == VALUE_NULL && !field_errors_any(errs)) {
		int64_t next;
		rc = store_course_next_number(db, v[PATIENT_ID].i, &next);
		if (rc != DB_OK)
			return rc;
		value_set_int(&v[NUMBER], next);
	}
	return DB_OK;
}

static const struct child children[] = {{&outcomes_resource, "course_id"},
					{&toxicities_resource, "course_id"}};

void course_facts_of(const struct record *course, const struct patient_facts *patient,
		     struct course_facts *out)
{
	out->patient_id = course->v[PATIENT_ID].i;
	copy_cut(out->started_on, sizeof out->started_on, course->v[STARTED_ON].s);
	out->adjuvant = patient->adjuvant;
}

int courses_check_child(const struct resource *res, struct db *db, struct record *rec,
			const struct record *old, struct field_errors *errs)
{
	(void)old; /* the course cannot change: course_id is immutable */
	struct course_facts course;
	int rc = DB_NOTFOUND;
	if (rule_ready(errs, NULL, "course_id", "must name an existing course", NULL)) {
		int64_t id = record_get(rec, res, "course_id")->i;
		rc = store_course_facts(db, id, &course);
		if (rc == DB_NOTFOUND)
			field_error(errs, "course_id", "no course has id %lld", (long long)id);
		else if (rc != DB_OK)
			return rc;
		else
			value_set_int(record_slot(rec, res, "patient_id"), course.patient_id);
	}
	res->check_parent(rec, NULL, rc == DB_OK ? &course : NULL, errs);
	return DB_OK;
}

const struct resource courses_resource = {
	.name = "courses",
	.singular = "course",
	.fields = fields,
	.nfields = sizeof fields / sizeof fields[0],
	.unique_field = "number",
	.check_record = check_course,
	.check_refs = check_course_refs,
	.check_parent = check_course_patient,
	.children = children,
	.nchildren = 2,
};

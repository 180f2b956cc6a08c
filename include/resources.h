/* The four clinical resources of CONTRACT.md, each described once (fields and
 * rules) in its own file: patients.c, courses.c, outcomes.c, toxicities.c. */
#ifndef COHORTD_RESOURCES_H
#define COHORTD_RESOURCES_H

#include "model.h"

extern const struct resource patients_resource;
extern const struct resource courses_resource;
extern const struct resource outcomes_resource;
extern const struct resource toxicities_resource;

/* The first two fields of a record that belongs to a course (outcome,
 * toxicity): its course, and that course's patient, derived. */
/* clang-format off */
#define COURSE_CHILD_FIELDS                                                                        \
	{.name = "course_id", .type = FIELD_INT,                                                   \
	 .flags = FIELD_REQUIRED | FIELD_IMMUTABLE | FIELD_FILTER, .min = 1, .max = INT64_MAX},     \
	{.name = "patient_id", .type = FIELD_INT, .flags = FIELD_DERIVED | FIELD_FILTER,          \
	 .min = 1, .max = INT64_MAX}
/* clang-format on */
/* The four, each parent before its children (patients.c). */
#define RESOURCES_COUNT 4
extern const struct resource *const resources_all[RESOURCES_COUNT];

struct db;
struct patient_facts;
struct course_facts;

/* The check_refs of a record that belongs to a course (outcome, toxicity):
 * looks up the course named by its course_id, sets its derived patient_id,
 * and runs res->check_parent on the course's facts (NULL when course_id is
 * broken or names no course, which is then an error). Returns DB_OK or the
 * DB_ code of a failed lookup. */
int courses_check_child(const struct resource *res, struct db *db, struct record *rec,
			const struct record *old, struct field_errors *errs);

/* The facts a child's rules read (resource.check_parent), taken from a
 * parent record in memory instead of the database. */
void patient_facts_of(const struct record *patient, struct patient_facts *out);
void course_facts_of(const struct record *course, const struct patient_facts *patient,
		     struct course_facts *out);

#endif

/* The four clinical resources of CONTRACT.md, each described once (fields and
 * rules) in its own file: patients.c, courses.c, outcomes.c, toxicities.c. */
#ifndef COHORTD_RESOURCES_H
#define COHORTD_RESOURCES_H

#include "model.h"

extern const struct resource patients_resource;
extern const struct resource courses_resource;
extern const struct resource outcomes_resource;
extern const struct resource toxicities_resource;
/* The four, each parent before its children (patients.c). */
#define RESOURCES_COUNT 4
extern const struct resource *const resources_all[RESOURCES_COUNT];

struct db;
struct patient_facts;
struct course_facts;

typedef void (*check_parent_fn)(const struct record *rec, const struct patient_facts *patient,
				const struct course_facts *course, struct field_errors *errs);

/* The rules against its course of a record that belongs to one (outcome,
 * toxicity): looks up the course named by its course_id field, sets its
 * derived patient_id field, and runs rules on the course's facts (NULL
 * when course_id is broken or names no course, which is then an error).
 * Returns DB_OK or the DB_ code of a failed lookup. */
int courses_check_child(struct db *db, struct record *rec, int course_field, int patient_field,
			check_parent_fn rules, struct field_errors *errs);

/* The facts a child's rules read (resource.check_parent), taken from a
 * parent record in memory instead of the database. */
void patient_facts_of(const struct record *patient, struct patient_facts *out);
void course_facts_of(const struct record *course, const struct patient_facts *patient,
		     struct course_facts *out);

#endif

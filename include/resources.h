/* The four clinical resources of CONTRACT.md, each described once (fields and
 * rules) in its own file: patients.c, courses.c, outcomes.c, toxicities.c. */
#ifndef COHORTD_RESOURCES_H
#define COHORTD_RESOURCES_H

#include "model.h"

extern const struct resource patients_resource;
extern const struct resource courses_resource;
extern const struct resource outcomes_resource;
extern const struct resource toxicities_resource;

struct db;
struct patient_facts;
struct course_facts;

/* For a record that belongs to a course (outcome, toxicity): looks up the
 * course named by its course_id field, sets its derived patient_id field,
 * and fills *course. Returns DB_OK with *found false (and an error on
 * course_id) when there is no such course, or a DB_ code. */
int courses_resolve(struct db *db, struct record *rec, int course_field, int patient_field,
		    struct course_facts *course, bool *found, struct field_errors *errs);

/* The facts a child's rules read (resource.check_parent), taken from a
 * parent record in memory instead of the database. */
void patient_facts_of(const struct record *patient, struct patient_facts *out);
void course_facts_of(const struct record *course, const struct patient_facts *patient,
		     struct course_facts *out);

#endif

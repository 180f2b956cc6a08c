/* The four clinical resources of CONTRACT.md, each described once (fields and
 * rules) in its own file: patients.c, courses.c, outcomes.c, toxicities.c. */
#ifndef COHORTD_RESOURCES_H
#define COHORTD_RESOURCES_H

#include "model.h"

extern const struct resource patients_resource;
extern const struct resource courses_resource;
extern const struct resource outcomes_resource;
extern const struct resource toxicities_resource;

#endif

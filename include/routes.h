/* The route table (routes.c): every route cohortd serves, given to the
 * dispatcher at start (router_configure) and walked by the tests. */
#ifndef COHORTD_ROUTES_H
#define COHORTD_ROUTES_H

#include <stddef.h>

#include "router.h"

extern const struct route routes[];
extern const size_t routes_count;

#endif

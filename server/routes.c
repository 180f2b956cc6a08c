/* The route table: every method and path cohortd serves, as data. The
 * dispatcher enforces the flags; tests check this table against
 * openapi.yaml in both directions. */
#include "handlers.h"
#include "resources.h"
#include "router.h"

#define RESOURCE_ROUTES(path, res)                                                              \
	{"GET", path, records_list, ROUTE_QUERY, &res},                                                   \
	{"POST", path, records_create, ROUTE_JSON_BODY | ROUTE_WRITES, &res},                   \
	{"GET", path "/{id}", records_get, 0, &res},                                            \
	{"PATCH", path "/{id}", records_patch, ROUTE_MERGE_PATCH | ROUTE_WRITES, &res},         \
	{"DELETE", path "/{id}", records_delete, ROUTE_WRITES | ROUTE_QUERY, &res}

const struct route routes[] = {
	RESOURCE_ROUTES("/patients", patients_resource),
	RESOURCE_ROUTES("/courses", courses_resource),
	RESOURCE_ROUTES("/outcomes", outcomes_resource),
	RESOURCE_ROUTES("/toxicities", toxicities_resource),
	{"GET", "/patients/{id}/courses", records_list_of_patient, ROUTE_QUERY, &courses_resource},
	{"GET", "/patients/{id}/outcomes", records_list_of_patient, ROUTE_QUERY, &outcomes_resource},
	{"GET", "/patients/{id}/toxicities", records_list_of_patient, ROUTE_QUERY, &toxicities_resource},
	{"GET", "/stats/summary", stats_summary, ROUTE_QUERY, NULL},
	{"GET", "/stats/response", stats_response, ROUTE_QUERY, NULL},
	{"GET", "/stats/mortality", stats_mortality, ROUTE_QUERY, NULL},
	{"GET", "/stats/toxicity", stats_toxicity, ROUTE_QUERY, NULL},
	{"GET", "/stats/survival", stats_survival, ROUTE_QUERY, NULL},
	{"GET", "/stats/durable-response", stats_durable_response, ROUTE_QUERY, NULL},
	{"GET", "/openapi.yaml", ops_openapi, 0, NULL},
	{"GET", "/healthz", ops_healthz, 0, NULL},
	{"GET", "/readyz", ops_readyz, 0, NULL},
};

const size_t routes_count = sizeof routes / sizeof routes[0];

/* The route table: every method and path cohortd serves, as data, with the
 * least role that may call it. The dispatcher enforces flags and roles;
 * tests check this table against openapi.yaml in both directions and walk
 * it with every role. */
#include "auth.h"
#include "handlers.h"
#include "resources.h"
#include "router.h"

#define RESOURCE_ROUTES(path, res)                                                               \
	{"GET", path, records_list, ROUTE_QUERY, &res, ROLE_READER},                             \
	{"POST", path, records_create, ROUTE_JSON_BODY | ROUTE_WRITES | ROUTE_STAGE, &res,       \
	 ROLE_EDITOR},                                                                           \
	{"GET", path "/{id}", records_get, 0, &res, ROLE_READER},                                \
	{"PATCH", path "/{id}", records_patch, ROUTE_MERGE_PATCH | ROUTE_WRITES | ROUTE_REASON,  \
	 &res, ROLE_EDITOR},                                                                     \
	{"DELETE", path "/{id}", records_delete, ROUTE_WRITES | ROUTE_QUERY | ROUTE_REASON, &res, \
	 ROLE_EDITOR},                                                                           \
	{"GET", path "/{id}/history", audit_history, 0, &res, ROLE_ADMIN}

const struct route routes[] = {
	RESOURCE_ROUTES("/patients", patients_resource),
	RESOURCE_ROUTES("/courses", courses_resource),
	RESOURCE_ROUTES("/outcomes", outcomes_resource),
	RESOURCE_ROUTES("/toxicities", toxicities_resource),
	{"GET", "/patients/{id}/courses", records_list_of_patient, ROUTE_QUERY, &courses_resource,
	 ROLE_READER},
	{"GET", "/patients/{id}/outcomes", records_list_of_patient, ROUTE_QUERY, &outcomes_resource,
	 ROLE_READER},
	{"GET", "/patients/{id}/toxicities", records_list_of_patient, ROUTE_QUERY,
	 &toxicities_resource, ROLE_READER},
	{"GET", "/stats/summary", stats_summary, ROUTE_QUERY, NULL, ROLE_READER},
	{"GET", "/stats/response", stats_response, ROUTE_QUERY, NULL, ROLE_READER},
	{"GET", "/stats/mortality", stats_mortality, ROUTE_QUERY, NULL, ROLE_READER},
	{"GET", "/stats/toxicity", stats_toxicity, ROUTE_QUERY, NULL, ROLE_READER},
	{"GET", "/stats/survival", stats_survival, ROUTE_QUERY, NULL, ROLE_READER},
	{"GET", "/stats/durable-response", stats_durable_response, ROUTE_QUERY, NULL, ROLE_READER},
	{"POST", "/import", import_ndjson, ROUTE_NDJSON | ROUTE_WRITES, NULL, ROLE_EDITOR},
	{"GET", "/audit", audit_list, ROUTE_QUERY, NULL, ROLE_ADMIN},
	{"GET", "/audit/verify", audit_check_chain, 0, NULL, ROLE_ADMIN},
	{"GET", "/metrics", metrics_scrape, 0, NULL, ROLE_READER},
	{"GET", "/openapi.yaml", ops_openapi, 0, NULL, ROLE_NONE},
	{"GET", "/healthz", ops_healthz, 0, NULL, ROLE_NONE},
	{"GET", "/readyz", ops_readyz, 0, NULL, ROLE_NONE},
	{"GET", "/", dashboard_page, 0, NULL, ROLE_NONE},
	{"GET", "/dashboard/app.js", dashboard_script, 0, NULL, ROLE_NONE},
	{"GET", "/dashboard/style.css", dashboard_style, 0, NULL, ROLE_NONE},
	{"GET", "/dashboard/chart.js", dashboard_chartjs, 0, NULL, ROLE_NONE},
};

const size_t routes_count = sizeof routes / sizeof routes[0];

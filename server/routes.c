/* The route table: every method and path cohortd serves, as data, with the
 * least role that may call it. The dispatcher enforces flags and roles;
 * tests check this table against openapi.yaml in both directions and walk
 * it with every role. main() hands it to the dispatcher (router_configure). */
#include "routes.h"

#include "auth.h"
#include "handlers.h"
#include "resources.h"

/* the table, one route to a row, laid out by hand */
/* clang-format off */

/* a route: method, pattern, handler, flags, resource, least role */
#define ROUTE(m, p, h, fl, r, role_)                                                               \
	{.method = m, .pattern = p, .handler = h, .flags = fl, .res = r, .role = role_}

#define RESOURCE_ROUTES(path, r)                                                                   \
	ROUTE("GET", path, records_list, ROUTE_QUERY, &r, ROLE_READER),                            \
	{.method = "POST", .pattern = path, .handler = records_create,                             \
	 .flags = ROUTE_JSON_BODY | ROUTE_WRITES, .res = &r, .role = ROLE_EDITOR,                  \
	 .prepare = records_stage},                                                                \
	ROUTE("GET", path "/{id}", records_get, ROUTE_AUTH_AHEAD, &r, ROLE_READER),                \
	ROUTE("PATCH", path "/{id}", records_patch, ROUTE_MERGE_PATCH | ROUTE_WRITES | ROUTE_REASON, \
	      &r, ROLE_EDITOR),                                                                    \
	ROUTE("DELETE", path "/{id}", records_delete, ROUTE_WRITES | ROUTE_QUERY | ROUTE_REASON,   \
	      &r, ROLE_EDITOR),                                                                    \
	ROUTE("GET", path "/{id}/history", audit_history, 0, &r, ROLE_ADMIN)

const struct route routes[] = {
	RESOURCE_ROUTES("/patients", patients_resource),
	RESOURCE_ROUTES("/courses", courses_resource),
	RESOURCE_ROUTES("/outcomes", outcomes_resource),
	RESOURCE_ROUTES("/toxicities", toxicities_resource),
	ROUTE("GET", "/patients/{id}/courses", records_list_of_patient, ROUTE_QUERY, &courses_resource, ROLE_READER),
	ROUTE("GET", "/patients/{id}/outcomes", records_list_of_patient, ROUTE_QUERY, &outcomes_resource, ROLE_READER),
	ROUTE("GET", "/patients/{id}/toxicities", records_list_of_patient, ROUTE_QUERY, &toxicities_resource, ROLE_READER),
	ROUTE("GET", "/stats/summary", stats_summary, ROUTE_QUERY, NULL, ROLE_READER),
	ROUTE("GET", "/stats/response", stats_response, ROUTE_QUERY, NULL, ROLE_READER),
	ROUTE("GET", "/stats/mortality", stats_mortality, ROUTE_QUERY, NULL, ROLE_READER),
	ROUTE("GET", "/stats/toxicity", stats_toxicity, ROUTE_QUERY, NULL, ROLE_READER),
	ROUTE("GET", "/stats/survival", stats_survival, ROUTE_QUERY, NULL, ROLE_READER),
	ROUTE("GET", "/stats/durable-response", stats_durable_response, ROUTE_QUERY, NULL, ROLE_READER),
	ROUTE("GET", "/export", export_registry, ROUTE_QUERY, NULL, ROLE_EDITOR),
	ROUTE("GET", "/export/sdtm", export_sdtm, ROUTE_QUERY, NULL, ROLE_EDITOR),
	ROUTE("GET", "/export/sdtm/{domain}", export_sdtm, ROUTE_QUERY, NULL, ROLE_EDITOR),
	ROUTE("GET", "/fhir/metadata", fhir_metadata, ROUTE_QUERY, NULL, ROLE_READER),
	ROUTE("GET", "/fhir/$export", fhir_export_kickoff, ROUTE_QUERY, NULL, ROLE_READER),
	ROUTE("GET", "/fhir/bulk/{job}", fhir_export_status, 0, NULL, ROLE_READER),
	ROUTE("DELETE", "/fhir/bulk/{job}", fhir_export_status, 0, NULL, ROLE_READER),
	ROUTE("GET", "/fhir/bulk/{job}/{file}", fhir_export_file, 0, NULL, ROLE_READER),
	ROUTE("GET", "/fhir/{type}", fhir_search, ROUTE_QUERY, NULL, ROLE_READER),
	ROUTE("GET", "/fhir/{type}/{ref}", fhir_read, ROUTE_QUERY, NULL, ROLE_READER),
	ROUTE("POST", "/import", import_ndjson, ROUTE_NDJSON | ROUTE_WRITES | ROUTE_OWN_COMMITS, NULL, ROLE_EDITOR),
	ROUTE("GET", "/audit", audit_list, ROUTE_QUERY, NULL, ROLE_ADMIN),
	ROUTE("GET", "/audit/verify", audit_check_chain, 0, NULL, ROLE_ADMIN),
	ROUTE("GET", "/metrics", metrics_scrape, 0, NULL, ROLE_READER),
	ROUTE("GET", "/openapi.yaml", ops_openapi, 0, NULL, ROLE_NONE),
	ROUTE("GET", "/healthz", ops_healthz, 0, NULL, ROLE_NONE),
	ROUTE("GET", "/readyz", ops_readyz, 0, NULL, ROLE_NONE),
	ROUTE("GET", "/", dashboard_page, 0, NULL, ROLE_NONE),
	ROUTE("GET", "/dashboard/app.js", dashboard_script, 0, NULL, ROLE_NONE),
	ROUTE("GET", "/dashboard/style.css", dashboard_style, 0, NULL, ROLE_NONE),
	ROUTE("GET", "/dashboard/chart.js", dashboard_chartjs, 0, NULL, ROLE_NONE),
};

/* clang-format on */
const size_t routes_count = sizeof routes / sizeof routes[0];

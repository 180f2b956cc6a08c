/* Every handler the route table points at. Record handlers are generic: the
 * route's resource (req->route->res) says which collection they serve. */
#ifndef COHORTD_HANDLERS_H
#define COHORTD_HANDLERS_H

#include <stdbool.h>

struct request;

/* records.c: the four clinical resources */
void records_list(struct request *req);
/* A create's preparation (its route's prepare): without an Idempotency-Key,
 * the body is validated into the route's record on the HTTP worker rather
 * than on the single writer, and answered 422 (false) when it is invalid;
 * with a key it is validated by the handler, after the key's earlier answer
 * is looked for. */
bool records_stage(struct request *req);
void records_list_of_patient(struct request *req);
void records_create(struct request *req);
void records_get(struct request *req);
void records_patch(struct request *req);
void records_delete(struct request *req);

/* stats.c: the statistics of docs/contract.md */
void stats_summary(struct request *req);
void stats_response(struct request *req);
void stats_mortality(struct request *req);
void stats_toxicity(struct request *req);
void stats_survival(struct request *req);
void stats_durable_response(struct request *req);
/* Forgets every computed answer, so the next request computes afresh (for
 * the allocation-failure test, which must not be answered from the cache). */
void stats_cache_clear(void);

/* audit_api.c: the audit trail over HTTP */
void audit_list(struct request *req);
void audit_check_chain(struct request *req);
void audit_history(struct request *req);

/* export_api.c: the registry as NDJSON for import */
void export_registry(struct request *req);
/* FHIR R4 (fhir_api.c): the capability statement, a read, a search; the
 * base URL of this server's FHIR endpoint as the client named it */
void fhir_metadata(struct request *req);
void fhir_read(struct request *req);
void fhir_search(struct request *req);
void fhir_base_url(struct request *req, char *out, size_t n);
/* FHIR Bulk Data export (fhir_bulk.c): kick-off, status (GET, DELETE), a
 * file; how long a finished export's files are kept */
void fhir_export_kickoff(struct request *req);
void fhir_export_status(struct request *req);
void fhir_export_file(struct request *req);
void fhir_bulk_set_ttl(unsigned seconds);
/* GET /export/sdtm and /export/sdtm/{domain} (sdtm_api.c) */
void export_sdtm(struct request *req);
/* import_api.c: bulk import */
void import_ndjson(struct request *req);

/* metrics.c: Prometheus metrics */
void metrics_scrape(struct request *req);

/* ops.c: operations */
void ops_healthz(struct request *req);
void ops_readyz(struct request *req);
void ops_openapi(struct request *req);

/* dashboard.c: the dashboard page and its files, from the binary */
void dashboard_page(struct request *req);
void dashboard_script(struct request *req);
void dashboard_style(struct request *req);
void dashboard_chartjs(struct request *req);

#endif

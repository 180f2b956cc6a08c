/* Operations routes: liveness, readiness (the database answers and its
 * schema is current), and the OpenAPI description compiled into the binary. */
#include "db.h"
#include "embedded.h"
#include "handlers.h"
#include "http.h"

void ops_healthz(struct request *req)
{
	reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

void ops_readyz(struct request *req)
{
	int version = -1;
	if (!req->db || db_schema_version(req->db, &version) != DB_OK) {
		reply_problem(req, 503, PROBLEM_UNAVAILABLE, "the database cannot be read");
		return;
	}
	if (version != db_latest_schema_version()) {
		reply_problem(req, 503, PROBLEM_UNAVAILABLE,
			      "the database schema is at version %d, this build needs %d", version,
			      db_latest_schema_version());
		return;
	}
	reply_json(req, 200, json_pack("{s:s, s:i}", "status", "ready", "schema_version", version));
}

void ops_openapi(struct request *req)
{
	reply_static(req, 200, "application/yaml", embedded_openapi, embedded_openapi_len);
}

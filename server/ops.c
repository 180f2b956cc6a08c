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

/* Ready means reads are served; "durability" is what a commit promises, as
 * the engine reports it for this connection. Whether writes get through is told apart,
 * in "writable" and, when false, the refusal a write would meet now: a
 * full disk or a read-only file takes writes away but not reads, and an
 * orchestrator that took the instance out of service for it would lose the
 * reads too without winning anything back (a restart frees no space). */
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
	enum db_durability durability = DB_DURABLE_NORMAL;
	if (db_durability(req->db, &durability) != DB_OK) {
		reply_problem(req, 503, PROBLEM_UNAVAILABLE, "the database cannot be read");
		return;
	}
	json_t *body =
		json_pack("{s:s, s:i, s:s, s:s}", "status", "ready", "schema_version", version,
			  "durability", durability == DB_DURABLE_FULL ? "full" : "normal", "engine",
			  db_engine_name(req->db));
	/* the read-write server that answered (a multi-host connection string
	 * follows the primary through a failover) */
	char server[300];
	if (db_server_address(req->db, server, sizeof server))
		json_object_set_new(body, "primary", json_string(server));
	int writable = db_check_writable();
	json_object_set_new(body, "writable", json_boolean(writable == DB_OK));
	if (writable != DB_OK) {
		const char *detail =
			writable == DB_FULL
				? "the storage is full: writes answer 507 until space returns"
			: db_opened_read_only()
				? "the database was opened read-only: writes answer 503 until "
				  "cohortd is restarted on a writable file"
			: writable == DB_READONLY
				? "the database cannot be written: writes answer 503"
				: "a test write failed: writes may answer 503 or 500";
		bool full = writable == DB_FULL;
		json_object_set_new(body, "write_refusal",
				    json_pack("{s:i, s:s, s:s}", "status", full ? 507 : 503, "type",
					      full ? PROBLEM_STORAGE_FULL : PROBLEM_UNAVAILABLE,
					      "detail", detail));
	}
	reply_json(req, 200, body);
}

void ops_openapi(struct request *req)
{
	reply_static(req, 200, "application/yaml", embedded_openapi, embedded_openapi_len);
}

/* cohortd's entry point: parse the command line, open and migrate the
 * database, serve until SIGTERM or SIGINT, then drain and close. */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "demo.h"
#include "digest.h"
#include "export.h"
#include "fault.h"
#include "handlers.h"
#include "import.h"
#include "inject.h"
#include "log.h"
#include "resources.h"
#include "router.h"
#include "routes.h"
#include "sdtm.h"
#include "server.h"
#include "store.h"
#include "store_summary.h"
#include "util.h"

#ifndef COHORTD_VERSION
#define COHORTD_VERSION "0.0.0"
#endif

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Applies the migrations, takes back an import that did not finish (the
 * process stopped in it) before anything else writes, then builds the
 * statistics' summaries when the database held records before they
 * existed (store_summary.h); a read-only database is read as it is. */
static int migrate(struct db *db)
{
	int rc = db_migrate(db);
	if (rc == DB_OK && !db_opened_read_only())
		rc = import_take_back_unfinished(db);
	if (rc == DB_OK && !db_opened_read_only())
		rc = store_summaries_ensure(db);
	return rc;
}

/* Opens the database once in the main thread to apply migrations, so that
 * workers find the schema current and a bad file fails at start, not on the
 * first request. */
static int prepare_database(const char *path)
{
	struct db *db = NULL;
	int rc = db_open(path, &db);
	if (rc == DB_OK)
		rc = migrate(db);
	db_close(db);
	if (rc == DB_READONLY && db_opened_read_only())
		log_write(LOG_ERROR,
			  "the database is read-only and older than this build: "
			  "migrate it where it can be written",
			  json_pack("{s:s}", "path", path));
	else if (rc == DB_OK && db_opened_read_only())
		log_write(LOG_WARN,
			  "the database is read-only: reads are served, writes answer 503",
			  json_pack("{s:s}", "path", path));
	return rc;
}

static int load_demo(const char *path)
{
	struct db *db = NULL;
	struct demo_counts n;
	int rc = db_open(path, &db);
	if (rc == DB_OK)
		rc = migrate(db);
	if (rc == DB_OK)
		rc = demo_load(db, &n);
	db_close(db);
	if (rc != DB_OK)
		return 1;
	char shown[1024];
	db_target_shown(path, shown, sizeof shown);
	printf("demo cohort written to %s: %lld patients, %lld courses, %lld outcomes, "
	       "%lld toxicities\n",
	       shown, (long long)n.patients, (long long)n.courses, (long long)n.outcomes,
	       (long long)n.toxicities);
	return 0;
}

/* cohortd export --db PATH: the same NDJSON as GET /export, of the whole
 * registry, to standard output. */
static int export_file(const struct config *cfg)
{
	struct db *db = NULL;
	struct export *e = NULL;
	struct strbuf out = {0};
	bool done = false;
	int rc = db_open(cfg->db_path, &db);
	if (rc == DB_OK)
		rc = migrate(db);
	if (rc == DB_OK)
		rc = export_open(db, NULL, false, &e);
	while (rc == DB_OK && !done) {
		out.len = 0;
		rc = export_next(e, &out, &done);
		if (rc == DB_OK &&
		    (out.failed || fwrite(out.data ? out.data : "", 1, out.len, stdout) != out.len))
			rc = DB_ERROR;
	}
	int64_t records = e ? export_records(e) : 0;
	export_close(e);
	db_close(db);
	strbuf_free(&out);
	if (rc != DB_OK || fflush(stdout) != 0) {
		fprintf(stderr, "cohortd: the export failed\n");
		return 1;
	}
	fprintf(stderr, "exported %lld records\n", (long long)records);
	return 0;
}

/* cohortd import --db PATH FILE: the same import as POST /import, read
 * from a file line by line, so the file may be larger than memory. */
static int import_file(const struct config *cfg)
{
	FILE *in = strcmp(cfg->import_file, "-") == 0 ? stdin : fopen(cfg->import_file, "r");
	if (!in) {
		fprintf(stderr, "cohortd: cannot read %s\n", cfg->import_file);
		return 1;
	}
	struct db *db = NULL;
	char request_id[37];
	random_uuid(request_id);
	struct audit_context ctx = {"cohortd import", "bulk import from a file", request_id};
	struct import_session s = {0};
	int rc = db_open(cfg->db_path, &db);
	if (rc == DB_OK)
		rc = migrate(db);
	if (rc == DB_OK)
		rc = import_begin(&s, db, &ctx);
	struct import_file lines = {in, NULL, 0};
	bool seekable = fseek(in, 0, SEEK_CUR) == 0;
	bool started = rc == DB_OK;
	if (rc == DB_OK)
		rc = import_stream(&s, import_file_next, seekable ? import_file_rewind : NULL,
				   &lines);
	free(lines.buf);
	if (rc == 1) {
		char *errors = json_dumps(s.errors, JSON_INDENT(2));
		fprintf(stderr, "cohortd: line %lld refused, nothing imported:\n%s\n",
			(long long)s.counts.lines, errors ? errors : "");
		free(errors);
	}
	if (started) {
		int end = import_end(&s, rc == DB_OK);
		if (rc == DB_OK)
			rc = end;
	}
	db_close(db);
	if (in != stdin)
		fclose(in);
	if (rc != DB_OK)
		return 1;
	printf("imported %lld patients, %lld courses, %lld outcomes, %lld toxicities\n",
	       (long long)s.counts.patients, (long long)s.counts.courses,
	       (long long)s.counts.outcomes, (long long)s.counts.toxicities);
	return 0;
}

/* cohortd token create|list|revoke: the token is printed once, as the last
 * word, and never stored. */
static int tokens(const struct config *cfg)
{
	struct db *db = NULL;
	char token[TOKEN_TEXT_LEN + 1];
	int rc = db_open(cfg->db_path, &db);
	if (rc == DB_OK)
		rc = migrate(db);
	if (rc == DB_OK) {
		switch (cfg->command) {
		case CMD_TOKEN_CREATE:
			rc = token_create(db, cfg->token_name, cfg->token_role, token);
			if (rc == DB_OK)
				printf("token %s (%s), shown once: %s\n", cfg->token_name,
				       role_name(cfg->token_role), token);
			else if (rc == DB_CONFLICT)
				fprintf(stderr, "cohortd: a token named %s exists already\n",
					cfg->token_name);
			else if (rc == DB_CONSTRAINT && token_name_reserved(cfg->token_name))
				fprintf(stderr,
					"cohortd: %s is reserved: the audit trail names "
					"requests without a token \"anonymous\", and the server's "
					"own writes \"cohortd ...\"\n",
					cfg->token_name);
			else if (rc == DB_CONSTRAINT)
				fprintf(stderr,
					"cohortd: a token name is 1-64 of A-Z a-z 0-9 . _ -\n");
			break;
		case CMD_TOKEN_REVOKE:
			rc = token_revoke(db, cfg->token_name);
			if (rc == DB_OK)
				printf("token %s revoked\n", cfg->token_name);
			else if (rc == DB_NOTFOUND)
				fprintf(stderr, "cohortd: no live token named %s\n",
					cfg->token_name);
			break;
		default: rc = token_list(db, stdout);
		}
	}
	db_close(db);
	return rc == DB_OK ? 0 : 1;
}

static int serve(const struct config *cfg)
{
	if (prepare_database(cfg->db_path) != DB_OK)
		return 1;
	if (db_pool_init(cfg->db_path) != DB_OK)
		return 1;
	sdtm_set_study(cfg->study_id, cfg->study_title);
	fhir_bulk_set_ttl(cfg->bulk_ttl);
	router_configure(routes, routes_count, cfg->anonymous_role, cfg->cors_origins,
			 cfg->ncors_origins, cfg->max_import);
	if (cfg->anonymous_role != ROLE_NONE)
		log_write(LOG_WARN, "anonymous access is on",
			  json_pack("{s:s}", "role", role_name(cfg->anonymous_role)));

	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	/* Workers inherit a mask with the stop signals blocked, so they reach
	 * the main thread, which waits for them in sigsuspend. */
	pthread_sigmask(SIG_BLOCK, &block, &old);

	unsigned port = 0;
	struct server *srv = server_start(cfg, &port);
	if (!srv) {
		db_pool_close();
		return 1;
	}
	char shown[1024];
	db_target_shown(cfg->db_path, shown, sizeof shown);
	log_write(LOG_INFO, "listening",
		  json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:s}", "version", COHORTD_VERSION,
			    "bind", cfg->bind, "port", (int)port, "threads", (int)cfg->threads,
			    "write_threads", (int)cfg->write_threads, "stats_threads",
			    (int)cfg->stats_threads, "db", shown));
	while (!stop_requested)
		sigsuspend(&old);
	log_write(LOG_INFO, "stopping", NULL);
	server_stop(srv);
	db_pool_close();
	log_write(LOG_INFO, "stopped", NULL);
	return 0;
}

int main(int argc, char **argv)
{
	/* before any Jansson or engine use: their failures are then noted like ours */
	fault_alloc_install();
	inject_configure();
	if (db_set_allocator() != DB_OK || store_init(resources_all, RESOURCES_COUNT) != DB_OK) {
		fprintf(stderr, "cohortd: cannot prepare the database engine and the store\n");
		return 1;
	}
	struct config cfg;
	if (config_parse(&cfg, argc, argv, stderr) != 0)
		return 2;
	import_chunk_lines = cfg.import_chunk;
	switch (cfg.command) {
	case CMD_HELP: config_usage(stdout); return 0;
	case CMD_VERSION: printf("cohortd %s\n", COHORTD_VERSION); return 0;
	case CMD_MIGRATE:
		if (prepare_database(cfg.db_path) != DB_OK)
			return 1;
		char shown[1024];
		db_target_shown(cfg.db_path, shown, sizeof shown);
		printf("database %s is at schema version %d\n", shown, db_latest_schema_version());
		return 0;
	case CMD_DEMO: return load_demo(cfg.db_path);
	case CMD_IMPORT: return import_file(&cfg);
	case CMD_EXPORT: return export_file(&cfg);
	case CMD_TOKEN_CREATE:
	case CMD_TOKEN_LIST:
	case CMD_TOKEN_REVOKE: return tokens(&cfg);
	case CMD_SERVE:
		log_set_level(cfg.log_level);
		db_set_durability(cfg.durability);
		db_set_max_size(cfg.max_db_bytes);
		return serve(&cfg);
	}
	return 2;
}

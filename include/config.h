/* Command line and environment: what to serve, where, with how many workers.
 * Flags win over COHORTD_* variables, which win over defaults. */
#ifndef COHORTD_CONFIG_H
#define COHORTD_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

enum config_command {
	CMD_SERVE,
	CMD_MIGRATE,
	CMD_DEMO,
	CMD_IMPORT,
	CMD_EXPORT,
	CMD_TOKEN_CREATE,
	CMD_TOKEN_LIST,
	CMD_TOKEN_REVOKE,
	CMD_HELP,
	CMD_VERSION,
};

#define CONFIG_MAX_ORIGINS 16

struct config {
	enum config_command command;
	const char *db_path;
	const char *bind;
	unsigned port;
	unsigned threads;
	unsigned write_threads; /* the write pool (pools.h); 0: writes on the HTTP workers */
	unsigned stats_threads; /* the slow-read pool (pools.h); 0: on the HTTP workers */
	unsigned connection_limit;
	unsigned per_ip_limit;
	unsigned timeout_seconds;
	unsigned request_timeout_seconds; /* a whole request must arrive within it */
	int anonymous_role;               /* enum role; ROLE_NONE: a token is always needed */
	const char *cors_origins[CONFIG_MAX_ORIGINS];
	int ncors_origins;
	size_t max_import;       /* bytes of an NDJSON import body */
	unsigned import_chunk;   /* lines an import commits at a time (import.h); 0: all */
	int log_level;           /* enum log_level (log.h) */
	int durability;          /* enum db_durability (db.h) */
	long long max_db_bytes;  /* a quota on the database file; 0: none */
	const char *import_file; /* cohortd import */
	const char *token_name;  /* token create / revoke */
	int token_role;          /* token create */
	const char *study_id;    /* SDTM's STUDYID (sdtm.h); NULL: its default */
	unsigned bulk_ttl;       /* seconds a FHIR bulk export's files are kept */
	const char *study_title; /* SDTM's trial title; NULL: its default */
};

/* Returns 0, or -1 after writing a one-line reason to err. */
int config_parse(struct config *cfg, int argc, char **argv, FILE *err);
void config_usage(FILE *out);

#endif

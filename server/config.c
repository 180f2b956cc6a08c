/* Reads what to do and how from argv and COHORTD_* variables. Flags win
 * over the environment, which wins over the defaults. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "db.h"
#include "log.h"
#include "util.h"
#include "validate.h"

void config_usage(FILE *out)
{
	fputs("usage: cohortd [serve] [options]      serve the registry over HTTP\n"
	      "       cohortd migrate --db PATH      apply database migrations and exit\n"
	      "       cohortd demo --db PATH         write the demo cohort (the 1989 IL-2 series)\n"
	      "                                      into an empty database and exit\n"
	      "       cohortd import --db PATH FILE  import NDJSON (one patient a line, nested)\n"
	      "                                      all or nothing, audited, and exit;\n"
	      "                                      FILE - reads standard input\n"
	      "       cohortd export --db PATH       the registry as that NDJSON, to standard\n"
	      "                                      output, from one snapshot\n"
	      "       cohortd token create --role reader|editor|admin --name NAME [--db PATH]\n"
	      "                                      make a token; it is printed once, last\n"
	      "       cohortd token list [--db PATH] | cohortd token revoke NAME [--db PATH]\n"
	      "       cohortd --help | --version\n"
	      "\n"
	      "options:\n"
	      "  --db PATH          SQLite database file (env COHORTD_DB, default ./cohortd.db)\n"
	      "  --port N           TCP port, 0 picks a free one (env COHORTD_PORT, default 8080)\n"
	      "  --bind ADDR        IPv4 or IPv6 address (env COHORTD_BIND, default 127.0.0.1)\n"
	      "  --threads N        HTTP worker threads (default: one per core)\n"
	      "  --write-threads N  threads that carry out writes, each taking every write\n"
	      "                     queued as one batch with one commit, while the HTTP\n"
	      "                     workers serve reads (default 2; 0 runs writes on the\n"
	      "                     HTTP workers, one commit each unless they overlap)\n"
	      "  --stats-threads N  threads that compute statistics not yet cached and\n"
	      "                     verify the audit chain, at a lower priority, so that\n"
	      "                     the HTTP workers keep serving other requests (default\n"
	      "                     2; 0 computes them on the HTTP workers)\n"
	      "  --max-connections N  open connections in total (default 1024)\n"
	      "  --max-per-ip N     open connections per client address (default 256)\n"
	      "  --timeout S        seconds an idle connection is kept (default 30)\n"
	      "  --request-timeout S  seconds a request's headers and body have to arrive\n"
	      "                     whole, however steadily they trickle, plus 1 s per 64 KiB\n"
	      "                     of body; else the connection is closed (default 30)\n"
	      "  --max-import MIB   largest POST /import body in MiB (default 32)\n"
	      "  --import-chunk N   an import commits every N lines (patients), so that its\n"
	      "                     log stays small; if refused or cut short, what it\n"
	      "                     committed is taken back. 0: one transaction, the log\n"
	      "                     as large as the import (default 10000)\n"
	      "  --durability MODE  normal (default: survives a killed process) or full (also\n"
	      "                     survives power loss: the log is synced at every commit)\n"
	      "  --max-db-size MIB  a quota on the database file: writes that would grow it past\n"
	      "                     MIB MiB answer 507 (default: none; the disk is the limit)\n"
	      "  --log-level LEVEL  debug, info (default: a line per request), warn or error\n"
	      "  --anonymous ROLE   serve requests without a token with this role (reader,\n"
	      "                     editor or admin; env COHORTD_ANONYMOUS, none: off);\n"
	      "                     default: a token is always needed\n"
	      "  --cors-origin URL  let browser scripts from this origin call (repeatable)\n"
	      "  --bulk-ttl S       seconds a finished FHIR bulk export's files are kept\n"
	      "                     (default 3600)\n"
	      "  --study-id ID      the study's identifier in SDTM exports (STUDYID, 1-20 of\n"
	      "                     A-Z a-z 0-9 . _ -; env COHORTD_STUDY_ID, default COHORTD)\n"
	      "  --study-title TEXT the trial's title in SDTM's TS (1-200 bytes of UTF-8:\n"
	      "                     SAS transport's longest text)\n",
	      out);
}

static bool parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *out)
{
	int64_t v;
	if (!s || !parse_int64(s, &v) || v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

/* SDTM's STUDYID: 1-20 of A-Z a-z 0-9 . _ - */
static bool valid_study_id(const char *s)
{
	return strlen(s) <= 20 && valid_code(s, strlen(s));
}

int config_parse(struct config *cfg, int argc, char **argv, FILE *err)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	*cfg = (struct config){
		.command = CMD_SERVE,
		.db_path = getenv("COHORTD_DB") ? getenv("COHORTD_DB") : "./cohortd.db",
		.bind = getenv("COHORTD_BIND") ? getenv("COHORTD_BIND") : "127.0.0.1",
		.port = 8080,
		.threads = cores > 0 ? (unsigned)cores : 1,
		.write_threads = 2,
		.stats_threads = 2,
		.connection_limit = 1024,
		.per_ip_limit = 256,
		.timeout_seconds = 30,
		.request_timeout_seconds = 30,
		.max_import = 32 * 1024 * 1024,
		.import_chunk = 10000,
		.log_level = LOG_INFO,
		.study_id = getenv("COHORTD_STUDY_ID"),
		.bulk_ttl = 3600,
	};
	if (cfg->study_id && !valid_study_id(cfg->study_id)) {
		fprintf(err, "cohortd: COHORTD_STUDY_ID must be 1-20 of A-Z a-z 0-9 . _ -\n");
		return -1;
	}
	if (getenv("COHORTD_PORT") &&
	    !parse_unsigned(getenv("COHORTD_PORT"), 0, 65535, &cfg->port)) {
		fprintf(err, "cohortd: COHORTD_PORT must be a port number (0-65535)\n");
		return -1;
	}
	/* off unless asked for: "" and "none" keep it off */
	const char *anonymous = getenv("COHORTD_ANONYMOUS");
	if (anonymous && *anonymous && strcmp(anonymous, "none") != 0) {
		enum role role;
		if (!role_parse(anonymous, &role)) {
			fprintf(err, "cohortd: COHORTD_ANONYMOUS must be reader, editor, admin or "
				     "none\n");
			return -1;
		}
		cfg->anonymous_role = (int)role;
	}
	int i = 1;
	if (i < argc && strcmp(argv[i], "serve") == 0) {
		i++;
	} else if (i < argc && strcmp(argv[i], "migrate") == 0) {
		cfg->command = CMD_MIGRATE;
		i++;
	} else if (i < argc && strcmp(argv[i], "demo") == 0) {
		cfg->command = CMD_DEMO;
		i++;
	} else if (i < argc && strcmp(argv[i], "import") == 0) {
		cfg->command = CMD_IMPORT;
		i++;
	} else if (i < argc && strcmp(argv[i], "export") == 0) {
		cfg->command = CMD_EXPORT;
		i++;
	} else if (i + 1 < argc && strcmp(argv[i], "token") == 0) {
		const char *verb = argv[i + 1];
		i += 2;
		if (strcmp(verb, "create") == 0) {
			cfg->command = CMD_TOKEN_CREATE;
		} else if (strcmp(verb, "list") == 0) {
			cfg->command = CMD_TOKEN_LIST;
		} else if (strcmp(verb, "revoke") == 0 && i < argc && argv[i][0] != '-') {
			cfg->command = CMD_TOKEN_REVOKE;
			cfg->token_name = argv[i++];
		} else {
			fprintf(err,
				"cohortd: token create|list|revoke NAME (see cohortd --help)\n");
			return -1;
		}
	}
	for (; i < argc; i++) {
		const char *opt = argv[i];
		const char *arg = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
			cfg->command = CMD_HELP;
			return 0;
		}
		if (strcmp(opt, "--version") == 0) {
			cfg->command = CMD_VERSION;
			return 0;
		}
		bool ok = arg != NULL;
		if (strcmp(opt, "--db") == 0 && ok)
			cfg->db_path = arg;
		else if (strcmp(opt, "--bind") == 0 && ok)
			cfg->bind = arg;
		else if (strcmp(opt, "--port") == 0)
			ok = parse_unsigned(arg, 0, 65535, &cfg->port);
		else if (strcmp(opt, "--threads") == 0)
			ok = parse_unsigned(arg, 1, 256, &cfg->threads);
		else if (strcmp(opt, "--write-threads") == 0)
			ok = parse_unsigned(arg, 0, 256, &cfg->write_threads);
		else if (strcmp(opt, "--stats-threads") == 0)
			ok = parse_unsigned(arg, 0, 256, &cfg->stats_threads);
		else if (strcmp(opt, "--max-connections") == 0)
			ok = parse_unsigned(arg, 1, 100000, &cfg->connection_limit);
		else if (strcmp(opt, "--max-per-ip") == 0)
			ok = parse_unsigned(arg, 1, 100000, &cfg->per_ip_limit);
		else if (strcmp(opt, "--timeout") == 0)
			ok = parse_unsigned(arg, 1, 3600, &cfg->timeout_seconds);
		else if (strcmp(opt, "--request-timeout") == 0)
			ok = parse_unsigned(arg, 1, 3600, &cfg->request_timeout_seconds);
		else if (strcmp(opt, "--durability") == 0) {
			ok = arg && (strcmp(arg, "normal") == 0 || strcmp(arg, "full") == 0);
			cfg->durability = ok && strcmp(arg, "full") == 0 ? DB_DURABLE_FULL
									 : DB_DURABLE_NORMAL;
		} else if (strcmp(opt, "--log-level") == 0) {
			enum log_level level = LOG_INFO;
			ok = arg && log_level_parse(arg, &level);
			cfg->log_level = (int)level;
		} else if (strcmp(opt, "--max-import") == 0) {
			unsigned mib = 0;
			ok = parse_unsigned(arg, 1, 65536, &mib);
			cfg->max_import = (size_t)mib * 1024 * 1024;
		} else if (strcmp(opt, "--import-chunk") == 0) {
			ok = parse_unsigned(arg, 0, 100000000, &cfg->import_chunk);
		} else if (strcmp(opt, "--max-db-size") == 0) {
			unsigned mib = 0;
			ok = parse_unsigned(arg, 1, 1024 * 1024, &mib);
			cfg->max_db_bytes = (long long)mib * 1024 * 1024;
		} else if (cfg->command == CMD_IMPORT && !cfg->import_file &&
			   (opt[0] != '-' || strcmp(opt, "-") == 0)) { /* "-": standard input */
			cfg->import_file = opt;
			continue;
		} else if (strcmp(opt, "--anonymous") == 0) {
			enum role role;
			ok = arg && role_parse(arg, &role);
			cfg->anonymous_role = ok ? (int)role : ROLE_NONE;
		} else if (strcmp(opt, "--bulk-ttl") == 0) {
			ok = parse_unsigned(arg, 1, 7 * 24 * 3600, &cfg->bulk_ttl);
		} else if (strcmp(opt, "--study-id") == 0) {
			ok = arg && valid_study_id(arg);
			cfg->study_id = arg;
		} else if (strcmp(opt, "--study-title") == 0) {
			size_t chars = 0;
			ok = arg && *arg && valid_text(arg, strlen(arg), &chars) &&
			     strlen(arg) <= 200;
			cfg->study_title = arg;
		} else if (strcmp(opt, "--cors-origin") == 0) {
			ok = arg && cfg->ncors_origins < CONFIG_MAX_ORIGINS &&
			     (strncmp(arg, "http://", 7) == 0 || strncmp(arg, "https://", 8) == 0);
			if (ok)
				cfg->cors_origins[cfg->ncors_origins++] = arg;
		} else if (strcmp(opt, "--role") == 0 && cfg->command == CMD_TOKEN_CREATE) {
			enum role role;
			ok = arg && role_parse(arg, &role);
			cfg->token_role = ok ? (int)role : ROLE_NONE;
		} else if (strcmp(opt, "--name") == 0 && cfg->command == CMD_TOKEN_CREATE && ok)
			cfg->token_name = arg;
		else {
			fprintf(err, "cohortd: unknown option %s (see cohortd --help)\n", opt);
			return -1;
		}
		if (!ok) {
			fprintf(err, "cohortd: %s needs a valid value (see cohortd --help)\n", opt);
			return -1;
		}
		i++;
	}
	if (cfg->command == CMD_IMPORT && !cfg->import_file) {
		fprintf(err, "cohortd: import needs a file: cohortd import --db PATH FILE\n");
		return -1;
	}
	if (cfg->command == CMD_TOKEN_CREATE &&
	    (!cfg->token_name || cfg->token_role == ROLE_NONE)) {
		fprintf(err,
			"cohortd: token create needs --role reader|editor|admin and --name NAME\n");
		return -1;
	}
	return 0;
}

/* Command line and environment: what to serve, where, with how many workers.
 * Flags win over COHORTD_* variables, which win over defaults. */
#ifndef COHORTD_CONFIG_H
#define COHORTD_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

enum config_command { CMD_SERVE, CMD_MIGRATE, CMD_DEMO, CMD_HELP, CMD_VERSION };

struct config {
	enum config_command command;
	const char *db_path;
	const char *bind;
	unsigned port;
	unsigned threads;
	unsigned connection_limit;
	unsigned per_ip_limit;
	unsigned timeout_seconds;
};

/* Returns 0, or -1 after writing a one-line reason to err. */
int config_parse(struct config *cfg, int argc, char **argv, FILE *err);
void config_usage(FILE *out);

#endif

/* Files compiled into the binary by tools/embed.py at build time: the
 * migrations of each engine (applied in name order), the OpenAPI description, and the
 * dashboard's page, script, style and Chart.js (found by file name). */
#ifndef COHORTD_EMBEDDED_H
#define COHORTD_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
	const char *name;
	const unsigned char *data;
	size_t len;
};

/* one list per engine, the same numbering (migrations/sqlite/, ...) */
extern const struct embedded_file embedded_migrations_sqlite[];
extern const size_t embedded_migrations_sqlite_count;
extern const struct embedded_file embedded_migrations_postgresql[];
extern const size_t embedded_migrations_postgresql_count;

extern const unsigned char embedded_openapi[];
extern const size_t embedded_openapi_len;

extern const struct embedded_file embedded_dashboard[];
extern const size_t embedded_dashboard_count;

#endif

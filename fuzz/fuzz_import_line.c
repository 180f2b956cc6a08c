/* libFuzzer: one NDJSON import line, imported into an in-memory database
 * holding the schema and rolled back: the nesting, the per-record
 * validation, the reference checks and the audit all run (import.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "audit.h"
#include "db.h"
#include "import.h"
#include "resources.h"
#include "store.h"

static struct db *db;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!db && (store_init(resources_all, RESOURCES_COUNT) != DB_OK ||
		    db_open(":memory:", &db) != DB_OK || db_migrate(db) != DB_OK))
		abort();
	struct audit_context ctx = {"fuzz", "fuzz", "fuzz"};
	struct import_session s;
	if (import_begin(&s, db, &ctx) != DB_OK)
		abort();
	import_line(&s, (const char *)data, size);
	import_end(&s, 0);
	return 0;
}

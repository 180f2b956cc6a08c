/* libFuzzer: a query string, split and unescaped as libmicrohttpd does it,
 * read as the list query of every resource (limit, the after cursor,
 * format, each filter, min_ bounds; nested and not) under the rules every
 * route shares (query.c), and, when it is accepted, run as the SQL it
 * builds (store_list) on an in-memory database holding a few records. */
#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "import.h"
#include "query.h"
#include "records.h"
#include "resources.h"
#include "store.h"
#include "util.h"

static struct db *db;

static const char seed_line[] =
	"{\"code\":\"Q-1\",\"histology\":\"melanoma\",\"setting\":\"metastatic\","
	"\"regimen\":\"il2_lak\",\"enrolled_on\":\"1985-01-10\",\"courses\":[{"
	"\"started_on\":\"1985-02-01\",\"outcomes\":[{\"assessed_on\":\"1985-04-01\","
	"\"response\":\"PR\"}],\"toxicities\":[{\"term\":\"Chills\",\"grade\":1,"
	"\"onset_on\":\"1985-02-01\",\"attribution\":\"definite\"}]}]}";

static void open_db(void)
{
	struct audit_context ctx = {"fuzz", "fuzz", "fuzz"};
	struct import_session s;
	if (store_init(resources_all, RESOURCES_COUNT) != DB_OK ||
	    db_open(":memory:", &db) != DB_OK || db_migrate(db) != DB_OK ||
	    import_begin(&s, db, &ctx) != DB_OK ||
	    import_line(&s, seed_line, strlen(seed_line)) != 0 || import_end(&s, 1) != DB_OK)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!db)
		open_db();
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	const struct resource *const all[] = {&patients_resource, &courses_resource,
					      &outcomes_resource, &toxicities_resource};
	/* the pairs, once: key=value&key=value, each side unescaped in place */
	const char *keys[64], *values[64];
	int n = 0;
	for (char *pair = text, *next; pair && n < 64; pair = next) {
		next = strchr(pair, '&');
		if (next)
			*next++ = '\0';
		if (!*pair)
			continue;
		char *eq = strchr(pair, '=');
		if (eq)
			*eq++ = '\0';
		pair[MHD_http_unescape(pair)] = '\0';
		if (eq)
			eq[MHD_http_unescape(eq)] = '\0';
		keys[n] = pair;
		values[n] = eq;
		n++;
	}
	for (size_t r = 0; r < sizeof all / sizeof all[0]; r++) {
		for (int nested = 0; nested < 2; nested++) {
			struct query qs;
			query_init(&qs);
			qs.repeats = true; /* as a list reads its query (filters repeat) */
			for (int i = 0; i < n; i++)
				query_add(&qs, keys[i], values[i]);
			struct list_query q = {.limit = 50};
			struct list_form form = {0};
			struct strbuf kept = {0};
			records_parse_list_query(all[r], nested, &qs, &q, &form, &kept);
			if (json_array_size(qs.errors) == 0) {
				struct record *recs = NULL;
				int count = 0;
				bool more = false;
				if (store_list(db, all[r], &q, &recs, &count, &more) == DB_OK)
					store_list_free(recs, count);
			}
			list_query_clear(&q);
			strbuf_free(&kept);
			query_free(&qs);
		}
	}
	free(text);
	return 0;
}

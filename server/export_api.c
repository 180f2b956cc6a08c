/* GET /export: the registry, or the patients its filters keep, as the
 * NDJSON POST /import takes (export.h), streamed from one snapshot as the
 * client reads it, gzip'd when the client accepts gzip. */
#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "db.h"
#include "export.h"
#include "handlers.h"
#include "http.h"
#include "query.h"
#include "records.h"
#include "resources.h"
#include "store.h"
#include "util.h"

struct export_stream {
	struct export *e;
	struct strbuf pending;
	size_t sent;
	bool done;
};

static long export_stream_read(void *cls, char *buf, size_t max)
{
	struct export_stream *s = cls;
	while (s->sent == s->pending.len) {
		if (s->done)
			return REPLY_STREAM_END;
		s->pending.len = 0;
		s->sent = 0;
		if (export_next(s->e, &s->pending, &s->done) != DB_OK || s->pending.failed)
			return REPLY_STREAM_ERROR;
	}
	return (long)strbuf_drain(&s->pending, &s->sent, buf, max);
}

static void export_stream_done(void *cls)
{
	struct export_stream *s = cls;
	export_close(s->e);
	strbuf_free(&s->pending);
	free(s);
}

void export_registry(struct request *req)
{
	struct query qs;
	struct list_query q = {0};
	query_parse_repeatable(req, &qs);
	records_parse_filters(&patients_resource, &qs, &q);
	query_refuse_unused(&qs, "is not a parameter of the export (it takes the patients' "
				 "filters)");
	if (query_reply_errors(req, &qs))
		goto out;
	bool gzip = gzip_accepted(request_header(req, "Accept-Encoding"));
	struct export_stream *s = xcalloc(1, sizeof *s);
	int rc = s ? export_open(NULL, &q, gzip, &s->e) : DB_ERROR;
	if (rc != DB_OK) {
		free(s);
		reply_db_error(req, rc);
		goto out;
	}
	reply_stream(req, 200, "application/x-ndjson", export_stream_read, s, export_stream_done);
	if (gzip)
		reply_header(req, "Content-Encoding", "gzip");
	reply_vary(req, "Accept-Encoding");
out:
	list_query_clear(&q);
	query_free(&qs);
}

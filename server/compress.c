/* gzip with zlib, and the entity-tag comparison that knows both forms of
 * a tag (see compress.h). */
#include "compress.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "util.h"

bool gzip_accepted(const char *header)
{
	if (!header)
		return false;
	const char *p = header;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *end = p + strcspn(p, ",");
		size_t name = strcspn(p, ";, ");
		bool gzip =
			(name == 4 && strncasecmp(p, "gzip", 4) == 0) || (name == 1 && *p == '*');
		if (gzip) {
			const char *q = strstr(p, "q=");
			if (!q || q > end)
				return true;
			return strtod(q + 2, NULL) > 0;
		}
		p = end;
	}
	return false;
}

bool compressible_type(const char *type)
{
	static const char *const types[] = {"application/json",
					    "application/problem+json",
					    "text/csv",
					    "application/yaml",
					    "text/plain",
					    "text/html",
					    "text/javascript",
					    "text/css",
					    NULL};
	if (!type)
		return false;
	for (const char *const *t = types; *t; t++)
		if (strncmp(type, *t, strlen(*t)) == 0)
			return true;
	return false;
}

char *gzip_bytes(const char *data, size_t len, size_t *out_len)
{
	z_stream z = {0};
	/* 15 + 16: a gzip wrapper; level 1: text shrinks well, quickly */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	size_t cap = deflateBound(&z, len);
	char *out = xmalloc(cap);
	if (!out) {
		deflateEnd(&z);
		return NULL;
	}
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_FINISH);
	*out_len = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	return out;
}

bool etag_in_list(const char *header, const char *tag)
{
	if (!header || !tag)
		return false;
	if (strcmp(header, "*") == 0)
		return true;
	size_t n = strlen(tag);
	if (n < 2)
		return false;
	if (strstr(header, tag))
		return true;
	/* the "-gz" form: the tag without its closing quote, then -gz" */
	char *gz = xasprintf("%.*s-gz\"", (int)(n - 1), tag);
	bool found = gz && strstr(header, gz) != NULL;
	free(gz);
	return found;
}

bool gzip_stream_begin(struct gzip_stream *g)
{
	z_stream *z = xcalloc(1, sizeof *z);
	if (!z || deflateInit2(z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(z);
		g->z = NULL;
		return false;
	}
	g->z = z;
	return true;
}

/* Deflates data (flush: Z_NO_FLUSH or Z_FINISH) onto the end of out. */
static bool deflate_onto(z_stream *z, const char *data, size_t len, int flush, struct strbuf *out)
{
	z->next_in = (Bytef *)data;
	z->avail_in = (uInt)len;
	int rc;
	do {
		unsigned char chunk[16384];
		z->next_out = chunk;
		z->avail_out = sizeof chunk;
		rc = deflate(z, flush);
		if (rc == Z_STREAM_ERROR)
			return false;
		strbuf_append(out, (const char *)chunk, sizeof chunk - z->avail_out);
	} while (z->avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
	return !out->failed;
}

bool gzip_stream_write(struct gzip_stream *g, const char *data, size_t len, struct strbuf *out)
{
	return g->z && deflate_onto(g->z, data, len, Z_NO_FLUSH, out);
}

bool gzip_stream_end(struct gzip_stream *g, struct strbuf *out)
{
	return g->z && deflate_onto(g->z, NULL, 0, Z_FINISH, out);
}

void gzip_stream_free(struct gzip_stream *g)
{
	if (g->z) {
		deflateEnd(g->z);
		free(g->z);
		g->z = NULL;
	}
}

/* gzip for answers (zlib): text worth compressing, when the client accepts
 * it. The glue compresses after the handler, so handlers never see it; a
 * compressed answer's ETag gets a "-gz" suffix (a different representation
 * of the same version), and the comparisons accept both forms. */
#ifndef COHORTD_COMPRESS_H
#define COHORTD_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

#define COMPRESS_MIN_BYTES 1024

/* Does Accept-Encoding admit gzip (gzip or *, with q > 0)? */
bool gzip_accepted(const char *accept_encoding);
/* JSON, problem+json, CSV, YAML and plain text. */
bool compressible_type(const char *content_type);
/* The gzip member for data, or NULL; caller frees. */
char *gzip_bytes(const char *data, size_t len, size_t *out_len);
/* A gzip member written a piece at a time (a streamed answer): each
 * gzip_stream_write appends what it can of the compressed form to out;
 * gzip_stream_end flushes the rest and the trailer. False when zlib or
 * memory failed. */
struct strbuf;
struct gzip_stream {
	void *z; /* z_stream */
};
bool gzip_stream_begin(struct gzip_stream *g);
bool gzip_stream_write(struct gzip_stream *g, const char *data, size_t len, struct strbuf *out);
bool gzip_stream_end(struct gzip_stream *g, struct strbuf *out);
void gzip_stream_free(struct gzip_stream *g);
/* Is tag (a quoted entity tag) in the header's list, as itself or as its
 * "-gz" form, or is the header "*"? */
bool etag_in_list(const char *header, const char *tag);

#endif

/* libFuzzer: the request headers cohortd parses itself: Accept-Encoding,
 * If-None-Match / If-Match lists, and the query-string value parsers used
 * for filters (dates, integers, text). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "model.h"
#include "resources.h"
#include "util.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	gzip_accepted(text);
	etag_in_list(text, "\"12\"");
	etag_in_list(text, "\"7-00ff00ff00ff00ff\"");
	int64_t n;
	parse_int64(text, &n);
	size_t chars;
	valid_date(text, strlen(text));
	valid_text(text, strlen(text), &chars);
	const struct resource *res = &toxicities_resource;
	for (int i = 0; i < res->nfields; i++) {
		struct value v;
		if (value_from_param(&res->fields[i], text, &v))
			value_set_null(&v);
	}
	free(text);
	return 0;
}

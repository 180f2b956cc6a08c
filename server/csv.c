/* RFC 4180 cells (see csv.h). */
#include "csv.h"

#include <string.h>

#include "util.h"

void csv_cell(struct strbuf *sb, const char *text, bool first)
{
	if (!first)
		strbuf_append(sb, ",", 1);
	if (!text)
		return;
	if (!strpbrk(text, ",\"\r\n")) {
		strbuf_puts(sb, text);
		return;
	}
	strbuf_append(sb, "\"", 1);
	for (const char *p = text; *p; p++)
		strbuf_append(sb, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
	strbuf_append(sb, "\"", 1);
}

void csv_end_row(struct strbuf *sb)
{
	strbuf_append(sb, "\r\n", 2);
}

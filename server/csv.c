/* RFC 4180 cells, with formulas neutralised (see csv.h). */
#include "csv.h"

#include <string.h>

#include "util.h"

/* Would a spreadsheet read this text as a formula? */
static bool formula_like(const char *text)
{
	return text[0] && strchr("=+-@\t\r", text[0]);
}

void csv_cell(struct strbuf *sb, const char *text, bool first)
{
	if (!first)
		strbuf_append(sb, ",", 1);
	if (!text)
		return;
	bool quoted = strpbrk(text, ",\"\r\n") != NULL;
	if (quoted)
		strbuf_append(sb, "\"", 1);
	if (formula_like(text))
		strbuf_append(sb, "'", 1);
	if (!quoted) {
		strbuf_puts(sb, text);
		return;
	}
	for (const char *p = text; *p; p++)
		strbuf_append(sb, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
	strbuf_append(sb, "\"", 1);
}

void csv_number(struct strbuf *sb, const char *digits, bool first)
{
	if (!first)
		strbuf_append(sb, ",", 1);
	strbuf_puts(sb, digits);
}

void csv_end_row(struct strbuf *sb)
{
	strbuf_append(sb, "\r\n", 2);
}

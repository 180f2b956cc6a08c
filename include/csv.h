/* RFC 4180 CSV cells: a field is quoted when it holds a comma, a quote or
 * a line break, with quotes doubled; rows end in CRLF; an empty cell is a
 * null. Shared by the statistics' and the lists' CSV.
 *
 * A text cell that a spreadsheet would take for a formula (one beginning
 * with =, +, -, @, a tab or a carriage return) is written with a leading
 * apostrophe, as OWASP advises against CSV injection: a registry's free
 * text must not run when a data manager opens an export. Numbers are
 * written as they are (csv_number), so a negative one stays a number. */
#ifndef COHORTD_CSV_H
#define COHORTD_CSV_H

#include <stdbool.h>

struct strbuf;

/* Appends text as one cell (NULL: empty), after a comma unless first. */
void csv_cell(struct strbuf *sb, const char *text, bool first);
/* The same for a number's digits, never neutralised. */
void csv_number(struct strbuf *sb, const char *digits, bool first);
void csv_end_row(struct strbuf *sb);

#endif

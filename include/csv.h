/* RFC 4180 CSV cells: a field is quoted when it holds a comma, a quote or
 * a line break, with quotes doubled; rows end in CRLF; an empty cell is a
 * null. Shared by the statistics' and the lists' CSV. */
#ifndef COHORTD_CSV_H
#define COHORTD_CSV_H

#include <stdbool.h>

struct strbuf;

/* Appends text as one cell (NULL: empty), after a comma unless first. */
void csv_cell(struct strbuf *sb, const char *text, bool first);
void csv_end_row(struct strbuf *sb);

#endif

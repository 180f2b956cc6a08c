/* A table written row by row into a file, as CSV (RFC 4180, a header of
 * the column names) or as a SAS transport file, version 5 (XPORT), the
 * form regulators take, written by ReadStat: names of at most 8
 * characters, labels of at most 40, text of at most 200 bytes, numbers as
 * IBM doubles. The columns are described once; a table knows how many rows
 * it will have before the first (XPORT's writer checks it). And files
 * gathered into one zip (libarchive). The only file that includes
 * readstat.h and archive.h. */
#ifndef COHORTD_TABLE_FILE_H
#define COHORTD_TABLE_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

enum table_format { TABLE_CSV, TABLE_XPT };

/* A column: C (text, length bytes at most) or N (a number). */
struct table_column {
	const char *name;
	const char *label;
	char type;
	int length;
};

/* A cell: text (NULL: empty), or a number, or missing. */
struct table_cell {
	const char *text;
	double number;
	bool missing;
};

struct table_file;

/* Starts a table named name (the dataset's name, 8 characters at most)
 * labelled label, of rows rows, into out (left open), made at made (the
 * transport file's date: the data's last change, so that the same data
 * give the same bytes). NULL when memory or ReadStat refuse. */
struct table_file *table_file_begin(FILE *out, enum table_format format, const char *name,
				    const char *label, const struct table_column *columns,
				    int ncolumns, int64_t rows, time_t made);
/* One row: a cell per column. */
void table_file_row(struct table_file *t, const struct table_cell *cells);
/* Ends the table and frees it; false when anything failed on the way (a
 * write, a value too long, a row count other than promised). */
bool table_file_end(struct table_file *t);

/* A zip archive written into out (left open), deflated, its files dated
 * made. */
struct zip_file;
struct zip_file *zip_file_begin(FILE *out, time_t made);
/* Adds name with the bytes of from, read from its start to its end. */
bool zip_file_add(struct zip_file *z, const char *name, FILE *from);
bool zip_file_end(struct zip_file *z);

#endif

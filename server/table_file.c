/* Tables into files (table_file.h): CSV through csv.h's cells, XPORT
 * through ReadStat's writer, whose bytes go straight to the file; and a
 * zip of files through libarchive. */
#include "table_file.h"

#include <archive.h>
#include <archive_entry.h>
#include <readstat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv.h"
#include "util.h"

#define TABLE_MAX_COLUMNS 40

struct table_file {
	FILE *out;
	enum table_format format;
	const struct table_column *columns;
	int ncolumns;
	readstat_writer_t *writer;
	readstat_variable_t *vars[TABLE_MAX_COLUMNS];
	struct strbuf line;
	bool failed;
};

static ssize_t write_bytes(const void *data, size_t len, void *ctx)
{
	struct table_file *t = ctx;
	if (fwrite(data, 1, len, t->out) != len) {
		t->failed = true;
		return -1;
	}
	return (ssize_t)len;
}

/* Writes the CSV line built so far. */
static void flush_line(struct table_file *t)
{
	if (t->line.failed || fwrite(t->line.data, 1, t->line.len, t->out) != t->line.len)
		t->failed = true;
	t->line.len = 0;
}

static bool begin_xpt(struct table_file *t, const char *name, const char *label, int64_t rows,
		      time_t made)
{
	t->writer = readstat_writer_init();
	if (!t->writer)
		return false;
	readstat_set_data_writer(t->writer, write_bytes);
	readstat_writer_set_file_timestamp(t->writer, made); /* not the time of writing */
	readstat_writer_set_file_format_version(t->writer, 5);
	readstat_writer_set_table_name(t->writer, name);
	readstat_writer_set_file_label(t->writer, label);
	for (int i = 0; i < t->ncolumns; i++) {
		const struct table_column *c = &t->columns[i];
		t->vars[i] = readstat_add_variable(t->writer, c->name,
						   c->type == 'C' ? READSTAT_TYPE_STRING
								  : READSTAT_TYPE_DOUBLE,
						   c->type == 'C' ? (size_t)c->length : 8);
		if (!t->vars[i])
			return false;
		readstat_variable_set_label(t->vars[i], c->label);
	}
	return readstat_begin_writing_xport(t->writer, t, (long)rows) == READSTAT_OK;
}

struct table_file *table_file_begin(FILE *out, enum table_format format, const char *name,
				    const char *label, const struct table_column *columns,
				    int ncolumns, int64_t rows, time_t made)
{
	if (ncolumns > TABLE_MAX_COLUMNS)
		return NULL;
	struct table_file *t = xcalloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->out = out;
	t->format = format;
	t->columns = columns;
	t->ncolumns = ncolumns;
	bool ok;
	if (format == TABLE_XPT) {
		ok = begin_xpt(t, name, label, rows, made);
	} else {
		for (int i = 0; i < ncolumns; i++)
			csv_cell(&t->line, columns[i].name, i == 0);
		csv_end_row(&t->line);
		flush_line(t);
		ok = !t->failed;
	}
	if (!ok) {
		t->failed = true; /* nothing to end: only to free */
		table_file_end(t);
		return NULL;
	}
	return t;
}

/* A number as CSV writes it: an integer without a point, else the
 * shortest text that reads back as the same double. */
static void number_text(double v, char *out, size_t n)
{
	if (v == (double)(long long)v && v > -1e15 && v < 1e15) {
		snprintf(out, n, "%lld", (long long)v);
		return;
	}
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(out, n, "%.*g", digits, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

void table_file_row(struct table_file *t, const struct table_cell *cells)
{
	if (t->failed)
		return;
	if (t->format == TABLE_CSV) {
		for (int i = 0; i < t->ncolumns; i++) {
			const struct table_cell *c = &cells[i];
			if (t->columns[i].type == 'C') {
				csv_cell(&t->line, c->text && *c->text ? c->text : NULL, i == 0);
			} else if (c->missing) {
				csv_cell(&t->line, NULL, i == 0);
			} else {
				char digits[32];
				number_text(c->number, digits, sizeof digits);
				csv_number(&t->line, digits, i == 0);
			}
		}
		csv_end_row(&t->line);
		flush_line(t);
		return;
	}
	if (readstat_begin_row(t->writer) != READSTAT_OK) {
		t->failed = true;
		return;
	}
	for (int i = 0; i < t->ncolumns && !t->failed; i++) {
		const struct table_cell *c = &cells[i];
		readstat_error_t rc;
		if (t->columns[i].type == 'C') {
			const char *s = c->text ? c->text : "";
			rc = strlen(s) > (size_t)t->columns[i].length
				     ? READSTAT_ERROR_STRING_VALUE_IS_TOO_LONG
				     : readstat_insert_string_value(t->writer, t->vars[i], s);
		} else {
			rc = c->missing ? readstat_insert_missing_value(t->writer, t->vars[i])
					: readstat_insert_double_value(t->writer, t->vars[i],
								       c->number);
		}
		if (rc != READSTAT_OK)
			t->failed = true;
	}
	if (!t->failed && readstat_end_row(t->writer) != READSTAT_OK)
		t->failed = true;
}

bool table_file_end(struct table_file *t)
{
	if (!t)
		return false;
	bool ok = !t->failed;
	if (t->writer) {
		if (ok && readstat_end_writing(t->writer) != READSTAT_OK)
			ok = false;
		readstat_writer_free(t->writer);
	}
	ok = ok && !t->failed && fflush(t->out) == 0;
	strbuf_free(&t->line);
	free(t);
	return ok;
}

/* --- zip ------------------------------------------------------------- */

struct zip_file {
	struct archive *a;
	FILE *out;
	time_t made;
	bool failed;
};

static la_ssize_t zip_write(struct archive *a, void *cls, const void *buf, size_t n)
{
	(void)a;
	struct zip_file *z = cls;
	if (fwrite(buf, 1, n, z->out) != n) {
		z->failed = true;
		return -1;
	}
	return (la_ssize_t)n;
}

struct zip_file *zip_file_begin(FILE *out, time_t made)
{
	struct zip_file *z = xcalloc(1, sizeof *z);
	if (!z)
		return NULL;
	z->out = out;
	z->made = made;
	z->a = archive_write_new();
	if (!z->a || archive_write_set_format_zip(z->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(z->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(z->a, z, NULL, zip_write, NULL, NULL) != ARCHIVE_OK) {
		if (z->a)
			archive_write_free(z->a);
		free(z);
		return NULL;
	}
	return z;
}

bool zip_file_add(struct zip_file *z, const char *name, FILE *from)
{
	if (z->failed || fflush(from) != 0 || fseek(from, 0, SEEK_END) != 0)
		return false;
	long size = ftell(from);
	if (size < 0 || fseek(from, 0, SEEK_SET) != 0)
		return false;
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return false;
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, size);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, z->made, 0);
	bool ok = archive_write_header(z->a, e) == ARCHIVE_OK;
	archive_entry_free(e);
	char buf[65536];
	size_t n;
	while (ok && (n = fread(buf, 1, sizeof buf, from)) > 0)
		ok = archive_write_data(z->a, buf, n) == (la_ssize_t)n;
	ok = ok && !ferror(from) && archive_write_finish_entry(z->a) == ARCHIVE_OK;
	if (!ok)
		z->failed = true;
	return ok;
}

bool zip_file_end(struct zip_file *z)
{
	if (!z)
		return false;
	bool ok = !z->failed && archive_write_close(z->a) == ARCHIVE_OK && !z->failed;
	archive_write_free(z->a);
	ok = ok && fflush(z->out) == 0;
	free(z);
	return ok;
}

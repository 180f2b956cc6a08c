/* Bulk import: NDJSON, one patient a line with its courses nested, and
 * each course's outcomes and toxicities nested in it. Every record goes
 * through records_insert() (the validation and audit of a POST). A bad line
 * leaves nothing written: an import of up to import_chunk_lines lines is
 * one transaction; a longer one commits every import_chunk_lines lines, so
 * its write-ahead log stays small, and is taken back if refused or cut
 * short (store_import.h), its records seen by readers meanwhile. Used by
 * POST /import and by `cohortd import --db PATH FILE`. */
#ifndef COHORTD_IMPORT_H
#define COHORTD_IMPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store_import.h"
#include "summary.h"

struct db;
struct audit_context;

struct import_counts {
	int64_t lines, patients, courses, outcomes, toxicities;
};

struct import_session {
	struct db *db;
	const struct audit_context *audit;
	struct import_counts counts;
	json_t *errors;            /* [{"line", "field", "message"}] of the first bad line */
	int status;                /* 0, or the HTTP status of the first bad line (409, 422) */
	struct tally_buf tallies;  /* the statistics' counters of the batches written */
	struct import_start start; /* where its records begin */
	int64_t committed_lines;   /* lines in the chunks committed */
	bool marked;               /* a commit was tried: take back, do not roll back */
	bool bulk;                 /* the writer writes in bulk (db_bulk_writes) */
};

/* Lines an import commits at a time (default 10,000, --import-chunk); 0:
 * every import in one transaction, its WAL as large as its records. Set
 * before imports run (main). */
extern long import_chunk_lines;

/* A file read line by line (a line may be as long as memory allows), for
 * import_stream: import_file_next, and import_file_rewind (for a file that
 * can be read again; not a pipe). Free buf when done. */
struct import_file {
	FILE *in;
	char *buf;
	size_t cap;
};
bool import_file_next(void *cls, const char **line, size_t *len);
bool import_file_rewind(void *cls);

/* Starts the transaction. Returns 0 or a DB_ code. */
int import_begin(struct import_session *s, struct db *db, const struct audit_context *audit);
/* Imports one line (blank lines are skipped). Returns 0; or a DB_ code for
 * a storage failure; or 1 when the line was refused (s->status, s->errors). */
int import_line(struct import_session *s, const char *line, size_t len);
/* Gives the next line (without its newline) and true, or false at the end.
 * A line need only stay valid until the next call. */
typedef bool (*import_next_line)(void *cls, const char **line, size_t *len);
/* Goes back to the first line; false when it cannot. */
typedef bool (*import_rewind)(void *cls);
/* Imports every line next gives, as import_line would one after another,
 * but parses and validates them on a second thread (next is called there)
 * while this one writes. Returns as import_line does for the line that
 * stopped it, or 0. With rewind (else NULL), a refused import may read the
 * input twice: the second time to name the line at fault. */
int import_stream(struct import_session *s, import_next_line next, import_rewind rewind, void *cls);
/* Commits when commit is true and nothing was refused, else rolls back or
 * takes back what was committed. */
int import_end(struct import_session *s, int commit);

/* Takes back an import that did not finish (its process stopped in it),
 * if there is one, in write transactions of its own, and logs it: at
 * start, before anything else writes, and when a writer finds the mark of
 * one another process left (audit_orphan_import_seen). */
int import_take_back_unfinished(struct db *db);

#endif

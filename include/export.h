/* The registry as NDJSON in exactly the form POST /import and cohortd
 * import take: a line per patient, its courses nested in it and each
 * course's outcomes and toxicities nested in the course, every field a
 * client may write (ids, versions, timestamps, derived fields, the link to
 * the parent and nulls left out), patients in id order and each record's
 * children in id order. An export reads one snapshot of the database (a
 * read transaction on a connection of its own, held to the end) and is made
 * a batch of patients at a time, so memory stays bounded whatever the
 * registry's size; gzip'd as it goes when asked. */
#ifndef COHORTD_EXPORT_H
#define COHORTD_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

struct db;
struct list_query;
struct strbuf;
struct export;

/* Starts an export of the patients filters keeps (patients' filters; NULL:
 * every one; copied): on db, or on a connection of its own when db is
 * NULL. Returns 0 or a DB_ code. */
int export_open(struct db *db, const struct list_query *filters, bool gzip, struct export **out);
/* Appends the next batch of lines to out; *done once the last is out. */
int export_next(struct export *e, struct strbuf *out, bool *done);
/* Records (patients, courses, outcomes, toxicities) written so far. */
int64_t export_records(const struct export *e);
void export_close(struct export *e);

#endif

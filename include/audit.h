/* The audit trail (FDA 21 CFR 11.10(e)): every create, update and delete
 * of a clinical record appends, in the same transaction, a row naming when,
 * who, what, the record before and after (canonical JSON), why, and the
 * request; each row's SHA-256 covers the previous row's hash, so no row
 * can be changed or removed without breaking the chain from there on. The
 * database refuses UPDATE and DELETE of audit rows outright (triggers). */
#ifndef COHORTD_AUDIT_H
#define COHORTD_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct db;
struct resource;

/* Who writes, why, and under which request. */
struct audit_context {
	const char *actor;
	const char *reason; /* may be NULL on create */
	const char *request_id;
};

struct record;
struct audit_row;

/* Appends one row; before/after are the record's states (NULL where none),
 * kept as canonical JSON. */
int audit_append(struct db *db, const struct audit_context *ctx, const char *action,
		 const struct resource *res, int64_t id, const struct record *before,
		 const struct record *after);

/* The same in two steps, for a bulk import that makes its rows on another
 * thread ahead of the writes: audit_head reads where the chain ends (seq 0
 * and the genesis hash when empty); audit_row_make, which needs no
 * database, makes the row that follows (last_seq, prev_hash) for a change,
 * hash included; audit_row_append appends it, refusing a row not made for
 * the chain's current head. A made row borrows ctx's strings, action and
 * the resource's name, and owns its before and after texts, which
 * audit_row_discard frees. */
int audit_head(struct db *db, int64_t *seq, char hash[65]);
/* An import that commits as it goes leaves a mark until it ends (store_import.h)
 * and holds the write lock all along, so a writer that finds a mark when
 * it is not the import's own thread (audit_import_running) finds one that
 * no one will end: audit_head refuses it DB_BUSY, and
 * audit_orphan_import_seen says so once, for the import to be taken back
 * (import_take_back_unfinished) before the next write. */
void audit_import_running(bool running);
bool audit_orphan_import_seen(void);
int audit_row_make(struct audit_row *row, const struct audit_context *ctx, const char *action,
		   const struct resource *res, int64_t id, const struct record *before,
		   const struct record *after, int64_t last_seq, const char prev_hash[65]);
int audit_row_append(struct db *db, const struct audit_row *row);
/* The same for n rows made one after another, several to a statement. On
 * failure some may be in: the caller holds a db_part (db.h). */
int audit_rows_append(struct db *db, const struct audit_row *const *rows, int n);
void audit_row_discard(struct audit_row *row);

struct audit_check {
	int64_t rows;
	char head[65];        /* hash of the last row ("" when empty) */
	int64_t first_broken; /* 0 when intact */
};

/* Walks the whole chain, recomputing every hash. */
int audit_verify(struct db *db, struct audit_check *out);

#endif

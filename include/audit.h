/* The audit trail (FDA 21 CFR 11.10(e)): every create, update and delete
 * of a clinical record appends, in the same transaction, a row naming when,
 * who, what, the record before and after (canonical JSON), why, and the
 * request; each row's SHA-256 covers the previous row's hash, so no row
 * can be changed or removed without breaking the chain from there on. The
 * database refuses UPDATE and DELETE of audit rows outright (triggers). */
#ifndef COHORTD_AUDIT_H
#define COHORTD_AUDIT_H

#include <jansson.h>
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

/* Appends one row; before/after are the record's states (NULL where none),
 * kept as canonical JSON. */
int audit_append(struct db *db, const struct audit_context *ctx, const char *action,
		 const struct resource *res, int64_t id, const struct record *before,
		 const struct record *after);

struct audit_check {
	int64_t rows;
	char head[65];        /* hash of the last row ("" when empty) */
	int64_t first_broken; /* 0 when intact */
};

/* Walks the whole chain, recomputing every hash. */
int audit_verify(struct db *db, struct audit_check *out);

#endif

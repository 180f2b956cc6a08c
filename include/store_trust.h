/* Storage of the trust tables (migrations/0003_trust.sql): tokens
 * (store_tokens.c), the audit trail (store_audit.c) and idempotent answers
 * (store_idempotency.c). Functions return 0 or a negative DB_ code; rows
 * filled in here are the caller's (audit_row_clear, idempotent_answer_clear). */
#ifndef COHORTD_STORE_TRUST_H
#define COHORTD_STORE_TRUST_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

/* --- tokens ------------------------------------------------------------- */

int store_token_insert(struct db *db, const char *name, const char *role, const char *hash,
		       const char *created_at);
int store_token_revoke(struct db *db, const char *name, const char *at);
/* The live (not revoked) token with this hash; stored receives its stored hash. */
int store_token_find(struct db *db, const char *hash, char *name, size_t name_len, char *role,
		     size_t role_len, char stored[65]);
/* The same lookup in two halves, its statement sent ahead with the
 * connection's next (db_step_ahead): the statement to finish, or NULL when
 * the engine would not send it ahead (then use store_token_find). */
struct db_stmt *store_token_find_ahead(struct db *db, const char *hash);
/* Reads the answer of store_token_find_ahead, as store_token_find answers. */
int store_token_find_finish(struct db_stmt *stmt, char *name, size_t name_len, char *role,
			    size_t role_len, char stored[65]);
int store_token_walk(struct db *db,
		     int (*fn)(void *cls, const char *name, const char *role,
			       const char *created_at, const char *revoked_at),
		     void *cls);

/* --- audit -------------------------------------------------------------- */

struct audit_row {
	int64_t seq;
	char at[32];
	char *actor, *action, *entity;
	int64_t entity_id;
	char *before, *after, *reason, *request_id; /* before, after, reason may be NULL */
	size_t before_len, after_len;               /* 0 for NULL */
	char prev_hash[65], hash[65];
};

void audit_row_clear(struct audit_row *row);
/* The last row's seq and hash (0 and "" when the trail is empty), and
 * whether an import that commits as it goes is marked unfinished
 * (store_import.h): read together, in one statement, at every write
 * transaction's first append. */
int store_audit_head(struct db *db, int64_t *seq, char hash[65], bool *import_marked);
/* Inserts n rows in order, several to a statement. On failure some may be
 * in: the caller holds a db_part. */
int store_audit_insert_many(struct db *db, const struct audit_row *const *rows, int n);

struct audit_filter {
	const char *entity; /* or NULL */
	int64_t entity_id;  /* 0: any */
	const char *actor;  /* or NULL */
	const char *from;   /* at >= from, or NULL */
	const char *to;     /* at < to, or NULL */
	int64_t after;      /* seq > after */
	int limit;
};

int store_audit_list(struct db *db, const struct audit_filter *f, struct audit_row **rows,
		     int *count, bool *more);
void store_audit_list_free(struct audit_row *rows, int count);
/* Calls fn for every row in seq order until it returns non-zero. */
int store_audit_walk(struct db *db, int (*fn)(void *cls, const struct audit_row *row), void *cls);

/* --- idempotency -------------------------------------------------------- */

struct idempotent_answer {
	char request_hash[65];
	int status;
	char *location; /* or NULL */
	char *body;
};

void idempotent_answer_clear(struct idempotent_answer *a);
int store_idempotency_get(struct db *db, const char *actor, const char *key,
			  struct idempotent_answer *out);
int store_idempotency_put(struct db *db, const char *actor, const char *key,
			  const struct idempotent_answer *a, const char *created_at);
/* Forgets answers stored before the given time. */
int store_idempotency_purge(struct db *db, const char *before);

#endif

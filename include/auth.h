/* Who is asking: bearer tokens and roles. A token is 256 bits from the OS
 * generator (OpenSSL's RAND_bytes), shown once, and stored only as its
 * SHA-256; a request's token is hashed and looked up by that hash, so the
 * lookup's timing says nothing about the token, and the final comparison
 * is constant-time. Roles are ordered: reader < editor < admin. */
#ifndef COHORTD_AUTH_H
#define COHORTD_AUTH_H

#include <stdbool.h>
#include <stdio.h>

struct db;
struct db_stmt;

enum role { ROLE_NONE = 0, ROLE_READER, ROLE_EDITOR, ROLE_ADMIN };

#define TOKEN_NAME_MAX 64
#define TOKEN_TEXT_LEN 72 /* "cohortd_" + 64 hex digits */

const char *role_name(enum role role);
bool role_parse(const char *text, enum role *role);

/* Names no token may have, in any case: "anonymous", which the audit trail
 * shows as the actor of requests made without a token, and names beginning
 * with "cohortd", kept for the server's own actors ("cohortd import",
 * "cohortd demo"): a token's writes must never pass for theirs. */
bool token_name_reserved(const char *name);

/* Creates a token; writes its text (TOKEN_TEXT_LEN + 1 bytes) to out.
 * Returns 0, DB_CONFLICT for a name in use, DB_CONSTRAINT for a name that
 * is not 1-64 of A-Z a-z 0-9 . _ - or is reserved, or another DB_ code. */
int token_create(struct db *db, const char *name, enum role role, char *out);
/* Returns 0 or DB_NOTFOUND when no live token has that name. */
int token_revoke(struct db *db, const char *name);
int token_list(struct db *db, FILE *out);

/* Resolves an Authorization header value ("Bearer <token>") to the token's
 * name and role. Returns 0, DB_NOTFOUND for a malformed, unknown or revoked
 * token, or another DB_ code. */
int auth_lookup(struct db *db, const char *authorization, char name[TOKEN_NAME_MAX + 1],
		enum role *role);
/* auth_lookup in two halves where the engine sends a read ahead
 * (db_step_ahead): the token's lookup then rides with the connection's
 * next statement. Answers as auth_lookup does, except that on DB_OK with
 * *pending set nothing is known yet: auth_lookup_finish(*pending, hash,
 * ...) gives the answer, and must be called in every case (it ends the
 * statement, which holds a place in the connection until then). */
int auth_lookup_ahead(struct db *db, const char *authorization, char name[TOKEN_NAME_MAX + 1],
		      enum role *role, struct db_stmt **pending, char hash[65]);
int auth_lookup_finish(struct db_stmt *pending, const char hash[65], char name[TOKEN_NAME_MAX + 1],
		       enum role *role);

#endif

/* Tokens and roles. A token is "cohortd_" and 64 hex digits of 256 random
 * bits; the database keeps only its SHA-256. A presented token is hashed
 * and looked up by that hash, so the lookup's timing depends on the hash,
 * never on how much of a guess was right, and the stored and computed
 * hashes are compared in constant time. */
#include "auth.h"

#include <openssl/crypto.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "digest.h"
#include "store_trust.h"
#include "util.h"
#include "validate.h"

static const char *const role_names[] = {"none", "reader", "editor", "admin", NULL};

const char *role_name(enum role role)
{
	return role_names[role];
}

bool role_parse(const char *text, enum role *role)
{
	for (int r = ROLE_READER; r <= ROLE_ADMIN; r++) {
		if (strcmp(text, role_names[r]) == 0) {
			*role = (enum role)r;
			return true;
		}
	}
	return false;
}

bool token_name_reserved(const char *name)
{
	return strcasecmp(name, "anonymous") == 0 || strncasecmp(name, "cohortd", 7) == 0;
}

int token_create(struct db *db, const char *name, enum role role, char *out)
{
	if (!valid_code(name, strlen(name)) || token_name_reserved(name))
		return DB_CONSTRAINT;
	unsigned char secret[32];
	random_bytes(secret, sizeof secret);
	static const char digits[] = "0123456789abcdef";
	char text[TOKEN_TEXT_LEN + 1] = "cohortd_";
	for (size_t i = 0; i < sizeof secret; i++) {
		text[8 + 2 * i] = digits[secret[i] >> 4];
		text[8 + 2 * i + 1] = digits[secret[i] & 15];
	}
	text[TOKEN_TEXT_LEN] = '\0';
	char hash[65], now[32];
	sha256_hex(text, TOKEN_TEXT_LEN, hash);
	utc_now_rfc3339(now);
	int rc = store_token_insert(db, name, role_name(role), hash, now);
	if (rc == DB_OK)
		memcpy(out, text, sizeof text);
	OPENSSL_cleanse(secret, sizeof secret);
	OPENSSL_cleanse(text, sizeof text);
	return rc;
}

int token_revoke(struct db *db, const char *name)
{
	char now[32];
	utc_now_rfc3339(now);
	return store_token_revoke(db, name, now);
}

static int print_token(void *cls, const char *name, const char *role, const char *created_at,
		       const char *revoked_at)
{
	fprintf(cls, "%-24s %-7s created %s%s%s\n", name, role, created_at,
		revoked_at ? "  revoked " : "", revoked_at ? revoked_at : "");
	return 0;
}

int token_list(struct db *db, FILE *out)
{
	return store_token_walk(db, print_token, out);
}

/* The hash of the token in a "Bearer <token>" header value; false when
 * the value cannot hold a token. */
static bool bearer_hash(const char *authorization, char hash[65])
{
	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return false;
	const char *token = authorization + 7;
	while (*token == ' ')
		token++;
	size_t len = strlen(token);
	if (len != TOKEN_TEXT_LEN || strncmp(token, "cohortd_", 8) != 0)
		return false;
	sha256_hex(token, len, hash);
	return true;
}

/* The stored row's answer: its hash compared in constant time. */
static int found(int rc, const char hash[65], const char stored[65], const char *role_text,
		 enum role *role)
{
	if (rc != DB_OK)
		return rc;
	if (CRYPTO_memcmp(hash, stored, 64) != 0 || !role_parse(role_text, role))
		return DB_NOTFOUND;
	return DB_OK;
}

int auth_lookup(struct db *db, const char *authorization, char name[TOKEN_NAME_MAX + 1],
		enum role *role)
{
	char hash[65], stored[65] = "", role_text[16] = "";
	if (!bearer_hash(authorization, hash))
		return DB_NOTFOUND;
	int rc = store_token_find(db, hash, name, TOKEN_NAME_MAX + 1, role_text, sizeof role_text,
				  stored);
	return found(rc, hash, stored, role_text, role);
}

int auth_lookup_ahead(struct db *db, const char *authorization, char name[TOKEN_NAME_MAX + 1],
		      enum role *role, struct db_stmt **pending, char hash[65])
{
	*pending = NULL;
	if (!bearer_hash(authorization, hash))
		return DB_NOTFOUND;
	if ((*pending = store_token_find_ahead(db, hash)) != NULL)
		return DB_OK;
	char stored[65] = "", role_text[16] = "";
	int rc = store_token_find(db, hash, name, TOKEN_NAME_MAX + 1, role_text, sizeof role_text,
				  stored);
	return found(rc, hash, stored, role_text, role);
}

int auth_lookup_finish(struct db_stmt *pending, const char hash[65], char name[TOKEN_NAME_MAX + 1],
		       enum role *role)
{
	char stored[65] = "", role_text[16] = "";
	int rc = store_token_find_finish(pending, name, TOKEN_NAME_MAX + 1, role_text,
					 sizeof role_text, stored);
	return found(rc, hash, stored, role_text, role);
}

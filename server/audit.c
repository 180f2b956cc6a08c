/* Appending to and verifying the hash-chained audit trail. A row's hash is
 * SHA-256 over the previous row's hash, a newline, and the row's canonical
 * JSON (keys sorted, no spaces): seq, at, actor, action, entity, entity_id,
 * before, after, reason, request_id. The first row's previous hash is 64
 * zeros. Records are kept as canonical JSON text, so the hash covers the
 * exact bytes stored. */
#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "digest.h"
#include "model.h"
#include "store_trust.h"
#include "util.h"

static const char genesis[65] = "0000000000000000000000000000000000000000000000000000000000000000";

static char *canonical(json_t *j)
{
	return j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17)) : NULL;
}

static int row_hash(const struct audit_row *row, char out[65])
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:s?, s:s?, s:s?, s:s}", "seq",
			      (json_int_t)row->seq, "at", row->at, "actor", row->actor, "action",
			      row->action, "entity", row->entity, "entity_id",
			      (json_int_t)row->entity_id, "before", row->before, "after", row->after,
			      "reason", row->reason, "request_id", row->request_id);
	char *text = canonical(o);
	json_decref(o);
	if (!text)
		return DB_ERROR;
	char *input = xasprintf("%s\n%s", row->prev_hash, text);
	sha256_hex(input, strlen(input), out);
	free(input);
	free(text);
	return DB_OK;
}

int audit_append(struct db *db, const struct audit_context *ctx, const char *action,
		 const struct resource *res, int64_t id, json_t *before, json_t *after)
{
	struct audit_row row = {0};
	int64_t last = 0;
	int rc = store_audit_head(db, &last, row.prev_hash);
	if (rc != DB_OK)
		return rc;
	if (!row.prev_hash[0])
		memcpy(row.prev_hash, genesis, sizeof genesis);
	row.seq = last + 1;
	utc_now_rfc3339(row.at);
	row.actor = (char *)ctx->actor;
	row.action = (char *)action;
	row.entity = (char *)res->name;
	row.entity_id = id;
	row.before = canonical(before);
	row.after = canonical(after);
	row.reason = (char *)ctx->reason;
	row.request_id = (char *)ctx->request_id;
	rc = row_hash(&row, row.hash);
	if (rc == DB_OK)
		rc = store_audit_insert(db, &row);
	free(row.before);
	free(row.after);
	return rc;
}

struct chain_walk {
	struct audit_check *check;
	char expected_prev[65];
};

static int check_row(void *cls, const struct audit_row *row)
{
	struct chain_walk *w = cls;
	char hash[65];
	w->check->rows++;
	if (row->seq != w->check->rows || strcmp(row->prev_hash, w->expected_prev) != 0 ||
	    row_hash(row, hash) != DB_OK || strcmp(hash, row->hash) != 0) {
		w->check->first_broken = row->seq;
		return 1;
	}
	memcpy(w->expected_prev, row->hash, sizeof w->expected_prev);
	memcpy(w->check->head, row->hash, sizeof w->check->head);
	return 0;
}

int audit_verify(struct db *db, struct audit_check *out)
{
	memset(out, 0, sizeof *out);
	struct chain_walk w = {.check = out};
	memcpy(w.expected_prev, genesis, sizeof genesis);
	int rc = db_begin_read(db);
	if (rc == DB_OK)
		rc = store_audit_walk(db, check_row, &w);
	db_rollback(db);
	return rc;
}

/* Appending to and verifying the hash-chained audit trail. A row's hash is
 * SHA-256 over its fields as netstrings, in this order: prev_hash, seq, at,
 * actor, action, entity, entity_id, before, after, reason, request_id
 * ("<length>:<bytes>," each, "-," for null). The first row's previous hash
 * is 64 zeros. Records are kept as canonical JSON text (keys sorted), so
 * the hash covers the exact bytes stored. */
#include "audit.h"

#include <pthread.h>
#include <stdatomic.h>

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "digest.h"
#include "model.h"
#include "store_trust.h"
#include "util.h"

static const char genesis[65] = "0000000000000000000000000000000000000000000000000000000000000000";

static char *canonical(const struct resource *res, const struct record *rec, size_t *len)
{
	*len = 0;
	if (!rec)
		return NULL;
	struct strbuf sb = {0};
	record_write_json(&sb, res, rec, RECORD_JSON_CANONICAL);
	size_t n = sb.len;
	char *text = strbuf_steal(&sb);
	*len = text ? n : 0;
	return text;
}

/* Each field as a netstring ("<length>:<bytes>,"; "-," for null), so no
 * two different rows can produce the same input. */
static void field(struct sha256 *h, const char *text, size_t n)
{
	if (!text) {
		sha256_add(h, "-,", 2);
		return;
	}
	char digits[24];
	size_t d = format_int(digits, (long long)n);
	digits[d++] = ':';
	sha256_add(h, digits, d);
	sha256_add(h, text, n);
	sha256_add(h, ",", 1);
}

static void text_field(struct sha256 *h, const char *text)
{
	field(h, text, text ? strlen(text) : 0);
}

static void int_field(struct sha256 *h, int64_t n)
{
	char digits[24];
	field(h, digits, format_int(digits, (long long)n));
}

static int row_hash(const struct audit_row *row, char out[65])
{
	struct sha256 h;
	sha256_begin(&h);
	text_field(&h, row->prev_hash);
	int_field(&h, row->seq);
	text_field(&h, row->at);
	text_field(&h, row->actor);
	text_field(&h, row->action);
	text_field(&h, row->entity);
	int_field(&h, row->entity_id);
	field(&h, row->before, row->before_len);
	field(&h, row->after, row->after_len);
	text_field(&h, row->reason);
	text_field(&h, row->request_id);
	sha256_end_hex(&h, out);
	return DB_OK;
}

/* The chain's head, remembered while the connection's transaction holds the
 * same work (db_work_id: no other writer can append meanwhile), so a bulk
 * write does not read it back for every row, nor the writers of one group
 * commit for each write. One for the process: the writers of a group are
 * different threads on one connection. */
static pthread_mutex_t head_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	struct db *db;
	uint64_t work;
	int64_t seq;
	char hash[65];
} head;

static void head_keep(struct db *db, int64_t seq, const char hash[65])
{
	pthread_mutex_lock(&head_lock);
	head.db = db;
	head.work = db_work_id(db);
	head.seq = seq;
	memcpy(head.hash, hash, sizeof head.hash);
	pthread_mutex_unlock(&head_lock);
}

/* The thread runs an import, whose own mark the chain's head may show. */
static _Thread_local bool importing;
/* A writer found the mark of an import no one runs any more. */
static atomic_bool orphan_seen;

void audit_import_running(bool running)
{
	importing = running;
}

bool audit_orphan_import_seen(void)
{
	return atomic_exchange(&orphan_seen, false);
}

int audit_head(struct db *db, int64_t *seq, char hash[65])
{
	pthread_mutex_lock(&head_lock);
	bool known = head.db == db && head.work == db_work_id(db);
	if (known) {
		*seq = head.seq;
		memcpy(hash, head.hash, sizeof head.hash);
	}
	pthread_mutex_unlock(&head_lock);
	if (known)
		return DB_OK;
	bool marked = false;
	int rc = store_audit_head(db, seq, hash, &marked);
	if (rc == DB_OK && marked && !importing) {
		/* Whoever ran that import is gone (an import holds the write
		 * lock from its start to its end, even across processes): its
		 * rows are still to be taken back, and nothing may be chained
		 * after them first. */
		atomic_store(&orphan_seen, true);
		return DB_BUSY;
	}
	if (rc == DB_OK && !hash[0])
		memcpy(hash, genesis, sizeof genesis);
	if (rc == DB_OK)
		/* the row about to be made is appended in this transaction:
		 * audit_rows_append checks it against this, without reading again */
		head_keep(db, *seq, hash);
	return rc;
}

int audit_row_make(struct audit_row *row, const struct audit_context *ctx, const char *action,
		   const struct resource *res, int64_t id, const struct record *before,
		   const struct record *after, int64_t last_seq, const char prev_hash[65])
{
	memset(row, 0, sizeof *row);
	row->seq = last_seq + 1;
	memcpy(row->prev_hash, prev_hash, sizeof row->prev_hash);
	utc_now_rfc3339(row->at);
	row->actor = (char *)ctx->actor;
	row->action = (char *)action;
	row->entity = (char *)res->name;
	row->entity_id = id;
	row->before = canonical(res, before, &row->before_len);
	row->after = canonical(res, after, &row->after_len);
	row->reason = (char *)ctx->reason;
	row->request_id = (char *)ctx->request_id;
	return row_hash(row, row->hash);
}

void audit_row_discard(struct audit_row *row)
{
	free(row->before);
	free(row->after);
	row->before = row->after = NULL;
	row->before_len = row->after_len = 0;
}

int audit_rows_append(struct db *db, const struct audit_row *const *rows, int n)
{
	int64_t last;
	char prev[65];
	int rc = audit_head(db, &last, prev);
	for (int i = 0; i < n && rc == DB_OK; i++) {
		const struct audit_row *row = rows[i];
		if (row->seq != last + 1 || memcmp(prev, row->prev_hash, sizeof prev) != 0)
			rc = DB_ERROR; /* made for another head: it would break the chain */
		last = row->seq;
		memcpy(prev, row->hash, sizeof prev);
	}
	if (rc == DB_OK)
		rc = store_audit_insert_many(db, rows, n);
	if (rc == DB_OK) {
		head_keep(db, last, prev);
	} else {
		pthread_mutex_lock(&head_lock);
		head.db = NULL;
		pthread_mutex_unlock(&head_lock);
	}
	return rc;
}

int audit_row_append(struct db *db, const struct audit_row *row)
{
	return audit_rows_append(db, &row, 1);
}

int audit_append(struct db *db, const struct audit_context *ctx, const char *action,
		 const struct resource *res, int64_t id, const struct record *before,
		 const struct record *after)
{
	int64_t last;
	char prev[65];
	struct audit_row row;
	int rc = audit_head(db, &last, prev);
	if (rc != DB_OK)
		return rc;
	rc = audit_row_make(&row, ctx, action, res, id, before, after, last, prev);
	if (rc == DB_OK)
		rc = audit_row_append(db, &row);
	audit_row_discard(&row);
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

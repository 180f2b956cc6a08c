/* The HTTP face of the four clinical resources: create, read, merge-patch,
 * delete and list, written once for all of them and steered by the route's
 * resource descriptor. Each write runs in one BEGIN IMMEDIATE transaction
 * that reads its preconditions (version, references, dependants), writes,
 * and appends the audit row of every record it changes, so a refused
 * request changes nothing and an accepted one is always audited. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "idempotency.h"
#include "query.h"
#include "record_insert.h"
#include "records.h"
#include "resources.h"
#include "router.h"
#include "store.h"
#include "store_trust.h"
#include "util.h"

/* --- entity tags -------------------------------------------------------- */

/* Does an If-Match / If-None-Match list name this version? "*" names any.
 * weak: If-None-Match compares weakly (W/"3" matches "3"); If-Match never
 * matches a weak tag. */
static bool etag_listed(const char *header, int64_t version, bool weak)
{
	char want[32];
	snprintf(want, sizeof want, "\"%lld\"", (long long)version);
	size_t want_len = strlen(want);
	const char *p = header;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		bool is_weak = strncmp(p, "W/", 2) == 0;
		if (is_weak)
			p += 2;
		const char *end = p;
		if (*end == '"') {
			end = strchr(end + 1, '"');
			end = end ? end + 1 : p + strlen(p);
		} else {
			while (*end && *end != ',')
				end++;
		}
		/* "3" or its compressed form "3-gz": the same version */
		bool same =
			((size_t)(end - p) == want_len && strncmp(p, want, want_len) == 0) ||
			((size_t)(end - p) == want_len + 3 && strncmp(p, want, want_len - 1) == 0 &&
			 strncmp(p + want_len - 1, "-gz\"", 4) == 0);
		if (same && (weak || !is_weak))
			return true;
		p = end;
	}
	return false;
}

static void reply_record(struct request *req, unsigned status, const struct record *rec)
{
	struct strbuf sb = {0};
	record_write_json(&sb, req->route->res, rec, RECORD_JSON_API);
	strbuf_append(&sb, "\n", 1);
	reply_header(req, "ETag", "\"%lld\"", (long long)rec->version);
	size_t len = sb.len;
	reply_owned(req, status, "application/json", strbuf_steal(&sb), len);
}

/* Every broken rule in errors; the rules left moot by them in not_checked. */
static void reply_invalid(struct request *req, struct field_errors *errs)
{
	size_t n = json_array_size(errs->list), moot = json_array_size(errs->unchecked);
	json_t *members = json_pack("{s:O}", "errors", errs->list);
	char moot_note[96] = "";
	if (moot) {
		json_object_set(members, "not_checked", errs->unchecked);
		snprintf(moot_note, sizeof moot_note,
			 "; %zu rule(s) could not be checked, see not_checked", moot);
	}
	reply_problem_members(req, 422, PROBLEM_VALIDATION, members,
			      "the %s is not valid: %zu problem(s), see errors%s",
			      req->route->res->singular, n, moot_note);
}

/* A stale If-Match leaves the record as it is; true when the request may go on. */
static bool precondition_holds(struct request *req, const struct record *rec)
{
	const char *if_match = request_header(req, "If-Match");
	if (!if_match || etag_listed(if_match, rec->version, false))
		return true;
	reply_header(req, "ETag", "\"%lld\"", (long long)rec->version);
	reply_problem(req, 412, PROBLEM_PRECONDITION_FAILED,
		      "If-Match does not name the current version (\"%lld\") of %s %lld",
		      (long long)rec->version, req->route->res->singular, (long long)rec->id);
	return false;
}

static void reply_duplicate(struct request *req)
{
	const struct resource *res = req->route->res;
	const char *field = res->unique_field ? res->unique_field : "";
	json_t *errors = json_pack("[{s:s, s:s}]", "field", field, "message",
				   strcmp(field, "number") == 0
					   ? "is already used by another course of this patient"
					   : "is already used by another record");
	reply_problem_errors(req, 409, PROBLEM_DUPLICATE, errors, "another %s already has this %s",
			     res->singular, field);
}

/* --- create ------------------------------------------------------------- */

static struct audit_context audit_context_of(const struct request *req)
{
	return (struct audit_context){req->actor, req->reason, req->request_id};
}

/* Replays the stored first answer to this key, or refuses a different
 * request under it; false when there is none and the request goes on. */
static bool replayed(struct request *req, const char *key, const char *hash)
{
	struct idempotent_answer a = {0};
	int rc = store_idempotency_get(req->db, req->actor, key, &a);
	if (rc == DB_NOTFOUND)
		return false;
	if (rc != DB_OK) {
		reply_db_error(req, rc);
	} else if (strcmp(a.request_hash, hash) != 0) {
		json_t *errors = json_pack("[{s:s, s:s}]", "field", "Idempotency-Key", "message",
					   "was first used with a different request");
		reply_problem_errors(
			req, 422, PROBLEM_IDEMPOTENCY_MISMATCH, errors,
			"this Idempotency-Key was first used with a different request");
	} else {
		if (a.location)
			reply_header(req, "Location", "%s", a.location);
		reply_header(req, "Idempotent-Replayed", "true");
		reply_owned(req, (unsigned)a.status, "application/json", a.body, strlen(a.body));
		a.body = NULL;
	}
	idempotent_answer_clear(&a);
	return true;
}

static void staged_record_free(void *staged)
{
	if (staged)
		record_clear(staged);
	free(staged);
}

bool records_stage(struct request *req)
{
	if (request_header(req, "Idempotency-Key"))
		return true;
	struct record *s = xcalloc(1, sizeof *s);
	if (!s)
		return true; /* the handler validates, and the answer's check tells */
	struct field_errors errs;
	field_errors_init(&errs);
	const struct resource *res = req->route->res;
	record_from_json(res, req->json, NULL, s, &errs);
	bool valid = !field_errors_any(&errs);
	if (valid) {
		req->staged = s;
		req->staged_free = staged_record_free;
	} else {
		/* refused whatever the database holds: the rules against other
		 * records are read from the reader's snapshot, not the writer's,
		 * so that the answer names every problem */
		int rc = records_check_refs(res, req->db, s, NULL, &errs);
		if (rc != DB_OK)
			reply_db_error(req, rc);
		else
			reply_invalid(req, &errs);
		staged_record_free(s);
	}
	field_errors_free(&errs);
	return valid;
}

static void create_in_transaction(struct request *req, const char *key, const char *hash)
{
	const struct resource *res = req->route->res;
	struct audit_context ctx = audit_context_of(req);
	struct record rec = {0};
	struct field_errors errs;
	char *body = NULL, location[64];
	field_errors_init(&errs);

	int rc = db_begin_write(req->db);
	if (rc == DB_OK && key && replayed(req, key, hash)) {
		db_rollback(req->db);
		goto out;
	}
	struct record *staged = req->staged;
	if (rc == DB_OK && staged) {
		/* validated before the handler (records_stage): the record is ours now */
		rec = *staged;
		memset(staged, 0, sizeof *staged);
		rc = records_insert_valid(req->db, &ctx, res, &rec, &errs);
	} else if (rc == DB_OK) {
		rc = records_insert(req->db, &ctx, res, req->json, &rec, &errs);
	}
	if (rc == DB_OK && !field_errors_any(&errs)) {
		struct strbuf sb = {0};
		record_write_json(&sb, res, &rec, RECORD_JSON_API);
		strbuf_append(&sb, "\n", 1);
		body = strbuf_steal(&sb);
	}
	snprintf(location, sizeof location, "/%s/%lld", res->name, (long long)rec.id);
	int headers = req->nheaders;
	if (rc == DB_OK && body && key) {
		struct idempotent_answer a = {.status = 201, .location = location, .body = body};
		char now[32], day_ago[32];
		memcpy(a.request_hash, hash, sizeof a.request_hash);
		utc_now_rfc3339(now);
		utc_shift_rfc3339(now, -48 * 3600, day_ago);
		rc = store_idempotency_put(req->db, req->actor, key, &a, now);
		if (rc == DB_OK)
			rc = store_idempotency_purge(req->db, day_ago);
	}
	/* the whole answer is ready before the commit (util.h), which refuses
	 * when any allocation on the way failed */
	if (rc == DB_OK && body) {
		reply_header(req, "Location", "%s", location);
		reply_header(req, "ETag", "\"%lld\"", (long long)rec.version);
		rc = db_commit(req->db);
	} else {
		db_rollback(req->db);
	}
	if (rc != DB_OK)
		reply_headers_truncate(req, headers);

	if (rc == DB_CONFLICT)
		reply_duplicate(req);
	else if (rc != DB_OK)
		reply_db_error(req, rc);
	else if (field_errors_any(&errs))
		reply_invalid(req, &errs);
	else if (!body)
		reply_out_of_memory(req);
	else {
		reply_owned(req, 201, "application/json", body, strlen(body));
		body = NULL;
	}
out:
	free(body);
	record_clear(&rec);
	field_errors_free(&errs);
}

void records_create(struct request *req)
{
	const char *key = request_header(req, "Idempotency-Key");
	if (!key) {
		create_in_transaction(req, NULL, NULL);
		return;
	}
	if (!idempotency_key_valid(key)) {
		json_t *errors = json_pack("[{s:s, s:s}]", "field", "Idempotency-Key", "message",
					   "must be 1 to 255 printable ASCII characters");
		reply_problem_errors(req, 400, PROBLEM_INVALID_PARAMETER, errors,
				     "the Idempotency-Key header is not valid");
		return;
	}
	if (!idempotency_claim(req->actor, key)) {
		reply_problem(req, 409, PROBLEM_IDEMPOTENCY_IN_FLIGHT,
			      "a request with this Idempotency-Key is still being processed");
		return;
	}
	char hash[65];
	idempotency_request_hash(req->method, req->path, req->body, req->body_len, hash);
	create_in_transaction(req, key, hash);
	idempotency_release(req->actor, key);
}

/* --- read --------------------------------------------------------------- */

void records_get(struct request *req)
{
	struct record rec = {0};
	int rc = store_get(req->db, req->route->res, req->ids[0], &rec);
	if (rc != DB_OK) {
		reply_db_error(req, rc);
		return;
	}
	const char *if_none_match = request_header(req, "If-None-Match");
	if (if_none_match && etag_listed(if_none_match, rec.version, true)) {
		reply_header(req, "ETag", "\"%lld\"", (long long)rec.version);
		reply_empty(req, 304);
	} else {
		reply_record(req, 200, &rec);
	}
	record_clear(&rec);
}

/* --- merge patch -------------------------------------------------------- */

void records_patch(struct request *req)
{
	const struct resource *res = req->route->res;
	struct record old = {0}, rec = {0};
	struct field_errors errs;
	field_errors_init(&errs);

	int rc = db_begin_write(req->db);
	if (rc == DB_OK)
		rc = store_get(req->db, res, req->ids[0], &old);
	if (rc != DB_OK)
		goto out_db_error;
	if (!precondition_holds(req, &old))
		goto out_rollback;
	record_from_json(res, req->json, &old, &rec, &errs);
	if (alloc_failure_seen())
		rc = DB_ERROR;
	if (rc == DB_OK)
		rc = records_check_refs(res, req->db, &rec, &old, &errs);
	if (rc != DB_OK)
		goto out_db_error;
	if (field_errors_any(&errs)) {
		reply_invalid(req, &errs);
		goto out_rollback;
	}
	if (record_fields_equal(res, &rec, &old)) {
		/* Nothing changes: no new version, nothing written. */
		db_rollback(req->db);
		reply_record(req, 200, &old);
		goto out;
	}
	rec.version = old.version + 1;
	utc_now_rfc3339(rec.updated_at);
	rc = store_update(req->db, res, &rec);
	if (rc == DB_OK) {
		struct audit_context ctx = audit_context_of(req);
		rc = audit_append(req->db, &ctx, "update", res, rec.id, &old, &rec);
	}
	/* the answer before the commit (util.h) */
	int headers = req->nheaders;
	if (rc == DB_OK) {
		reply_record(req, 200, &rec);
		rc = db_commit(req->db);
	}
	if (rc != DB_OK)
		reply_headers_truncate(req, headers);
	if (rc == DB_CONFLICT) {
		db_rollback(req->db);
		reply_duplicate(req);
		goto out;
	}
	if (rc != DB_OK)
		goto out_db_error;
	goto out;

out_db_error:
	reply_db_error(req, rc);
out_rollback:
	db_rollback(req->db);
out:
	record_clear(&old);
	record_clear(&rec);
	field_errors_free(&errs);
}

/* --- delete ------------------------------------------------------------- */

/* Removes a record after its dependants, depth first, auditing each. */
static int delete_tree(struct db *db, const struct audit_context *ctx, const struct resource *res,
		       const struct record *rec)
{
	int rc = DB_OK;
	for (int c = 0; c < res->nchildren && rc == DB_OK; c++) {
		const struct child *child = &res->children[c];
		int64_t *ids = NULL;
		size_t n = 0;
		rc = store_ids_where(db, child->res, child->field, rec->id, &ids, &n);
		for (size_t i = 0; i < n && rc == DB_OK; i++) {
			struct record dependant = {0};
			rc = store_get(db, child->res, ids[i], &dependant);
			if (rc == DB_OK)
				rc = delete_tree(db, ctx, child->res, &dependant);
			record_clear(&dependant);
		}
		free(ids);
	}
	if (rc != DB_OK)
		return rc;
	rc = audit_append(db, ctx, "delete", res, rec->id, rec, NULL);
	return rc == DB_OK ? store_delete(db, res, rec->id) : rc;
}

/* Counts the records pointing at rec and names them in what. */
static int count_dependants(struct db *db, const struct resource *res, const struct record *rec,
			    int64_t *total, struct strbuf *what)
{
	*total = 0;
	for (int c = 0; c < res->nchildren; c++) {
		int64_t n = 0;
		int rc = store_count_where(db, res->children[c].res, res->children[c].field,
					   rec->id, &n);
		if (rc != DB_OK)
			return rc;
		if (n > 0)
			strbuf_printf(what, "%s%lld %s", *total ? " and " : "", (long long)n,
				      res->children[c].res->name);
		*total += n;
	}
	return DB_OK;
}

void records_delete(struct request *req)
{
	const struct resource *res = req->route->res;
	struct record old = {0};
	struct strbuf what = {0};
	struct query qs;
	query_parse(req, &qs);
	const char *cascade_param = res->nchildren ? query_take(&qs, "cascade") : NULL;
	bool cascade = cascade_param && strcmp(cascade_param, "true") == 0;
	if (cascade_param && !cascade && strcmp(cascade_param, "false") != 0)
		query_error(&qs, "cascade", "must be true or false");
	query_refuse_unused(&qs, "is not a parameter of this route");
	bool refused = query_reply_errors(req, &qs);
	query_free(&qs);
	if (refused)
		return;

	struct audit_context ctx = audit_context_of(req);
	int64_t dependants = 0;
	int rc = db_begin_write(req->db);
	if (rc == DB_OK)
		rc = store_get(req->db, res, req->ids[0], &old);
	if (rc != DB_OK)
		goto out_db_error;
	if (!precondition_holds(req, &old))
		goto out_rollback;
	rc = count_dependants(req->db, res, &old, &dependants, &what);
	if (rc != DB_OK)
		goto out_db_error;
	if (dependants > 0 && !cascade) {
		reply_problem(req, 409, PROBLEM_HAS_DEPENDANTS,
			      "%s %lld is referenced by %s; delete them first or use ?cascade=true",
			      res->singular, (long long)old.id, what.data);
		goto out_rollback;
	}
	rc = delete_tree(req->db, &ctx, res, &old);
	if (rc == DB_OK)
		rc = db_commit(req->db);
	if (rc != DB_OK)
		goto out_db_error;
	reply_empty(req, 204);
	goto out;

out_db_error:
	reply_db_error(req, rc);
out_rollback:
	db_rollback(req->db);
out:
	record_clear(&old);
	strbuf_free(&what);
}

/* --- lists -------------------------------------------------------------- */

/* One page of records as the body's rows (or items after the first). */
static void write_rows(struct strbuf *sb, const struct resource *res, const struct record *recs,
		       int count, bool csv, uint32_t pick, bool *first)
{
	for (int i = 0; i < count; i++) {
		if (csv) {
			record_write_csv_picked(sb, res, &recs[i], pick);
			continue;
		}
		if (!*first)
			strbuf_append(sb, ",", 1);
		if (pick == RECORD_ALL)
			record_write_json(sb, res, &recs[i], RECORD_JSON_API);
		else
			record_write_json_picked(sb, res, &recs[i], pick);
		*first = false;
	}
}

/* limit=all: the collection streamed in pages of EXPORT_PAGE read as the
 * answer goes out (each page its own short read on the worker's
 * connection, resuming after the last id sent), so a whole resource is
 * exported in one request in bounded memory. Not one snapshot: a record
 * written meanwhile beyond the cursor is included. */
#define EXPORT_PAGE 500

struct list_export {
	const struct resource *res;
	struct list_query q;
	uint32_t pick;
	bool csv, started, finished, first;
	struct strbuf pending;
	size_t sent;
};

static long export_read(void *cls, char *buf, size_t max)
{
	struct list_export *e = cls;
	while (e->sent == e->pending.len) {
		if (e->pending.failed)
			return REPLY_STREAM_ERROR;
		e->pending.len = 0;
		e->sent = 0;
		if (e->finished)
			return REPLY_STREAM_END;
		if (!e->started) {
			if (e->csv)
				record_write_csv_header_picked(&e->pending, e->res, e->pick);
			else
				strbuf_puts(&e->pending, "{\"items\":[");
			e->started = true;
		}
		struct db *db = db_for_thread();
		struct record *recs = NULL;
		int count = 0;
		bool more = false;
		if (!db || store_list(db, e->res, &e->q, &recs, &count, &more) != DB_OK)
			return REPLY_STREAM_ERROR;
		write_rows(&e->pending, e->res, recs, count, e->csv, e->pick, &e->first);
		if (count > 0)
			e->q.after = recs[count - 1].id;
		store_list_free(recs, count);
		if (!more) {
			if (!e->csv)
				strbuf_puts(&e->pending, "],\"next\":null}\n");
			e->finished = true;
		}
	}
	return (long)strbuf_drain(&e->pending, &e->sent, buf, max);
}

static void export_done(void *cls)
{
	struct list_export *e = cls;
	list_query_clear(&e->q);
	strbuf_free(&e->pending);
	free(e);
}

static const char *const csv_type = "text/csv; charset=utf-8; header=present";

static void list_records(struct request *req, bool nested)
{
	const struct resource *res = req->route->res;
	struct query qs;
	struct list_query q = {0};
	struct list_form form = {0};
	struct strbuf kept = {0};
	struct record *recs = NULL;
	int count = 0;
	bool more = false;

	const char *accept = request_header(req, "Accept");
	form.csv = accept && strstr(accept, "text/csv") && !strstr(accept, "application/json");
	const char *prefer = request_header(req, "Prefer");
	form.count = prefer && strstr(prefer, "count=exact");
	query_parse_repeatable(req, &qs);
	records_parse_list_query(res, nested, &qs, &q, &form, &kept);
	if (query_reply_errors(req, &qs))
		goto out;
	reply_vary(req, "Accept"); /* JSON or CSV, as Accept asks */
	int rc = db_begin_read(req->db);
	if (rc == DB_OK && nested) {
		struct patient_facts p;
		rc = store_patient_facts(req->db, req->ids[0], &p);
		struct filter *f = &q.filters[q.nfilters++];
		f->field = resource_field_index(res, "patient_id");
		f->op = FILTER_EQ;
		value_set_int(&f->value, req->ids[0]);
	}
	if (rc == DB_OK && form.all) {
		db_rollback(req->db);
		struct list_export *e = xcalloc(1, sizeof *e);
		if (!e) {
			reply_out_of_memory(req);
			goto out;
		}
		*e = (struct list_export){
			.res = res, .q = q, .pick = form.pick, .csv = form.csv, .first = true};
		e->q.limit = EXPORT_PAGE;
		q.nfilters = 0; /* the export owns the filter values now */
		reply_stream(req, 200, form.csv ? csv_type : "application/json", export_read, e,
			     export_done);
		goto out;
	}
	int64_t total = 0;
	if (rc == DB_OK)
		rc = store_list(req->db, res, &q, &recs, &count, &more);
	if (rc == DB_OK && form.count) /* in the page's snapshot */
		rc = store_list_count(req->db, res, &q, &total);
	db_rollback(req->db);
	if (rc != DB_OK) {
		reply_db_error(req, rc);
		goto out;
	}

	struct strbuf sb = {0};
	bool first = true;
	if (form.csv)
		record_write_csv_header_picked(&sb, res, form.pick);
	else
		strbuf_puts(&sb, "{\"items\":[");
	write_rows(&sb, res, recs, count, form.csv, form.pick, &first);
	char *url = NULL;
	if (more && q.nsort > 0) {
		char *cursor = list_cursor(&q, &form, &recs[count - 1]);
		url = cursor ? xasprintf("%s?%s%scursor=%s", req->path, kept.data ? kept.data : "",
					 kept.len ? "&" : "", cursor)
			     : NULL;
		free(cursor);
	} else if (more) {
		url = xasprintf("%s?%s%safter=%lld", req->path, kept.data ? kept.data : "",
				kept.len ? "&" : "", (long long)recs[count - 1].id);
	}
	if (url)
		reply_header(req, "Link", "<%s>; rel=\"next\"", url);
	if (form.count) {
		reply_header(req, "X-Total-Count", "%lld", (long long)total);
		if (prefer && strstr(prefer, "count=exact"))
			reply_header(req, "Preference-Applied", "count=exact");
	}
	if (!form.csv) {
		/* the link holds only the path and percent-encoded parameters: no
		 * character of it needs escaping in a JSON string */
		strbuf_puts(&sb, "],\"next\":");
		if (url)
			strbuf_printf(&sb, "\"%s\"", url);
		else
			strbuf_puts(&sb, "null");
		if (form.count)
			strbuf_printf(&sb, ",\"total\":%lld", (long long)total);
		strbuf_puts(&sb, "}\n");
	}
	free(url);
	size_t len = sb.len;
	reply_owned(req, 200, form.csv ? csv_type : "application/json", strbuf_steal(&sb), len);
out:
	store_list_free(recs, count);
	list_query_clear(&q);
	query_free(&qs);
	strbuf_free(&kept);
}

void records_list(struct request *req)
{
	list_records(req, false);
}

void records_list_of_patient(struct request *req)
{
	list_records(req, true);
}

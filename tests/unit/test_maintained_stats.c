/* The statistics kept on every write equal the statistics computed from
 * scratch. A fixed-seed random sequence of creates, patches, deletes (with
 * cascades), imports and refused writes goes through the dispatcher
 * in-process; every so often each statistic is asked for (every route,
 * grouped, filtered, with its parameters), then the summaries and tallies
 * are rebuilt from the records alone (store_summaries_rebuild) and every
 * answer is asked for again: they must be byte for byte the same. A write
 * whose tallies went astray shows as a difference, with the operations
 * that led to it. With COHORTD_TEST_POSTGRESQL set (the postgresql lane,
 * inside pg_virtualenv) the same runs on a PostgreSQL database of its own:
 * the store's maintained statistics are checked on both engines. */
#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "import.h"
#include "log.h"
#include "resources.h"
#include "router.h"
#include "routes.h"
#include "store.h"
#include "store_summary.h"
#include "summary.h"
#include "util.h"

static char dir[64];
static char pg_name[64]; /* the PostgreSQL database, when on PostgreSQL */

static void database_up(void)
{
	snprintf(dir, sizeof dir, "/tmp/cohortd-maintained-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/test.db", dir);
	pg_name[0] = '\0';
	if (getenv("COHORTD_TEST_POSTGRESQL")) {
		char cmd[256];
		snprintf(pg_name, sizeof pg_name, "cohortd_unit_%d", (int)getpid());
		snprintf(cmd, sizeof cmd,
			 "psql -X -q -d postgres -c \"CREATE DATABASE %s ENCODING 'UTF8' TEMPLATE "
			 "template0\" >&2",
			 pg_name);
		ck_assert_int_eq(system(cmd), 0);
		snprintf(path, sizeof path, "postgresql:///%s", pg_name);
	}
	struct db *db = NULL;
	ck_assert_int_eq(db_open(path, &db), DB_OK);
	ck_assert_str_eq(db_engine_name(db), pg_name[0] ? "postgresql" : "sqlite");
	ck_assert_int_eq(db_migrate(db), DB_OK);
	db_close(db);
	log_set_level(LOG_ERROR);
	if (store_init(resources_all, RESOURCES_COUNT) != DB_OK)
		abort();
	ck_assert_int_eq(db_pool_init(path), DB_OK);
	router_configure(routes, routes_count, ROLE_ADMIN, NULL, 0, 1024 * 1024);
	stats_cache_clear();
}

static void database_down(void)
{
	db_pool_close();
	stats_cache_clear();
	char cmd[160];
	if (pg_name[0]) {
		snprintf(cmd, sizeof cmd,
			 "psql -X -q -d postgres -c 'DROP DATABASE IF EXISTS %s WITH (FORCE)' >&2",
			 pg_name);
		ck_assert_int_eq(system(cmd), 0);
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* --- requests in-process ------------------------------------------------ */

struct answer {
	unsigned status;
	json_t *json;
};

/* method path?query with a body of content_type; the answer's status and
 * JSON. query: "a=1&b=2" or NULL. */
static struct answer call(const char *method, const char *path, const char *query,
			  const char *content_type, const char *body)
{
	struct request *req = calloc(1, sizeof *req);
	req->method = method;
	req->path = path;
	int n = 0;
	char ct[96];
	if (content_type) {
		snprintf(ct, sizeof ct, "%s", content_type);
		req->inline_fields[n++] = (struct request_field){"Content-Type", ct};
	}
	req->inline_fields[n++] = (struct request_field){"Change-Reason", "property test"};
	req->in_headers = req->inline_fields;
	req->nin_headers = n;
	req->in_query = req->inline_fields + n;
	char *copy = query ? strdup(query) : NULL;
	for (char *save = NULL, *kv = copy ? strtok_r(copy, "&", &save) : NULL; kv;
	     kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');
		*eq = '\0';
		req->inline_fields[n++] = (struct request_field){kv, eq + 1};
	}
	req->nin_query = n - req->nin_headers;
	snprintf(req->request_id, sizeof req->request_id, "property-test");
	if (body) {
		req->body = strdup(body);
		req->body_len = strlen(body);
	}
	req->body_limit = 1024 * 1024;
	router_dispatch(req);
	db_thread_done();
	struct answer a = {req->status, NULL};
	ck_assert_uint_ne(a.status, 0);
	ck_assert_uint_lt(a.status, 500);
	if (req->out && req->content_type && strstr(req->content_type, "json"))
		a.json = json_loadb(req->out, req->out_len, 0, NULL);
	request_free(req);
	free(copy);
	return a;
}

/* The whole body of a GET, as text (caller frees). */
static char *get_text(const char *path, const char *query)
{
	struct request *req = calloc(1, sizeof *req);
	req->method = "GET";
	req->path = path;
	char *copy = query ? strdup(query) : NULL;
	int n = 0;
	req->in_headers = req->inline_fields;
	req->in_query = req->inline_fields;
	for (char *save = NULL, *kv = copy ? strtok_r(copy, "&", &save) : NULL; kv;
	     kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');
		*eq = '\0';
		req->inline_fields[n++] = (struct request_field){kv, eq + 1};
	}
	req->nin_query = n;
	snprintf(req->request_id, sizeof req->request_id, "property-test");
	router_dispatch(req);
	db_thread_done();
	ck_assert_msg(req->status == 200, "%s?%s: %u %.*s", path, query ? query : "", req->status,
		      (int)req->out_len, req->out ? req->out : "");
	char *text = strndup(req->out, req->out_len);
	request_free(req);
	free(copy);
	return text;
}

/* --- the random registry ------------------------------------------------ */

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 32);
}

static int pick(int n)
{
	return (int)(next() % (uint32_t)n);
}

static const char *one_of(const char *const *choices, int n)
{
	return choices[pick(n)];
}

/* YYYY-MM-DD, days after 1985-01-01 (a calendar of whole months of 28
 * days is enough for a test: every date it makes is real). */
static void date_after(int days, char out[11])
{
	unsigned n = (unsigned)days % 9000;
	unsigned y = 1985 + n / (12 * 28), m = 1 + (n / 28) % 12, d = 1 + n % 28;
	char text[32];
	snprintf(text, sizeof text, "%04u-%02u-%02u", y, m, d);
	memcpy(out, text, 11);
}

#define MAX_IDS 4096
struct ids {
	int64_t id[MAX_IDS];
	int64_t parent[MAX_IDS]; /* a course's patient; an outcome's or toxicity's course */
	int n;
};
static struct ids patients, courses, outcomes, toxicities;
static int code_seq;

static void remember(struct ids *ids, struct answer a, int64_t parent)
{
	if (a.status == 201 && ids->n < MAX_IDS) {
		ids->parent[ids->n] = parent;
		ids->id[ids->n++] = json_integer_value(json_object_get(a.json, "id"));
	}
	json_decref(a.json);
}

static void forget(struct ids *ids, int i)
{
	ids->id[i] = ids->id[--ids->n];
	ids->parent[i] = ids->parent[ids->n];
}

static const char *const regimens[] = {"il2_alone", "il2_lak", "il2_til"};
static const char *const histologies[] = {"melanoma", "renal_cell", "colorectal"};
static const char *const settings[] = {"metastatic", "adjuvant"};
static const char *const responses[] = {"CR", "PR", "MR", "SD", "PD", "NE"};
/* and two terms of 100 characters, the same but for the last, longer than
 * a counter holds in place (summary.h) */
#define E10       "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
#define E90       E10 E10 E10 E10 E10 E10 E10 E10 E10
#define LONG_TERM E90 E10
#define LONG_TERM_TOO                                                                              \
	E90 "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"                               \
	    "e"
static const char *const terms[] = {"Hypotension", "Chills",  "Sepsis",
				    "Oliguria",    LONG_TERM, LONG_TERM_TOO};
static const char *const attributions[] = {"unrelated", "possible", "probable", "definite"};

/* j as compact text, j released. */
static char *dump(json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return text;
}

/* A patient's JSON, dead or alive, with or without last contact. */
static char *patient_json(void)
{
	char enrolled[11], contact[11], died[11];
	int e = pick(100);
	date_after(e, enrolled);
	date_after(e + 200 + pick(400), contact);
	date_after(e + 20 + pick(600), died);
	bool dead = pick(3) == 0;
	char code[32];
	snprintf(code, sizeof code, "PT-%d", ++code_seq);
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "code", code, "histology",
			      one_of(histologies, 3), "setting", one_of(settings, 2), "regimen",
			      one_of(regimens, 3), "enrolled_on", enrolled);
	if (pick(2))
		json_object_set_new(j, "last_contact_on", json_string(contact));
	if (dead) {
		json_object_set_new(j, "vital_status", json_string("dead"));
		json_object_set_new(j, "died_on", json_string(died));
	}
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return text;
}

static void op_create_patient(void)
{
	char *body = patient_json();
	remember(&patients, call("POST", "/patients", NULL, "application/json", body), 0);
	free(body);
}

static void op_create_course(void)
{
	if (!patients.n)
		return;
	int64_t p = patients.id[pick(patients.n)];
	char started[11], ended[11];
	int s = 100 + pick(200);
	date_after(s, started);
	date_after(s + pick(30), ended);
	char *body = dump(json_pack("{s:I, s:s, s:s}", "patient_id", (json_int_t)p, "started_on",
				    started, "ended_on", ended));
	remember(&courses, call("POST", "/courses", NULL, "application/json", body), p);
	free(body);
}

static void op_create_outcome(void)
{
	if (!courses.n)
		return;
	int64_t c = courses.id[pick(courses.n)];
	char assessed[11];
	date_after(300 + pick(500), assessed);
	char *body =
		dump(json_pack("{s:I, s:s, s:s, s:b}", "course_id", (json_int_t)c, "assessed_on",
			       assessed, "response", one_of(responses, 6), "confirmed", pick(2)));
	remember(&outcomes, call("POST", "/outcomes", NULL, "application/json", body), c);
	free(body);
}

/* A story: outcomes of one course, their responses at days from a date,
 * the first n of them posted in order, each confirmed or not. */
struct story_step {
	const char *response;
	int offset;
};

static void post_story(const struct story_step *story, int n)
{
	if (!courses.n)
		return;
	int64_t c = courses.id[pick(courses.n)];
	int d = 400 + pick(300);
	for (int i = 0; i < n; i++) {
		char assessed[11];
		date_after(d + story[i].offset, assessed);
		char *body = dump(json_pack("{s:I, s:s, s:s, s:b}", "course_id", (json_int_t)c,
					    "assessed_on", assessed, "response", story[i].response,
					    "confirmed", pick(2)));
		remember(&outcomes, call("POST", "/outcomes", NULL, "application/json", body), c);
		free(body);
	}
}

/* The outcomes that move a complete response: a CR, a PD after it (a
 * recurrence), and sometimes a CR earlier than both (a new first CR, with
 * a PD already after it), as each reading sees them. */
static void op_response_story(void)
{
	static const struct story_step story[] = {{"CR", 0}, {"PD", 30}, {"CR", -60}};
	post_story(story, pick(3) ? 2 : 3);
}

/* The outcomes that move progression and the duration of a response: a
 * PD, a PR after it, a PD after that, and a PR or CR earlier than all of
 * them (a new first response with PDs already after it). */
static void op_progression_story(void)
{
	static const struct story_step story[] = {
		{"PD", 0}, {"PR", 20}, {"PD", 50}, {"PR", -30}, {"CR", -40}};
	post_story(story, 2 + pick(4));
}

static void op_create_toxicity(void)
{
	if (!courses.n)
		return;
	int64_t c = courses.id[pick(courses.n)];
	char onset[11], resolved[11];
	int o = 300 + pick(300);
	date_after(o, onset);
	date_after(o + pick(90), resolved);
	int grade = 1 + pick(5);
	json_t *j = json_pack("{s:I, s:s, s:i, s:s, s:s}", "course_id", (json_int_t)c, "term",
			      one_of(terms, 6), "grade", grade, "onset_on", onset, "attribution",
			      one_of(attributions, 4));
	if (grade == 5)
		json_object_set_new(j, "outcome", json_string("fatal"));
	else if (pick(2))
		json_object_set_new(j, "resolved_on", json_string(resolved));
	char *body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	remember(&toxicities, call("POST", "/toxicities", NULL, "application/json", body), c);
	free(body);
}

static void op_patch(void)
{
	char path[64], *body = NULL;
	int what = pick(4);
	if (what == 0 && patients.n) {
		snprintf(path, sizeof path, "/patients/%lld",
			 (long long)patients.id[pick(patients.n)]);
		body = dump(json_pack("{s:s, s:s}", "regimen", one_of(regimens, 3), "histology",
				      one_of(histologies, 3)));
	} else if (what == 1 && patients.n) {
		snprintf(path, sizeof path, "/patients/%lld",
			 (long long)patients.id[pick(patients.n)]);
		char died[11];
		date_after(400 + pick(400), died);
		body = pick(2) ? dump(json_pack("{s:s, s:s}", "vital_status", "dead", "died_on",
						died))
			       : strdup("{\"setting\": \"metastatic\"}");
	} else if (what == 2 && outcomes.n) {
		snprintf(path, sizeof path, "/outcomes/%lld",
			 (long long)outcomes.id[pick(outcomes.n)]);
		body = dump(json_pack("{s:s}", "response", one_of(responses, 6)));
	} else if (what == 3 && toxicities.n) {
		snprintf(path, sizeof path, "/toxicities/%lld",
			 (long long)toxicities.id[pick(toxicities.n)]);
		body = dump(json_pack("{s:s, s:s}", "term", one_of(terms, 6), "attribution",
				      one_of(attributions, 4)));
	}
	if (!body)
		return;
	struct answer a = call("PATCH", path, NULL, "application/merge-patch+json", body);
	json_decref(a.json);
	free(body);
}

static void op_delete(void)
{
	static struct ids *const lists[] = {&patients, &courses, &outcomes, &toxicities};
	static const char *const names[] = {"patients", "courses", "outcomes", "toxicities"};
	int k = pick(4);
	struct ids *ids = lists[k];
	if (!ids->n)
		return;
	int i = pick(ids->n);
	char path[64];
	snprintf(path, sizeof path, "/%s/%lld", names[k], (long long)ids->id[i]);
	struct answer a =
		call("DELETE", path, k < 2 && pick(2) ? "cascade=true" : NULL, NULL, NULL);
	if (a.status == 204)
		forget(ids, i);
	json_decref(a.json);
}

/* n patients, nested, as one import; the last one's grade refused when
 * refuse is true. */
static void import_patients(int n, bool refuse)
{
	struct strbuf sb = {0};
	for (int p = 0; p < n; p++) {
		char *text = patient_json();
		json_t *j = json_loads(text, 0, NULL);
		free(text);
		json_t *list = json_array();
		for (int c = 0; c < 1 + pick(2); c++) {
			char started[11], assessed[11], onset[11];
			date_after(100 + pick(200), started);
			date_after(300 + pick(300), assessed);
			date_after(300 + pick(300), onset);
			json_t *course = json_pack(
				"{s:i, s:s, s:[{s:s, s:s}], s:[{s:s, s:i, s:s, s:s}]}", "number",
				c + 1, "started_on", started, "outcomes", "assessed_on", assessed,
				"response", one_of(responses, 6), "toxicities", "term",
				one_of(terms, 6), "grade", refuse && p == n - 1 ? 9 : 1 + pick(4),
				"onset_on", onset, "attribution", one_of(attributions, 4));
			json_array_append_new(list, course);
		}
		json_object_set_new(j, "courses", list);
		char *line = json_dumps(j, JSON_COMPACT);
		strbuf_printf(&sb, "%s\n", line);
		free(line);
		json_decref(j);
	}
	struct answer a = call("POST", "/import", NULL, "application/x-ndjson", sb.data);
	if (refuse)
		ck_assert_int_eq(a.status, 422);
	json_decref(a.json);
	strbuf_free(&sb);
}

static void op_import(void)
{
	import_patients(2, false);
}

/* An import that commits every two lines (import_chunk_lines), refused
 * at its last line half the time: what it committed is taken back. */
static void op_import_in_chunks(void)
{
	long chunk = import_chunk_lines;
	import_chunk_lines = 2;
	import_patients(5, pick(2));
	import_chunk_lines = chunk;
}

/* --- the comparison ----------------------------------------------------- */

static const struct {
	const char *path, *query;
} questions[] = {
	{"/stats/summary", NULL},
	{"/stats/summary", "group_by=histology"},
	{"/stats/summary", "regimen=il2_lak&group_by=setting"},
	{"/stats/response", NULL},
	{"/stats/response", "confirmed_only=true&group_by=regimen"},
	{"/stats/response", "population=evaluable&setting=metastatic"},
	{"/stats/mortality", NULL},
	{"/stats/mortality", "group_by=regimen"},
	{"/stats/toxicity", NULL},
	{"/stats/toxicity", "unit=course&min_grade=1"},
	{"/stats/toxicity", "group_by=histology&min_grade=5"},
	{"/stats/survival", NULL},
	{"/stats/survival", "group_by=setting"},
	{"/stats/survival", "endpoint=progression_free&group_by=regimen&at=30,400&tau=500"},
	{"/stats/survival", "endpoint=response_duration&group_by=histology&tau=90"},
	{"/stats/survival", "endpoint=response_duration&confirmed_only=true&at=10"},
	{"/stats/durable-response", NULL},
	{"/stats/durable-response", "confirmed_only=true&min_months=0"},
	{"/stats/durable-response", "group_by=regimen&min_months=3"},
	{"/stats/durable-response", "limit=2&after=3&min_months=0"},
};
#define NQUESTIONS (sizeof questions / sizeof questions[0])

static void answers(char *out[NQUESTIONS])
{
	stats_cache_clear();
	for (size_t i = 0; i < NQUESTIONS; i++)
		out[i] = get_text(questions[i].path, questions[i].query);
}

static void rebuild_from_scratch(void)
{
	struct db *db = db_writer();
	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(db_begin_write(db), DB_OK);
	ck_assert_int_eq(store_summaries_rebuild(db), DB_OK);
	ck_assert_int_eq(db_commit(db), DB_OK);
}

static void assert_maintained_equals_rebuilt(int after_ops)
{
	char *kept[NQUESTIONS], *fresh[NQUESTIONS];
	answers(kept);
	rebuild_from_scratch();
	answers(fresh);
	for (size_t i = 0; i < NQUESTIONS; i++) {
		/* where they part, with some of each (Check's message is short) */
		size_t at = 0;
		while (kept[i][at] && kept[i][at] == fresh[i][at])
			at++;
		size_t from = at > 120 ? at - 120 : 0;
		ck_assert_msg(strcmp(kept[i], fresh[i]) == 0,
			      "after %d operations, %s?%s differs at byte %zu: kept ...%.300s\n"
			      "from scratch ...%.300s",
			      after_ops, questions[i].path,
			      questions[i].query ? questions[i].query : "", at, kept[i] + from,
			      fresh[i] + from);
		free(kept[i]);
		free(fresh[i]);
	}
}

START_TEST(test_kept_statistics_equal_statistics_from_scratch)
{
	static void (*const ops[])(void) = {
		op_create_patient,  op_create_patient,
		op_create_course,   op_create_course,
		op_create_outcome,  op_create_outcome,
		op_create_toxicity, op_create_toxicity,
		op_create_toxicity, op_patch,
		op_patch,           op_delete,
		op_import,          op_import_in_chunks,
		op_response_story,  op_progression_story,
	};
	memset(&patients, 0, sizeof patients);
	memset(&courses, 0, sizeof courses);
	memset(&outcomes, 0, sizeof outcomes);
	memset(&toxicities, 0, sizeof toxicities);
	for (int i = 1; i <= 600; i++) {
		ops[pick(sizeof ops / sizeof ops[0])]();
		if (i % 150 == 0)
			assert_maintained_equals_rebuilt(i);
	}
	/* the sequence did reach what it is meant to */
	char *summary = get_text("/stats/summary", NULL);
	json_t *j = json_loads(summary, 0, NULL);
	ck_assert_int_gt(
		json_integer_value(json_object_get(json_object_get(j, "overall"), "treated")), 20);
	json_decref(j);
	free(summary);
	char *deaths = get_text("/stats/mortality", NULL);
	ck_assert_ptr_nonnull(strstr(deaths, "\"causes\":[{"));
	free(deaths);
	char *durable = get_text("/stats/durable-response", "min_months=0");
	ck_assert_ptr_nonnull(strstr(durable, "\"first_cr_on\""));
	free(durable);
}
END_TEST

static bool same_tally(const struct tally *x, const struct tally *y)
{
	return x->kind == y->kind && x->key == y->key && strcmp(x->regimen, y->regimen) == 0 &&
	       strcmp(x->histology, y->histology) == 0 && strcmp(x->setting, y->setting) == 0 &&
	       strcmp(tally_term(x), tally_term(y)) == 0;
}

/* An import writes with the schema's CHECKs skipped (db_bulk_writes); a
 * write after it, whether it went in or was refused, in chunks or not, is
 * checked again: a counter below 0 is refused by the database itself. */
START_TEST(test_writes_after_an_import_are_checked_again)
{
	long chunk = import_chunk_lines;
	for (int i = 0; i < 4; i++) {
		bool refuse = i % 2 == 1;
		struct strbuf sb = {0};
		for (int p = 0; p < 5; p++)
			strbuf_printf(
				&sb,
				"{\"code\":\"CK-%d-%d\",\"histology\":\"melanoma\","
				"\"setting\":\"metastatic\",\"regimen\":\"il2_lak\","
				"\"enrolled_on\":\"1985-01-10\",\"courses\":[{\"started_on\":"
				"\"1985-02-01\",\"toxicities\":[{\"term\":\"Chills\",\"grade\":%d,"
				"\"onset_on\":\"1985-02-02\",\"attribution\":\"definite\"}]}]}\n",
				i, p, refuse && p == 4 ? 9 : 2);
		import_chunk_lines = i < 2 ? 2 : chunk;
		struct answer a = call("POST", "/import", NULL, "application/x-ndjson", sb.data);
		import_chunk_lines = chunk;
		ck_assert_int_eq(a.status, refuse ? 422 : 200);
		json_decref(a.json);
		strbuf_free(&sb);
		struct db *db = db_writer();
		ck_assert_ptr_nonnull(db);
		ck_assert_int_eq(db_begin_write(db), DB_OK);
		struct db_stmt *st = db_prepare(
			db, "INSERT INTO record_counts (resource, n) VALUES ('below zero', -1)");
		ck_assert_ptr_nonnull(st);
		int rc = db_step(st);
		db_done(st);
		db_rollback(db);
		ck_assert_msg(rc == DB_CONSTRAINT, "import %d: the insert answered %d", i, rc);
	}
}
END_TEST

/* Merging counters (an import's thousands, a write's few) adds up each
 * counter once: none twice among those kept (a statement that upserts two
 * rows of one key is refused on PostgreSQL), each with the sum of its own,
 * none that came to 0, none lost; long terms included. Checked against
 * sums made pair by pair. */
START_TEST(test_merged_counters_add_up_each_once)
{
	static const char *const regimens[] = {"il2_alone", "il2_lak", "il2_til"};
	static const char *const terms[] = {
		"Hypotension", "Chills", "Capillary leak syndrome",
		"A term long enough that it cannot be held in the counter itself, only beside it"};
	struct tally_buf buf = {0}, copy = {0};
	struct summary_worst worst[8];
	for (int p = 0; p < 3000; p++) {
		struct patient_summary s = {0};
		snprintf(s.regimen, sizeof s.regimen, "%s", regimens[pick(3)]);
		snprintf(s.histology, sizeof s.histology, "%s",
			 pick(2) ? "melanoma" : "renal_cell");
		snprintf(s.setting, sizeof s.setting, "%s", "metastatic");
		s.nworst = 1 + pick(8);
		for (size_t w = 0; w < s.nworst; w++) {
			worst[w].course_id = pick(3) ? 0 : 1 + pick(40);
			snprintf(worst[w].term, sizeof worst[w].term, "%s", terms[pick(4)]);
			worst[w].grade = 1 + pick(5);
		}
		s.worst = worst;
		ck_assert(summary_tallies(&s, 1, &buf));
		if (pick(3) == 0) { /* counted and taken back again, alone in its cell: 0 */
			snprintf(s.regimen, sizeof s.regimen, "%s", "il2_tnf");
			ck_assert(summary_tallies(&s, 1, &buf));
			ck_assert(summary_tallies(&s, -1, &buf));
		}
	}
	ck_assert_uint_gt(buf.n, 20000);
	/* the unmerged counters, their long terms copied (merging frees some) */
	copy.t = malloc(buf.n * sizeof *copy.t);
	memcpy(copy.t, buf.t, buf.n * sizeof *copy.t);
	copy.n = copy.cap = buf.n;
	for (size_t i = 0; i < copy.n; i++)
		if (copy.t[i].long_term)
			copy.t[i].long_term = strdup(copy.t[i].long_term);
	tally_merge(&buf);
	ck_assert_uint_gt(buf.n, 100);
	ck_assert_uint_lt(buf.n, copy.n / 10);
	for (size_t i = 0; i < buf.n; i++) {
		ck_assert_int_ne(buf.t[i].n, 0);
		for (size_t j = i + 1; j < buf.n; j++)
			ck_assert_msg(!same_tally(&buf.t[i], &buf.t[j]), "counter %zu kept twice",
				      i);
		int64_t sum = 0;
		for (size_t j = 0; j < copy.n; j++)
			if (same_tally(&buf.t[i], &copy.t[j]))
				sum += copy.t[j].n;
		ck_assert_int_eq(buf.t[i].n, sum);
	}
	/* every counter is kept but those of the cell taken back, which come to 0 */
	for (size_t j = 0; j < copy.n; j++) {
		bool kept = false;
		for (size_t i = 0; i < buf.n && !kept; i++)
			kept = same_tally(&buf.t[i], &copy.t[j]);
		ck_assert_msg(kept == (strcmp(copy.t[j].regimen, "il2_tnf") != 0),
			      "counter %zu of %s %s", j, copy.t[j].regimen, kept ? "kept" : "lost");
	}
	tally_buf_free(&buf);
	tally_buf_free(&copy);
}
END_TEST

Suite *suite(void)
{
	Suite *s = suite_create("maintained_stats");
	TCase *tc = tcase_create("maintained_stats");
	tcase_add_checked_fixture(tc, database_up, database_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_kept_statistics_equal_statistics_from_scratch);
	tcase_add_test(tc, test_merged_counters_add_up_each_once);
	tcase_add_test(tc, test_writes_after_an_import_are_checked_again);
	suite_add_tcase(s, tc);
	return s;
}

/* The engine's plan for the statements the store runs on a lookup by key:
 * each must search an index, never scan its table, so that a lookup costs
 * the same at a thousand records and at a million. Caught on an empty
 * database, from the SQL the store prepares (db_trace_statements) and
 * SQLite's EXPLAIN QUERY PLAN. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "model.h"
#include "record_insert.h"
#include "resources.h"
#include "store.h"
#include "store_trust.h"
#include "validate.h"

static struct db *db;
static char traced[64][1024];
static int ntraced;

static void trace(void *cls, const char *sql)
{
	(void)cls;
	if (ntraced < 64)
		snprintf(traced[ntraced++], sizeof traced[0], "%s", sql);
}

static void database_up(void)
{
	ck_assert_int_eq(store_init(resources_all, RESOURCES_COUNT), DB_OK);
	ck_assert_int_eq(db_open(":memory:", &db), DB_OK);
	ck_assert_int_eq(db_migrate(db), DB_OK);
	ntraced = 0;
	db_trace_statements(trace, NULL);
}

static void database_down(void)
{
	db_trace_statements(NULL, NULL);
	db_close(db);
}

/* The plan of every statement traced since the last call: each must use
 * index (by name) and none may scan a table. */
static void assert_traced_use(const char *index, const char *what)
{
	ck_assert_msg(ntraced > 0, "%s prepared no statement", what);
	for (int i = 0; i < ntraced; i++) {
		char plan[2048];
		ck_assert_int_eq(db_query_plan(db, traced[i], plan, sizeof plan), DB_OK);
		ck_assert_msg(strstr(plan, index), "%s: %s\ndoes not use %s:\n%s", what, traced[i],
			      index, plan);
		ck_assert_msg(!strstr(plan, "SCAN "), "%s: %s\nscans:\n%s", what, traced[i], plan);
	}
	ntraced = 0;
}

START_TEST(test_history_and_audit_by_entity_search_audit_by_entity)
{
	struct audit_row *rows = NULL;
	int count = 0;
	bool more = false;
	/* a record's history: entity and id */
	struct audit_filter f = {.entity = "patients", .entity_id = 7, .limit = 1000};
	ck_assert_int_eq(store_audit_list(db, &f, &rows, &count, &more), DB_OK);
	store_audit_list_free(rows, count);
	assert_traced_use("audit_by_entity", "history");
	/* /audit?entity= alone, and with a cursor */
	f = (struct audit_filter){.entity = "courses", .after = 10, .limit = 100};
	ck_assert_int_eq(store_audit_list(db, &f, &rows, &count, &more), DB_OK);
	store_audit_list_free(rows, count);
	assert_traced_use("audit_by_entity", "/audit?entity=");
}
END_TEST

START_TEST(test_a_record_by_id_searches_its_primary_key)
{
	for (int r = 0; r < RESOURCES_COUNT; r++) {
		struct record rec;
		ck_assert_int_eq(store_get(db, resources_all[r], 12345, &rec), DB_NOTFOUND);
		assert_traced_use("INTEGER PRIMARY KEY", resources_all[r]->name);
	}
}
END_TEST

/* Runs a list of res filtered on field = value (an integer when text is
 * NULL) and asserts that its plan searches index. */
static void assert_filter_uses(const struct resource *res, const char *field, const char *text,
			       const char *index)
{
	struct list_query q = {.limit = 50, .nfilters = 1};
	q.filters[0].field = resource_field_index(res, field);
	ck_assert_int_ge(q.filters[0].field, 0);
	q.filters[0].op = FILTER_EQ;
	if (text)
		value_set_text(&q.filters[0].value, text);
	else
		value_set_int(&q.filters[0].value, 3);
	struct record *recs = NULL;
	int count = 0;
	bool more = false;
	ck_assert_int_eq(store_list(db, res, &q, &recs, &count, &more), DB_OK);
	store_list_free(recs, count);
	value_set_null(&q.filters[0].value);
	char what[128];
	snprintf(what, sizeof what, "%s?%s=", res->name, field);
	assert_traced_use(index, what);
}

/* Every equality filter of every list (each FIELD_FILTER field, read from
 * the resources themselves, so a new filterable field without an index
 * fails here): <resource>_by_<field> (a parent's without its _id), or
 * the UNIQUE index of patients' code. */
START_TEST(test_every_list_filter_searches_an_index)
{
	int checked = 0;
	for (int r = 0; r < RESOURCES_COUNT; r++) {
		const struct resource *res = resources_all[r];
		for (int f = 0; f < res->nfields; f++) {
			const struct field *fd = &res->fields[f];
			if (!(fd->flags & FIELD_FILTER))
				continue;
			const char *text = fd->type == FIELD_ENUM   ? fd->choices[0]
					   : fd->type == FIELD_TEXT ? "Sepsis"
								    : NULL;
			char index[96];
			if (strcmp(fd->name, "code") == 0)
				snprintf(index, sizeof index, "sqlite_autoindex_%s", res->name);
			else /* a parent's index is by_patient, by_course */
				snprintf(index, sizeof index, "%s_by_%.*s", res->name,
					 (int)(strlen(fd->name) -
					       (strstr(fd->name, "_id") ? strlen("_id") : 0)),
					 fd->name);
			assert_filter_uses(res, fd->name, text, index);
			checked++;
		}
	}
	ck_assert_int_eq(checked, 21);
}
END_TEST

/* The lists under a patient (/patients/{id}/outcomes, /toxicities) filter
 * on patient_id, which their bodies do not name. */
START_TEST(test_lists_under_a_patient_search_an_index)
{
	assert_filter_uses(&outcomes_resource, "patient_id", NULL, "outcomes_by_patient");
	assert_filter_uses(&toxicities_resource, "patient_id", NULL, "toxicities_by_patient");
}
END_TEST

/* The newest toxicities first at grade 4 or worse, a page after a cursor
 * (/toxicities?grade=gte.4&sort=-onset_on): the onset index is walked
 * backwards from the cursor, no match is sorted, so a page deep in the
 * list costs what the first does. */
START_TEST(test_a_sorted_page_walks_the_sort_index_without_sorting)
{
	const struct resource *res = &toxicities_resource;
	struct list_query q = {.limit = 50, .nsort = 1, .has_cursor = true, .key_id = 500};
	q.filters[0].field = resource_field_index(res, "grade");
	q.filters[0].op = FILTER_GE;
	value_set_int(&q.filters[0].value, 4);
	q.nfilters = 1;
	q.sort[0] = (struct sort_key){resource_field_index(res, "onset_on"), true};
	value_set_text(&q.key[0], "1987-06-01");
	struct record *recs = NULL;
	int count = 0;
	bool more = false;
	ntraced = 0;
	ck_assert_int_eq(store_list(db, res, &q, &recs, &count, &more), DB_OK);
	store_list_free(recs, count);
	ck_assert_int_eq(ntraced, 1);
	char plan[2048];
	ck_assert_int_eq(db_query_plan(db, traced[0], plan, sizeof plan), DB_OK);
	/* a SEARCH: the walk starts at the cursor, not at the newest */
	ck_assert_msg(strstr(plan, "SEARCH toxicities USING INDEX toxicities_by_onset") &&
			      !strstr(plan, "TEMP B-TREE"),
		      "%s\n%s", traced[0], plan);
	ntraced = 0;
	list_query_clear(&q);
}
END_TEST

/* Creates a record of res from JSON text in a write transaction; its id. */
static int64_t create(const struct resource *res, const char *json)
{
	struct audit_context ctx = {"test", NULL, "plans"};
	struct record rec = {0};
	struct field_errors errs;
	field_errors_init(&errs);
	json_t *body = json_loads(json, 0, NULL);
	ck_assert_int_eq(db_begin_write(db), DB_OK);
	ck_assert_int_eq(records_insert(db, &ctx, res, body, &rec, &errs), DB_OK);
	ck_assert_msg(!field_errors_any(&errs), "%s refused", json);
	ck_assert_int_eq(db_commit(db), DB_OK);
	int64_t id = rec.id;
	record_clear(&rec);
	field_errors_free(&errs);
	json_decref(body);
	return id;
}

/* Every statement a create runs (its rules, the insert, the audit row, the
 * statistics' summary and counters) searches an index or a primary key, or
 * reads one row: none walks a table or a whole index. The worst grade a
 * toxicity may raise is looked up through the patient's and the course's
 * index (max(grade) walked the grade index, term = ? every toxicity of
 * the term: 56 POSTs a second at 10,000 patients). */
START_TEST(test_a_create_searches_indexes_only)
{
	int64_t patient = create(&patients_resource,
				 "{\"code\": \"P1\", \"histology\": \"melanoma\", "
				 "\"setting\": \"metastatic\", \"regimen\": \"il2_alone\", "
				 "\"enrolled_on\": \"1985-01-10\"}");
	char json[256];
	snprintf(json, sizeof json, "{\"patient_id\": %lld, \"started_on\": \"1985-02-01\"}",
		 (long long)patient);
	int64_t course = create(&courses_resource, json);
	snprintf(json, sizeof json,
		 "{\"course_id\": %lld, \"assessed_on\": \"1985-04-01\", \"response\": \"CR\"}",
		 (long long)course);
	create(&outcomes_resource, json);
	ntraced = 0;
	snprintf(json, sizeof json,
		 "{\"course_id\": %lld, \"term\": \"Chills\", \"grade\": 2, "
		 "\"onset_on\": \"1985-02-02\", \"attribution\": \"possible\"}",
		 (long long)course);
	create(&toxicities_resource, json);
	ck_assert_int_ge(ntraced, 5);
	bool worst = false;
	for (int i = 0; i < ntraced; i++) {
		char plan[2048];
		ck_assert_int_eq(db_query_plan(db, traced[i], plan, sizeof plan), DB_OK);
		/* the last row by its key (the audit chain's head): one row read */
		const char *one = strstr(traced[i], " DESC LIMIT 1");
		bool last_row =
			one && !one[strlen(" DESC LIMIT 1")] && !strstr(plan, "TEMP B-TREE");
		ck_assert_msg(last_row || !strstr(plan, "SCAN "), "%s\nscans:\n%s", traced[i],
			      plan);
		/* the worst grades before the new toxicity: from the index alone */
		if (strstr(traced[i], "SELECT course_id, term, grade FROM toxicities")) {
			worst = true;
			ck_assert_msg(strstr(plan, "COVERING INDEX toxicities_by_patient"), "%s",
				      plan);
		}
	}
	ck_assert(worst);
}
END_TEST

/* A password never reaches the log as given: in a URI's user part, or as
 * password= in a keyword string or a URI's query; the rest stays. */
START_TEST(test_a_password_in_the_target_is_not_shown)
{
	static const char *const cases[][2] = {
		{"/data/cohortd.db", "/data/cohortd.db"},
		{"postgresql://app:s3cret@db1:5432,db2:5432/reg?target_session_attrs=read-write",
		 "postgresql://app:***@db1:5432,db2:5432/reg?target_session_attrs=read-write"},
		{"postgres://app:p@ss@db/reg", "postgres://app:***@db/reg"},
		{"postgresql://app@db/reg?password=s3cret&sslmode=require",
		 "postgresql://app@db/reg?password=***&sslmode=require"},
		{"host=db dbname=reg user=app password=s3cret",
		 "host=db dbname=reg user=app password=***"},
		{"password=s3cret host=db", "password=*** host=db"},
		{"postgresql://db1:5432/reg", "postgresql://db1:5432/reg"},
		{"host=db mypassword=x", "host=db mypassword=x"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[256];
		db_target_shown(cases[i][0], out, sizeof out);
		ck_assert_str_eq(out, cases[i][1]);
	}
}
END_TEST

Suite *suite(void)
{
	Suite *s = suite_create("query_plans");
	TCase *tc = tcase_create("query_plans");
	tcase_add_checked_fixture(tc, database_up, database_down);
	tcase_add_test(tc, test_history_and_audit_by_entity_search_audit_by_entity);
	tcase_add_test(tc, test_a_record_by_id_searches_its_primary_key);
	tcase_add_test(tc, test_every_list_filter_searches_an_index);
	tcase_add_test(tc, test_lists_under_a_patient_search_an_index);
	tcase_add_test(tc, test_a_sorted_page_walks_the_sort_index_without_sorting);
	tcase_add_test(tc, test_a_create_searches_indexes_only);
	suite_add_tcase(s, tc);
	TCase *shown = tcase_create("target_shown");
	tcase_add_test(shown, test_a_password_in_the_target_is_not_shown);
	suite_add_tcase(s, shown);
	return s;
}

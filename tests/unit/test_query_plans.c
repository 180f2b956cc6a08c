/* The engine's plan for the statements the store runs on a lookup by key:
 * each must search an index, never scan its table, so that a lookup costs
 * the same at a thousand records and at a million. Caught on an empty
 * database, from the SQL the store prepares (db_trace_statements) and
 * SQLite's EXPLAIN QUERY PLAN. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "model.h"
#include "resources.h"
#include "store.h"
#include "store_trust.h"

static struct db *db;
static char traced[16][1024];
static int ntraced;

static void trace(void *cls, const char *sql)
{
	(void)cls;
	if (ntraced < 16)
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

/* Lists under a parent (/patients/{id}/courses ..., ?patient_id=,
 * ?course_id=) and by term search their index. */
START_TEST(test_lists_by_parent_or_term_search_an_index)
{
	static const struct {
		const struct resource *res;
		const char *field, *index;
	} lookups[] = {
		{&courses_resource, "patient_id", "courses_by_patient"},
		{&outcomes_resource, "course_id", "outcomes_by_course"},
		{&outcomes_resource, "patient_id", "outcomes_by_patient"},
		{&toxicities_resource, "course_id", "toxicities_by_course"},
		{&toxicities_resource, "patient_id", "toxicities_by_patient"},
		{&toxicities_resource, "term", "toxicities_by_term"},
	};
	for (size_t i = 0; i < sizeof lookups / sizeof lookups[0]; i++) {
		struct list_query q = {.limit = 50, .nfilters = 1};
		q.filters[0].field = resource_field_index(lookups[i].res, lookups[i].field);
		q.filters[0].op = FILTER_EQ;
		if (strcmp(lookups[i].field, "term") == 0)
			value_set_text(&q.filters[0].value, "Sepsis");
		else
			value_set_int(&q.filters[0].value, 3);
		struct record *recs = NULL;
		int count = 0;
		bool more = false;
		ck_assert_int_eq(store_list(db, lookups[i].res, &q, &recs, &count, &more), DB_OK);
		store_list_free(recs, count);
		value_set_null(&q.filters[0].value);
		assert_traced_use(lookups[i].index, lookups[i].field);
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
	tcase_add_test(tc, test_lists_by_parent_or_term_search_an_index);
	suite_add_tcase(s, tc);
	return s;
}

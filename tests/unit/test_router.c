/* Unit tests of route matching: literal and {id} segments, 404 versus 405
 * with the Allow list, HEAD as GET, and ids that are not positive integers. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "router.h"
#include "routes.h"

static void h(struct request *req)
{
	(void)req;
}

static const struct route table[] = {
	{.method = "GET", .pattern = "/patients", .handler = h, .flags = 0},
	{.method = "POST", .pattern = "/patients", .handler = h, .flags = ROUTE_JSON_BODY},
	{.method = "GET", .pattern = "/patients/{id}", .handler = h, .flags = 0},
	{.method = "PATCH", .pattern = "/patients/{id}", .handler = h, .flags = ROUTE_MERGE_PATCH},
	{.method = "DELETE", .pattern = "/patients/{id}", .handler = h, .flags = 0},
	{.method = "GET", .pattern = "/patients/{id}/courses", .handler = h, .flags = 0},
	{.method = "GET", .pattern = "/export/sdtm/{domain}", .handler = h, .flags = 0},
};

static enum route_match match(const char *method, const char *path, const struct route **r,
			      int64_t ids[2], int *nids, char *allow)
{
	return router_match(table, sizeof table / sizeof table[0], method, path, r, ids, nids,
			    allow, 128);
}

START_TEST(test_a_literal_path_finds_its_route)
{
	const struct route *r = NULL;
	int64_t ids[2];
	int nids = -1;
	char allow[128];
	ck_assert_int_eq(match("POST", "/patients", &r, ids, &nids, allow), ROUTE_FOUND);
	ck_assert_ptr_eq(r, &table[1]);
	ck_assert_int_eq(nids, 0);
}
END_TEST

START_TEST(test_id_segments_are_captured)
{
	const struct route *r = NULL;
	int64_t ids[2];
	int nids = 0;
	char allow[128];
	ck_assert_int_eq(
		match("GET", "/patients/9223372036854775807/courses", &r, ids, &nids, allow),
		ROUTE_FOUND);
	ck_assert_ptr_eq(r, &table[5]);
	ck_assert_int_eq(nids, 1);
	ck_assert(ids[0] == INT64_MAX);
}
END_TEST

/* A {word} segment other than {id} is 1-64 of a FHIR id's characters
 * (A-Z a-z 0-9 - .), captured by no id. */
START_TEST(test_word_segments)
{
	const struct route *r = NULL;
	int64_t ids[2];
	int nids = -1;
	char allow[128];
	ck_assert_int_eq(match("GET", "/export/sdtm/DM", &r, ids, &nids, allow), ROUTE_FOUND);
	ck_assert_ptr_eq(r, &table[6]);
	ck_assert_int_eq(nids, 0);
	static const char *const hits[] = {
		"/export/sdtm/D1", "/export/sdtm/12-agent", "/export/sdtm/Patient.ndjson",
		"/export/sdtm/0123456789012345678901234567890123456789012345678901234567890123"};
	for (size_t i = 0; i < sizeof hits / sizeof *hits; i++)
		ck_assert_msg(match("GET", hits[i], &r, ids, &nids, allow) == ROUTE_FOUND, "%s",
			      hits[i]);
	static const char *const misses[] = {
		"/export/sdtm/",
		"/export/sdtm/D_M",
		"/export/sdtm/$export",
		"/export/sdtm/DM/",
		"/export/sdtm/D%20M",
		"/export/sdtm/01234567890123456789012345678901234567890123456789012345678901234"};
	for (size_t i = 0; i < sizeof misses / sizeof *misses; i++)
		ck_assert_msg(match("GET", misses[i], &r, ids, &nids, allow) == ROUTE_NOT_FOUND,
			      "%s", misses[i]);
}
END_TEST

START_TEST(test_head_matches_get)
{
	const struct route *r = NULL;
	int64_t ids[2];
	int nids;
	char allow[128];
	ck_assert_int_eq(match("HEAD", "/patients/3", &r, ids, &nids, allow), ROUTE_FOUND);
	ck_assert_ptr_eq(r, &table[2]);
	ck_assert(ids[0] == 3);
}
END_TEST

START_TEST(test_wrong_method_lists_allow)
{
	const struct route *r = NULL;
	int64_t ids[2];
	int nids;
	char allow[128];
	ck_assert_int_eq(match("PUT", "/patients", &r, ids, &nids, allow), ROUTE_WRONG_METHOD);
	ck_assert_str_eq(allow, "GET, HEAD, POST");
	ck_assert_int_eq(match("POST", "/patients/1", &r, ids, &nids, allow), ROUTE_WRONG_METHOD);
	ck_assert_str_eq(allow, "GET, HEAD, PATCH, DELETE");
}
END_TEST

START_TEST(test_bad_ids_do_not_match)
{
	const struct route *r = NULL;
	int64_t ids[2];
	int nids;
	char allow[128];
	static const char *const paths[] = {
		"/patients/0",
		"/patients/01",
		"/patients/-1",
		"/patients/abc",
		"/patients/1a",
		"/patients/",
		"/patients//courses",
		"/patients/9223372036854775808",
		"/patients/1/",
		"/patientsx",
		"/",
		"",
		"/patients/1/courses/2",
	};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		ck_assert_msg(match("GET", paths[i], &r, ids, &nids, allow) == ROUTE_NOT_FOUND,
			      "%s", paths[i]);
}
END_TEST

START_TEST(test_real_table_has_no_duplicates)
{
	for (size_t i = 0; i < routes_count; i++)
		for (size_t j = i + 1; j < routes_count; j++)
			ck_assert_msg(strcmp(routes[i].method, routes[j].method) != 0 ||
					      strcmp(routes[i].pattern, routes[j].pattern) != 0,
				      "%s %s twice", routes[i].method, routes[i].pattern);
}
END_TEST

START_TEST(test_real_table_writes_are_flagged)
{
	for (size_t i = 0; i < routes_count; i++) {
		/* cancelling a bulk export removes its files, not a record: whoever
		 * may start one may cancel it */
		bool writes = strcmp(routes[i].method, "GET") != 0 &&
			      strcmp(routes[i].pattern, "/fhir/bulk/{job}") != 0;
		/* writes need an editor and a reason where they change a record */
		if (writes)
			ck_assert_msg(routes[i].role >= ROLE_EDITOR, "%s %s", routes[i].method,
				      routes[i].pattern);
		if (writes && (strcmp(routes[i].method, "PATCH") == 0 ||
			       strcmp(routes[i].method, "DELETE") == 0))
			ck_assert(routes[i].flags & ROUTE_REASON);
		ck_assert_msg(writes == ((routes[i].flags & ROUTE_WRITES) != 0), "%s %s",
			      routes[i].method, routes[i].pattern);
		if (strcmp(routes[i].method, "POST") == 0)
			ck_assert(routes[i].flags & (ROUTE_JSON_BODY | ROUTE_NDJSON));
		if (strcmp(routes[i].method, "PATCH") == 0)
			ck_assert(routes[i].flags & ROUTE_MERGE_PATCH);
	}
}
END_TEST

Suite *suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("router");
	tcase_add_test(tc, test_a_literal_path_finds_its_route);
	tcase_add_test(tc, test_id_segments_are_captured);
	tcase_add_test(tc, test_word_segments);
	tcase_add_test(tc, test_head_matches_get);
	tcase_add_test(tc, test_wrong_method_lists_allow);
	tcase_add_test(tc, test_bad_ids_do_not_match);
	tcase_add_test(tc, test_real_table_has_no_duplicates);
	tcase_add_test(tc, test_real_table_writes_are_flagged);
	suite_add_tcase(s, tc);
	return s;
}

/* The dashboard over HTTP: GET / and its files answer without a token (they
 * hold no data) with their media types, a strict Content-Security-Policy
 * and nosniff; they are the repository's files (and Chart.js the pinned
 * bundle) byte for byte; the page loads no inline script and its script
 * reads the statistics routes the server serves; ETags revalidate, plain
 * and gzip; a query string or another method is refused. What the page
 * shows in a browser is tests/browser/dashboard.test.mjs's job. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "harness.h"
#include "router.h"
#include "routes.h"

static const char *const no_token[] = {"Authorization:", NULL};

/* A file of the repository's dashboard/ folder (DASHBOARD_DIR). */
static char *dashboard_file(const char *name, size_t *len)
{
	const char *dir = getenv("DASHBOARD_DIR");
	ck_assert_ptr_nonnull(dir);
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return read_file(path, len);
}

static bool matches(const char *pattern, const char *text)
{
	regex_t re;
	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	bool ok = text && regexec(&re, text, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

/* GETs path without a token and asserts the headers every dashboard file
 * carries. */
static struct resp *get_public(const char *path, const char *content_type)
{
	struct resp *r = http("GET", path, no_token, NULL, 0);
	ck_assert_msg(r->status == 200, "%s -> %ld %s", path, r->status, r->body);
	ck_assert_str_eq(resp_header(r, "Content-Type"), content_type);
	ck_assert_str_eq(resp_header(r, "X-Content-Type-Options"), "nosniff");
	ck_assert_str_eq(resp_header(r, "Cache-Control"), "no-cache");
	ck_assert_str_eq(resp_header(r, "Referrer-Policy"), "no-referrer");
	ck_assert_msg(matches("^\"[0-9a-f]{16}\"$", resp_header(r, "ETag")), "ETag %s",
		      resp_header(r, "ETag"));
	const char *csp = resp_header(r, "Content-Security-Policy");
	ck_assert_ptr_nonnull(csp);
	ck_assert_str_eq(csp, "default-src 'none'; script-src 'self'; style-src 'self'; "
			      "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
			      "form-action 'none'; frame-ancestors 'none'");
	ck_assert_ptr_null(strstr(csp, "unsafe"));
	return r;
}

static void assert_same_bytes(const struct resp *r, const char *data, size_t len)
{
	ck_assert_uint_eq(r->len, len);
	ck_assert_msg(memcmp(r->body, data, len) == 0, "the served bytes differ from the file");
}

START_TEST(test_page_is_public_html_with_a_strict_policy)
{
	struct resp *r = get_public("/", "text/html; charset=utf-8");
	size_t len;
	char *file = dashboard_file("index.html", &len);
	assert_same_bytes(r, file, len);
	ck_assert_msg(strncmp(r->body, "<!doctype html>", 15) == 0, "%.40s", r->body);
	ck_assert_ptr_nonnull(
		strstr(r->body, "<script src=\"/dashboard/chart.js\" defer></script>"));
	ck_assert_ptr_nonnull(strstr(r->body, "<script src=\"/dashboard/app.js\" defer></script>"));
	ck_assert_ptr_nonnull(strstr(r->body, "href=\"/dashboard/style.css\""));
	/* no inline script, no inline handler, no inline style: the CSP would refuse them */
	int scripts = 0;
	for (const char *p = r->body; (p = strstr(p, "<script")) != NULL; p++) {
		ck_assert_msg(strncmp(p, "<script src=\"/dashboard/", 24) == 0, "%.60s", p);
		scripts++;
	}
	ck_assert_int_eq(scripts, 2);
	ck_assert_msg(!matches("[[:space:]]on[a-z]+=", r->body), "an inline event handler");
	ck_assert_msg(!matches("<style|[[:space:]]style=", r->body), "an inline style");
	free(file);
	resp_free(r);
}
END_TEST

/* The script reads the six statistics routes, each one the server serves
 * to readers, and sends the token as a bearer token. */
START_TEST(test_script_reads_the_statistics_routes_with_the_token)
{
	struct resp *r = get_public("/dashboard/app.js", "text/javascript; charset=utf-8");
	size_t len;
	char *file = dashboard_file("app.js", &len);
	assert_same_bytes(r, file, len);
	static const char *const reads[] = {"/stats/summary",   "/stats/response",
					    "/stats/mortality", "/stats/toxicity",
					    "/stats/survival",  "/stats/durable-response"};
	for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
		char quoted[64];
		snprintf(quoted, sizeof quoted, "'%s'", reads[i]);
		ck_assert_msg(strstr(r->body, quoted) != NULL, "app.js does not read %s", reads[i]);
		const struct route *rt = NULL;
		int64_t ids[2];
		int nids = 0;
		ck_assert_int_eq(router_match(routes, routes_count, "GET", reads[i], &rt, ids,
					      &nids, NULL, 0),
				 ROUTE_FOUND);
		ck_assert_int_eq(rt->role, ROLE_READER);
		ck_assert(rt->flags & ROUTE_QUERY); /* the filters */
	}
	ck_assert_ptr_nonnull(strstr(r->body, "Authorization = `Bearer ${t}`"));
	ck_assert_ptr_nonnull(strstr(r->body, "sessionStorage"));
	ck_assert_ptr_null(strstr(r->body, "innerHTML"));
	free(file);
	resp_free(r);
}
END_TEST

START_TEST(test_style_and_chartjs_are_the_repository_files)
{
	struct resp *r = get_public("/dashboard/style.css", "text/css; charset=utf-8");
	size_t len;
	char *file = dashboard_file("style.css", &len);
	assert_same_bytes(r, file, len);
	free(file);
	resp_free(r);

	/* Chart.js: the bundle npm ci installed, at the version package.json pins */
	r = get_public("/dashboard/chart.js", "text/javascript; charset=utf-8");
	file = dashboard_file("node_modules/chart.js/dist/chart.umd.min.js", &len);
	assert_same_bytes(r, file, len);
	free(file);
	char *pkg = dashboard_file("package.json", &len);
	json_error_t err;
	json_t *pin = json_loads(pkg, 0, &err);
	ck_assert_ptr_nonnull(pin);
	const char *version = json_string_value(
		json_object_get(json_object_get(pin, "dependencies"), "chart.js"));
	ck_assert_msg(version && matches("^[0-9]+\\.[0-9]+\\.[0-9]+$", version),
		      "chart.js is not pinned to an exact version: %s", version);
	char banner[64];
	snprintf(banner, sizeof banner, "Chart.js v%s", version);
	ck_assert_msg(strstr(r->body, banner) != NULL, "the bundle is not %s", banner);
	json_decref(pin);
	free(pkg);
	resp_free(r);
}
END_TEST

START_TEST(test_etag_revalidates_plain_and_gzip)
{
	struct resp *r = get_public("/", "text/html; charset=utf-8");
	char etag[64];
	snprintf(etag, sizeof etag, "%s", resp_header(r, "ETag"));
	resp_free(r);

	char inm[96];
	snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
	const char *const cond[] = {"Authorization:", inm, NULL};
	r = http("GET", "/", cond, NULL, 0);
	ck_assert_int_eq(r->status, 304);
	ck_assert_uint_eq(r->len, 0);
	ck_assert_str_eq(resp_header(r, "ETag"), etag);
	resp_free(r);

	/* another file's tag does not match */
	r = http("GET", "/dashboard/app.js", cond, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_ne(resp_header(r, "ETag"), etag);
	resp_free(r);

	/* gzip: the "-gz" form of the same tag, which revalidates too */
	const char *const gz[] = {"Authorization:", "Accept-Encoding: gzip", NULL};
	r = http("GET", "/dashboard/chart.js", gz, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(resp_header(r, "Content-Encoding"), "gzip");
	ck_assert_msg(matches("^\"[0-9a-f]{16}-gz\"$", resp_header(r, "ETag")), "%s",
		      resp_header(r, "ETag"));
	char gz_inm[96];
	snprintf(gz_inm, sizeof gz_inm, "If-None-Match: %s", resp_header(r, "ETag"));
	resp_free(r);
	const char *const gz_cond[] = {"Authorization:", "Accept-Encoding: gzip", gz_inm, NULL};
	r = http("GET", "/dashboard/chart.js", gz_cond, NULL, 0);
	ck_assert_int_eq(r->status, 304);
	resp_free(r);
}
END_TEST

/* The page is public; the data it reads is not (anonymous reads are off in
 * this server): the same browser without a token gets the page and a 401
 * from the statistics, which is what makes the page ask for a token. */
START_TEST(test_page_is_public_and_the_statistics_are_not)
{
	struct resp *r = http("GET", "/", no_token, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
	r = http("GET", "/stats/mortality", no_token, NULL, 0);
	assert_problem(r, 401, "urn:cohortd:problem:unauthorized");
	resp_free(r);
	r = http("HEAD", "/dashboard/app.js", no_token, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	ck_assert_uint_eq(r->len, 0);
	resp_free(r);
}
END_TEST

START_TEST(test_query_string_and_other_methods_are_refused)
{
	/* filters live in the fragment, which browsers never send */
	assert_refused("GET", "/?histology=melanoma", no_token, NULL, 400,
		       "urn:cohortd:problem:invalid-parameter", "histology");
	struct resp *r = http("POST", "/", no_token, "{}", 2);
	assert_problem(r, 405, "urn:cohortd:problem:method-not-allowed");
	ck_assert_str_eq(resp_header(r, "Allow"), "GET, HEAD");
	resp_free(r);
	r = http("GET", "/dashboard/nothing.js", no_token, NULL, 0);
	assert_problem(r, 404, "urn:cohortd:problem:not-found");
	resp_free(r);
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = api_suite("dashboard", &tc);
	tcase_add_test(tc, test_page_is_public_html_with_a_strict_policy);
	tcase_add_test(tc, test_script_reads_the_statistics_routes_with_the_token);
	tcase_add_test(tc, test_style_and_chartjs_are_the_repository_files);
	tcase_add_test(tc, test_etag_revalidates_plain_and_gzip);
	tcase_add_test(tc, test_page_is_public_and_the_statistics_are_not);
	tcase_add_test(tc, test_query_string_and_other_methods_are_refused);
	return run_suite(s);
}

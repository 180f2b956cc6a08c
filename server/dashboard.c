/* The dashboard: one page (dashboard/index.html), its script and style, and
 * Chart.js (pinned in dashboard/package-lock.json), all compiled into the
 * binary by tools/embed.py so that GET / works with nothing beside the
 * binary. The page holds no data, so these routes are public; the figures
 * come from the statistics routes with the reader's own token. Each answer
 * carries a strict Content-Security-Policy (scripts only from here, no
 * inline script), nosniff, and an ETag from the content's SHA-256 for cheap
 * revalidation. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "compress.h"
#include "digest.h"
#include "embedded.h"
#include "handlers.h"
#include "http.h"

#define DASHBOARD_MAX_FILES 8

static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
			  "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
			  "form-action 'none'; frame-ancestors 'none'";

static char etags[DASHBOARD_MAX_FILES][24];
static pthread_once_t etags_once = PTHREAD_ONCE_INIT;

static void etags_compute(void)
{
	for (size_t i = 0; i < embedded_dashboard_count && i < DASHBOARD_MAX_FILES; i++) {
		char hex[65];
		sha256_hex(embedded_dashboard[i].data, embedded_dashboard[i].len, hex);
		snprintf(etags[i], sizeof etags[i], "\"%.16s\"", hex);
	}
}

static void serve(struct request *req, const char *name, const char *content_type)
{
	pthread_once(&etags_once, etags_compute);
	size_t i = 0;
	while (i < embedded_dashboard_count && strcmp(embedded_dashboard[i].name, name) != 0)
		i++;
	if (i == embedded_dashboard_count || i >= DASHBOARD_MAX_FILES) {
		reply_problem(req, 500, PROBLEM_INTERNAL,
			      "the dashboard file %s is not in this build", name);
		return;
	}
	reply_header(req, "ETag", "%s", etags[i]);
	reply_header(req, "Cache-Control", "no-cache");
	reply_header(req, "X-Content-Type-Options", "nosniff");
	reply_header(req, "Content-Security-Policy", "%s", csp);
	reply_header(req, "Referrer-Policy", "no-referrer");
	if (etag_in_list(request_header(req, "If-None-Match"), etags[i])) {
		reply_empty(req, 304);
		return;
	}
	reply_static(req, 200, content_type, embedded_dashboard[i].data, embedded_dashboard[i].len);
}

void dashboard_page(struct request *req)
{
	serve(req, "index.html", "text/html; charset=utf-8");
}

void dashboard_script(struct request *req)
{
	serve(req, "app.js", "text/javascript; charset=utf-8");
}

void dashboard_style(struct request *req)
{
	serve(req, "style.css", "text/css; charset=utf-8");
}

void dashboard_chartjs(struct request *req)
{
	serve(req, "chart.umd.min.js", "text/javascript; charset=utf-8");
}

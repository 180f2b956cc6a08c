/* GET /export/sdtm/{domain} and GET /export/sdtm: the registry as CDISC
 * SDTM datasets (sdtm.h), CSV or SAS transport, one dataset or all of them
 * zipped with their listing. The file is made on the slow-read pool from
 * one snapshot into a temporary file, then streamed from it, so that an
 * HTTP worker never waits on it and memory stays bounded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "handlers.h"
#include "http.h"
#include "query.h"
#include "sdtm.h"
#include "util.h"

/* The dataset named by the path's last segment, or SDTM_COUNT for the
 * bundle; -1 (answered 404) when it names none. */
static int domain_of(struct request *req)
{
	const char *last = strrchr(req->path, '/');
	if (strcmp(req->path, "/export/sdtm") == 0)
		return SDTM_COUNT;
	int d = sdtm_domain_named(last + 1);
	if (d < 0 || strcmp(sdtm_domain_name(d), last + 1) != 0) {
		reply_problem(req, 404, PROBLEM_NOT_FOUND,
			      "there is no SDTM dataset %.16s here; the datasets are DM, EX, RS, "
			      "SUPPRS, AE, DS and TS",
			      last + 1);
		return -1;
	}
	return d;
}

void export_sdtm(struct request *req)
{
	int domain = domain_of(req);
	if (domain < 0)
		return;
	struct query qs;
	query_parse(req, &qs);
	const char *format = query_take(&qs, "format");
	bool bundle = domain == SDTM_COUNT;
	enum table_format f = bundle ? TABLE_XPT : TABLE_CSV;
	if (format && strcmp(format, "csv") == 0)
		f = TABLE_CSV;
	else if (format && strcmp(format, "xpt") == 0)
		f = TABLE_XPT;
	else if (format)
		query_error(&qs, "format", "must be csv or xpt");
	query_refuse_unused(&qs, "is not a parameter of an SDTM export (it takes format)");
	bool refused = query_reply_errors(req, &qs);
	query_free(&qs);
	if (refused || reply_defer(req))
		return;
	FILE *out = tmpfile();
	int rc = out ? sdtm_write((enum sdtm_domain)domain, f, out) : DB_ERROR;
	if (rc == DB_OK && (fflush(out) != 0 || fseek(out, 0, SEEK_SET) != 0))
		rc = DB_ERROR;
	if (rc != DB_OK) {
		if (out)
			fclose(out);
		reply_db_error(req, rc);
		return;
	}
	char name[32];
	sdtm_file_name((enum sdtm_domain)domain, f, name);
	const char *type = bundle           ? "application/zip"
			   : f == TABLE_XPT ? "application/x-sas-xport"
					    : "text/csv; charset=utf-8";
	reply_stream_file(req, 200, type, out);
	reply_header(req, "Content-Disposition", "attachment; filename=\"%s\"", name);
}

/* FHIR R4 over HTTP, read-only (role reader): GET /fhir/metadata (the
 * CapabilityStatement), GET /fhir/{type}/{id} (a read) and GET /fhir/{type}
 * (a search: patient or subject, _id, _count, paged by opaque next links in
 * a searchset Bundle). Resources come from fhir.h; problems are
 * OperationOutcomes (reply.c, for every path under /fhir). The Bulk Data
 * export is fhir_bulk.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "fhir.h"
#include "handlers.h"
#include "http.h"
#include "query.h"
#include "resources.h"
#include "store.h"
#include "util.h"

#define FHIR_JSON     "application/fhir+json"
#define COUNT_DEFAULT 50
#define COUNT_MAX     1000

/* "http://host" from the Host header, for fullUrl and links. */
void fhir_base_url(struct request *req, char *out, size_t n)
{
	const char *host = request_header(req, "Host");
	bool sane = host && *host && strlen(host) < 200 && !strpbrk(host, " /\\\"<>");
	snprintf(out, n, "http://%s/fhir", sane ? host : "localhost");
}

/* The path's segments after /fhir/: type[/ref]. */
static void segments(const struct request *req, char type[40], char ref[80])
{
	type[0] = ref[0] = '\0';
	const char *p = req->path + strlen("/fhir/");
	const char *slash = strchr(p, '/');
	size_t tlen = slash ? (size_t)(slash - p) : strlen(p);
	snprintf(type, 40, "%.*s", (int)(tlen < 39 ? tlen : 39), p);
	if (slash)
		snprintf(ref, 80, "%s", slash + 1);
}

static int type_of(struct request *req, const char *name)
{
	int t = fhir_type_named(name);
	if (t < 0)
		reply_problem(
			req, 404, PROBLEM_NOT_FOUND,
			"this server has no resource type %.40s; it serves Patient, Condition, "
			"ResearchStudy, ResearchSubject, MedicationAdministration, Observation "
			"and AdverseEvent",
			name);
	return t;
}

/* "123" (with "-agent" when agent is given) as a record id; 0 when not. */
static int64_t id_of(const char *ref, bool *agent)
{
	char digits[32];
	size_t n = strspn(ref, "0123456789");
	if (n == 0 || n > 18 || ref[0] == '0')
		return 0;
	bool suffixed = strcmp(ref + n, FHIR_AGENT_SUFFIX) == 0;
	if (ref[n] && !(agent && suffixed))
		return 0;
	if (agent)
		*agent = suffixed;
	memcpy(digits, ref, n);
	digits[n] = '\0';
	return strtoll(digits, NULL, 10);
}

static bool has_course(struct db *db, int64_t patient, int *rc)
{
	struct list_query q = {0};
	q.filters[0].field = resource_field_index(&courses_resource, "patient_id");
	q.filters[0].op = FILTER_EQ;
	q.filters[0].value = (struct value){.kind = VALUE_INT, .i = patient};
	q.nfilters = 1;
	int64_t n = 0;
	*rc = store_list_count(db, &courses_resource, &q, &n);
	return n > 0;
}

/* The resource of type t for a record, reading what else it needs. */
static json_t *resource_of(struct db *db, enum fhir_type t, const struct record *rec, bool agent,
			   int *rc)
{
	*rc = DB_OK;
	switch (t) {
	case FHIR_PATIENT: return fhir_patient(rec);
	case FHIR_CONDITION: return fhir_condition(rec);
	case FHIR_RESEARCH_SUBJECT: {
		bool treated = has_course(db, rec->id, rc);
		return *rc == DB_OK ? fhir_research_subject(rec, treated) : NULL;
	}
	case FHIR_MEDICATION_ADMINISTRATION: {
		struct record patient;
		int64_t pid = record_get(rec, &courses_resource, "patient_id")->i;
		*rc = store_get(db, &patients_resource, pid, &patient);
		if (*rc != DB_OK)
			return NULL;
		const struct value *regimen =
			&patient.v[resource_field_index(&patients_resource, "regimen")];
		json_t *r = NULL;
		if (!agent || fhir_regimen_has_agent(regimen->s))
			r = fhir_medication_administration(rec, regimen->s, agent);
		else
			*rc = DB_NOTFOUND; /* IL-2 alone: no other agent */
		record_clear(&patient);
		return r;
	}
	case FHIR_OBSERVATION: return fhir_observation(rec);
	case FHIR_ADVERSE_EVENT: return fhir_adverse_event(rec);
	default: return fhir_research_study();
	}
}

/* The records a type is made of. */
static const struct resource *records_of(enum fhir_type t)
{
	switch (t) {
	case FHIR_MEDICATION_ADMINISTRATION: return &courses_resource;
	case FHIR_OBSERVATION: return &outcomes_resource;
	case FHIR_ADVERSE_EVENT: return &toxicities_resource;
	default: return &patients_resource;
	}
}

/* Takes _format (json only) from qs. */
static void take_format(struct query *qs)
{
	const char *f = query_take(qs, "_format");
	if (f && strcmp(f, "json") != 0 && strcmp(f, FHIR_JSON) != 0 &&
	    strcmp(f, "application/json") != 0)
		query_error(qs, "_format", "must be json (this server speaks FHIR in JSON only)");
}

void fhir_read(struct request *req)
{
	char type[40], ref[80];
	segments(req, type, ref);
	int t = type_of(req, type);
	if (t < 0)
		return;
	struct query qs;
	query_parse(req, &qs);
	take_format(&qs);
	query_refuse_unused(&qs, "is not a parameter of a read");
	bool refused = query_reply_errors(req, &qs);
	query_free(&qs);
	if (refused)
		return;
	if (t == FHIR_RESEARCH_STUDY) {
		if (strcmp(ref, FHIR_STUDY_ID) != 0) {
			reply_problem(req, 404, PROBLEM_NOT_FOUND,
				      "the one ResearchStudy is ResearchStudy/" FHIR_STUDY_ID);
			return;
		}
		reply_json_as(req, 200, FHIR_JSON, fhir_research_study());
		return;
	}
	bool agent = false;
	int64_t id = id_of(ref, t == FHIR_MEDICATION_ADMINISTRATION ? &agent : NULL);
	if (id <= 0) {
		reply_problem(req, 404, PROBLEM_NOT_FOUND, "no %s/%.64s here", type, ref);
		return;
	}
	struct record rec;
	int rc = store_get(req->db, records_of(t), id, &rec);
	if (rc != DB_OK) {
		reply_db_error(req, rc);
		return;
	}
	json_t *r = resource_of(req->db, t, &rec, agent, &rc);
	int64_t version = rec.version;
	record_clear(&rec);
	if (!r) {
		reply_db_error(req, rc == DB_OK ? DB_ERROR : rc);
		return;
	}
	reply_header(req, "ETag", "W/\"%lld\"", (long long)version);
	reply_json_as(req, 200, FHIR_JSON, r);
}

/* patient=123, Patient/123 or a full URL ending in Patient/123. */
static int64_t patient_param(struct query *qs, const char *key)
{
	const char *v = query_take(qs, key);
	if (!v)
		return 0;
	const char *id = strrchr(v, '/');
	if (id && (id - v < 7 || strncmp(id - 7, "Patient", 7) != 0))
		id = NULL;
	int64_t n = id_of(id ? id + 1 : v, NULL);
	if (n <= 0 || (strchr(v, '/') && !id))
		query_error(qs, key, "must be a patient's id (123 or Patient/123)");
	return n > 0 ? n : -1;
}

static void add_entry(json_t *entries, const char *base, json_t *resource)
{
	char url[400];
	snprintf(url, sizeof url, "%s/%s/%s", base,
		 json_string_value(json_object_get(resource, "resourceType")),
		 json_string_value(json_object_get(resource, "id")));
	json_array_append_new(entries, json_pack("{s:s, s:o, s:{s:s}}", "fullUrl", url, "resource",
						 resource, "search", "mode", "match"));
}

/* The search's own link: its parameters, and the page's cursor. */
static char *search_link(const char *base, const char *type, int64_t patient, int64_t only,
			 int count, const char *after)
{
	struct strbuf sb = {0};
	strbuf_printf(&sb, "%s/%s?_count=%d", base, type, count);
	if (patient > 0)
		strbuf_printf(&sb, "&patient=%lld", (long long)patient);
	if (only > 0)
		strbuf_printf(&sb, "&_id=%lld", (long long)only);
	if (after && *after)
		strbuf_printf(&sb, "&_page_after=%s", after);
	return strbuf_steal(&sb);
}

void fhir_search(struct request *req)
{
	char type[40], ref[80];
	segments(req, type, ref);
	int t = type_of(req, type);
	if (t < 0)
		return;
	struct query qs;
	query_parse(req, &qs);
	take_format(&qs);
	int64_t patient =
		t == FHIR_PATIENT || t == FHIR_RESEARCH_STUDY ? 0 : patient_param(&qs, "patient");
	int64_t subject =
		t == FHIR_PATIENT || t == FHIR_RESEARCH_STUDY ? 0 : patient_param(&qs, "subject");
	if (patient > 0 && subject > 0 && patient != subject)
		query_error(&qs, "subject", "names another patient than patient");
	if (subject)
		patient = subject;
	int64_t only = 0;
	const char *id = t == FHIR_PATIENT ? query_take(&qs, "_id") : NULL;
	if (id && (only = id_of(id, NULL)) <= 0)
		query_error(&qs, "_id", "must be a patient's id");
	int count = COUNT_DEFAULT;
	const char *c = query_take(&qs, "_count");
	if (c) {
		char *end;
		long v = strtol(c, &end, 10);
		if (*c < '0' || *c > '9' || *end || v < 1 || v > COUNT_MAX)
			query_error(&qs, "_count", "must be an integer from 1 to 1000");
		else
			count = (int)v;
	}
	const char *after = query_take(&qs, "_page_after");
	bool after_agent = false;
	int64_t after_id = 0;
	if (after && (after_id = id_of(after, t == FHIR_MEDICATION_ADMINISTRATION ? &after_agent
										  : NULL)) <= 0)
		query_error(&qs, "_page_after", "is not a cursor this server gave");
	query_refuse_unused(
		&qs, t == FHIR_PATIENT ? "is not a search parameter of Patient here (it takes _id, "
					 "_count)"
		     : t == FHIR_RESEARCH_STUDY
			     ? "is not a search parameter of ResearchStudy here"
			     : "is not a search parameter here (it takes patient or subject, "
			       "_count)");
	if (query_reply_errors(req, &qs)) {
		query_free(&qs);
		return;
	}
	char base[256];
	fhir_base_url(req, base, sizeof base);
	json_t *entries = json_array();
	char last[48] = "";
	bool more = false;
	int rc = DB_OK;
	if (t == FHIR_RESEARCH_STUDY) {
		if (!after)
			add_entry(entries, base, fhir_research_study());
	} else if (patient < 0 || only < 0) {
		/* refused above */
	} else {
		const struct resource *res = records_of(t);
		struct list_query q = {0};
		int64_t key = t == FHIR_PATIENT ? only : patient;
		if (key > 0) {
			q.filters[0].field = res == &patients_resource
						     ? -1
						     : resource_field_index(res, "patient_id");
			q.filters[0].op = FILTER_EQ;
			q.filters[0].value = (struct value){.kind = VALUE_INT, .i = key};
			q.nfilters = 1;
		}
		/* a cursor on a course's IL-2: that course again, for its other agent */
		q.after = t == FHIR_MEDICATION_ADMINISTRATION && after && !after_agent
				  ? after_id - 1
				  : after_id;
		q.limit = count;
		struct record *recs = NULL;
		int n = 0;
		if (q.nfilters && q.filters[0].field < 0) {
			/* a patient by id: a read, as a search */
			recs = xcalloc(1, sizeof *recs);
			rc = recs ? store_get(req->db, res, key, recs) : DB_ERROR;
			n = rc == DB_OK && key > q.after ? 1 : 0;
			if (rc == DB_NOTFOUND)
				rc = DB_OK;
		} else {
			rc = store_list(req->db, res, &q, &recs, &n, &more);
		}
		int emitted = 0;
		for (int i = 0; i < n && rc == DB_OK; i++) {
			for (int part = 0; part < 2 && rc == DB_OK; part++) {
				bool agent = part == 1;
				if (agent && t != FHIR_MEDICATION_ADMINISTRATION)
					break;
				if (t == FHIR_MEDICATION_ADMINISTRATION && after && !after_agent &&
				    recs[i].id == after_id && !agent)
					continue; /* its IL-2 was on the last page */
				if (emitted == count) {
					more = true;
					break;
				}
				json_t *r = resource_of(req->db, (enum fhir_type)t, &recs[i], agent,
							&rc);
				if (rc == DB_NOTFOUND && agent) {
					rc = DB_OK; /* no other agent */
					continue;
				}
				if (!r)
					break;
				snprintf(last, sizeof last, "%s",
					 json_string_value(json_object_get(r, "id")));
				add_entry(entries, base, r);
				emitted++;
			}
		}
		if (q.nfilters && q.filters[0].field < 0) {
			if (n)
				record_clear(recs);
			free(recs);
		} else {
			store_list_free(recs, n);
		}
	}
	query_free(&qs);
	if (rc != DB_OK) {
		json_decref(entries);
		reply_db_error(req, rc);
		return;
	}
	char *self = search_link(base, type, patient, only, count, after);
	json_t *links = json_pack("[{s:s, s:s}]", "relation", "self", "url", self);
	free(self);
	if (more && last[0]) {
		char *next = search_link(base, type, patient, only, count, last);
		json_array_append_new(links,
				      json_pack("{s:s, s:s}", "relation", "next", "url", next));
		free(next);
	}
	json_t *bundle = json_pack("{s:s, s:s, s:o, s:o}", "resourceType", "Bundle", "type",
				   "searchset", "link", links, "entry", entries);
	reply_json_as(req, 200, FHIR_JSON, bundle);
}

void fhir_metadata(struct request *req)
{
	struct query qs;
	query_parse(req, &qs);
	take_format(&qs);
	query_refuse_unused(&qs, "is not a parameter of the capability statement");
	bool refused = query_reply_errors(req, &qs);
	query_free(&qs);
	if (refused)
		return;
	json_t *resources = json_array();
	static const char *const profiles[FHIR_TYPE_COUNT] = {
		[FHIR_PATIENT] = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
				 "mcode-cancer-patient",
		[FHIR_CONDITION] = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
				   "mcode-primary-cancer-condition",
		[FHIR_MEDICATION_ADMINISTRATION] =
			"http://hl7.org/fhir/us/mcode/StructureDefinition/"
			"mcode-cancer-related-medication-administration",
	};
	for (int t = 0; t < FHIR_TYPE_COUNT; t++) {
		json_t *params = json_array();
		if (t == FHIR_PATIENT)
			json_array_append_new(params, json_pack("{s:s, s:s, s:s}", "name", "_id",
								"type", "token", "documentation",
								"the patient's id"));
		else if (t != FHIR_RESEARCH_STUDY)
			for (int k = 0; k < 2; k++)
				json_array_append_new(
					params,
					json_pack("{s:s, s:s, s:s}", "name",
						  k ? "subject" : "patient", "type", "reference",
						  "documentation",
						  "the patient's resources: 123 or Patient/123"));
		json_array_append_new(params, json_pack("{s:s, s:s, s:s}", "name", "_count", "type",
							"number", "documentation",
							"entries a page, 1 to 1000 (default 50)"));
		json_t *r = json_pack("{s:s, s:[{s:s}, {s:s}], s:o, s:s, s:b}", "type",
				      fhir_type_name((enum fhir_type)t), "interaction", "code",
				      "read", "code", "search-type", "searchParam", params,
				      "versioning", "versioned", "readHistory", 0);
		if (profiles[t])
			json_object_set_new(r, "supportedProfile", json_pack("[s]", profiles[t]));
		json_array_append_new(resources, r);
	}
	char base[256];
	fhir_base_url(req, base, sizeof base);
	json_t *cs = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:{s:s, s:s}, s:{s:s, s:s}, s:s, s:[s], "
		"s:[{s:s, s:{s:[{s:[{s:s, s:s}]}], s:s}, s:o, s:[{s:s, s:s}]}]}",
		"resourceType", "CapabilityStatement", "id", "cohortd", "status", "active", "date",
		"2026-12-05", "kind", "instance", "publisher", "cohortd", "instantiates",
		"http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data", "software", "name",
		"cohortd", "version", "0.1.0", "implementation", "description",
		"cohortd: the registry of a treatment cohort, read-only, as FHIR R4 (mCODE where "
		"it "
		"covers the element)",
		"url", base, "fhirVersion", "4.0.1", "format", "json", "rest", "mode", "server",
		"security", "service", "coding", "system",
		"http://terminology.hl7.org/CodeSystem/restful-security-service", "code", "OAuth",
		"description",
		"A cohortd bearer token (Authorization: Bearer ...), role reader or above; the "
		"same tokens as the rest of the API",
		"resource", resources, "operation", "name", "export", "definition",
		"http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export");
	reply_json_as(req, 200, FHIR_JSON, cs);
}

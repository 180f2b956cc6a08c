/* FHIR R4 (issue 21): each mapped resource read from records made here says
 * what docs/fhir.md says it does; searches page through searchset Bundles
 * with next links; every refusal under /fhir is an OperationOutcome with the
 * status used elsewhere, and changes nothing; the Bulk Data export answers
 * the asynchronous protocol (202 and Content-Location, 202 with X-Progress,
 * 200 with the manifest, the files, DELETE to cancel, 404 once cancelled or
 * expired, and to another token), honours _type and _since, reads one
 * snapshot (a write while it runs is not in it), and the paper's counts
 * come back from its NDJSON alone. (The fhir lane validates every resource
 * these tests receive against FHIR R4.) */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FHIR_JSON "application/fhir+json"

/* A value inside JSON by a dotted path ("a.0.b"); NULL when absent. */
static json_t *at(json_t *j, const char *path)
{
	char part[64];
	while (j && *path) {
		size_t n = strcspn(path, ".");
		snprintf(part, sizeof part, "%.*s", (int)n, path);
		j = json_is_array(j) ? json_array_get(j, strtoul(part, NULL, 10))
				     : json_object_get(j, part);
		path += n + (path[n] == '.');
	}
	return j;
}

static const char *str_at(json_t *j, const char *path)
{
	return json_string_value(at(j, path));
}

static void assert_at(json_t *j, const char *path, const char *want)
{
	const char *got = str_at(j, path);
	ck_assert_msg(got && strcmp(got, want) == 0, "%s: %s, wanted %s", path,
		      got ? got : "(none)", want);
}

/* GET as the admin: 200, FHIR JSON; the resource. */
static json_t *fhir_get(const char *path)
{
	struct resp *r = http_get(path);
	ck_assert_msg(r->status == 200, "GET %s: %ld %s", path, r->status, r->body);
	ck_assert_str_eq(resp_header(r, "Content-Type"), FHIR_JSON);
	json_t *j = json_incref(r->json);
	resp_free(r);
	return j;
}

/* An OperationOutcome refusal: status, FHIR JSON, the issue's code, and the
 * parameter named when one is. */
static void assert_outcome(struct resp *r, long status, const char *code, const char *names)
{
	ck_assert_msg(r->status == status, "%ld, wanted %ld: %s", r->status, status, r->body);
	ck_assert_str_eq(resp_header(r, "Content-Type"), FHIR_JSON);
	assert_at(r->json, "resourceType", "OperationOutcome");
	assert_at(r->json, "issue.0.severity", "error");
	assert_at(r->json, "issue.0.code", code);
	if (names) {
		bool found = false;
		size_t i;
		json_t *issue;
		json_array_foreach(json_object_get(r->json, "issue"), i, issue)
		{
			const char *d = json_string_value(json_object_get(issue, "diagnostics"));
			found |= d && strncmp(d, names, strlen(names)) == 0 &&
				 d[strlen(names)] == ':';
		}
		ck_assert_msg(found, "no issue names %s: %s", names, r->body);
	}
}

struct registry {
	int64_t lak, alone, course1, course2, solo_course, outcome, tox;
};

static struct registry make_registry(void)
{
	struct registry g;
	g.lak = make_patient("{\"code\":\"FH-A\",\"sex\":\"female\",\"regimen\":\"il2_lak\","
			     "\"histology\":\"melanoma\",\"vital_status\":\"dead\","
			     "\"died_on\":\"1987-06-01\"}");
	g.alone = make_patient("{\"code\":\"FH-B\",\"sex\":\"other\",\"histology\":\"colorectal\","
			       "\"setting\":\"adjuvant\"}");
	g.course1 = make_course(g.lak, "{\"started_on\":\"1985-02-01\",\"ended_on\":\"1985-02-10\","
				       "\"doses_given\":12,\"stop_reason\":\"toxicity\"}");
	g.course2 = make_course(g.lak, "{\"started_on\":\"1985-04-01\",\"il2_dose\":100000,"
				       "\"il2_dose_unit\":\"U/kg\"}");
	g.solo_course = make_course(g.alone, NULL);
	g.outcome = make_outcome(g.course1, "{\"response\":\"PR\",\"criteria\":\"recist_1_1\","
					    "\"confirmed\":true}");
	g.tox = make_toxicity(g.course1, "{\"serious\":true,\"outcome\":\"recovered\","
					 "\"resolved_on\":\"1985-02-05\"}");
	return g;
}

static char *path_of(const char *type, int64_t id, const char *suffix)
{
	static char path[128];
	snprintf(path, sizeof path, "/fhir/%s/%lld%s", type, (long long)id, suffix ? suffix : "");
	return path;
}

START_TEST(test_each_resource_says_its_record)
{
	api_start();
	struct registry g = make_registry();
	json_t *p = fhir_get(path_of("Patient", g.lak, NULL));
	assert_at(p, "resourceType", "Patient");
	assert_at(p, "identifier.0.value", "FH-A");
	assert_at(p, "gender", "female");
	assert_at(p, "deceasedDateTime", "1987-06-01");
	assert_at(p, "meta.versionId", "1");
	assert_at(p, "meta.profile.0",
		  "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-patient");
	json_decref(p);
	p = fhir_get(path_of("Patient", g.alone, NULL));
	assert_at(p, "gender", "other");
	ck_assert(json_is_false(at(p, "deceasedBoolean")));
	json_decref(p);
	json_t *c = fhir_get(path_of("Condition", g.lak, NULL));
	assert_at(c, "code.coding.0.system", "http://hl7.org/fhir/sid/icd-10-cm");
	assert_at(c, "code.coding.0.code", "C43.9");
	assert_at(c, "code.coding.1.code", "melanoma");
	assert_at(c, "subject.reference", path_of("Patient", g.lak, NULL) + 6);
	json_decref(c);
	c = fhir_get(path_of("Condition", g.alone, NULL));
	assert_at(c, "code.coding.0.code", "colorectal"); /* no one ICD-10-CM code */
	ck_assert_ptr_null(at(c, "code.coding.1"));
	assert_at(c, "note.0.text", "Setting: adjuvant (no evaluable disease)");
	json_decref(c);
	json_t *s = fhir_get(path_of("ResearchSubject", g.lak, NULL));
	assert_at(s, "status", "off-study");
	assert_at(s, "assignedArm", "il2_lak");
	assert_at(s, "actualArm", "il2_lak");
	assert_at(s, "study.reference", "ResearchStudy/cohort");
	json_decref(s);
	json_t *study = fhir_get("/fhir/ResearchStudy/cohort");
	assert_at(study, "identifier.0.value", "COHORTD");
	ck_assert_uint_eq(json_array_size(at(study, "arm")), 7);
	json_decref(study);
	/* a course: IL-2, as recorded; the regimen's other agent beside it */
	json_t *m = fhir_get(path_of("MedicationAdministration", g.course2, NULL));
	assert_at(m, "medicationCodeableConcept.coding.0.code", "aldesleukin");
	assert_at(m, "status", "completed");
	ck_assert(json_real_value(at(m, "dosage.dose.value")) == 100000.0);
	assert_at(m, "dosage.dose.code", "U/kg");
	assert_at(m, "dosage.route.coding.0.code", "47625008");
	assert_at(m, "effectivePeriod.start", "1985-04-01");
	ck_assert_ptr_null(at(m, "effectivePeriod.end"));
	json_decref(m);
	m = fhir_get(path_of("MedicationAdministration", g.course1, NULL));
	assert_at(m, "status", "stopped");
	assert_at(m, "statusReason.0.coding.0.code", "toxicity");
	assert_at(m, "dosage.dose.code", "[iU]/kg");
	assert_at(m, "dosage.text", "every 8 hours; 12 doses given in course 1");
	json_decref(m);
	m = fhir_get(path_of("MedicationAdministration", g.course1, "-agent"));
	assert_at(m, "medicationCodeableConcept.coding.0.code", "lak_cells");
	ck_assert_ptr_null(at(m, "dosage"));
	json_decref(m);
	struct resp *r = http_get(path_of("MedicationAdministration", g.solo_course, "-agent"));
	assert_outcome(r, 404, "not-found", NULL); /* IL-2 alone: no other agent */
	resp_free(r);
	json_t *o = fhir_get(path_of("Observation", g.outcome, NULL));
	assert_at(o, "code.coding.0.code", "88040-1");
	assert_at(o, "valueCodeableConcept.coding.0.code", "PR");
	assert_at(o, "method.coding.0.code", "recist_1_1");
	ck_assert(json_is_true(at(o, "extension.0.valueBoolean")));
	assert_at(o, "effectiveDateTime", "1985-04-01");
	json_decref(o);
	json_t *e = fhir_get(path_of("AdverseEvent", g.tox, NULL));
	assert_at(e, "actuality", "actual");
	assert_at(e, "event.text", "Hypotension");
	ck_assert_int_eq(json_integer_value(at(e, "extension.0.valueInteger")), 3);
	assert_at(e, "extension.1.valueDateTime", "1985-02-05");
	assert_at(e, "severity.coding.0.code", "severe");
	assert_at(e, "seriousness.coding.0.code", "serious");
	assert_at(e, "outcome.coding.0.code", "resolved");
	assert_at(e, "suspectEntity.0.causality.0.assessment.coding.0.code", "Certain");
	assert_at(e, "suspectEntity.0.instance.reference",
		  path_of("MedicationAdministration", g.course1, NULL) + 6);
	json_decref(e);
	/* a change shows, with its version */
	json_decref(patch_ok(record_path("toxicities", g.tox), "{\"attribution\":\"unrelated\"}"));
	r = http_get(path_of("AdverseEvent", g.tox, NULL));
	ck_assert_str_eq(resp_header(r, "ETag"), "W/\"2\"");
	ck_assert_ptr_null(at(r->json, "suspectEntity.0.causality.0.assessment.coding"));
	assert_at(r->json, "suspectEntity.0.causality.0.assessment.text", "Unrelated");
	resp_free(r);
	json_t *cs = fhir_get("/fhir/metadata");
	assert_at(cs, "resourceType", "CapabilityStatement");
	assert_at(cs, "fhirVersion", "4.0.1");
	ck_assert_uint_eq(json_array_size(at(cs, "rest.0.resource")), 7);
	assert_at(cs, "rest.0.operation.0.name", "export");
	json_decref(cs);
	api_stop();
}
END_TEST

/* Every page of a search, following next links: the entries' ids. */
static void search_ids(const char *path, char *out, size_t n, int *pages)
{
	out[0] = '\0';
	*pages = 0;
	char next[512];
	snprintf(next, sizeof next, "%s", path);
	while (next[0]) {
		json_t *b = fhir_get(next);
		(*pages)++;
		assert_at(b, "type", "searchset");
		assert_at(b, "link.0.relation", "self");
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(b, "entry"), i, e)
		{
			const char *id = str_at(e, "resource.id");
			const char *full = str_at(e, "fullUrl");
			ck_assert(strstr(full, "/fhir/") && strstr(full, id));
			assert_at(e, "search.mode", "match");
			snprintf(out + strlen(out), n - strlen(out), "%s%s", out[0] ? "," : "", id);
		}
		const char *rel = str_at(b, "link.1.relation");
		next[0] = '\0';
		if (rel && strcmp(rel, "next") == 0) {
			const char *url = strstr(str_at(b, "link.1.url"), "/fhir/");
			snprintf(next, sizeof next, "%s", url);
		}
		json_decref(b);
		ck_assert_int_lt(*pages, 50);
	}
}

START_TEST(test_searches_page_with_next_links)
{
	api_start();
	struct registry g = make_registry();
	for (int i = 0; i < 4; i++)
		make_outcome(g.course2, "{\"response\":\"SD\"}");
	char ids[1024], want[1024], path[128];
	int pages;
	snprintf(path, sizeof path, "/fhir/Observation?patient=%lld&_count=2", (long long)g.lak);
	search_ids(path, ids, sizeof ids, &pages);
	snprintf(want, sizeof want, "%lld,%lld,%lld,%lld,%lld", (long long)g.outcome,
		 (long long)g.outcome + 1, (long long)g.outcome + 2, (long long)g.outcome + 3,
		 (long long)g.outcome + 4);
	ck_assert_str_eq(ids, want);
	ck_assert_int_eq(pages, 3);
	/* subject= is the same search, and Patient/ is allowed */
	snprintf(path, sizeof path, "/fhir/Observation?subject=Patient/%lld&_count=2",
		 (long long)g.lak);
	search_ids(path, ids, sizeof ids, &pages);
	ck_assert_str_eq(ids, want);
	/* a course's IL-2 and its other agent are two entries, paged one by one */
	snprintf(path, sizeof path, "/fhir/MedicationAdministration?patient=%lld&_count=1",
		 (long long)g.lak);
	search_ids(path, ids, sizeof ids, &pages);
	snprintf(want, sizeof want, "%lld,%lld-agent,%lld,%lld-agent", (long long)g.course1,
		 (long long)g.course1, (long long)g.course2, (long long)g.course2);
	ck_assert_str_eq(ids, want);
	ck_assert_int_eq(pages, 4);
	snprintf(path, sizeof path, "/fhir/MedicationAdministration?_count=3");
	search_ids(path, ids, sizeof ids, &pages);
	snprintf(want, sizeof want, "%lld,%lld-agent,%lld,%lld-agent,%lld", (long long)g.course1,
		 (long long)g.course1, (long long)g.course2, (long long)g.course2,
		 (long long)g.solo_course);
	ck_assert_str_eq(ids, want);
	ck_assert_int_eq(pages, 2);
	search_ids("/fhir/Patient", ids, sizeof ids, &pages);
	snprintf(want, sizeof want, "%lld,%lld", (long long)g.lak, (long long)g.alone);
	ck_assert_str_eq(ids, want);
	snprintf(path, sizeof path, "/fhir/Patient?_id=%lld", (long long)g.alone);
	search_ids(path, ids, sizeof ids, &pages);
	snprintf(want, sizeof want, "%lld", (long long)g.alone);
	ck_assert_str_eq(ids, want);
	search_ids("/fhir/Patient?_id=999", ids, sizeof ids, &pages);
	ck_assert_str_eq(ids, "");
	search_ids("/fhir/ResearchStudy", ids, sizeof ids, &pages);
	ck_assert_str_eq(ids, "cohort");
	snprintf(path, sizeof path, "/fhir/AdverseEvent?patient=%lld", (long long)g.alone);
	search_ids(path, ids, sizeof ids, &pages);
	ck_assert_str_eq(ids, "");
	api_stop();
}
END_TEST

START_TEST(test_refusals_are_operation_outcomes)
{
	api_start();
	struct registry g = make_registry();
	char *before = db_fingerprint();
	static const char *const missing[] = {"/fhir/Nope/1",
					      "/fhir/Patient/abc",
					      "/fhir/Patient/0",
					      "/fhir/Patient/999",
					      "/fhir/Patient/1-agent",
					      "/fhir/Observation/999",
					      "/fhir/ResearchStudy/other",
					      "/fhir/Nope",
					      "/fhir/bulk/00000000-0000-4000-8000-000000000000",
					      "/fhir/bulk/x/Patient.ndjson",
					      "/fhir/patient/1"};
	for (size_t i = 0; i < sizeof missing / sizeof *missing; i++) {
		struct resp *r = http_get(missing[i]);
		assert_outcome(r, 404, "not-found", NULL);
		resp_free(r);
	}
	static const char *const bad[][2] = {{"/fhir/Patient?_count=0", "_count"},
					     {"/fhir/Patient?_count=1001", "_count"},
					     {"/fhir/Patient?_count=x", "_count"},
					     {"/fhir/Patient?name=x", "name"},
					     {"/fhir/Patient?patient=1", "patient"},
					     {"/fhir/Observation?patient=Observation/1", "patient"},
					     {"/fhir/Observation?patient=x", "patient"},
					     {"/fhir/Observation?code=88040-1", "code"},
					     {"/fhir/Observation?_page_after=zz", "_page_after"},
					     {"/fhir/Patient/1?_format=xml", "_format"},
					     {"/fhir/Patient/1?_summary=true", "_summary"},
					     {"/fhir/metadata?mode=full", "mode"}};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct resp *r = http_get(bad[i][0]);
		assert_outcome(r, 400, "invalid", bad[i][1]);
		resp_free(r);
	}
	const char *async[] = {"Prefer: respond-async", NULL};
	static const char *const bad_exports[][2] = {
		{"/fhir/$export?_type=Nope", "_type"},
		{"/fhir/$export?_type=Patient,Patient", "_type"},
		{"/fhir/$export?_since=yesterday", "_since"},
		{"/fhir/$export?_since=2026-02-30T00:00:00Z", "_since"},
		{"/fhir/$export?_since=2026-01-01T00:00:00", "_since"},
		{"/fhir/$export?_outputFormat=text/csv", "_outputFormat"},
		{"/fhir/$export?_typeFilter=Patient%3Fx", "_typeFilter"}};
	for (size_t i = 0; i < sizeof bad_exports / sizeof *bad_exports; i++) {
		struct resp *r = http("GET", bad_exports[i][0], async, NULL, 0);
		assert_outcome(r, 400, "invalid", bad_exports[i][1]);
		resp_free(r);
	}
	struct resp *r = http_get("/fhir/$export"); /* no Prefer: respond-async */
	assert_outcome(r, 400, "invalid", NULL);
	resp_free(r);
	r = http("POST", path_of("Patient", g.lak, NULL), NULL, "{}", 2);
	assert_outcome(r, 405, "not-supported", NULL);
	resp_free(r);
	const char *unknown[] = {"Authorization: Bearer cohortd_"
				 "0000000000000000000000000000000000000000000000000000000000000000",
				 NULL};
	r = http("GET", "/fhir/metadata", unknown, NULL, 0);
	assert_outcome(r, 401, "login", NULL);
	ck_assert_ptr_nonnull(resp_header(r, "WWW-Authenticate"));
	resp_free(r);
	assert_unchanged(before);
	/* a reader reads */
	char *reader = api_token_create("reader", "fhir-reader");
	char auth[256];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", reader);
	const char *rh[] = {auth, NULL};
	r = http("GET", path_of("Patient", g.lak, NULL), rh, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
	free(reader);
	api_stop();
}
END_TEST

/* Kicks off an export and polls it to its end: the manifest. */
static json_t *export_done(const char *query, const char *const *headers, char *status_path,
			   size_t n, int *accepted_polls)
{
	const char *h[4] = {"Prefer: respond-async", NULL, NULL, NULL};
	for (int i = 0; headers && headers[i] && i < 2; i++)
		h[i + 1] = headers[i];
	char path[256];
	snprintf(path, sizeof path, "/fhir/$export%s", query ? query : "");
	struct resp *r = http("GET", path, h, NULL, 0);
	ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
	const char *loc = resp_header(r, "Content-Location");
	ck_assert_ptr_nonnull(loc);
	snprintf(status_path, n, "%s", strstr(loc, "/fhir/bulk/"));
	resp_free(r);
	*accepted_polls = 0;
	for (int i = 0; i < 600; i++) {
		r = http("GET", status_path, h + 1, NULL, 0);
		if (r->status == 200) {
			ck_assert_str_eq(resp_header(r, "Content-Type"), "application/json");
			ck_assert_ptr_nonnull(resp_header(r, "Expires"));
			json_t *m = json_incref(r->json);
			resp_free(r);
			return m;
		}
		ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
		ck_assert_ptr_nonnull(strstr(resp_header(r, "X-Progress"), " patients"));
		ck_assert_str_eq(resp_header(r, "Retry-After"), "1");
		(*accepted_polls)++;
		resp_free(r);
		usleep(50000);
	}
	ck_abort_msg("the export did not finish");
	return NULL;
}

/* The file of a type in the manifest, its lines as JSON; the count. */
static size_t read_output(json_t *manifest, const char *type, const char *const *headers,
			  json_t **lines)
{
	*lines = json_array();
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(manifest, "output"), i, o)
	{
		if (strcmp(str_at(o, "type"), type) != 0)
			continue;
		struct resp *r = http("GET", strstr(str_at(o, "url"), "/fhir/"), headers, NULL, 0);
		ck_assert_int_eq(r->status, 200);
		ck_assert_str_eq(resp_header(r, "Content-Type"), "application/fhir+ndjson");
		for (char *line = strtok(r->body, "\n"); line; line = strtok(NULL, "\n")) {
			json_t *res = json_loads(line, 0, NULL);
			ck_assert_ptr_nonnull(res);
			assert_at(res, "resourceType", type);
			json_array_append_new(*lines, res);
		}
		ck_assert_int_eq(json_integer_value(json_object_get(o, "count")),
				 (json_int_t)json_array_size(*lines));
		resp_free(r);
	}
	return json_array_size(*lines);
}

/* Distinct subjects of the resources in lines that pass keep. */
static size_t subjects(json_t *lines, bool (*keep)(json_t *res))
{
	char seen[16384] = ",";
	size_t n = 0, i;
	json_t *res;
	json_array_foreach(lines, i, res)
	{
		if (!keep(res))
			continue;
		char ref[80];
		snprintf(ref, sizeof ref, "%s,", str_at(res, "subject.reference"));
		if (!strstr(seen, ref) && strlen(seen) + strlen(ref) < sizeof seen) {
			strcat(seen, ref);
			n++;
		}
	}
	return n;
}

static bool complete_response(json_t *res)
{
	const char *v = str_at(res, "valueCodeableConcept.coding.0.code");
	return v && strcmp(v, "CR") == 0;
}

static bool treatment_death(json_t *res)
{
	const char *out = str_at(res, "outcome.coding.0.code");
	return out && strcmp(out, "fatal") == 0 &&
	       at(res, "suspectEntity.0.causality.0.assessment.coding") != NULL;
}

START_TEST(test_bulk_export_gives_back_the_paper)
{
	api_start_demo();
	char status[256];
	int polls;
	json_t *m = export_done(NULL, NULL, status, sizeof status, &polls);
	ck_assert(json_is_true(json_object_get(m, "requiresAccessToken")));
	ck_assert_uint_eq(json_array_size(json_object_get(m, "error")), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(m, "output")), 7);
	ck_assert_ptr_nonnull(strstr(str_at(m, "request"), "/fhir/$export"));
	json_t *lines;
	ck_assert_uint_eq(read_output(m, "Patient", NULL, &lines), 652);
	json_decref(lines);
	ck_assert_uint_eq(read_output(m, "Condition", NULL, &lines), 652);
	json_decref(lines);
	ck_assert_uint_eq(read_output(m, "ResearchStudy", NULL, &lines), 1);
	json_decref(lines);
	read_output(m, "MedicationAdministration", NULL, &lines);
	size_t il2 = 0, i;
	json_t *res;
	json_array_foreach(lines, i, res) il2 +=
		strcmp(str_at(res, "medicationCodeableConcept.coding.0.code"), "aldesleukin") == 0;
	ck_assert_uint_eq(il2, 1039);
	json_decref(lines);
	read_output(m, "Observation", NULL, &lines);
	ck_assert_uint_eq(subjects(lines, complete_response), 18);
	json_decref(lines);
	read_output(m, "AdverseEvent", NULL, &lines);
	ck_assert_uint_eq(subjects(lines, treatment_death), 10);
	json_decref(lines);
	json_decref(m);
	/* DELETE removes it: the status and the files are gone */
	char file[300];
	snprintf(file, sizeof file, "%s/Patient.ndjson", status);
	struct resp *r = http("DELETE", status, NULL, NULL, 0);
	ck_assert_int_eq(r->status, 202);
	resp_free(r);
	r = http_get(status);
	assert_outcome(r, 404, "not-found", NULL);
	resp_free(r);
	r = http_get(file);
	assert_outcome(r, 404, "not-found", NULL);
	resp_free(r);
	/* _type and _since */
	m = export_done("?_type=Patient,AdverseEvent", NULL, status, sizeof status, &polls);
	ck_assert_uint_eq(json_array_size(json_object_get(m, "output")), 2);
	assert_at(m, "output.0.type", "Patient");
	assert_at(m, "output.1.type", "AdverseEvent");
	json_decref(m);
	int64_t id = make_patient(NULL);
	json_t *made = get_json(record_path("patients", id));
	char query[128];
	snprintf(query, sizeof query, "?_since=%s", str_at(made, "updated_at"));
	json_decref(made);
	m = export_done(query, NULL, status, sizeof status, &polls);
	ck_assert_uint_eq(read_output(m, "Patient", NULL, &lines), 1);
	ck_assert_int_eq(atoll(str_at(lines, "0.id")), id);
	json_decref(lines);
	ck_assert_uint_eq(read_output(m, "AdverseEvent", NULL, &lines), 0);
	json_decref(lines);
	json_decref(m);
	/* another reader does not see this one's export; an admin does */
	char *reader = api_token_create("reader", "bulk-reader");
	char auth[256];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", reader);
	const char *rh[] = {auth, NULL};
	r = http("GET", status, rh, NULL, 0);
	assert_outcome(r, 404, "not-found", NULL);
	resp_free(r);
	r = http("DELETE", status, rh, NULL, 0);
	assert_outcome(r, 404, "not-found", NULL);
	resp_free(r);
	m = export_done("?_type=ResearchStudy", rh, status, sizeof status, &polls);
	ck_assert_uint_eq(read_output(m, "ResearchStudy", rh, &lines), 1);
	json_decref(lines);
	json_decref(m);
	r = http_get(status); /* the admin */
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
	free(reader);
	api_stop();
}
END_TEST

/* The export reads one snapshot: a patient made and one changed while it
 * runs (it pauses 300 ms after each batch of 256) are not in it as such. */
START_TEST(test_a_write_during_the_bulk_export_is_not_in_it)
{
	setenv("COHORTD_INJECT_PAUSE", "bulk-batch:300", 1);
	api_start_demo();
	unsetenv("COHORTD_INJECT_PAUSE");
	const char *h[] = {"Prefer: respond-async", NULL};
	struct resp *r = http("GET", "/fhir/$export?_type=Patient", h, NULL, 0);
	ck_assert_int_eq(r->status, 202);
	char status[256];
	snprintf(status, sizeof status, "%s", strstr(resp_header(r, "Content-Location"), "/fhir/"));
	resp_free(r);
	/* wait until it is past its first batch, so its snapshot is taken */
	for (int i = 0; i < 200; i++) {
		r = http_get(status);
		bool begun =
			r->status == 202 && strncmp(resp_header(r, "X-Progress"), "0 of", 4) != 0;
		ck_assert_int_eq(r->status, 202);
		resp_free(r);
		if (begun)
			break;
		usleep(20000);
	}
	int64_t id = make_patient(NULL);
	json_decref(
		patch_ok("/patients/1", "{\"sex\":\"female\"}")); /* the demo's patient 1 is male */
	json_t *m = NULL;
	for (int i = 0; i < 200 && !m; i++) {
		r = http_get(status);
		if (r->status == 200)
			m = json_incref(r->json);
		resp_free(r);
		usleep(50000);
	}
	ck_assert_ptr_nonnull(m);
	json_t *lines;
	ck_assert_uint_eq(read_output(m, "Patient", NULL, &lines), 652);
	assert_at(lines, "0.gender", "male");
	size_t i;
	json_t *res;
	json_array_foreach(lines, i, res) ck_assert_int_ne(atoll(str_at(res, "id")), id);
	json_decref(lines);
	json_decref(m);
	api_stop();
}
END_TEST

/* Files go --bulk-ttl seconds after the export is done. */
START_TEST(test_an_expired_export_is_gone)
{
	const char *args[] = {"--bulk-ttl", "1", NULL};
	api_start_demo_with(args);
	char status[256];
	int polls;
	json_t *m = export_done("?_type=Condition", NULL, status, sizeof status, &polls);
	char file[300];
	snprintf(file, sizeof file, "%s/Condition.ndjson", status);
	struct resp *r = http_get(file);
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
	json_decref(m);
	sleep(2);
	r = http_get(file);
	assert_outcome(r, 404, "not-found", NULL);
	resp_free(r);
	r = http_get(status);
	assert_outcome(r, 404, "not-found", NULL);
	resp_free(r);
	api_stop();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fhir");
	TCase *tc = tcase_create("fhir");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_each_resource_says_its_record);
	tcase_add_test(tc, test_searches_page_with_next_links);
	tcase_add_test(tc, test_refusals_are_operation_outcomes);
	tcase_add_test(tc, test_bulk_export_gives_back_the_paper);
	tcase_add_test(tc, test_a_write_during_the_bulk_export_is_not_in_it);
	tcase_add_test(tc, test_an_expired_export_is_gone);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

/* The SDTM datasets (issue 21): on a registry of two patients made here,
 * every dataset as CSV is exactly the text the mapping in docs/sdtm.md
 * gives; as SAS transport it is a version 5 XPORT file of the dataset; the
 * bundle is a zip of every dataset and define.csv; the study identifier is
 * the server's setting; editor or admin only; a parameter it does not
 * take, a format it does not write and a dataset it does not have are
 * refused, and nothing changes. (tools/sdtm-check reads every file back
 * with R on the demo cohort.) */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INVALID_PARAMETER "urn:cohortd:problem:invalid-parameter"

static struct resp *sdtm(const char *path)
{
	char auth[256];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", api_admin_token());
	const char *headers[] = {auth, NULL};
	struct resp *r = http("GET", path, headers, NULL, 0);
	ck_assert_msg(r->status == 200, "GET %s: %ld %s", path, r->status, r->body);
	return r;
}

static void assert_csv(const char *domain, const char *want)
{
	char path[64];
	snprintf(path, sizeof path, "/export/sdtm/%s?format=csv", domain);
	struct resp *r = sdtm(path);
	ck_assert_str_eq(resp_header(r, "Content-Type"), "text/csv; charset=utf-8");
	char disposition[64];
	snprintf(disposition, sizeof disposition, "attachment; filename=\"%s.csv\"", domain);
	for (char *c = disposition; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	ck_assert_str_eq(resp_header(r, "Content-Disposition"), disposition);
	ck_assert_msg(strcmp(r->body, want) == 0, "%s:\n%s\nwanted:\n%s", domain, r->body, want);
	resp_free(r);
}

/* Patient A: treated (a course of IL-2 + LAK, an outcome, a toxicity),
 * dead; patient B: never treated, alive, of no stated age. */
static void make_registry(int64_t ids[6])
{
	ids[0] = make_patient("{\"code\":\"SD-A\",\"sex\":\"female\",\"age\":50,"
			      "\"regimen\":\"il2_lak\",\"enrolled_on\":\"1987-01-02\","
			      "\"vital_status\":\"dead\",\"died_on\":\"1987-06-01\","
			      "\"death_cause\":\"Sepsis\"}");
	ids[1] = make_patient("{\"code\":\"SD-B\",\"sex\":\"other\",\"enrolled_on\":\"1986-11-30\","
			      "\"last_contact_on\":\"1988-02-03\"}");
	ids[2] = make_course(ids[0], "{\"started_on\":\"1987-01-10\",\"ended_on\":\"1987-01-20\","
				     "\"il2_dose\":720000.5}");
	ids[3] = make_outcome(ids[2], "{\"assessed_on\":\"1987-01-10\",\"response\":\"NE\"}");
	ids[4] = make_outcome(ids[2], "{\"assessed_on\":\"1987-03-01\",\"response\":\"PR\","
				      "\"criteria\":\"recist_1_1\",\"confirmed\":true}");
	ids[5] =
		make_toxicity(ids[2], "{\"onset_on\":\"1987-01-12\",\"resolved_on\":\"1987-01-15\","
				      "\"serious\":true,\"outcome\":\"recovered\"}");
}

START_TEST(test_each_dataset_is_the_registry_mapped)
{
	api_start();
	int64_t id[6];
	make_registry(id);
	assert_csv("DM", "STUDYID,DOMAIN,USUBJID,SUBJID,RFSTDTC,RFENDTC,RFXSTDTC,RFXENDTC,"
			 "RFPENDTC,DTHDTC,DTHFL,SITEID,AGE,AGEU,SEX,RACE,ARMCD,ARM,ACTARMCD,"
			 "ACTARM,ARMNRS,COUNTRY\r\n"
			 "COHORTD,DM,COHORTD-SD-A,SD-A,1987-01-10,1987-01-20,1987-01-10,1987-01-20,"
			 "1987-06-01,1987-06-01,Y,01,50,YEARS,F,,IL2LAK,IL-2 + LAK cells,IL2LAK,"
			 "IL-2 + LAK cells,,USA\r\n"
			 "COHORTD,DM,COHORTD-SD-B,SD-B,,,,,1988-02-03,,,01,,,UNDIFFERENTIATED,,"
			 "IL2,IL-2 alone,,,\"ASSIGNED, NOT TREATED\",USA\r\n");
	char want[2048];
	snprintf(want, sizeof want,
		 "STUDYID,DOMAIN,USUBJID,EXSEQ,EXGRPID,EXSPID,EXTRT,EXDOSE,EXDOSU,EXDOSFRM,"
		 "EXDOSFRQ,EXROUTE,EXSTDTC,EXENDTC,EXSTDY,EXENDY\r\n"
		 "COHORTD,EX,COHORTD-SD-A,1,COURSE 1,%lld,ALDESLEUKIN,720000.5,IU/kg,INJECTION,Q8H,"
		 "INTRAVENOUS,1987-01-10,1987-01-20,1,11\r\n"
		 "COHORTD,EX,COHORTD-SD-A,2,COURSE 1,%lld,LYMPHOKINE-ACTIVATED KILLER CELLS,,,,,,"
		 "1987-01-10,1987-01-20,1,11\r\n",
		 (long long)id[2], (long long)id[2]);
	assert_csv("EX", want);
	/* an assessment on the reference start is day 1: there is no day 0 */
	snprintf(want, sizeof want,
		 "STUDYID,DOMAIN,USUBJID,RSSEQ,RSSPID,RSTESTCD,RSTEST,RSCAT,RSORRES,RSSTRESC,"
		 "RSEVAL,RSDTC,RSDY\r\n"
		 "COHORTD,RS,COHORTD-SD-A,1,%lld,OVRLRESP,Overall Response,WHO,NE,NE,"
		 "INVESTIGATOR,1987-01-10,1\r\n"
		 "COHORTD,RS,COHORTD-SD-A,2,%lld,OVRLRESP,Overall Response,RECIST 1.1,PR,PR,"
		 "INVESTIGATOR,1987-03-01,51\r\n",
		 (long long)id[3], (long long)id[4]);
	assert_csv("RS", want);
	assert_csv("SUPPRS",
		   "STUDYID,RDOMAIN,USUBJID,IDVAR,IDVARVAL,QNAM,QLABEL,QVAL,QORIG,QEVAL\r\n"
		   "COHORTD,RS,COHORTD-SD-A,RSSEQ,1,RSCONF,Response Confirmed,N,CRF,"
		   "INVESTIGATOR\r\n"
		   "COHORTD,RS,COHORTD-SD-A,RSSEQ,2,RSCONF,Response Confirmed,Y,CRF,"
		   "INVESTIGATOR\r\n");
	snprintf(want, sizeof want,
		 "STUDYID,DOMAIN,USUBJID,AESEQ,AESPID,AETERM,AEDECOD,AEBODSYS,AESER,AEACN,AEREL,"
		 "AEOUT,AESDTH,AETOXGR,AESTDTC,AEENDTC,AESTDY,AEENDY\r\n"
		 "COHORTD,AE,COHORTD-SD-A,1,%lld,Hypotension,Hypotension,,Y,,RELATED,"
		 "RECOVERED/RESOLVED,N,3,1987-01-12,1987-01-15,3,6\r\n",
		 (long long)id[5]);
	assert_csv("AE", want);
	assert_csv("DS", "STUDYID,DOMAIN,USUBJID,DSSEQ,DSTERM,DSDECOD,DSCAT,DSSTDTC,DSSTDY\r\n"
			 "COHORTD,DS,COHORTD-SD-A,1,Sepsis,DEATH,DISPOSITION EVENT,1987-06-01,"
			 "143\r\n");
	assert_csv("TS",
		   "STUDYID,DOMAIN,TSSEQ,TSPARMCD,TSPARM,TSVAL,TSVALCD,TSVCDREF,TSVCDVER\r\n"
		   "COHORTD,TS,1,TITLE,Trial Title,Treatment cohort registered in cohortd,,,\r\n"
		   "COHORTD,TS,2,TRT,Investigational Therapy or Treatment,ALDESLEUKIN,,,\r\n"
		   "COHORTD,TS,3,STYPE,Study Type,INTERVENTIONAL,,,\r\n"
		   "COHORTD,TS,4,NARMS,Planned Number of Arms,7,,,\r\n"
		   "COHORTD,TS,5,ACTSUB,Actual Number of Subjects,2,,,\r\n"
		   "COHORTD,TS,6,SSTDTC,Study Start Date,1986-11-30,,,\r\n"
		   "COHORTD,TS,7,SDTIGVER,SDTM IG Version,3.3,,,\r\n"
		   "COHORTD,TS,8,SDTMVER,SDTM Version,1.7,,,\r\n");
	/* a change shows at the next export */
	json_decref(patch_ok(record_path("toxicities", id[5]), "{\"attribution\":\"unlikely\"}"));
	struct resp *r = sdtm("/export/sdtm/AE?format=csv");
	ck_assert_ptr_nonnull(strstr(r->body, ",Y,,UNLIKELY RELATED,RECOVERED/RESOLVED,"));
	resp_free(r);
	api_stop();
}
END_TEST

START_TEST(test_transport_files_and_the_zip)
{
	const char *args[] = {"--study-id", "S-1.b_2", "--study-title", "A trial, titled", NULL};
	api_start_with(args);
	int64_t id[6];
	make_registry(id);
	/* SAS transport version 5: 80-byte records, the library header first,
	 * then the member's, named for the dataset */
	struct resp *r = sdtm("/export/sdtm/DM?format=xpt");
	ck_assert_str_eq(resp_header(r, "Content-Type"), "application/x-sas-xport");
	ck_assert_str_eq(resp_header(r, "Content-Disposition"), "attachment; filename=\"dm.xpt\"");
	ck_assert_uint_eq(r->len % 80, 0);
	ck_assert_int_eq(memcmp(r->body, "HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!", 48),
			 0);
	const char *member =
		memmem(r->body, r->len, "HEADER RECORD*******MEMBER  HEADER RECORD", 41);
	ck_assert_ptr_nonnull(member);
	ck_assert_ptr_nonnull(memmem(r->body, r->len, "SAS     DM      SASDATA", 23));
	ck_assert_ptr_nonnull(memmem(r->body, r->len, "S-1.b_2-SD-A", 12));
	ck_assert_ptr_nonnull(memmem(r->body, r->len, "Subject Reference Start Date/Time", 33));
	/* made at the data's last change, not at the time of writing: the same
	 * data give the same bytes a second later */
	json_t *audit = get_json("/audit?limit=100");
	json_t *items = json_object_get(audit, "items");
	const char *at = json_string_value(
		json_object_get(json_array_get(items, json_array_size(items) - 1), "at"));
	ck_assert_ptr_nonnull(at);
	static const char *const months[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
					     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
	char made[32]; /* XPORT's ddMMMyy:hh:mm:ss */
	snprintf(made, sizeof made, "%.2s%s%.2s:%.8s", at + 8, months[atoi(at + 5) - 1], at + 2,
		 at + 11);
	ck_assert_msg(memmem(r->body, 160, made, strlen(made)), "%s in %.160s", made, r->body);
	json_decref(audit);
	usleep(1100 * 1000);
	struct resp *again = sdtm("/export/sdtm/DM?format=xpt");
	ck_assert_uint_eq(again->len, r->len);
	ck_assert_int_eq(memcmp(again->body, r->body, r->len), 0);
	resp_free(again);
	resp_free(r);
	r = sdtm("/export/sdtm/TS?format=csv");
	ck_assert_ptr_nonnull(
		strstr(r->body, "S-1.b_2,TS,1,TITLE,Trial Title,\"A trial, titled\",,,"));
	resp_free(r);
	/* the bundle: a zip of every dataset (xpt unless csv is asked) and the
	 * listing, whose names are in its central directory */
	static const char *const names[] = {"dm", "ex", "rs", "supprs", "ae", "ds", "ts"};
	for (int csv = 0; csv < 2; csv++) {
		r = sdtm(csv ? "/export/sdtm?format=csv" : "/export/sdtm");
		ck_assert_str_eq(resp_header(r, "Content-Type"), "application/zip");
		ck_assert_str_eq(resp_header(r, "Content-Disposition"),
				 "attachment; filename=\"sdtm.zip\"");
		ck_assert_int_eq(memcmp(r->body, "PK\x03\x04", 4), 0);
		const char *central = memmem(r->body, r->len, "PK\x01\x02", 4);
		ck_assert_ptr_nonnull(central);
		for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
			char file[32];
			snprintf(file, sizeof file, "%s.%s", names[i], csv ? "csv" : "xpt");
			ck_assert_msg(memmem(central, r->len - (size_t)(central - r->body), file,
					     strlen(file)),
				      "%s in the zip", file);
		}
		ck_assert_ptr_nonnull(
			memmem(central, r->len - (size_t)(central - r->body), "define.csv", 10));
		resp_free(r);
	}
	api_stop();
}
END_TEST

START_TEST(test_sdtm_refusals)
{
	api_start();
	int64_t id[6];
	make_registry(id);
	char auth[256];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", api_admin_token());
	const char *h[] = {auth, NULL};
	assert_refused("GET", "/export/sdtm/DM?format=json", h, NULL, 400, INVALID_PARAMETER,
		       "format");
	assert_refused("GET", "/export/sdtm?format=sas7bdat", h, NULL, 400, INVALID_PARAMETER,
		       "format");
	assert_refused("GET", "/export/sdtm/AE?grade=3", h, NULL, 400, INVALID_PARAMETER, "grade");
	assert_refused("GET", "/export/sdtm/AE?format=csv&format=xpt", h, NULL, 400,
		       INVALID_PARAMETER, "format");
	static const char *const missing[] = {"/export/sdtm/XX", "/export/sdtm/dm",
					      "/export/sdtm/SUPPAE", "/export/sdtm/DM/1",
					      "/export/sdtm/ABCDEFGHIJKLMNOPQ"};
	for (size_t i = 0; i < sizeof missing / sizeof *missing; i++)
		assert_refused("GET", missing[i], h, NULL, 404, "urn:cohortd:problem:not-found",
			       NULL);
	struct resp *r = http("POST", "/export/sdtm/DM", h, "{}", 2);
	assert_problem(r, 405, "urn:cohortd:problem:method-not-allowed");
	ck_assert_str_eq(resp_header(r, "Allow"), "GET, HEAD");
	resp_free(r);
	/* a reader may not export; an unknown token is a 401 */
	char *reader = api_token_create("reader", "sdtm-reader");
	char rauth[256];
	snprintf(rauth, sizeof rauth, "Authorization: Bearer %s", reader);
	const char *rh[] = {rauth, NULL};
	assert_refused("GET", "/export/sdtm/DM", rh, NULL, 403, "urn:cohortd:problem:forbidden",
		       NULL);
	const char *unknown[] = {"Authorization: Bearer cohortd_"
				 "0000000000000000000000000000000000000000000000000000000000000000",
				 NULL};
	assert_refused("GET", "/export/sdtm", unknown, NULL, 401,
		       "urn:cohortd:problem:unauthorized", NULL);
	free(reader);
	/* an editor may */
	char *editor = api_token_create("editor", "sdtm-editor");
	char eauth[256];
	snprintf(eauth, sizeof eauth, "Authorization: Bearer %s", editor);
	const char *eh[] = {eauth, NULL};
	r = http("GET", "/export/sdtm/DS", eh, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	resp_free(r);
	free(editor);
	api_stop();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sdtm");
	TCase *tc = tcase_create("sdtm");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_each_dataset_is_the_registry_mapped);
	tcase_add_test(tc, test_transport_files_and_the_zip);
	tcase_add_test(tc, test_sdtm_refusals);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

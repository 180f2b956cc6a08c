/* FHIR Bulk Data export, system level (the HL7 Bulk Data Access guide):
 * GET /fhir/$export with Prefer: respond-async starts a job and answers 202
 * with its status URL; polling it answers 202 with X-Progress until the job
 * is done, then 200 with the manifest; each output file is NDJSON of one
 * resource type, fetched with the same token; DELETE on the status URL
 * cancels and removes the files; files are removed --bulk-ttl seconds after
 * the job is done. A job runs on a thread of its own, reads one snapshot
 * (a read transaction on a connection of its own) a batch of 256 patients at
 * a time, and writes each resource as it is made: memory stays bounded. Jobs
 * live in this process: a status URL is answered by the instance that made
 * it. */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "db.h"
#include "digest.h"
#include "fhir.h"
#include "handlers.h"
#include "http.h"
#include "inject.h"
#include "log.h"
#include "query.h"
#include "resources.h"
#include "store.h"
#include "util.h"

#define BULK_SLOTS   8 /* jobs kept at once, running or done */
#define BULK_RUNNING 2 /* running at once */
#define BULK_BATCH   256

enum job_state { JOB_FREE, JOB_RUNNING, JOB_DONE, JOB_FAILED };

struct job {
	enum job_state state;
	bool cancel;    /* asked to stop (DELETE); the thread removes its files */
	char id[37];    /* a random UUID */
	char actor[65]; /* who started it: only they (or an admin) see it */
	char dir[256];  /* its files */
	char request[512];
	char transaction_time[32];
	char since[32]; /* "" or an instant as records' updated_at are written */
	bool types[FHIR_TYPE_COUNT];
	int64_t done, total; /* patients */
	int64_t counts[FHIR_TYPE_COUNT];
	time_t finished;       /* for the Expires header */
	long long finished_ms; /* CLOCK_MONOTONIC, for the removal */
	char error[256];
};

static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct job jobs[BULK_SLOTS];
static unsigned ttl_seconds = 3600;

void fhir_bulk_set_ttl(unsigned seconds)
{
	ttl_seconds = seconds;
}

static void remove_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		char path[PATH_MAX];
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Frees the slots of jobs done longer ago than the time to live, removing
 * their files. Under jobs_lock. */
static void sweep(void)
{
	long long now = now_ms();
	for (int i = 0; i < BULK_SLOTS; i++) {
		struct job *j = &jobs[i];
		if ((j->state == JOB_DONE || j->state == JOB_FAILED) &&
		    now - j->finished_ms >= (long long)ttl_seconds * 1000) {
			remove_files(j->dir);
			j->state = JOB_FREE;
		}
	}
}

/* --- the job ---------------------------------------------------------- */

struct run {
	struct job *job;
	struct db *db;
	FILE *out[FHIR_TYPE_COUNT];
	int64_t counts[FHIR_TYPE_COUNT];
	struct record *patients;
	int npatients;
	bool *treated; /* by the batch's patient index */
	bool failed;
};

static void write_resource(struct run *r, enum fhir_type t, json_t *res)
{
	if (!res) {
		r->failed = true;
		return;
	}
	char *text = json_dumps(res, JSON_COMPACT);
	json_decref(res);
	if (!text || fputs(text, r->out[t]) < 0 || fputc('\n', r->out[t]) < 0)
		r->failed = true;
	free(text);
	r->counts[t]++;
}

static bool changed(const struct run *r, const struct record *rec)
{
	return !r->job->since[0] || strcmp(rec->updated_at, r->job->since) >= 0;
}

static int patient_index(const struct run *r, int64_t id)
{
	int lo = 0, hi = r->npatients - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (r->patients[mid].id == id)
			return mid;
		if (r->patients[mid].id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static bool each_course(void *cls, const struct record *c)
{
	struct run *r = cls;
	int i = patient_index(r, record_get(c, &courses_resource, "patient_id")->i);
	if (i < 0)
		return true;
	r->treated[i] = true;
	if (r->out[FHIR_MEDICATION_ADMINISTRATION] && changed(r, c)) {
		const char *regimen = record_text(&r->patients[i], &patients_resource, "regimen");
		write_resource(r, FHIR_MEDICATION_ADMINISTRATION,
			       fhir_medication_administration(c, regimen, false));
		if (fhir_regimen_has_agent(regimen))
			write_resource(r, FHIR_MEDICATION_ADMINISTRATION,
				       fhir_medication_administration(c, regimen, true));
	}
	return !r->failed;
}

static bool each_outcome(void *cls, const struct record *o)
{
	struct run *r = cls;
	if (changed(r, o))
		write_resource(r, FHIR_OBSERVATION, fhir_observation(o));
	return !r->failed;
}

static bool each_toxicity(void *cls, const struct record *t)
{
	struct run *r = cls;
	if (changed(r, t))
		write_resource(r, FHIR_ADVERSE_EVENT, fhir_adverse_event(t));
	return !r->failed;
}

static int run_batches(struct run *r)
{
	struct list_query q = {0};
	q.limit = BULK_BATCH;
	bool more = true;
	int rc = DB_OK;
	while (more && rc == DB_OK) {
		pthread_mutex_lock(&jobs_lock);
		bool cancelled = r->job->cancel;
		pthread_mutex_unlock(&jobs_lock);
		if (cancelled)
			return DB_ERROR;
		rc = store_list(r->db, &patients_resource, &q, &r->patients, &r->npatients, &more);
		if (rc != DB_OK || r->npatients == 0)
			break;
		int64_t lo = r->patients[0].id, hi = r->patients[r->npatients - 1].id;
		r->treated = xcalloc((size_t)r->npatients, sizeof *r->treated);
		if (!r->treated)
			rc = DB_ERROR;
		if (rc == DB_OK)
			rc = store_each_of_patients(r->db, &courses_resource, lo, hi, each_course,
						    r);
		if (rc == DB_OK && r->out[FHIR_OBSERVATION])
			rc = store_each_of_patients(r->db, &outcomes_resource, lo, hi, each_outcome,
						    r);
		if (rc == DB_OK && r->out[FHIR_ADVERSE_EVENT])
			rc = store_each_of_patients(r->db, &toxicities_resource, lo, hi,
						    each_toxicity, r);
		for (int i = 0; i < r->npatients && rc == DB_OK && !r->failed; i++) {
			const struct record *p = &r->patients[i];
			if (!changed(r, p))
				continue;
			if (r->out[FHIR_PATIENT])
				write_resource(r, FHIR_PATIENT, fhir_patient(p));
			if (r->out[FHIR_CONDITION])
				write_resource(r, FHIR_CONDITION, fhir_condition(p));
			if (r->out[FHIR_RESEARCH_SUBJECT])
				write_resource(r, FHIR_RESEARCH_SUBJECT,
					       fhir_research_subject(p, r->treated[i]));
		}
		if (r->failed && rc == DB_OK)
			rc = DB_ERROR;
		q.after = hi;
		free(r->treated);
		r->treated = NULL;
		pthread_mutex_lock(&jobs_lock);
		r->job->done += r->npatients;
		pthread_mutex_unlock(&jobs_lock);
		inject_pause("bulk-batch");
		store_list_free(r->patients, r->npatients);
		r->patients = NULL;
		r->npatients = 0;
	}
	return rc;
}

static void *run_job(void *arg)
{
	struct job *job = arg;
	struct run r = {.job = job};
	int rc = db_open_another(&r.db);
	if (rc == DB_OK)
		rc = db_read_through(r.db);
	if (rc == DB_OK)
		rc = db_begin_read(r.db); /* one snapshot: a write meanwhile is not in it */
	struct registry_counts n = {0};
	if (rc == DB_OK)
		rc = store_registry_counts(r.db, &n);
	pthread_mutex_lock(&jobs_lock);
	job->total = n.patients;
	pthread_mutex_unlock(&jobs_lock);
	for (int t = 0; t < FHIR_TYPE_COUNT && rc == DB_OK; t++) {
		if (!job->types[t])
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s.ndjson", job->dir,
			 fhir_type_name((enum fhir_type)t));
		if (!(r.out[t] = fopen(path, "w")))
			rc = DB_ERROR;
	}
	if (rc == DB_OK && r.out[FHIR_RESEARCH_STUDY])
		write_resource(&r, FHIR_RESEARCH_STUDY, fhir_research_study());
	if (rc == DB_OK)
		rc = run_batches(&r);
	for (int t = 0; t < FHIR_TYPE_COUNT; t++)
		if (r.out[t] && fclose(r.out[t]) != 0)
			rc = DB_ERROR;
	char why[256];
	snprintf(why, sizeof why, "%s",
		 rc == DB_OK ? ""
		 : r.db      ? db_last_error(r.db)
			     : "no connection");
	if (r.db) {
		db_rollback(r.db);
		db_close(r.db);
	}
	pthread_mutex_lock(&jobs_lock);
	bool cancelled = job->cancel; /* once freed, the slot may be another job's */
	if (cancelled) {
		remove_files(job->dir);
		job->state = JOB_FREE;
	} else {
		job->finished = time(NULL);
		job->finished_ms = now_ms();
		job->state = rc == DB_OK ? JOB_DONE : JOB_FAILED;
		memcpy(job->counts, r.counts, sizeof job->counts);
		snprintf(job->error, sizeof job->error, "%s", why);
	}
	pthread_mutex_unlock(&jobs_lock);
	if (rc != DB_OK && !cancelled)
		log_write(LOG_WARN, "a bulk export failed", json_pack("{s:s}", "error", why));
	return NULL;
}

/* --- the routes -------------------------------------------------------- */

/* _since as records' updated_at are written ("2026-12-05T10:00:00.000Z"),
 * from an instant with a zone (Z or +hh:mm); false when it is not one, or
 * names a day no calendar has. */
static bool since_of(const char *s, char out[32])
{
	struct tm tm = {0};
	int ms = 0;
	const char *p = strlen(s) <= 35 ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!p || p - s != 19)
		return false;
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
		if (digits == 0)
			return false;
		for (; digits < 3; digits++)
			ms *= 10;
	}
	long offset = 0;
	if (*p == 'Z') {
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int h = (p[1] - '0') * 10 + (p[2] - '0'), m = (p[4] - '0') * 10 + (p[5] - '0');
		if (h > 14 || m > 59)
			return false;
		offset = (*p == '+' ? 1 : -1) * (h * 3600L + m * 60L);
		p += 6;
	} else {
		return false;
	}
	if (*p)
		return false;
	time_t local = timegm(&tm); /* normalises tm: 02-30 becomes 03-02 */
	char again[24];
	strftime(again, sizeof again, "%Y-%m-%dT%H:%M:%S", &tm);
	if (local == (time_t)-1 || strncmp(again, s, 19) != 0)
		return false;
	time_t t = local - offset;
	struct tm utc;
	if (!gmtime_r(&t, &utc))
		return false;
	strftime(again, sizeof again, "%Y-%m-%dT%H:%M:%S", &utc);
	snprintf(out, 32, "%.19s.%03dZ", again, ms % 1000);
	return true;
}

/* Appends each parameter of the request to sb, as it came. */
static int keep_param(void *cls, const char *key, const char *value)
{
	query_keep(cls, key, value);
	return 0;
}

static bool take_types(struct query *qs, bool types[FHIR_TYPE_COUNT])
{
	const char *v = query_take(qs, "_type");
	if (!v) {
		for (int t = 0; t < FHIR_TYPE_COUNT; t++)
			types[t] = true;
		return true;
	}
	for (int t = 0; t < FHIR_TYPE_COUNT; t++)
		types[t] = false;
	char name[64];
	for (const char *p = v;; p++) {
		size_t n = strcspn(p, ",");
		snprintf(name, sizeof name, "%.*s", (int)(n < 63 ? n : 63), p);
		int t = fhir_type_named(name);
		if (t < 0 || types[t]) {
			query_error(qs, "_type",
				    t < 0 ? "names a resource type this server does not export "
					    "(Patient, Condition, ResearchStudy, ResearchSubject, "
					    "MedicationAdministration, Observation, AdverseEvent)"
					  : "names a type twice");
			return false;
		}
		types[t] = true;
		p += n;
		if (!*p)
			break;
	}
	return true;
}

/* The job of that id, if the request's actor started it or is an admin. */
static struct job *find(const struct request *req, const char *id)
{
	for (int i = 0; i < BULK_SLOTS; i++)
		if (jobs[i].state != JOB_FREE && !jobs[i].cancel && strcmp(jobs[i].id, id) == 0 &&
		    (req->role == ROLE_ADMIN || strcmp(jobs[i].actor, req->actor) == 0))
			return &jobs[i];
	return NULL;
}

/* The job id and file of the path /fhir/bulk/ID[/FILE]. */
static void job_path(const struct request *req, char id[40], char file[80])
{
	const char *p = req->path + strlen("/fhir/bulk/");
	size_t n = strcspn(p, "/");
	snprintf(id, 40, "%.*s", (int)(n < 39 ? n : 39), p);
	file[0] = '\0';
	if (p[n] == '/')
		snprintf(file, 80, "%s", p + n + 1);
}

static void reply_information(struct request *req, unsigned status, const char *text)
{
	reply_json_as(req, status, "application/fhir+json",
		      json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "resourceType", "OperationOutcome",
				"issue", "severity", "information", "code", "informational",
				"diagnostics", text));
}

void fhir_export_kickoff(struct request *req)
{
	const char *prefer = request_header(req, "Prefer");
	if (!prefer || !strstr(prefer, "respond-async")) {
		reply_problem(req, 400, PROBLEM_INVALID_PARAMETER,
			      "a bulk export runs asynchronously: send Prefer: respond-async");
		return;
	}
	struct query qs;
	query_parse(req, &qs);
	struct job draft = {0};
	take_types(&qs, draft.types);
	const char *since = query_take(&qs, "_since");
	if (since && !since_of(since, draft.since))
		query_error(&qs, "_since",
			    "must be an instant with its zone, e.g. 2026-12-05T10:00:00Z");
	const char *format = query_take(&qs, "_outputFormat");
	if (format && strcmp(format, "application/fhir+ndjson") != 0 &&
	    strcmp(format, "application/ndjson") != 0 && strcmp(format, "ndjson") != 0)
		query_error(&qs, "_outputFormat", "must be application/fhir+ndjson");
	query_refuse_unused(&qs, "is not a parameter of this export (it takes _type, _since, "
				 "_outputFormat)");
	bool refused = query_reply_errors(req, &qs);
	query_free(&qs);
	if (refused)
		return;
	char base[256];
	fhir_base_url(req, base, sizeof base);
	pthread_mutex_lock(&jobs_lock);
	sweep();
	struct job *slot = NULL;
	int running = 0;
	for (int i = 0; i < BULK_SLOTS; i++) {
		running += jobs[i].state == JOB_RUNNING;
		if (jobs[i].state == JOB_FREE && !slot)
			slot = &jobs[i];
	}
	if (!slot || running >= BULK_RUNNING) {
		pthread_mutex_unlock(&jobs_lock);
		reply_header(req, "Retry-After", "10");
		reply_problem(req, 429, NULL,
			      "too many bulk exports are running or kept; retry later, or cancel "
			      "one (DELETE its status URL)");
		return;
	}
	*slot = draft;
	random_uuid(slot->id);
	snprintf(slot->actor, sizeof slot->actor, "%s", req->actor);
	const char *tmp = getenv("TMPDIR");
	snprintf(slot->dir, sizeof slot->dir, "%s/cohortd-bulk-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	time_t now = time(NULL);
	struct tm utc;
	gmtime_r(&now, &utc);
	strftime(slot->transaction_time, sizeof slot->transaction_time, "%Y-%m-%dT%H:%M:%SZ", &utc);
	struct strbuf params = {0};
	request_query_each(req, keep_param, &params);
	snprintf(slot->request, sizeof slot->request, "%s/$export%s%s", base, params.len ? "?" : "",
		 params.len ? params.data : "");
	strbuf_free(&params);
	bool ok = mkdtemp(slot->dir) != NULL;
	pthread_t thread;
	pthread_attr_t attr;
	if (ok) {
		slot->state = JOB_RUNNING;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		ok = pthread_create(&thread, &attr, run_job, slot) == 0;
		pthread_attr_destroy(&attr);
		if (!ok) {
			remove_files(slot->dir);
			slot->state = JOB_FREE;
		}
	}
	char id[37];
	memcpy(id, slot->id, sizeof id);
	pthread_mutex_unlock(&jobs_lock);
	if (!ok) {
		reply_problem(req, 503, PROBLEM_UNAVAILABLE, "the export could not be started");
		return;
	}
	reply_header(req, "Content-Location", "%s/bulk/%s", base, id);
	reply_information(req, 202, "the export has started; poll Content-Location for its status");
}

static void manifest(struct request *req, const struct job *j, const char *base)
{
	json_t *output = json_array();
	for (int t = 0; t < FHIR_TYPE_COUNT; t++) {
		if (!j->types[t] || j->counts[t] == 0)
			continue;
		const char *name = fhir_type_name((enum fhir_type)t);
		char url[400];
		snprintf(url, sizeof url, "%s/bulk/%s/%s.ndjson", base, j->id, name);
		json_array_append_new(output, json_pack("{s:s, s:s, s:I}", "type", name, "url", url,
							"count", (json_int_t)j->counts[t]));
	}
	time_t expires = j->finished + (time_t)ttl_seconds;
	char when[64];
	struct tm utc;
	strftime(when, sizeof when, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&expires, &utc));
	reply_header(req, "Expires", "%s", when);
	reply_json(req, 200,
		   json_pack("{s:s, s:s, s:b, s:o, s:[]}", "transactionTime", j->transaction_time,
			     "request", j->request, "requiresAccessToken", 1, "output", output,
			     "error"));
}

void fhir_export_status(struct request *req)
{
	char id[40], file[80];
	job_path(req, id, file);
	char base[256];
	fhir_base_url(req, base, sizeof base);
	pthread_mutex_lock(&jobs_lock);
	sweep();
	struct job *j = find(req, id);
	struct job copy;
	if (j) {
		copy = *j;
		if (strcmp(req->method, "DELETE") == 0) {
			if (j->state == JOB_RUNNING) {
				j->cancel = true; /* the thread removes the files */
			} else {
				remove_files(j->dir);
				j->state = JOB_FREE;
			}
		}
	}
	pthread_mutex_unlock(&jobs_lock);
	if (!j) {
		reply_problem(req, 404, PROBLEM_NOT_FOUND,
			      "no bulk export %.40s here (never started, cancelled, or expired and "
			      "removed)",
			      id);
		return;
	}
	if (strcmp(req->method, "DELETE") == 0) {
		reply_information(req, 202, "the export is cancelled and its files removed");
		return;
	}
	if (copy.state == JOB_RUNNING) {
		reply_header(req, "X-Progress", "%lld of %lld patients", (long long)copy.done,
			     (long long)copy.total);
		reply_header(req, "Retry-After", "1");
		reply_information(req, 202, "the export is running");
		return;
	}
	if (copy.state == JOB_FAILED) {
		reply_problem(req, 500, PROBLEM_INTERNAL, "the export failed: %s", copy.error);
		return;
	}
	manifest(req, &copy, base);
}

void fhir_export_file(struct request *req)
{
	char id[40], file[80];
	job_path(req, id, file);
	pthread_mutex_lock(&jobs_lock);
	sweep();
	struct job *j = find(req, id);
	FILE *f = NULL;
	bool listed = false;
	if (j && j->state == JOB_DONE) {
		for (int t = 0; t < FHIR_TYPE_COUNT && !listed; t++) {
			char name[64];
			snprintf(name, sizeof name, "%s.ndjson", fhir_type_name((enum fhir_type)t));
			listed = j->types[t] && j->counts[t] > 0 && strcmp(name, file) == 0;
		}
		if (listed) {
			char path[PATH_MAX];
			snprintf(path, sizeof path, "%s/%s", j->dir, file);
			f = fopen(path, "r"); /* open: a later removal leaves it readable */
		}
	}
	pthread_mutex_unlock(&jobs_lock);
	if (!f) {
		reply_problem(req, 404, PROBLEM_NOT_FOUND,
			      "no file %.64s of a finished bulk export %.40s here", file, id);
		return;
	}
	reply_stream_file(req, 200, "application/fhir+ndjson", f);
}

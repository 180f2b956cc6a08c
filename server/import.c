/* NDJSON bulk import: each line is unpacked into its records, parent first,
 * and each record inserted exactly as a POST would insert it, with the
 * parent's id filled in. The first refused line stops the import; its
 * problems name the line and the path of the field inside it, e.g.
 * line 17, courses[0].outcomes[1].response. */
#include "import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "records.h"
#include "resources.h"

static void line_error(struct import_session *s, int status, const char *field, const char *msg)
{
	if (!s->status)
		s->status = status;
	json_array_append_new(s->errors, json_pack("{s:I, s:s, s:s}", "line",
						   (json_int_t)s->counts.lines, "field", field,
						   "message", msg));
}

/* Copies errs into s->errors with each field prefixed by where it sits. */
static void nested_errors(struct import_session *s, const char *prefix, struct field_errors *errs)
{
	size_t i;
	json_t *e;
	json_array_foreach(errs->list, i, e)
	{
		const char *field = json_string_value(json_object_get(e, "field"));
		char path[256];
		snprintf(path, sizeof path, "%s%s%s", prefix, *prefix && *field ? "." : "", field);
		line_error(s, 422, path, json_string_value(json_object_get(e, "message")));
	}
}

/* Takes the nested array key out of obj (a copy the caller owns), checking
 * it is an array; sets *out to it (a new reference) or NULL when absent. */
static int take_array(struct import_session *s, json_t *obj, const char *key, const char *prefix,
		      json_t **out)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_array(v)) {
		char path[256];
		snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", key);
		line_error(s, 422, path, "must be an array");
		return 1;
	}
	*out = json_incref(v);
	json_object_del(obj, key);
	return 0;
}

/* Inserts one record of res from obj under parent (field = parent id). */
static int insert_one(struct import_session *s, const struct resource *res, json_t *obj,
		      const char *parent_field, int64_t parent_id, const char *prefix,
		      int64_t *id)
{
	if (!json_is_object(obj)) {
		line_error(s, 422, prefix, "must be a JSON object");
		return 1;
	}
	if (parent_field) {
		if (json_object_get(obj, parent_field)) {
			char path[256];
			snprintf(path, sizeof path, "%s.%s", prefix, parent_field);
			line_error(s, 422, path, "is set by the import from the enclosing record");
			return 1;
		}
		json_object_set_new(obj, parent_field, json_integer(parent_id));
	}
	struct record rec = {0};
	struct field_errors errs;
	field_errors_init(&errs);
	int rc = records_insert(s->db, s->audit, res, obj, &rec, &errs);
	*id = rec.id;
	record_clear(&rec);
	if (rc == DB_CONFLICT) {
		char path[256];
		snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", res->unique_field);
		line_error(s, 409, path, "is already used by another record");
		rc = 1;
	} else if (rc == DB_OK && field_errors_any(&errs)) {
		nested_errors(s, prefix, &errs);
		rc = 1;
	}
	field_errors_free(&errs);
	return rc;
}

static int import_course(struct import_session *s, json_t *course, int64_t patient_id,
			 const char *prefix)
{
	json_t *outcomes = NULL, *toxicities = NULL;
	int64_t course_id = 0;
	int rc = json_is_object(course) ? 0 : 1;
	if (rc)
		line_error(s, 422, prefix, "must be a JSON object");
	if (!rc)
		rc = take_array(s, course, "outcomes", prefix, &outcomes);
	if (!rc)
		rc = take_array(s, course, "toxicities", prefix, &toxicities);
	if (!rc)
		rc = insert_one(s, &courses_resource, course, "patient_id", patient_id, prefix,
				&course_id);
	if (!rc)
		s->counts.courses++;
	json_t *lists[2] = {outcomes, toxicities};
	const struct resource *kinds[2] = {&outcomes_resource, &toxicities_resource};
	for (int k = 0; k < 2 && !rc; k++) {
		size_t i;
		json_t *item;
		json_array_foreach(lists[k], i, item)
		{
			char path[256];
			int64_t id;
			snprintf(path, sizeof path, "%s.%s[%zu]", prefix, kinds[k]->name, i);
			rc = insert_one(s, kinds[k], item, "course_id", course_id, path, &id);
			if (rc)
				break;
			if (k == 0)
				s->counts.outcomes++;
			else
				s->counts.toxicities++;
		}
	}
	json_decref(outcomes);
	json_decref(toxicities);
	return rc;
}

int import_begin(struct import_session *s, struct db *db, const struct audit_context *audit)
{
	memset(s, 0, sizeof *s);
	s->db = db;
	s->audit = audit;
	s->errors = json_array();
	return db_begin_write(db);
}

int import_line(struct import_session *s, const char *line, size_t len)
{
	s->counts.lines++;
	size_t start = 0;
	while (start < len && (line[start] == ' ' || line[start] == '\t' || line[start] == '\r'))
		start++;
	if (start == len)
		return 0;
	json_error_t err;
	json_t *patient = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	if (!patient) {
		char msg[256];
		snprintf(msg, sizeof msg, "is not valid JSON: %s (column %d)", err.text, err.column);
		line_error(s, 422, "", msg);
		return 1;
	}
	json_t *courses = NULL;
	int64_t patient_id = 0;
	int rc = json_is_object(patient) ? 0 : 1;
	if (rc)
		line_error(s, 422, "", "a line must be a JSON object: one patient");
	if (!rc)
		rc = take_array(s, patient, "courses", "", &courses);
	if (!rc)
		rc = insert_one(s, &patients_resource, patient, NULL, 0, "", &patient_id);
	if (!rc)
		s->counts.patients++;
	size_t i;
	json_t *course;
	json_array_foreach(courses, i, course)
	{
		if (rc)
			break;
		char path[64];
		snprintf(path, sizeof path, "courses[%zu]", i);
		rc = import_course(s, course, patient_id, path);
	}
	json_decref(courses);
	json_decref(patient);
	return rc;
}

int import_end(struct import_session *s, int commit)
{
	int rc = DB_OK;
	if (commit && !s->status)
		rc = db_commit(s->db);
	else
		db_rollback(s->db);
	json_decref(s->errors);
	s->errors = NULL;
	return rc;
}

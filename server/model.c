/* Records and their JSON form, driven by the field descriptors of model.h.
 * This is where a body becomes a record: unknown and server-managed members
 * are refused, types, enums, ranges and dates are checked, a merge patch is
 * applied to the stored record, defaults fill the gaps, and every problem is
 * reported against the member that caused it. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "validate.h"

void field_errors_init(struct field_errors *errs)
{
	errs->list = json_array();
	if (!errs->list)
		abort();
}

void field_errors_free(struct field_errors *errs)
{
	json_decref(errs->list);
	errs->list = NULL;
}

void field_error(struct field_errors *errs, const char *field, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_t *e = json_pack("{s:s, s:s}", "field", field, "message", msg);
	if (!e || json_array_append_new(errs->list, e) != 0)
		abort();
}

bool field_errors_any(const struct field_errors *errs)
{
	return json_array_size(errs->list) > 0;
}

int resource_field_index(const struct resource *res, const char *name)
{
	for (int i = 0; i < res->nfields; i++)
		if (strcmp(res->fields[i].name, name) == 0)
			return i;
	return -1;
}

const struct value *record_get(const struct record *rec, const struct resource *res,
			       const char *name)
{
	int i = resource_field_index(res, name);
	if (i < 0)
		abort(); /* a typo in our own code, not bad input */
	return &rec->v[i];
}

struct value *record_slot(struct record *rec, const struct resource *res, const char *name)
{
	return (struct value *)record_get(rec, res, name);
}

void value_set_null(struct value *v)
{
	free(v->s);
	*v = (struct value){.kind = VALUE_NULL};
}

void value_set_text(struct value *v, const char *s)
{
	value_set_null(v);
	v->kind = VALUE_TEXT;
	v->s = xstrdup(s);
}

void value_set_int(struct value *v, int64_t i)
{
	value_set_null(v);
	v->kind = VALUE_INT;
	v->i = i;
}

void record_clear(struct record *rec)
{
	for (int i = 0; i < RECORD_MAX_FIELDS; i++)
		free(rec->v[i].s);
	memset(rec, 0, sizeof *rec);
}

void record_copy(struct record *dst, const struct record *src, int nfields)
{
	*dst = *src;
	for (int i = 0; i < nfields; i++)
		if (src->v[i].kind == VALUE_TEXT)
			dst->v[i].s = xstrdup(src->v[i].s);
}

static bool values_equal(const struct value *a, const struct value *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case VALUE_NULL:
		return true;
	case VALUE_INT:
		return a->i == b->i;
	case VALUE_REAL:
		return a->r == b->r;
	case VALUE_TEXT:
		return strcmp(a->s, b->s) == 0;
	}
	return false;
}

bool record_fields_equal(const struct resource *res, const struct record *a,
			 const struct record *b)
{
	for (int i = 0; i < res->nfields; i++)
		if (!values_equal(&a->v[i], &b->v[i]))
			return false;
	return true;
}

static bool server_managed(const char *name)
{
	return strcmp(name, "id") == 0 || strcmp(name, "version") == 0 ||
	       strcmp(name, "created_at") == 0 || strcmp(name, "updated_at") == 0;
}

static void set_default(const struct field *f, struct value *v)
{
	if (f->default_text)
		value_set_text(v, f->default_text);
	else if (f->has_default_int)
		value_set_int(v, f->default_int);
	else
		value_set_null(v);
}

static void choices_text(const char *const *choices, char *out, size_t len)
{
	size_t used = 0;
	out[0] = '\0';
	for (const char *const *c = choices; *c && used < len; c++)
		used += (size_t)snprintf(out + used, len - used, "%s%s", c == choices ? "" : ", ", *c);
}

/* Converts one JSON member to a value of field f, or says why it cannot. */
static bool value_from_json(const struct field *f, json_t *j, struct value *out,
			    struct field_errors *errs)
{
	const char *name = f->name;
	switch (f->type) {
	case FIELD_INT:
	case FIELD_BOOL:
		if (f->type == FIELD_BOOL) {
			if (!json_is_boolean(j)) {
				field_error(errs, name, "must be true or false");
				return false;
			}
			value_set_int(out, json_is_true(j));
			return true;
		}
		if (!json_is_integer(j)) {
			field_error(errs, name, "must be an integer");
			return false;
		}
		if (json_integer_value(j) < f->min || json_integer_value(j) > f->max) {
			field_error(errs, name, "must be between %lld and %lld", (long long)f->min,
				    (long long)f->max);
			return false;
		}
		value_set_int(out, json_integer_value(j));
		return true;
	case FIELD_REAL: {
		if (!json_is_number(j)) {
			field_error(errs, name, "must be a number");
			return false;
		}
		double d = json_number_value(j);
		if (!isfinite(d) || d <= 0) {
			field_error(errs, name, "must be a number greater than 0");
			return false;
		}
		value_set_null(out);
		out->kind = VALUE_REAL;
		out->r = d;
		return true;
	}
	case FIELD_TEXT:
	case FIELD_DATE:
	case FIELD_ENUM:
		break;
	}
	if (!json_is_string(j)) {
		field_error(errs, name, "must be a string");
		return false;
	}
	const char *s = json_string_value(j);
	size_t len = json_string_length(j);
	if (f->type == FIELD_DATE) {
		if (!valid_date(s, len)) {
			field_error(errs, name, "must be a real calendar date as YYYY-MM-DD (1900 or later)");
			return false;
		}
	} else if (f->type == FIELD_ENUM) {
		if (strlen(s) != len || !in_choices(s, f->choices)) {
			char list[256];
			choices_text(f->choices, list, sizeof list);
			field_error(errs, name, "must be one of: %s", list);
			return false;
		}
	} else {
		size_t chars = 0;
		if (f->text_ok && !f->text_ok(s, len)) {
			field_error(errs, name, "%s", f->text_rule);
			return false;
		}
		if (!valid_text(s, len, &chars)) {
			field_error(errs, name, "must be visible text without control characters");
			return false;
		}
		if ((int64_t)chars < f->min || (int64_t)chars > f->max) {
			field_error(errs, name, "must be %lld to %lld characters long", (long long)f->min,
				    (long long)f->max);
			return false;
		}
	}
	value_set_text(out, s);
	return true;
}

void record_from_json(const struct resource *res, json_t *body, const struct record *old,
		      struct record *rec, struct field_errors *errs)
{
	bool seen[RECORD_MAX_FIELDS] = {false};
	const char *key;
	size_t key_len;
	json_t *member;

	memset(rec, 0, sizeof *rec);
	if (old)
		record_copy(rec, old, res->nfields);
	if (!json_is_object(body)) {
		field_error(errs, "", "the body must be a JSON object");
		return;
	}
	json_object_keylen_foreach(body, key, key_len, member)
	{
		int i = strlen(key) == key_len ? resource_field_index(res, key) : -1;
		if (server_managed(key) || (i >= 0 && (res->fields[i].flags & FIELD_DERIVED))) {
			field_error(errs, key, "is set by the server and cannot be written");
			continue;
		}
		if (i < 0) {
			field_error(errs, key, "is not a field of %s", res->singular);
			continue;
		}
		const struct field *f = &res->fields[i];
		seen[i] = true;
		if (old && (f->flags & FIELD_IMMUTABLE)) {
			field_error(errs, key, "cannot be changed once the %s exists", res->singular);
			continue;
		}
		if (json_is_null(member)) {
			if (f->flags & FIELD_REQUIRED)
				field_error(errs, key, "is required and cannot be null");
			else
				set_default(f, &rec->v[i]);
			continue;
		}
		struct value v = {0};
		if (!value_from_json(f, member, &v, errs))
			continue;
		value_set_null(&rec->v[i]);
		rec->v[i] = v;
	}
	if (!old) {
		for (int i = 0; i < res->nfields; i++) {
			const struct field *f = &res->fields[i];
			if (seen[i] || (f->flags & FIELD_DERIVED))
				continue;
			if (f->flags & FIELD_REQUIRED)
				field_error(errs, f->name, "is required");
			else
				set_default(f, &rec->v[i]);
		}
	}
	if (!field_errors_any(errs) && res->check_record)
		res->check_record(rec, errs);
}

json_t *record_to_json(const struct resource *res, const struct record *rec)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int rc = json_object_set_new(o, "id", json_integer(rec->id));
	for (int i = 0; i < res->nfields && rc == 0; i++) {
		const struct value *v = &rec->v[i];
		json_t *j;
		switch (v->kind) {
		case VALUE_INT:
			j = res->fields[i].type == FIELD_BOOL ? json_boolean(v->i) : json_integer(v->i);
			break;
		case VALUE_REAL:
			j = json_real(v->r);
			break;
		case VALUE_TEXT:
			j = json_string(v->s);
			break;
		default:
			j = json_null();
		}
		rc = json_object_set_new(o, res->fields[i].name, j);
	}
	if (rc == 0)
		rc = json_object_set_new(o, "version", json_integer(rec->version));
	if (rc == 0)
		rc = json_object_set_new(o, "created_at", json_string(rec->created_at));
	if (rc == 0)
		rc = json_object_set_new(o, "updated_at", json_string(rec->updated_at));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

bool value_from_param(const struct field *f, const char *text, struct value *out)
{
	int64_t n;
	*out = (struct value){.kind = VALUE_NULL};
	switch (f->type) {
	case FIELD_INT:
		if (!parse_int64(text, &n) || n < f->min || n > f->max)
			return false;
		value_set_int(out, n);
		return true;
	case FIELD_BOOL:
		if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)
			return false;
		value_set_int(out, text[0] == 't');
		return true;
	case FIELD_ENUM:
		if (!in_choices(text, f->choices))
			return false;
		break;
	case FIELD_DATE:
		if (!valid_date(text, strlen(text)))
			return false;
		break;
	case FIELD_TEXT: {
		size_t chars;
		if (!valid_text(text, strlen(text), &chars) || (int64_t)chars > f->max)
			return false;
		if (f->text_ok && !f->text_ok(text, strlen(text)))
			return false;
		break;
	}
	case FIELD_REAL:
		return false;
	}
	value_set_text(out, text);
	return true;
}

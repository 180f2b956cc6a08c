/* Records and their JSON form, driven by the field descriptors of model.h.
 * This is where a body becomes a record: unknown and server-managed members
 * are refused, types, enums, ranges and dates are checked, a merge patch is
 * applied to the stored record, defaults fill the gaps, and every problem is
 * reported against the member that caused it. */
#include "model.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "util.h"
#include "validate.h"

void field_errors_init(struct field_errors *errs)
{
	errs->list = json_array(); /* NULL when out of memory (noted: util.h) */
	errs->unchecked = json_array();
	errs->broken = 0;
	errs->fatal = false;
}

void field_errors_free(struct field_errors *errs)
{
	json_decref(errs->list);
	json_decref(errs->unchecked);
	errs->list = NULL;
	errs->unchecked = NULL;
}

void field_error(struct field_errors *errs, const char *field, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_array_append_new(errs->list, json_pack("{s:s, s:s}", "field", field, "message", msg));
}

bool field_errors_any(const struct field_errors *errs)
{
	return json_array_size(errs->list) > 0 || errs->fatal;
}

/* Is field among the first n problems? */
static bool named_in(const struct field_errors *errs, size_t n, const char *field)
{
	for (size_t i = 0; i < n && i < json_array_size(errs->list); i++) {
		const char *f =
			json_string_value(json_object_get(json_array_get(errs->list, i), "field"));
		if (f && strcmp(f, field) == 0)
			return true;
	}
	return false;
}

static void note_unchecked(struct field_errors *errs, const char *field, const char *rule,
			   const char *because)
{
	json_array_append_new(errs->unchecked, json_pack("{s:s, s:s, s:s}", "field", field, "rule",
							 rule, "because", because));
}

bool rule_ready(struct field_errors *errs, const char *missing, const char *field, const char *rule,
		...)
{
	const char *because = missing;
	if (!because && named_in(errs, errs->broken, field))
		because = field;
	va_list ap;
	va_start(ap, rule);
	for (const char *input; !because && (input = va_arg(ap, const char *)) != NULL;)
		if (named_in(errs, errs->broken, input))
			because = input;
	va_end(ap);
	if (because)
		note_unchecked(errs, field, rule, because);
	return !because;
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

const char *record_text(const struct record *rec, const struct resource *res, const char *name)
{
	const struct value *v = record_get(rec, res, name);
	return v->kind == VALUE_TEXT ? v->s : NULL;
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

/* Left null when the copy cannot be made (noted: util.h). */
void value_set_text(struct value *v, const char *s)
{
	value_set_null(v);
	v->s = xstrdup(s);
	if (v->s)
		v->kind = VALUE_TEXT;
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
		if (src->v[i].kind == VALUE_TEXT && !(dst->v[i].s = xstrdup(src->v[i].s)))
			dst->v[i].kind = VALUE_NULL;
}

static bool values_equal(const struct value *a, const struct value *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case VALUE_NULL: return true;
	case VALUE_INT: return a->i == b->i;
	case VALUE_REAL: return a->r == b->r;
	case VALUE_TEXT: return strcmp(a->s, b->s) == 0;
	}
	return false;
}

bool record_fields_equal(const struct resource *res, const struct record *a, const struct record *b)
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
		used += (size_t)snprintf(out + used, len - used, "%s%s", c == choices ? "" : ", ",
					 *c);
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
	case FIELD_ENUM: break;
	}
	if (!json_is_string(j)) {
		field_error(errs, name, "must be a string");
		return false;
	}
	const char *s = json_string_value(j);
	size_t len = json_string_length(j);
	if (f->type == FIELD_DATE) {
		if (!valid_date(s, len)) {
			field_error(errs, name,
				    "must be a real calendar date as YYYY-MM-DD (1900 or later)");
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
			field_error(errs, name,
				    "must be visible text without control, bidirectional-control "
				    "or zero-width characters");
			return false;
		}
		if ((int64_t)chars < f->min || (int64_t)chars > f->max) {
			field_error(errs, name, "must be %lld to %lld characters long",
				    (long long)f->min, (long long)f->max);
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
		errs->fatal = true;
		return;
	}
	/* A body of a hundred thousand unknown members would otherwise earn an
	 * answer naming each one. */
	size_t members = json_object_size(body), most = (size_t)res->nfields + 8;
	if (members > most) {
		field_error(errs, "", "has %zu members; a %s has %d fields", members, res->singular,
			    res->nfields);
		errs->fatal = true;
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
			field_error(errs, key, "cannot be changed once the %s exists",
				    res->singular);
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
	errs->broken = json_array_size(errs->list);
	/* a default or a copy lost for memory: the record is not whole */
	if (!alloc_failure_seen() && res->check_record)
		res->check_record(rec, errs);
}

/* As Jansson dumps a string: quotes, backslash and control characters
 * escaped, everything else (UTF-8 included) as it is. */
static void write_string(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	strbuf_append(sb, "\"", 1);
	const char *run = s;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		strbuf_append(sb, run, (size_t)(p - run));
		run = p + 1;
		char esc[7] = {'\\', (char)c, 0};
		switch (c) {
		case '"':
		case '\\': break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
		}
		strbuf_puts(sb, esc);
	}
	strbuf_append(sb, run, strlen(run));
	strbuf_append(sb, "\"", 1);
}

/* As Jansson dumps a real: %.<precision>g, the exponent without "+" or
 * leading zeros (1e20, 3e-7), and ".0" added when that reads as an integer. */
static void write_real(struct strbuf *sb, double d, int precision)
{
	char buf[40];
	snprintf(buf, sizeof buf, "%.*g", precision, d);
	char *e = strchr(buf, 'e');
	if (e) {
		char *from = e + 1, *to = e + 1;
		if (*from == '-')
			*to++ = *from++;
		else if (*from == '+')
			from++;
		while (*from == '0' && from[1])
			from++;
		memmove(to, from, strlen(from) + 1);
	}
	strbuf_puts(sb, buf);
	if (!strpbrk(buf, ".eE") && strcmp(buf, "inf") != 0 && strcmp(buf, "nan") != 0)
		strbuf_puts(sb, ".0");
}

static void write_value(struct strbuf *sb, const struct field *f, const struct value *v,
			int precision)
{
	switch (v->kind) {
	case VALUE_INT:
		if (f->type == FIELD_BOOL) {
			strbuf_puts(sb, v->i ? "true" : "false");
		} else {
			strbuf_int(sb, (long long)v->i);
		}
		break;
	case VALUE_REAL: write_real(sb, v->r, precision); break;
	case VALUE_TEXT: write_string(sb, v->s); break;
	default: strbuf_puts(sb, "null");
	}
}

/* Member i of a record in its API order: id, fields, version, timestamps. */
static const char *member_name(const struct resource *res, int i)
{
	if (i == 0)
		return "id";
	if (i <= res->nfields)
		return res->fields[i - 1].name;
	static const char *const tail[] = {"version", "created_at", "updated_at"};
	return tail[i - res->nfields - 1];
}

static void write_member(struct strbuf *sb, const struct resource *res, const struct record *rec,
			 int i, int precision)
{
	strbuf_append(sb, "\"", 1);
	strbuf_puts(sb, member_name(res, i));
	strbuf_append(sb, "\":", 2);
	if (i == 0 || i == res->nfields + 1) {
		strbuf_int(sb, (long long)(i == 0 ? rec->id : rec->version));
	} else if (i > res->nfields + 1) {
		write_string(sb, i == res->nfields + 2 ? rec->created_at : rec->updated_at);
	} else {
		write_value(sb, &res->fields[i - 1], &rec->v[i - 1], precision);
	}
}

#define RECORD_MEMBERS (RECORD_MAX_FIELDS + 4)

struct sorted_members {
	const struct resource *res;
	int order[RECORD_MEMBERS];
};

static struct sorted_members sorted_cache[8];
static pthread_mutex_t sorted_lock = PTHREAD_MUTEX_INITIALIZER;

/* The members of res in byte order of their names, as JSON_SORT_KEYS. */
static const int *sorted_order(const struct resource *res)
{
	struct sorted_members *found = NULL;
	pthread_mutex_lock(&sorted_lock);
	for (size_t i = 0; i < sizeof sorted_cache / sizeof sorted_cache[0] && !found; i++) {
		struct sorted_members *m = &sorted_cache[i];
		if (m->res == res) {
			found = m;
		} else if (!m->res) {
			int n = res->nfields + 4;
			for (int k = 0; k < n; k++)
				m->order[k] = k;
			for (int a = 1; a < n; a++)
				for (int b = a; b > 0 && strcmp(member_name(res, m->order[b - 1]),
								member_name(res, m->order[b])) > 0;
				     b--) {
					int t = m->order[b];
					m->order[b] = m->order[b - 1];
					m->order[b - 1] = t;
				}
			m->res = res;
			found = m;
		}
	}
	pthread_mutex_unlock(&sorted_lock);
	if (!found)
		abort(); /* more resources than slots: a programming error */
	return found->order;
}

void record_write_json(struct strbuf *sb, const struct resource *res, const struct record *rec,
		       enum record_json_form form)
{
	const int *order = form == RECORD_JSON_CANONICAL ? sorted_order(res) : NULL;
	int precision = form == RECORD_JSON_CANONICAL ? 17 : 15;
	strbuf_append(sb, "{", 1);
	for (int k = 0; k < res->nfields + 4; k++) {
		if (k)
			strbuf_append(sb, ",", 1);
		write_member(sb, res, rec, order ? order[k] : k, precision);
	}
	strbuf_append(sb, "}", 1);
}

int record_member_count(const struct resource *res)
{
	return res->nfields + 4;
}

int record_member_index(const struct resource *res, const char *name)
{
	for (int k = 0; k < record_member_count(res); k++)
		if (strcmp(member_name(res, k), name) == 0)
			return k;
	return -1;
}

void record_write_json_picked(struct strbuf *sb, const struct resource *res,
			      const struct record *rec, uint32_t pick)
{
	bool first = true;
	strbuf_append(sb, "{", 1);
	for (int k = 0; k < record_member_count(res); k++) {
		if (!(pick & (1u << k)))
			continue;
		if (!first)
			strbuf_append(sb, ",", 1);
		write_member(sb, res, rec, k, 15);
		first = false;
	}
	strbuf_append(sb, "}", 1);
}

void record_write_csv_header_picked(struct strbuf *sb, const struct resource *res, uint32_t pick)
{
	bool first = true;
	for (int k = 0; k < record_member_count(res); k++) {
		if (!(pick & (1u << k)))
			continue;
		csv_cell(sb, member_name(res, k), first);
		first = false;
	}
	csv_end_row(sb);
}

void record_write_csv_header(struct strbuf *sb, const struct resource *res)
{
	record_write_csv_header_picked(sb, res, RECORD_ALL);
}

/* Member k of a record as a CSV cell. */
static void csv_member(struct strbuf *sb, const struct resource *res, const struct record *rec,
		       int k, bool first)
{
	char buf[40];
	if (k == 0 || k == res->nfields + 1) {
		snprintf(buf, sizeof buf, "%lld", (long long)(k == 0 ? rec->id : rec->version));
		csv_number(sb, buf, first);
		return;
	}
	if (k > res->nfields) {
		csv_cell(sb, k == res->nfields + 2 ? rec->created_at : rec->updated_at, first);
		return;
	}
	int i = k - 1;
	const struct value *v = &rec->v[i];
	if (v->kind == VALUE_INT && res->fields[i].type == FIELD_BOOL) {
		csv_cell(sb, v->i ? "true" : "false", first);
	} else if (v->kind == VALUE_INT) {
		snprintf(buf, sizeof buf, "%lld", (long long)v->i);
		csv_number(sb, buf, first);
	} else if (v->kind == VALUE_REAL) {
		snprintf(buf, sizeof buf, "%.15g", v->r);
		csv_number(sb, buf, first);
	} else {
		csv_cell(sb, v->kind == VALUE_TEXT ? v->s : NULL, first);
	}
}

void record_write_csv_picked(struct strbuf *sb, const struct resource *res,
			     const struct record *rec, uint32_t pick)
{
	bool first = true;
	for (int k = 0; k < record_member_count(res); k++) {
		if (!(pick & (1u << k)))
			continue;
		csv_member(sb, res, rec, k, first);
		first = false;
	}
	csv_end_row(sb);
}

void record_write_csv(struct strbuf *sb, const struct resource *res, const struct record *rec)
{
	record_write_csv_picked(sb, res, rec, RECORD_ALL);
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
	case FIELD_REAL: return false;
	}
	value_set_text(out, text);
	return true;
}

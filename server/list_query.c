/* A list's query language, read once into a list_query (store.h) and a
 * list_form (records.h): filters with PostgREST's operators written before
 * the value (grade=gte.4, onset_on=lt.1988-01-01, histology=in.melanoma,
 * renal_cell, last_contact_on=is.null or not.is.null, code=like.NCI-SB-00*,
 * a plain value for equality), repeatable for a range; sort= with - for
 * descending; a keyset cursor, opaque and bound to the filters and sort it
 * was made under; fields=; count=exact. Every refusal names its parameter
 * and says what would do. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "query.h"
#include "records.h"
#include "store.h"
#include "util.h"
#include "validate.h"

#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT     1000
#define CURSOR_MAX         1024 /* bytes of a cursor as sent */

static bool parse_bounded(const char *text, int64_t min, int64_t max, int64_t *out)
{
	return parse_int64(text, out) && *out >= min && *out <= max;
}

static bool ordered(const struct field *f)
{
	return f->type == FIELD_INT || f->type == FIELD_REAL || f->type == FIELD_DATE;
}

/* The operator in front of a filter's value, and the value after it. */
static const struct {
	const char *prefix;
	enum filter_op op;
} operators[] = {
	{"eq.", FILTER_EQ}, {"gte.", FILTER_GE}, {"gt.", FILTER_GT},       {"lte.", FILTER_LE},
	{"lt.", FILTER_LT}, {"in.", FILTER_IN},  {"like.", FILTER_PREFIX},
};

/* One value of field f into out; false (with why) when it is not one. */
static bool one_value(const struct field *f, const char *text, struct value *out, const char **why)
{
	if (value_from_param(f, text, out))
		return true;
	*why = f->type == FIELD_DATE   ? "is not a date (YYYY-MM-DD) after its operator"
	       : f->type == FIELD_ENUM ? "is not one of the field's values"
	       : f->type == FIELD_INT  ? "is not an integer in the field's range"
	       : f->type == FIELD_BOOL ? "must be true or false"
				       : "is not a valid value for this field";
	return false;
}

/* A comma-separated list with no empty item. */
static bool well_listed(const char *text)
{
	size_t len = strlen(text);
	return len > 0 && text[0] != ',' && text[len - 1] != ',' && !strstr(text, ",,");
}

/* in.a,b or in.(a,b): up to STORE_MAX_IN values. */
static bool list_values(const struct field *f, const char *text, struct filter *out,
			const char **why)
{
	char buf[1024];
	size_t len = strlen(text);
	if (len >= 2 && text[0] == '(' && text[len - 1] == ')') {
		text++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof buf) {
		*why = "in. takes 1 to 20 values separated by commas";
		return false;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (!well_listed(buf)) {
		*why = "in. takes 1 to 20 values separated by commas";
		return false;
	}
	char *save = NULL;
	for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (out->nin == STORE_MAX_IN) {
			*why = "in. takes 1 to 20 values separated by commas";
			return false;
		}
		if (!one_value(f, item, &out->in[out->nin], why))
			return false;
		out->nin++;
	}
	return true;
}

/* A filter's value with its operator, for field f, into out. */
static bool parse_filter(const struct field *f, const char *text, struct filter *out,
			 const char **why)
{
	if (strcmp(text, "is.null") == 0 || strcmp(text, "not.is.null") == 0) {
		if (f->flags & FIELD_REQUIRED) {
			*why = "is never null: is.null and not.is.null apply to optional fields";
			return false;
		}
		out->op = text[0] == 'i' ? FILTER_NULL : FILTER_NOT_NULL;
		return true;
	}
	out->op = FILTER_EQ;
	for (size_t i = 0; i < sizeof operators / sizeof *operators; i++) {
		size_t n = strlen(operators[i].prefix);
		if (strncmp(text, operators[i].prefix, n) == 0) {
			out->op = operators[i].op;
			text += n;
			break;
		}
	}
	switch (out->op) {
	case FILTER_GE:
	case FILTER_GT:
	case FILTER_LE:
	case FILTER_LT:
		if (!ordered(f)) {
			*why = "gt., gte., lt. and lte. apply to numbers and dates, not to this "
			       "field";
			return false;
		}
		return one_value(f, text, &out->value, why);
	case FILTER_IN:
		if (f->type != FIELD_ENUM && f->type != FIELD_INT && f->type != FIELD_TEXT) {
			*why = "in. applies to enumerated, integer and text fields, not to this "
			       "one";
			return false;
		}
		return list_values(f, text, out, why);
	case FILTER_PREFIX: {
		size_t len = strlen(text);
		if (f->type != FIELD_TEXT) {
			*why = "like. applies to text fields (code, term), not to this one";
			return false;
		}
		if (len < 2 || text[len - 1] != '*' || memchr(text, '*', len - 1)) {
			*why = "like. takes a prefix and one * at its end, e.g. like.Hypo*";
			return false;
		}
		char prefix[512];
		if (len - 1 >= sizeof prefix) {
			*why = "like. takes a prefix of at most 500 bytes";
			return false;
		}
		memcpy(prefix, text, len - 1);
		prefix[len - 1] = '\0';
		value_set_text(&out->value, prefix);
		return out->value.s != NULL || (*why = "memory ran out", false);
	}
	default:
		/* a plain list of an enumerated field's values is in. */
		if (f->type == FIELD_ENUM && strchr(text, ',')) {
			out->op = FILTER_IN;
			return list_values(f, text, out, why);
		}
		return one_value(f, text, &out->value, why);
	}
}

/* sort=a,-b: fields of the resource, or id. */
static void parse_sort(const struct resource *res, struct query *qs, const char *text,
		       struct list_query *q)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", text);
	if (!well_listed(text) || strlen(text) >= sizeof buf) {
		query_error(qs, "sort",
			    "must be fields separated by commas, - before a field for "
			    "descending, e.g. sort=-onset_on,grade");
		return;
	}
	char *save = NULL;
	for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		bool desc = item[0] == '-';
		const char *name = item + desc;
		int field = strcmp(name, "id") == 0 ? -1 : resource_field_index(res, name);
		if (field < 0 && strcmp(name, "id") != 0) {
			query_error(qs, "sort", "names a field this list does not have");
			return;
		}
		for (int i = 0; i < q->nsort; i++)
			if (q->sort[i].field == field) {
				query_error(qs, "sort", "names a field twice");
				return;
			}
		if (q->nsort == STORE_MAX_SORT) {
			query_error(qs, "sort", "takes at most 4 fields");
			return;
		}
		q->sort[q->nsort++] = (struct sort_key){field, desc};
	}
}

/* fields=a,b: members of the record. */
static void parse_fields(const struct resource *res, struct query *qs, const char *text,
			 struct list_form *form)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", text);
	if (!well_listed(text) || strlen(text) >= sizeof buf) {
		query_error(qs, "fields",
			    "must be fields separated by commas, e.g. fields=id,code");
		return;
	}
	form->pick = 0;
	char *save = NULL;
	for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		int k = record_member_index(res, item);
		if (k < 0) {
			query_error(qs, "fields", "names a field this list does not have");
			return;
		}
		form->pick |= 1u << k;
	}
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL;
}

/* --- the cursor: base64url of [shape, [keys...], id] --------------------- */

static json_t *value_json(const struct value *v)
{
	switch (v->kind) {
	case VALUE_INT: return json_integer(v->i);
	case VALUE_REAL: return json_real(v->r);
	case VALUE_TEXT: return json_string(v->s);
	default: return json_null();
	}
}

char *list_cursor(const struct list_query *q, const struct list_form *form,
		  const struct record *rec)
{
	char shape[17];
	snprintf(shape, sizeof shape, "%016llx", (unsigned long long)form->shape);
	json_t *keys = json_array();
	for (int i = 0; i < q->nsort; i++)
		json_array_append_new(keys, q->sort[i].field < 0
						    ? json_integer(rec->id)
						    : value_json(&rec->v[q->sort[i].field]));
	json_t *c = json_pack("[s, o, I]", shape, keys, (json_int_t)rec->id);
	char *text = c ? json_dumps(c, JSON_COMPACT) : NULL;
	json_decref(c);
	if (!text)
		return NULL;
	size_t len = strlen(text);
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	if (out) {
		int n = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)text,
					(int)len);
		while (n > 0 && out[n - 1] == '=')
			n--;
		out[n] = '\0';
		for (char *p = out; *p; p++)
			*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	}
	free(text);
	return out;
}

/* The cursor's keys into q (q's sort already read); false when it is not a
 * cursor of this list under these filters and sort. */
static bool read_cursor(const struct resource *res, const char *text, struct list_query *q,
			const struct list_form *form, const char **why)
{
	*why = "is not a cursor this list gave (follow the next link as it is)";
	size_t len = strlen(text);
	if (len == 0 || len > CURSOR_MAX ||
	    strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != len)
		return false;
	char b64[CURSOR_MAX + 4];
	memcpy(b64, text, len);
	for (size_t i = 0; i < len; i++)
		b64[i] = b64[i] == '-' ? '+' : b64[i] == '_' ? '/' : b64[i];
	size_t pad = (4 - len % 4) % 4;
	if (pad == 3)
		return false;
	memset(b64 + len, '=', pad);
	b64[len + pad] = '\0';
	unsigned char raw[CURSOR_MAX];
	int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)(len + pad));
	if (n < 0)
		return false;
	n -= (int)pad; /* EVP_DecodeBlock counts the padding's zero bytes */
	json_t *c = json_loadb((const char *)raw, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	const char *shape;
	json_t *keys;
	json_int_t id;
	bool ok = c && json_unpack(c, "[s, o, I]", &shape, &keys, &id) == 0 &&
		  json_is_array(keys) && json_array_size(keys) == (size_t)q->nsort;
	char want[17];
	snprintf(want, sizeof want, "%016llx", (unsigned long long)form->shape);
	if (ok && strcmp(shape, want) != 0) {
		*why = "was made for another query: a cursor keeps the filters and sort of the "
		       "list that gave it";
		ok = false;
	}
	for (int i = 0; ok && i < q->nsort; i++) {
		json_t *k = json_array_get(keys, (size_t)i);
		int f = q->sort[i].field;
		enum field_type t = f < 0 ? FIELD_INT : res->fields[f].type;
		if (json_is_null(k) && f >= 0)
			value_set_null(&q->key[i]);
		else if (json_is_integer(k) && (t == FIELD_INT || t == FIELD_BOOL))
			value_set_int(&q->key[i], json_integer_value(k));
		else if (json_is_number(k) && t == FIELD_REAL)
			q->key[i] = (struct value){.kind = VALUE_REAL, .r = json_number_value(k)};
		else if (json_is_string(k) &&
			 (t == FIELD_TEXT || t == FIELD_DATE || t == FIELD_ENUM))
			value_set_text(&q->key[i], json_string_value(k));
		else
			ok = false;
	}
	q->key_id = id;
	q->has_cursor = ok;
	json_decref(c);
	return ok;
}

/* A filter parameter into q (a field, or min_<integer field> as before;
 * patient_id is the path's under a patient): false when p names none. */
static bool take_filter(const struct resource *res, bool nested, struct query *qs,
			struct query_param *p, struct list_query *q, uint64_t *shape,
			struct strbuf *kept)
{
	bool min = strncmp(p->key, "min_", 4) == 0;
	int field = resource_field_index(res, min ? p->key + 4 : p->key);
	if (field < 0 || (nested && strcmp(p->key, "patient_id") == 0) ||
	    (min && res->fields[field].type != FIELD_INT))
		return false;
	if (q->nfilters == STORE_MAX_FILTERS - 1) {
		query_error(qs, p->key, "is one filter too many (at most 11)");
		return true;
	}
	struct filter *f = &q->filters[q->nfilters];
	const char *why = NULL;
	bool ok =
		min ? (f->op = FILTER_GE, one_value(&res->fields[field], p->value, &f->value, &why))
		    : parse_filter(&res->fields[field], p->value, f, &why);
	f->field = field;
	q->nfilters++; /* cleared whole by list_query_clear, even if refused */
	if (!ok) {
		query_error(qs, p->key, why);
		return true;
	}
	*shape = fnv(fnv(*shape, p->key), p->value);
	if (kept)
		query_keep(kept, p->key, p->value);
	return true;
}

void records_parse_filters(const struct resource *res, struct query *qs, struct list_query *q)
{
	uint64_t shape = 0;
	for (int i = 0; i < qs->n; i++) {
		struct query_param *p = &qs->params[i];
		p->used = take_filter(res, false, qs, p, q, &shape, NULL);
	}
}

/* --- the query ------------------------------------------------------------ */

void records_parse_list_query(const struct resource *res, bool nested, struct query *qs,
			      struct list_query *q, struct list_form *form, struct strbuf *kept)
{
	static const char *const once[] = {"format", "limit",  "after", "cursor",
					   "sort",   "fields", "count", NULL};
	bool seen[8] = {0};
	const char *cursor = NULL;
	bool after = false;
	int64_t n;
	uint64_t shape = fnv(1469598103934665603ULL, res->name);
	q->limit = q->limit ? q->limit : LIST_DEFAULT_LIMIT;
	if (!form->pick)
		form->pick = RECORD_ALL;
	for (int i = 0; i < qs->n; i++) {
		struct query_param *p = &qs->params[i];
		p->used = true;
		int which = -1;
		for (int k = 0; once[k]; k++)
			if (strcmp(p->key, once[k]) == 0)
				which = k;
		if (which >= 0 && seen[which]) {
			query_error(qs, p->key, "is given more than once");
			continue;
		}
		if (which >= 0)
			seen[which] = true;
		if (which == 0) {
			if (strcmp(p->value, "csv") != 0 && strcmp(p->value, "json") != 0)
				query_error(qs, p->key, "must be json or csv");
			else
				form->csv = strcmp(p->value, "csv") == 0;
			query_keep(kept, p->key, p->value);
		} else if (which == 1) {
			if (strcmp(p->value, "all") == 0)
				form->all = true;
			else if (!parse_bounded(p->value, 1, LIST_MAX_LIMIT, &n))
				query_error(qs, p->key,
					    "must be an integer from 1 to 1000, or all");
			else
				q->limit = (int)n;
			query_keep(kept, p->key, p->value);
		} else if (which == 2) {
			after = true;
			if (!parse_bounded(p->value, 0, INT64_MAX, &n))
				query_error(qs, p->key, "must be a record id (an integer >= 0)");
			else
				q->after = n;
		} else if (which == 3) {
			cursor = p->value;
		} else if (which == 4) {
			parse_sort(res, qs, p->value, q);
			shape = fnv(fnv(shape, "sort"), p->value);
			query_keep(kept, p->key, p->value);
		} else if (which == 5) {
			parse_fields(res, qs, p->value, form);
			query_keep(kept, p->key, p->value);
		} else if (which == 6) {
			if (strcmp(p->value, "exact") != 0)
				query_error(qs, p->key, "must be exact");
			form->count = true;
			query_keep(kept, p->key, p->value);
		} else if (!take_filter(res, nested, qs, p, q, &shape, kept)) {
			p->used = false;
		}
	}
	query_refuse_unused(qs, "is not a parameter of this list");
	form->shape = shape;
	if (q->nsort > 0 && after)
		query_error(qs, "after",
			    "applies without sort; a sorted list pages with the cursor of its next "
			    "link");
	if (cursor && q->nsort == 0)
		query_error(qs, "cursor", "applies only with sort (without it, page with after)");
	else if (cursor && json_array_size(qs->errors) == 0) {
		const char *why;
		if (!read_cursor(res, cursor, q, form, &why))
			query_error(qs, "cursor", why);
	}
	if (form->all && q->nsort > 0)
		query_error(qs, "limit", "all is the collection in id order: it takes no sort");
}

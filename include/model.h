/* The data model as data: every resource of CONTRACT.md is a table of field
 * descriptors, and a record is an array of values in that order. Storage binds
 * and reads columns by walking the descriptors; the HTTP side turns bodies into
 * records and records into JSON by walking the same descriptors. One
 * description therefore drives validation, SQL, and the JSON shape.
 *
 * Ownership: a record owns the strings of its TEXT values; record_clear()
 * frees them. Functions returning json_t * return a new reference. */
#ifndef COHORTD_MODEL_H
#define COHORTD_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define RECORD_MAX_FIELDS 16

enum value_kind { VALUE_NULL, VALUE_INT, VALUE_REAL, VALUE_TEXT };

struct value {
	enum value_kind kind;
	int64_t i;
	double r;
	char *s;
};

enum field_type {
	FIELD_TEXT,
	FIELD_INT,
	FIELD_REAL, /* a JSON number; stored as recorded */
	FIELD_BOOL, /* stored as 0/1 */
	FIELD_DATE, /* YYYY-MM-DD, a real calendar date */
	FIELD_ENUM,
};

enum field_flags {
	FIELD_REQUIRED = 1 << 0,  /* must be present on create, cannot be nulled */
	FIELD_DERIVED = 1 << 1,   /* set by the server; never accepted in a body */
	FIELD_IMMUTABLE = 1 << 2, /* set on create; a PATCH may not change it */
	FIELD_FILTER = 1 << 3,    /* usable as an equality filter on lists */
};

struct field {
	const char *name;
	enum field_type type;
	unsigned flags;
	const char *const *choices; /* FIELD_ENUM: NULL-terminated */
	int64_t min, max;           /* FIELD_INT range; FIELD_TEXT length in characters */
	const char *default_text;   /* FIELD_ENUM default, or NULL */
	int64_t default_int;        /* FIELD_BOOL default when has_default_int */
	bool has_default_int;
	/* FIELD_TEXT: an extra rule on the characters, and how to say it failed */
	bool (*text_ok)(const char *s, size_t len);
	const char *text_rule;
};

/* A stored or proposed record of one resource; v[] follows resource->fields. */
struct record {
	int64_t id;
	int64_t version;
	char created_at[32];
	char updated_at[32];
	struct value v[RECORD_MAX_FIELDS];
};

struct db;
struct field_errors;
struct child;
struct patient_facts;
struct course_facts;

struct resource {
	const char *name;     /* collection and table name: "patients" */
	const char *singular; /* "patient" */
	const struct field *fields;
	int nfields;
	const char *unique_field; /* named in the 409 of a UNIQUE violation */
	/* Rules within one record (pure). Each asks rule_ready first: a field
	 * may be broken (and null) already. */
	void (*check_record)(const struct record *rec, struct field_errors *errs);
	/* Rules against other records, run inside the write transaction (or, for a
	 * create refused anyway, before it); may set derived fields. old is
	 * NULL on create. Runs whatever errs holds, unless errs->fatal. Returns
	 * 0 or a DB_ code. */
	int (*check_refs)(const struct resource *res, struct db *db, struct record *rec,
			  const struct record *old, struct field_errors *errs);
	/* The rules check_refs applies to a new record once it has read its
	 * parent's facts (a course's patient; an outcome's or a toxicity's
	 * course), and nothing else: pure, so that a bulk import holding the
	 * parent in memory checks them without the database. The parent's facts
	 * are NULL when it could not be read: the rules are then noted as
	 * unchecked. */
	void (*check_parent)(const struct record *rec, const struct patient_facts *patient,
			     const struct course_facts *course, struct field_errors *errs);
	/* The resources whose records point at this one, and by which field:
	 * a record with dependants is not deleted, unless ?cascade=true. */
	const struct child *children;
	int nchildren;
};

struct child {
	const struct resource *res;
	const char *field;
};

/* Validation errors of one request, in the problem body's errors[] shape.
 * Every stage runs even when an earlier one found problems (the fields, the
 * rules across fields of the record, the rules against other records), so
 * that one answer names every broken rule; a rule whose inputs are broken,
 * or that reads a record that could not be found, is moot: rule_ready
 * notes it in unchecked instead. */
struct field_errors {
	json_t *list;      /* array of {"field", "message"} */
	json_t *unchecked; /* array of {"field", "rule", "because"} */
	size_t broken;     /* list[0, broken) are the fields' own problems */
	bool fatal;        /* the body is not a record at all: no rule can run */
};

void field_errors_init(struct field_errors *errs);
void field_errors_free(struct field_errors *errs);
void field_error(struct field_errors *errs, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool field_errors_any(const struct field_errors *errs);
/* May the rule on field (said as rule, e.g. "must not be before
 * enrolled_on") be checked? Not when missing names the reference field
 * whose record could not be read (NULL when it was), nor when field or one
 * of the fields listed after rule (NULL-terminated) is broken (its value
 * was refused; a rule refusing it does not make it so): the rule is then
 * noted as unchecked, because of that field, and false returned. */
bool rule_ready(struct field_errors *errs, const char *missing, const char *field, const char *rule,
		...) __attribute__((sentinel));

int resource_field_index(const struct resource *res, const char *name);
const struct value *record_get(const struct record *rec, const struct resource *res,
			       const char *name);
/* The text of field name, NULL when it is not text (null). */
const char *record_text(const struct record *rec, const struct resource *res, const char *name);
struct value *record_slot(struct record *rec, const struct resource *res, const char *name);

void value_set_text(struct value *v, const char *s);
void value_set_int(struct value *v, int64_t i);
void value_set_null(struct value *v);
void record_clear(struct record *rec);
void record_copy(struct record *dst, const struct record *src, int nfields);
bool record_fields_equal(const struct resource *res, const struct record *a,
			 const struct record *b);

/* Builds *rec from a create body (old == NULL) or by merging a JSON merge
 * patch (RFC 7396) into *old. Checks unknown, server-managed, immutable and
 * required fields, types, enums, ranges and dates, then res->check_record
 * (whose rules skip the fields found broken: rule_ready). Every problem
 * found is added to errs; rec is complete only when none was. A field
 * found broken is null in rec on create, and keeps its old value on a
 * patch. */
void record_from_json(const struct resource *res, json_t *body, const struct record *old,
		      struct record *rec, struct field_errors *errs);

struct strbuf;

enum record_json_form {
	RECORD_JSON_API,       /* key order as above, reals to 15 digits: answers */
	RECORD_JSON_CANONICAL, /* keys sorted, reals to 17 digits: the audit */
};

/* Appends the record's JSON: id, the fields in order (null where absent),
 * version, created_at, updated_at; byte for byte what Jansson would dump
 * for the same object (the unit tests check it), but written straight from
 * the record: a list of a thousand records would otherwise build and free a
 * thousand Jansson objects. */
void record_write_json(struct strbuf *sb, const struct resource *res, const struct record *rec,
		       enum record_json_form form);

/* CSV (RFC 4180): a header row of the member names in JSON order, and a
 * row per record (empty cells for nulls, true/false, ISO dates). */
void record_write_csv_header(struct strbuf *sb, const struct resource *res);
void record_write_csv(struct strbuf *sb, const struct resource *res, const struct record *rec);

/* The members of a record in JSON order: 0 is id, 1 .. nfields the fields,
 * then version, created_at, updated_at. A pick is a set of them (bit k for
 * member k; RECORD_ALL for every one), as a list's fields= asks. */
#define RECORD_ALL 0xFFFFFFFFu
int record_member_count(const struct resource *res);
/* The member named name, or -1. */
int record_member_index(const struct resource *res, const char *name);
/* The same writers, of the picked members only (API form). */
void record_write_json_picked(struct strbuf *sb, const struct resource *res,
			      const struct record *rec, uint32_t pick);
void record_write_csv_header_picked(struct strbuf *sb, const struct resource *res, uint32_t pick);
void record_write_csv_picked(struct strbuf *sb, const struct resource *res,
			     const struct record *rec, uint32_t pick);

/* Parses a query-string value for a filter on field f. */
bool value_from_param(const struct field *f, const char *text, struct value *out);

#endif

/* Record storage: the only place SQL for the clinical resources is written.
 * The generic half (store.c) reads and writes any resource by walking its
 * field descriptors; the per-resource modules (store_patients.c,
 * store_courses.c) answer the questions the cross-record rules ask.
 * Every function returns 0 or a negative DB_ code (db.h). Records filled in
 * here are owned by the caller (record_clear / store_list_free). */
#ifndef COHORTD_STORE_H
#define COHORTD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "model.h"

/* --- any resource ------------------------------------------------------ */

/* Builds the SQL of every resource's get, insert and update, once, before
 * any other call here (main() and the in-process tests): afterwards the
 * store only reads it, without a lock. Calling it again with the same
 * resources does nothing. DB_ERROR when memory ran out. */
int store_init(const struct resource *const *resources, size_t n);

int store_get(struct db *db, const struct resource *res, int64_t id, struct record *out);
/* Inserts rec (version 1, timestamps as given) under rec->id, or under the
 * next id when rec->id is 0, and sets rec->id. */
int store_insert(struct db *db, const struct resource *res, struct record *rec);
/* Inserts n records whose ids are set (a bulk import's), several to a
 * statement. On failure some may be in: the caller holds a db_part. */
int store_insert_many(struct db *db, const struct resource *res, struct record *const *recs, int n);
/* The id the next insert into res would get: past every id ever used. */
int store_next_id(struct db *db, const struct resource *res, int64_t *next);
/* Writes every field, version and updated_at of rec over row rec->id. */
int store_update(struct db *db, const struct resource *res, const struct record *rec);
int store_delete(struct db *db, const struct resource *res, int64_t id);
/* Deletes res's records of the patients lo..hi (the patients themselves
 * when res is patients), with no audit row and no summary moved: for an
 * import taken back (store_import.c), children before their parents. */
int store_delete_of_patients(struct db *db, const struct resource *res, int64_t lo, int64_t hi);
int store_count(struct db *db, const struct resource *res, int64_t *count);
/* Records of res whose integer field equals value: how many, and their ids
 * (ascending; free *ids). */
int store_count_where(struct db *db, const struct resource *res, const char *field, int64_t value,
		      int64_t *count);
int store_ids_where(struct db *db, const struct resource *res, const char *field, int64_t value,
		    int64_t **ids, size_t *count);

#define STORE_MAX_FILTERS 12
#define STORE_MAX_IN      20 /* values of one in. filter */
#define STORE_MAX_SORT    4  /* sort keys, id aside */

/* A list's filters (records.c reads them from the query string): equal,
 * the four comparisons, one of several values, absent or present, and a
 * prefix (of characters, compared exactly). */
enum filter_op {
	FILTER_EQ,
	FILTER_GE,
	FILTER_GT,
	FILTER_LE,
	FILTER_LT,
	FILTER_IN,
	FILTER_NULL,
	FILTER_NOT_NULL,
	FILTER_PREFIX
};

struct filter {
	int field; /* index into res->fields */
	enum filter_op op;
	struct value value;            /* FILTER_EQ ... FILTER_LT, FILTER_PREFIX */
	struct value in[STORE_MAX_IN]; /* FILTER_IN */
	int nin;
};

/* A sort key: a field (-1: id), ascending or descending. A null sorts as
 * the largest value: last ascending, first descending (on both engines). */
struct sort_key {
	int field;
	bool desc;
};

struct list_query {
	struct filter filters[STORE_MAX_FILTERS];
	int nfilters;
	int64_t after; /* without sort: ids greater than this, ascending */
	int limit;
	/* with sort: the keys, then id in the direction of the last key; a
	 * page after a cursor starts past the record whose keys (key[]) and
	 * id (key_id) it holds */
	struct sort_key sort[STORE_MAX_SORT];
	int nsort;
	bool has_cursor;
	struct value key[STORE_MAX_SORT];
	int64_t key_id;
};

/* Fills up to q->limit records into *out (an array the caller frees with
 * store_list_free) and sets *more when at least one further record matches. */
int store_list(struct db *db, const struct resource *res, const struct list_query *q,
	       struct record **out, int *count, bool *more);
/* How many records match q's filters (its cursor, sort and limit aside). */
int store_list_count(struct db *db, const struct resource *res, const struct list_query *q,
		     int64_t *count);
/* Calls fn with each record of res whose patient (its id, for patients)
 * is in [lo, hi], by patient then id, without holding them; fn returns
 * false to stop (an error then). */
int store_each_of_patients(struct db *db, const struct resource *res, int64_t lo, int64_t hi,
			   bool (*fn)(void *cls, const struct record *rec), void *cls);
/* The whole registry's sizes and span, which a file that states its rows
 * before the first (SAS transport) or summarises the trial needs. */
struct registry_counts {
	int64_t patients, dead, courses, outcomes, toxicities;
	int64_t companion_courses; /* courses of a regimen with an agent beside IL-2 */
	char first_enrolled[11];   /* "" when no patient */
	char last_date[11];        /* the latest enrolment, contact or death */
	char changed_at[32];       /* the last audit row's time; "" when none */
};
int store_registry_counts(struct db *db, struct registry_counts *out);
/* Frees the values q's filters and keys hold. */
void list_query_clear(struct list_query *q);
/* dst = src with copies of the text its filters and keys hold (dst owns
 * them: list_query_clear). */
void list_query_copy(struct list_query *dst, const struct list_query *src);
void store_list_free(struct record *recs, int count);

/* --- patients --------------------------------------------------------- */

struct patient_facts {
	char enrolled_on[11];
	char died_on[11]; /* "" when alive */
	bool adjuvant;
};

int store_patient_facts(struct db *db, int64_t patient_id, struct patient_facts *out);
/* Earliest and latest course start of a patient ("" when it has none). */
int store_patient_course_span(struct db *db, int64_t patient_id, char first[11], char last[11]);
/* Outcomes of the patient with a response other than PD or NE. */
int store_patient_count_responses(struct db *db, int64_t patient_id, int64_t *count);

/* --- courses ---------------------------------------------------------- */

struct course_facts {
	int64_t patient_id;
	char started_on[11];
	bool adjuvant; /* of its patient */
};

int store_course_facts(struct db *db, int64_t course_id, struct course_facts *out);
int store_course_next_number(struct db *db, int64_t patient_id, int64_t *number);
/* The earliest assessed_on / onset_on among the course's dependants ("" if none). */
int store_course_first_dependant_date(struct db *db, int64_t course_id, char first[11]);
/* Drops what store_courses.c remembers of the last course looked up:
 * called by every update and delete. */
void store_forget_course_facts(void);

#endif

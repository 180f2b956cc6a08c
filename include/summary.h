/* What every statistic is built from, per patient, as a pure function of
 * the patient's record and its courses, outcomes and toxicities
 * (summary_compute), and the counters that summary adds to the statistics'
 * tallies (summary_tallies). The store keeps both in the database, changed
 * in the same transaction as every write (store_summary.c), so that a
 * statistic reads counters instead of the whole registry. Nothing here
 * reads a database.
 *
 * A tally is a count of patients (or courses) in one cell, the patients
 * sharing a regimen, histology and setting (the fields statistics filter
 * and group by), for one kind of figure and one key: treated patients;
 * treated metastatic patients by best response; treated patients by
 * survival time and whether it ended in death; units by term and worst
 * grade. A write changes the tallies of the one patient it touches: its
 * counters before are taken away and its counters after added. */
#ifndef COHORTD_SUMMARY_H
#define COHORTD_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Best overall response, best first: a patient's is the best of its
 * outcomes, NE when it has none. */
enum summary_rank { RANK_CR, RANK_PR, RANK_MR, RANK_SD, RANK_PD, RANK_NE, RANK_COUNT };
/* Two readings of the outcomes: every one, or with an unconfirmed CR or PR
 * read as SD (confirmed_only). */
enum { READ_ANY, READ_CONFIRMED, READINGS };

extern const char *const summary_responses[]; /* "CR" ... "NE", NULL */

/* The rank of a response as read (RANK_NE when unknown). */
int summary_rank(const char *response, bool confirmed, int reading);

/* A toxicity's term whole: 100 characters of up to 4 bytes each, and a NUL
 * (cut shorter, two terms could be counted as one, and a cut in the middle
 * of a character is not UTF-8). */
#define SUMMARY_TERM_BYTES 404

struct summary_course {
	int64_t id;
	char started_on[11], ended_on[11]; /* "" when absent */
};

struct summary_outcome {
	int64_t id;
	char assessed_on[11];
	char response[3];
	bool confirmed;
};

/* Each row begins with its record's id (store_summary.c finds rows by it). */
struct summary_toxicity {
	int64_t id;
	int64_t course_id;
	char term[SUMMARY_TERM_BYTES];
	int grade;
	char onset_on[11], resolved_on[11];
};

/* A patient as summary_compute reads it. */
struct summary_input {
	char regimen[24], histology[24], setting[12];
	bool dead;
	char died_on[11], last_contact_on[11];
	struct summary_course *courses;
	size_t ncourses;
	struct summary_outcome *outcomes;
	size_t noutcomes;
	struct summary_toxicity *toxicities;
	size_t ntoxicities;
};

/* A term's worst grade for one unit: the patient (course_id 0), or one of
 * its courses. */
struct summary_worst {
	int64_t course_id;
	char term[SUMMARY_TERM_BYTES];
	int grade;
};

struct patient_summary {
	int64_t patient_id;
	char regimen[24], histology[24], setting[12];
	int64_t courses;
	char first_start[11]; /* the first course's start; "" when untreated */
	char latest[11];      /* the latest date on record */
	bool dead;
	char died_on[11];
	int best[READINGS];                /* enum summary_rank */
	char first_cr[READINGS][11];       /* the earliest CR as read; "" when none */
	bool recurred[READINGS];           /* a PD assessed after it */
	char first_pd[11];                 /* the earliest PD; "" when none */
	char last_assessed[11];            /* the latest outcome assessment; "" when none */
	char first_response[READINGS][11]; /* the earliest CR or PR as read */
	char progressed[READINGS][11];     /* the earliest PD after it */
	struct summary_worst *worst;       /* ordered by course_id, then term */
	size_t nworst;
};

/* Fills out from in (the outcomes in any order); its worst grades are
 * allocated: summary_free. Returns false when memory ran out. */
bool summary_compute(int64_t patient_id, const struct summary_input *in,
		     struct patient_summary *out);
void summary_free(struct patient_summary *s);
/* Sorts s->worst by course, then term (as summary_compute leaves it). */
void summary_sort_worst(struct patient_summary *s);
/* The facts of s after one more record of the patient, told from the facts
 * alone (the worst grades aside: a toxicity's are the caller's): a course;
 * a toxicity's dates; an outcome, unless it is a first CR (as either
 * reading sees it), after which a PD already on record would count as a
 * recurrence, or a first CR or PR with a PD on record on or before it
 * (the first PD after it is not among the facts): false then, and s is
 * unchanged. */
void summary_add_course(struct patient_summary *s, const struct summary_course *c);
void summary_add_toxicity(struct patient_summary *s, const struct summary_toxicity *t);
bool summary_add_outcome(struct patient_summary *s, const struct summary_outcome *o);
/* The same facts, worst grades aside. */
bool summary_same_facts(const struct patient_summary *a, const struct patient_summary *b);

enum tally_kind {
	TALLY_PATIENTS,       /* every patient */
	TALLY_TREATED,        /* patients with at least one course */
	TALLY_COURSES,        /* their courses */
	TALLY_BEST,           /* treated metastatic, key: best response, every outcome read */
	TALLY_BEST_CONFIRMED, /* the same, key: best response read confirmed_only */
	TALLY_DIED,           /* treated, key: days from first course to death */
	TALLY_CENSORED,       /* treated, alive: key: days to the latest date on record */
	TALLY_WORST_PATIENT,  /* term; key: a patient's worst grade for it */
	TALLY_WORST_COURSE,   /* term; key: a course's worst grade for it */
	/* complete responders (best response CR) as each reading sees them, key:
	 * days from the first CR to the latest date on record; with a PD after
	 * the first CR, or without */
	TALLY_CR,
	TALLY_CR_RECURRED,
	TALLY_CR_CONFIRMED,
	TALLY_CR_RECURRED_CONFIRMED,
	/* progression-free survival: treated, key: days from the first course
	 * to the first PD or death, whichever came first (event), or to the
	 * latest outcome assessment on or after it (censored; 0 when none) */
	TALLY_PFS_EVENT,
	TALLY_PFS_CENSORED,
	/* duration of response: treated metastatic responders (best CR or PR
	 * as each reading sees them), key: days from the first CR or PR to the
	 * first PD after it or death (event), or to the latest assessment */
	TALLY_DOR_EVENT,
	TALLY_DOR_CENSORED,
	TALLY_DOR_EVENT_CONFIRMED,
	TALLY_DOR_CENSORED_CONFIRMED,
	TALLY_KINDS
};
extern const char *const tally_kind_names[]; /* as stored: "patients" ... */

/* A counter. Its term ("" unless a worst grade) is held in term when it
 * fits, else in long_term, owned by the tally_buf the counter is in: an
 * import keeps tens of thousands of counters, and most terms are short. */
struct tally {
	int kind;
	char regimen[24], histology[24], setting[12];
	char term[48];
	char *long_term;
	int64_t key;
	int64_t n;
	uint64_t hash; /* of everything but n, made with the counter: tally_merge's */
};

static inline const char *tally_term(const struct tally *t)
{
	return t->long_term ? t->long_term : t->term;
}

struct tally_buf {
	struct tally *t;
	size_t n, cap;
	size_t merged; /* how many the last merge left (store_tallies_note) */
};

/* Appends s's counters, each counting sign (+1 or -1); false when memory
 * ran out. */
bool summary_tallies(const struct patient_summary *s, int sign, struct tally_buf *buf);
/* Only its worst grades' counters: all that moves between two summaries of
 * the same facts (summary_same_facts), the others cancelling. */
bool summary_tallies_worst(const struct patient_summary *s, int sign, struct tally_buf *buf);
/* Adds up counters of the same cell, kind, term and key, and drops those
 * that come to 0 (a patient's before and after that did not change); the
 * others keep the order of their first counter. */
void tally_merge(struct tally_buf *buf);
/* Moves src's counters to the end of dst (src is emptied); false when
 * memory ran out (both are then unchanged). */
bool tally_append(struct tally_buf *dst, struct tally_buf *src);
void tally_buf_free(struct tally_buf *buf);
/* Empties buf, keeping its room. */
void tally_buf_clear(struct tally_buf *buf);

#endif

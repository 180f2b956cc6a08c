/* A patient's summary and its tallies (summary.h): the definitions of the
 * statistics, applied to one patient at a time. */
#include "summary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "validate.h"

const char *const summary_responses[] = {"CR", "PR", "MR", "SD", "PD", "NE", NULL};

const char *const tally_kind_names[] = {
	[TALLY_PATIENTS] = "patients",
	[TALLY_TREATED] = "treated",
	[TALLY_COURSES] = "courses",
	[TALLY_BEST] = "best",
	[TALLY_BEST_CONFIRMED] = "best_confirmed",
	[TALLY_DIED] = "died",
	[TALLY_CENSORED] = "censored",
	[TALLY_WORST_PATIENT] = "worst_patient",
	[TALLY_WORST_COURSE] = "worst_course",
	[TALLY_CR] = "cr",
	[TALLY_CR_RECURRED] = "cr_recurred",
	[TALLY_CR_CONFIRMED] = "cr_confirmed",
	[TALLY_CR_RECURRED_CONFIRMED] = "cr_recurred_confirmed",
	[TALLY_PFS_EVENT] = "pfs_event",
	[TALLY_PFS_CENSORED] = "pfs_censored",
	[TALLY_DOR_EVENT] = "dor_event",
	[TALLY_DOR_CENSORED] = "dor_censored",
	[TALLY_DOR_EVENT_CONFIRMED] = "dor_event_confirmed",
	[TALLY_DOR_CENSORED_CONFIRMED] = "dor_censored_confirmed",
};

int summary_rank(const char *response, bool confirmed, int reading)
{
	for (int r = RANK_CR; r <= RANK_NE; r++) {
		if (strcmp(summary_responses[r], response) == 0) {
			if (reading == READ_CONFIRMED && (r == RANK_CR || r == RANK_PR) &&
			    !confirmed)
				return RANK_SD;
			return r;
		}
	}
	return RANK_NE;
}

/* Keeps the later of two YYYY-MM-DD dates in dst ("" is earliest). */
static void later(char dst[11], const char *date)
{
	if (strlen(date) == 10 && strcmp(date, dst) > 0)
		memcpy(dst, date, 11);
}

/* Keeps the earlier of two dates in dst ("" is none). */
static void earlier(char dst[11], const char *date)
{
	if (strlen(date) == 10 && (!dst[0] || strcmp(date, dst) < 0))
		memcpy(dst, date, 11);
}

static bool is_response(int rank)
{
	return rank == RANK_CR || rank == RANK_PR;
}

/* What one outcome, taken in date order, adds to the facts. */
static void note_outcome(struct patient_summary *s, const struct summary_outcome *o)
{
	bool pd = strcmp(o->response, "PD") == 0;
	for (int r = 0; r < READINGS; r++) {
		int rank = summary_rank(o->response, o->confirmed, r);
		if (rank < s->best[r])
			s->best[r] = rank;
		if (is_response(rank))
			earlier(s->first_response[r], o->assessed_on);
		if (pd && s->first_response[r][0] &&
		    strcmp(o->assessed_on, s->first_response[r]) > 0)
			earlier(s->progressed[r], o->assessed_on);
	}
	if (pd)
		earlier(s->first_pd, o->assessed_on);
	later(s->last_assessed, o->assessed_on);
	later(s->latest, o->assessed_on);
}

static int by_date_then_id(const void *a, const void *b)
{
	const struct summary_outcome *x = *(const struct summary_outcome *const *)a;
	const struct summary_outcome *y = *(const struct summary_outcome *const *)b;
	int d = strcmp(x->assessed_on, y->assessed_on);
	return d ? d : (x->id > y->id) - (x->id < y->id);
}

static int by_course_then_term(const void *a, const void *b)
{
	const struct summary_worst *x = a, *y = b;
	if (x->course_id != y->course_id)
		return x->course_id < y->course_id ? -1 : 1;
	return strcmp(x->term, y->term);
}

void summary_sort_worst(struct patient_summary *s)
{
	if (s->nworst > 1)
		qsort(s->worst, s->nworst, sizeof *s->worst, by_course_then_term);
}

/* Raises unit's worst grade for term to grade, adding the unit when new. */
static void raise_worst(struct patient_summary *s, int64_t course_id, const char *term, int grade)
{
	for (size_t i = 0; i < s->nworst; i++) {
		struct summary_worst *w = &s->worst[i];
		if (w->course_id == course_id && strcmp(w->term, term) == 0) {
			if (grade > w->grade)
				w->grade = grade;
			return;
		}
	}
	struct summary_worst *w = &s->worst[s->nworst++];
	w->course_id = course_id;
	copy_cut(w->term, sizeof w->term, term);
	w->grade = grade;
}

bool summary_compute(int64_t patient_id, const struct summary_input *in,
		     struct patient_summary *out)
{
	memset(out, 0, sizeof *out);
	out->patient_id = patient_id;
	copy_cut(out->regimen, sizeof out->regimen, in->regimen);
	copy_cut(out->histology, sizeof out->histology, in->histology);
	copy_cut(out->setting, sizeof out->setting, in->setting);
	out->dead = in->dead;
	copy_cut(out->died_on, sizeof out->died_on, in->died_on);
	later(out->latest, in->died_on);
	later(out->latest, in->last_contact_on);

	out->courses = (int64_t)in->ncourses;
	for (size_t i = 0; i < in->ncourses; i++) {
		const struct summary_course *c = &in->courses[i];
		if (!out->first_start[0] || strcmp(c->started_on, out->first_start) < 0)
			copy_cut(out->first_start, sizeof out->first_start, c->started_on);
		later(out->latest, c->started_on);
		later(out->latest, c->ended_on);
	}

	/* outcomes by date, then id: the first CR, and a PD after it */
	const struct summary_outcome **order =
		xmalloc((in->noutcomes ? in->noutcomes : 1) * sizeof *order);
	if (!order)
		return false;
	for (size_t i = 0; i < in->noutcomes; i++)
		order[i] = &in->outcomes[i];
	qsort(order, in->noutcomes, sizeof *order, by_date_then_id);
	for (int r = 0; r < READINGS; r++) {
		out->best[r] = RANK_NE;
		for (size_t i = 0; i < in->noutcomes; i++) {
			const struct summary_outcome *o = order[i];
			int rank = summary_rank(o->response, o->confirmed, r);
			if (!out->first_cr[r][0] && rank == RANK_CR)
				memcpy(out->first_cr[r], o->assessed_on, 11);
			else if (out->first_cr[r][0] && strcmp(o->response, "PD") == 0 &&
				 strcmp(o->assessed_on, out->first_cr[r]) > 0)
				out->recurred[r] = true;
		}
	}
	for (size_t i = 0; i < in->noutcomes; i++)
		note_outcome(out, order[i]);
	free(order);

	/* at most two units per toxicity: the patient and its course */
	out->worst = xmalloc((2 * in->ntoxicities + 1) * sizeof *out->worst);
	if (!out->worst)
		return false;
	for (size_t i = 0; i < in->ntoxicities; i++) {
		const struct summary_toxicity *t = &in->toxicities[i];
		raise_worst(out, 0, t->term, t->grade);
		raise_worst(out, t->course_id, t->term, t->grade);
		later(out->latest, t->onset_on);
		later(out->latest, t->resolved_on);
	}
	summary_sort_worst(out);
	return true;
}

void summary_add_course(struct patient_summary *s, const struct summary_course *c)
{
	s->courses++;
	if (!s->first_start[0] || strcmp(c->started_on, s->first_start) < 0)
		copy_cut(s->first_start, sizeof s->first_start, c->started_on);
	later(s->latest, c->started_on);
	later(s->latest, c->ended_on);
}

void summary_add_toxicity(struct patient_summary *s, const struct summary_toxicity *t)
{
	later(s->latest, t->onset_on);
	later(s->latest, t->resolved_on);
}

/* As summary_compute reads outcomes by date, then id, a new outcome (the
 * largest id) comes after every one of its date. */
bool summary_add_outcome(struct patient_summary *s, const struct summary_outcome *o)
{
	for (int r = 0; r < READINGS; r++) {
		int rank = summary_rank(o->response, o->confirmed, r);
		if (rank == RANK_CR &&
		    (!s->first_cr[r][0] || strcmp(o->assessed_on, s->first_cr[r]) < 0))
			return false;
		/* a new first response: the first PD after it is the first PD
		 * on record only when that one comes after it */
		if (is_response(rank) &&
		    (!s->first_response[r][0] ||
		     strcmp(o->assessed_on, s->first_response[r]) < 0) &&
		    s->first_pd[0] && strcmp(s->first_pd, o->assessed_on) <= 0)
			return false;
	}
	for (int r = 0; r < READINGS; r++) {
		int rank = summary_rank(o->response, o->confirmed, r);
		if (is_response(rank) &&
		    (!s->first_response[r][0] || strcmp(o->assessed_on, s->first_response[r]) < 0))
			memcpy(s->progressed[r], s->first_pd, 11);
		if (s->first_cr[r][0] && strcmp(o->response, "PD") == 0 &&
		    strcmp(o->assessed_on, s->first_cr[r]) > 0)
			s->recurred[r] = true;
	}
	note_outcome(s, o);
	return true;
}

void summary_free(struct patient_summary *s)
{
	free(s->worst);
	s->worst = NULL;
	s->nworst = 0;
}

bool summary_same_facts(const struct patient_summary *a, const struct patient_summary *b)
{
	struct patient_summary x = *a, y = *b;
	x.worst = y.worst = NULL;
	x.nworst = y.nworst = 0;
	return memcmp(&x, &y, sizeof x) == 0;
}

/* FNV-1a over the counter's identity: its kind, cell, term and key. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t tally_hash(const struct tally *t)
{
	const char *term = tally_term(t);
	uint64_t h = 0xcbf29ce484222325ULL;
	h = hash_bytes(h, &t->kind, sizeof t->kind);
	h = hash_bytes(h, t->regimen, strlen(t->regimen) + 1);
	h = hash_bytes(h, t->histology, strlen(t->histology) + 1);
	h = hash_bytes(h, t->setting, strlen(t->setting) + 1);
	h = hash_bytes(h, term, strlen(term) + 1);
	return hash_bytes(h, &t->key, sizeof t->key);
}

static bool add(struct tally_buf *buf, const struct patient_summary *s, int kind, const char *term,
		int64_t key, int64_t n)
{
	if (buf->n == buf->cap) {
		size_t cap = buf->cap ? buf->cap * 2 : 64;
		struct tally *t = xrealloc(buf->t, cap * sizeof *t);
		if (!t)
			return false;
		buf->t = t;
		buf->cap = cap;
	}
	struct tally *t = &buf->t[buf->n++];
	memset(t, 0, sizeof *t);
	t->kind = kind;
	memcpy(t->regimen, s->regimen, sizeof t->regimen);
	memcpy(t->histology, s->histology, sizeof t->histology);
	memcpy(t->setting, s->setting, sizeof t->setting);
	if (strlen(term) < sizeof t->term) {
		memcpy(t->term, term, strlen(term) + 1);
	} else if (!(t->long_term = xstrdup(term))) {
		buf->n--;
		return false;
	}
	t->key = key;
	t->n = n;
	t->hash = tally_hash(t);
	return true;
}

/* The earlier of a date and the patient's death ("" when neither). */
static const char *ended(const struct patient_summary *s, const char *date)
{
	bool died = s->dead && s->died_on[0];
	if (!died)
		return date;
	return !date[0] || strcmp(s->died_on, date) < 0 ? s->died_on : date;
}

static bool progression_free(const struct patient_summary *s, int sign, struct tally_buf *buf)
{
	const char *event = ended(s, s->first_pd);
	const char *end = event[0]                                        ? event
			  : strcmp(s->last_assessed, s->first_start) >= 0 ? s->last_assessed
									  : s->first_start;
	return add(buf, s, event[0] ? TALLY_PFS_EVENT : TALLY_PFS_CENSORED, "",
		   date_days(end) - date_days(s->first_start), sign);
}

static bool response_duration(const struct patient_summary *s, int r, int sign,
			      struct tally_buf *buf)
{
	static const int kinds[READINGS][2] = {
		{TALLY_DOR_CENSORED, TALLY_DOR_EVENT},
		{TALLY_DOR_CENSORED_CONFIRMED, TALLY_DOR_EVENT_CONFIRMED}};
	if (!is_response(s->best[r]) || !s->first_response[r][0])
		return true;
	const char *event = ended(s, s->progressed[r]);
	const char *end = event[0] ? event : s->last_assessed;
	return add(buf, s, kinds[r][event[0] != 0], "",
		   date_days(end) - date_days(s->first_response[r]), sign);
}

bool summary_tallies(const struct patient_summary *s, int sign, struct tally_buf *buf)
{
	bool ok = add(buf, s, TALLY_PATIENTS, "", 0, sign);
	if (s->courses > 0) {
		ok &= add(buf, s, TALLY_TREATED, "", 0, sign);
		ok &= add(buf, s, TALLY_COURSES, "", 0, sign * s->courses);
		if (strcmp(s->setting, "metastatic") == 0) {
			ok &= add(buf, s, TALLY_BEST, "", s->best[READ_ANY], sign);
			ok &= add(buf, s, TALLY_BEST_CONFIRMED, "", s->best[READ_CONFIRMED], sign);
		}
		bool died = s->dead && s->died_on[0];
		int64_t days = date_days(died ? s->died_on : s->latest) - date_days(s->first_start);
		ok &= add(buf, s, died ? TALLY_DIED : TALLY_CENSORED, "", days, sign);
		ok &= progression_free(s, sign, buf);
		if (strcmp(s->setting, "metastatic") == 0)
			for (int r = 0; r < READINGS; r++)
				ok &= response_duration(s, r, sign, buf);
	}
	static const int responders[READINGS][2] = {
		{TALLY_CR, TALLY_CR_RECURRED}, {TALLY_CR_CONFIRMED, TALLY_CR_RECURRED_CONFIRMED}};
	for (int r = 0; r < READINGS; r++) {
		if (s->best[r] != RANK_CR)
			continue;
		int64_t days = date_days(s->latest) - date_days(s->first_cr[r]);
		ok &= add(buf, s, responders[r][s->recurred[r]], "", days, sign);
	}
	return ok && summary_tallies_worst(s, sign, buf);
}

bool summary_tallies_worst(const struct patient_summary *s, int sign, struct tally_buf *buf)
{
	bool ok = true;
	for (size_t i = 0; i < s->nworst; i++) {
		const struct summary_worst *w = &s->worst[i];
		ok &= add(buf, s, w->course_id ? TALLY_WORST_COURSE : TALLY_WORST_PATIENT, w->term,
			  w->grade, sign);
	}
	return ok;
}

static bool same_counter(const struct tally *x, const struct tally *y)
{
	return x->hash == y->hash && x->kind == y->kind && x->key == y->key &&
	       strcmp(x->regimen, y->regimen) == 0 && strcmp(x->histology, y->histology) == 0 &&
	       strcmp(x->setting, y->setting) == 0 && strcmp(tally_term(x), tally_term(y)) == 0;
}

/* Each counter is looked up by its hash in a table of the ones kept so
 * far (open addressing, at most half full): linear in the counters, where
 * sorting them cost a bulk import's writer 7% of its time. Without memory
 * for the table, pairs are compared directly. */
void tally_merge(struct tally_buf *buf)
{
	if (buf->n == 0)
		return;
	size_t size = 16;
	while (size < 2 * buf->n)
		size *= 2;
	size_t *slots = xcalloc(size, sizeof *slots); /* kept counter's index + 1, or 0 */
	size_t out = 0;
	for (size_t i = 0; i < buf->n; i++) {
		struct tally *t = &buf->t[i];
		struct tally *same = NULL;
		size_t at = t->hash & (size - 1);
		if (slots) {
			for (; slots[at]; at = (at + 1) & (size - 1))
				if (same_counter(&buf->t[slots[at] - 1], t)) {
					same = &buf->t[slots[at] - 1];
					break;
				}
		} else {
			for (size_t j = 0; j < out && !same; j++)
				if (same_counter(&buf->t[j], t))
					same = &buf->t[j];
		}
		if (same) {
			same->n += t->n;
			free(t->long_term);
			continue;
		}
		buf->t[out] = *t; /* out <= i: nothing kept is overwritten */
		if (slots)
			slots[at] = out + 1;
		out++;
	}
	free(slots);
	size_t kept = 0;
	for (size_t i = 0; i < out; i++) {
		if (buf->t[i].n != 0)
			buf->t[kept++] = buf->t[i];
		else
			free(buf->t[i].long_term);
	}
	buf->n = kept;
}

bool tally_append(struct tally_buf *dst, struct tally_buf *src)
{
	if (dst->n + src->n > dst->cap) {
		size_t cap = dst->cap ? dst->cap : 64;
		while (cap < dst->n + src->n)
			cap *= 2;
		struct tally *t = xrealloc(dst->t, cap * sizeof *t);
		if (!t)
			return false;
		dst->t = t;
		dst->cap = cap;
	}
	if (src->n)
		memcpy(dst->t + dst->n, src->t, src->n * sizeof *src->t);
	dst->n += src->n;
	src->n = 0;
	return true;
}

void tally_buf_clear(struct tally_buf *buf)
{
	for (size_t i = 0; i < buf->n; i++)
		free(buf->t[i].long_term);
	buf->n = buf->merged = 0;
}

void tally_buf_free(struct tally_buf *buf)
{
	tally_buf_clear(buf);
	free(buf->t);
	*buf = (struct tally_buf){0};
}

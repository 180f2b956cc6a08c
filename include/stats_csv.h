/* The CSV form of a statistics answer (RFC 4180: header row, CRLF, quoted
 * where needed), written from the JSON answer itself so both always say
 * the same. One row per group and figure. */
#ifndef COHORTD_STATS_CSV_H
#define COHORTD_STATS_CSV_H

#include <jansson.h>

enum stats_kind {
	STATS_COUNTS,      /* summary: integers and objects of counts */
	STATS_PROPORTIONS, /* response, mortality: counts and proportions */
	STATS_TOXICITY,    /* one row per term */
	STATS_SURVIVAL,    /* the median row, then one row per curve point */
	STATS_DURABLE,     /* one row per complete responder */
};

/* Returns a malloc'd NUL-terminated CSV text. */
char *stats_csv(enum stats_kind kind, json_t *body);

#endif

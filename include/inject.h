/* Injection points: places where a test can make the server wait, to
 * observe what happens meanwhile (PostgreSQL has the same idea). Inert
 * unless the environment names one at start:
 *   COHORTD_INJECT_PAUSE=POINT:MS   each time the server reaches POINT it
 *                                   sleeps MS milliseconds (at most 60000)
 * Points: "statistic" (a statistic not cached, before it is computed);
 * "import-chunk" (an import that commits as it goes, after each commit);
 * "bulk-batch" (a FHIR bulk export, after each batch of patients).
 * Unset, a point costs one load and a compare. */
#ifndef COHORTD_INJECT_H
#define COHORTD_INJECT_H

/* Reads the environment; once, at start, before any thread reaches a point. */
void inject_configure(void);
void inject_pause(const char *point);

#endif

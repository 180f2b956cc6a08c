/* Pure checks on single values: calendar dates, subject codes, free text.
 * No I/O, no allocation: the unit tests exercise them directly. */
#ifndef COHORTD_VALIDATE_H
#define COHORTD_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* YYYY-MM-DD naming a day that exists, years 1900-9999. */
bool valid_date(const char *s, size_t len);

/* A study subject code: 1-64 of A-Z a-z 0-9 . _ - */
bool valid_code(const char *s, size_t len);

/* Well-formed UTF-8 without control characters (C0, C1, U+2028/2029),
 * bidirectional controls (U+202A-202E, U+2066-2069) or zero-width
 * characters (U+200B-200D, U+2060, U+FEFF), and not only white space;
 * *chars receives the number of code points. */
bool valid_text(const char *s, size_t len, size_t *chars);
/* Copies in to out (size bytes, NUL included) with every byte that is not
 * part of valid UTF-8 replaced by U+FFFD, cut at a character: request text
 * (a path, a query key) quoted in an answer, which JSON must hold. */
void utf8_sanitize(const char *in, char *out, size_t size);
/* The characters of valid UTF-8 s (its bytes that begin one). */
size_t utf8_length(const char *s);

/* A FHIR resource id, the len bytes of s: 1-64 of A-Z a-z 0-9 - . */
bool valid_fhir_id(const char *s, size_t len);
/* Days from 1970-01-01 to a date already checked by valid_date(). */
int64_t date_days(const char *s);

/* True for a string in a NULL-terminated list. */
bool in_choices(const char *s, const char *const *choices);

#endif

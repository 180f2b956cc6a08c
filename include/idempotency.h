/* Safe retries of POST: the first successful answer to a request carrying
 * an Idempotency-Key is stored with the record, in the same transaction
 * (store_idempotency.c), and replayed to a retry with the same body; a
 * retry with another body is refused. While a key's first request is still
 * being processed, a second one with the same key gets 409: this module
 * keeps the keys in flight. */
#ifndef COHORTD_IDEMPOTENCY_H
#define COHORTD_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>

/* 1-255 printable ASCII characters. */
bool idempotency_key_valid(const char *key);
/* Claims (actor, key) for this request; false when another holds it. */
bool idempotency_claim(const char *actor, const char *key);
void idempotency_release(const char *actor, const char *key);
/* SHA-256 over method, path and body: what "the same request" means. */
void idempotency_request_hash(const char *method, const char *path, const char *body, size_t len,
			      char out[65]);

#endif

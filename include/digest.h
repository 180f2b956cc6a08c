/* The cryptography cohortd needs, all from OpenSSL's libcrypto: SHA-256 as
 * hex, and random bytes from the OS generator. Never hand-written. */
#ifndef COHORTD_DIGEST_H
#define COHORTD_DIGEST_H

#include <stddef.h>

void sha256_hex(const void *data, size_t len, char out[65]);
/* Aborts if the generator fails: a server without randomness must not run. */
void random_bytes(void *out, size_t len);
/* A random version-4 UUID, 36 characters and a NUL. */
void random_uuid(char out[37]);
/* A request id in the form of a version-4 UUID, unique within the process
 * and, from its random base, across processes: cheaper than random_uuid for
 * every request, as it draws randomness once. */
void request_uuid(char out[37]);

#endif

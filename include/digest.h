/* The cryptography cohortd needs, all from OpenSSL's libcrypto: SHA-256 as
 * hex, and random bytes from the OS generator. Never hand-written. */
#ifndef COHORTD_DIGEST_H
#define COHORTD_DIGEST_H

#include <stddef.h>

void sha256_hex(const void *data, size_t len, char out[65]);
/* The same digest over input given in pieces: small pieces are gathered
 * into one update, so hashing many short fields costs no more than
 * copying them into one string first. One at a time per thread (it uses
 * the thread's context). */
struct sha256 {
	void *ctx;
	size_t n;
	unsigned char buf[512];
};
void sha256_begin(struct sha256 *h);
void sha256_add(struct sha256 *h, const void *data, size_t len);
void sha256_end_hex(struct sha256 *h, char out[65]);
/* Aborts if the generator fails: a server without randomness must not run. */
void random_bytes(void *out, size_t len);
/* A random version-4 UUID, 36 characters and a NUL. */
void random_uuid(char out[37]);
/* A random version-4 UUID for a request id: random_uuid's, drawn from
 * the generator a block at a time (cheaper for every request). */
void request_uuid(char out[37]);

#endif

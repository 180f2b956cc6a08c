/* SHA-256 and randomness through OpenSSL's libcrypto. */
#include "digest.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
		abort();
	hex(md, 32, out);
}

void random_bytes(void *out, size_t len)
{
	if (RAND_bytes(out, (int)len) != 1) {
		fputs("{\"level\":\"fatal\",\"msg\":\"no randomness from the OS generator\"}\n", stderr);
		abort();
	}
}

static void format_uuid(unsigned char b[16], char out[37])
{
	b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

void random_uuid(char out[37])
{
	unsigned char b[16];
	random_bytes(b, sizeof b);
	format_uuid(b, out);
}

static pthread_once_t base_once = PTHREAD_ONCE_INIT;
static unsigned char base[16];
static atomic_uint_fast64_t counter;

static void draw_base(void)
{
	random_bytes(base, sizeof base);
}

void request_uuid(char out[37])
{
	pthread_once(&base_once, draw_base);
	uint64_t n = atomic_fetch_add(&counter, 1);
	unsigned char b[16];
	memcpy(b, base, sizeof b);
	for (int i = 0; i < 8; i++)
		b[15 - i] ^= (unsigned char)(n >> (8 * i));
	format_uuid(b, out);
}

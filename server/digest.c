/* SHA-256 and randomness through OpenSSL's libcrypto. SHA-256 is fetched
 * from the provider once and each thread keeps one digest context: the
 * audit hashes every row of a bulk import, and an implicit fetch plus a
 * fresh context per call cost more than hashing the row itself. */
#include "digest.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
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

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void fetch_sha256(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* The thread's context, made on first use and freed when the thread ends. */
static pthread_key_t ctx_key;
static pthread_once_t ctx_key_once = PTHREAD_ONCE_INIT;

static void free_ctx(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void make_ctx_key(void)
{
	if (pthread_key_create(&ctx_key, free_ctx) != 0)
		abort();
}

static EVP_MD_CTX *thread_ctx(void)
{
	pthread_once(&ctx_key_once, make_ctx_key);
	EVP_MD_CTX *ctx = pthread_getspecific(ctx_key);
	if (!ctx) {
		ctx = EVP_MD_CTX_new();
		if (!ctx || pthread_setspecific(ctx_key, ctx) != 0)
			abort();
	}
	return ctx;
}

void sha256_hex(const void *data, size_t len, char out[65])
{
	struct sha256 h;
	sha256_begin(&h);
	sha256_add(&h, data, len);
	sha256_end_hex(&h, out);
}

void sha256_begin(struct sha256 *h)
{
	pthread_once(&sha256_once, fetch_sha256);
	h->ctx = thread_ctx();
	h->n = 0;
	if (!sha256_md || EVP_DigestInit_ex2(h->ctx, sha256_md, NULL) != 1)
		abort();
}

static void flush(struct sha256 *h)
{
	if (h->n && EVP_DigestUpdate(h->ctx, h->buf, h->n) != 1)
		abort();
	h->n = 0;
}

void sha256_add(struct sha256 *h, const void *data, size_t len)
{
	if (len == 0)
		return; /* data may be NULL then (an empty strbuf) */
	if (h->n + len > sizeof h->buf) {
		flush(h);
		if (len >= sizeof h->buf) {
			if (EVP_DigestUpdate(h->ctx, data, len) != 1)
				abort();
			return;
		}
	}
	memcpy(h->buf + h->n, data, len);
	h->n += len;
}

void sha256_end_hex(struct sha256 *h, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	flush(h);
	if (EVP_DigestFinal_ex(h->ctx, md, &md_len) != 1 || md_len != 32)
		abort();
	hex(md, 32, out);
}

void random_bytes(void *out, size_t len)
{
	if (RAND_bytes(out, (int)len) != 1) {
		fputs("{\"level\":\"fatal\",\"msg\":\"no randomness from the OS generator\"}\n",
		      stderr);
		abort();
	}
}

/* 8-4-4-4-12 hex digits, with the version (4) and variant bits set. */
static void format_uuid(unsigned char b[16], char out[37])
{
	b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
	static const int group_end[] = {4, 6, 8, 10};
	char *p = out;
	for (int i = 0, g = 0; i < 16; i++) {
		if (g < 4 && i == group_end[g]) {
			*p++ = '-';
			g++;
		}
		hex(b + i, 1, p);
		p += 2;
	}
	*p = '\0';
}

void random_uuid(char out[37])
{
	unsigned char b[16];
	random_bytes(b, sizeof b);
	format_uuid(b, out);
}

/* Each thread draws its request ids from a block of OpenSSL's random bytes,
 * refilled when spent: every id is random (not a counter that would tell
 * how many requests came before, or let one be guessed), at one generator
 * call per REQUEST_IDS_PER_DRAW requests. */
#define REQUEST_IDS_PER_DRAW 128
static _Thread_local unsigned char id_bytes[16 * REQUEST_IDS_PER_DRAW];
static _Thread_local size_t id_bytes_left;

void request_uuid(char out[37])
{
	if (id_bytes_left < 16) {
		random_bytes(id_bytes, sizeof id_bytes);
		id_bytes_left = sizeof id_bytes;
	}
	unsigned char b[16];
	memcpy(b, id_bytes + sizeof id_bytes - id_bytes_left, sizeof b);
	id_bytes_left -= sizeof b;
	format_uuid(b, out);
}

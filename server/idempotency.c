/* Keys in flight: a small set behind a mutex. SQLite serialises writers,
 * so without it a concurrent retry would simply wait and then replay; the
 * set lets it learn at once that the first attempt is still running. */
#include "idempotency.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "util.h"

#define MAX_IN_FLIGHT 1024

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *in_flight[MAX_IN_FLIGHT];

bool idempotency_key_valid(const char *key)
{
	size_t n = strlen(key);
	if (n < 1 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if (key[i] < 0x21 || key[i] > 0x7e)
			return false;
	return true;
}

bool idempotency_claim(const char *actor, const char *key)
{
	char *id = xasprintf("%s\n%s", actor, key);
	if (!id)
		return false; /* answered as in flight; the failure makes it a 503 */
	bool claimed = false;
	int free_slot = -1;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_IN_FLIGHT; i++) {
		if (in_flight[i] && strcmp(in_flight[i], id) == 0) {
			free_slot = -2;
			break;
		}
		if (!in_flight[i] && free_slot == -1)
			free_slot = i;
	}
	if (free_slot >= 0) {
		in_flight[free_slot] = id;
		claimed = true;
	}
	pthread_mutex_unlock(&lock);
	if (!claimed)
		free(id);
	return claimed;
}

/* Found by comparing in place: releasing never allocates, so a claim is
 * never left behind for lack of memory. */
void idempotency_release(const char *actor, const char *key)
{
	size_t n = strlen(actor);
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_IN_FLIGHT; i++) {
		char *s = in_flight[i];
		if (s && strncmp(s, actor, n) == 0 && s[n] == '\n' && strcmp(s + n + 1, key) == 0) {
			free(s);
			in_flight[i] = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
}

void idempotency_request_hash(const char *method, const char *path, const char *body, size_t len,
			      char out[65])
{
	struct strbuf sb = {0};
	strbuf_printf(&sb, "%s %s\n", method, path);
	strbuf_append(&sb, body ? body : "", body ? len : 0);
	sha256_hex(sb.data, sb.len, out);
	strbuf_free(&sb);
}

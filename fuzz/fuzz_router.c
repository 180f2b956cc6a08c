/* libFuzzer: "METHOD PATH" matched against the real route table (router.c),
 * and PATH's segments read as ids. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	char *space = strchr(text, ' ');
	const char *method = "GET", *path = text;
	if (space) {
		*space = '\0';
		method = text;
		path = space + 1;
	}
	const struct route *route = NULL;
	int64_t ids[2];
	int nids = 0;
	char allow[128];
	router_match(routes, routes_count, method, path, &route, ids, &nids, allow, sizeof allow);
	free(text);
	return 0;
}

/* Injection points (inject.h): a named pause a test can ask for in the
 * environment, so that "a point read is answered while a statistic is
 * being computed" is a fact a test can hold in place, not a race. */
#include "inject.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static char point_name[32];
static long pause_ms;

void inject_configure(void)
{
	const char *spec = getenv("COHORTD_INJECT_PAUSE");
	const char *colon = spec ? strchr(spec, ':') : NULL;
	pause_ms = 0;
	if (!colon || (size_t)(colon - spec) >= sizeof point_name)
		return;
	char *end;
	long ms = strtol(colon + 1, &end, 10);
	if (*end || ms <= 0 || ms > 60000)
		return;
	memcpy(point_name, spec, (size_t)(colon - spec));
	point_name[colon - spec] = '\0';
	pause_ms = ms;
}

void inject_pause(const char *point)
{
	if (pause_ms == 0 || strcmp(point, point_name) != 0)
		return;
	struct timespec ts = {.tv_sec = pause_ms / 1000, .tv_nsec = (pause_ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

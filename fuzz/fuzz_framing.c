/* libFuzzer: raw request heads through the framing checks (framing.h), split
 * into fields as libmicrohttpd splits them: whatever the bytes, the checks
 * end with a status of 0, 400 or 501 and a detail that is a string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char detail[FRAMING_DETAIL];
	memset(detail, 'x', sizeof detail);
	unsigned status = framing_check_raw((const char *)data, size, detail);
	if ((status != 0 && status != 400 && status != 501) || !memchr(detail, '\0', sizeof detail))
		abort();
	return 0;
}

/* libFuzzer: a request body, parsed as the dispatcher parses it, turned
 * into a record of every resource both as a create and as a merge patch
 * over a valid record. Finds crashes, leaks and undefined behaviour in
 * JSON handling and validation (model.c, validate.c). */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model.h"
#include "resources.h"

static const char *const valid[] = {
	"{\"code\":\"F-1\",\"histology\":\"melanoma\",\"setting\":\"metastatic\","
	"\"regimen\":\"il2_lak\",\"enrolled_on\":\"1985-01-10\"}",
	"{\"patient_id\":1,\"started_on\":\"1985-02-01\"}",
	"{\"course_id\":1,\"assessed_on\":\"1985-04-01\",\"response\":\"PR\"}",
	"{\"course_id\":1,\"term\":\"Chills\",\"grade\":1,\"onset_on\":\"1985-02-02\","
	"\"attribution\":\"definite\"}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct resource *resources[] = {&patients_resource, &courses_resource,
					      &outcomes_resource, &toxicities_resource};
	json_error_t err;
	json_t *body = json_loadb((const char *)data, size,
				  JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY, &err);
	if (!body)
		return 0;
	for (int r = 0; r < 4; r++) {
		struct field_errors errs;
		struct record rec, old;
		field_errors_init(&errs);
		record_from_json(resources[r], body, NULL, &rec, &errs);
		record_clear(&rec);
		field_errors_free(&errs);

		json_t *base = json_loads(valid[r], 0, NULL);
		field_errors_init(&errs);
		record_from_json(resources[r], base, NULL, &old, &errs);
		field_errors_free(&errs);
		field_errors_init(&errs);
		record_from_json(resources[r], body, &old, &rec, &errs);
		record_clear(&rec);
		record_clear(&old);
		field_errors_free(&errs);
		json_decref(base);
	}
	json_decref(body);
	return 0;
}

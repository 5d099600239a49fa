/* pyjson.h - JSON as Python's json module writes it. transformers saves
 * config.json with json.dumps, which writes the non-standard tokens
 * Infinity, -Infinity and NaN for non-finite floats (Mamba2's
 * time_step_limit is [0.0, Infinity]); cJSON rejects them. These helpers
 * parse such text (the tokens become non-finite numbers) and turn
 * non-finite numbers back into the same tokens before printing, so a
 * config.json read and rewritten by hxzoo says what its source said. */
#ifndef HX_PYJSON_H
#define HX_PYJSON_H

#include "common/hx.h"

#include <cJSON.h>
#include <stddef.h>

/* cJSON_ParseWithLength, accepting Infinity, -Infinity and NaN outside
 * strings. NULL when the text is not JSON. */
cJSON *hx_pyjson_parse(const char *text, size_t len);
/* The JSON file at path (at most max bytes) parsed as above into *out;
 * errors name the file. */
hx_status hx_pyjson_load(const char *path, size_t max, cJSON **out);
/* Replace every non-finite number under j by a raw Infinity / -Infinity /
 * NaN token (cJSON prints raw items verbatim). */
void hx_pyjson_restore(cJSON *j);
/* hx_pyjson_restore then cJSON_Print */
char *hx_pyjson_print(cJSON *j);

#endif

/* fuzz_card_validate.c - a README.md into cards/validate.c, the check
 * behind hxzoo serve's POST /api/validate-yaml (any client's text reaches
 * it): front matter detection, libyaml's parse with our limits (nesting
 * depth, node, anchor and alias counts), alias references (never
 * expanded), duplicate keys and the key checks. Every message is a JSON object with a "message" string, and
 * every input ends with an answer (errors, or none). */
#include "cards/card.h"
#include "tests/fuzz/util.h"

#include <stdlib.h>
#include <string.h>

static void check(const cJSON *arr)
{
    const cJSON *m;
    if (!cJSON_IsArray(arr))
        abort();
    cJSON_ArrayForEach(m, arr)
    {
        if (!cJSON_IsString(cJSON_GetObjectItem(m, "message")))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    char *t = fz_cstr(data, size);
    static const char *const types[] = {"model", "dataset"};
    cJSON *errors = cJSON_CreateArray(), *warnings = cJSON_CreateArray();
    card_validate_metadata(t, strlen(t), types[size & 1], errors, warnings);
    check(errors);
    check(warnings);
    cJSON_Delete(errors);
    cJSON_Delete(warnings);
    free(t);
    return 0;
}

/* fuzz_pyjson.c - JSON text with Python's non-finite tokens into
 * common/pyjson.c: hx_pyjson_parse (the token rewrite outside strings, then
 * cJSON), and for what parses, hx_pyjson_print (non-finite numbers back to
 * Infinity / -Infinity) whose output must parse again to the same value:
 * a config.json read and rewritten by hxzoo must stay readable. */
#include "common/pyjson.h"
#include "tests/fuzz/util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* same tree shape and keys; numbers equal up to the last digit, infinities
 * of the same sign */
static int same(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return a == b;
    if ((a->string == NULL) != (b->string == NULL) || (a->string && strcmp(a->string, b->string)))
        return 0;
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) {
        /* cJSON prints 15 significant digits when they read back within
         * its own tolerance (a last-digit loss of the library, not ours) */
        double x = a->valuedouble, y = b->valuedouble;
        if (!isfinite(x) || !isfinite(y))
            return x == y;
        return fabs(x - y) <= 8 * DBL_EPSILON * fmax(fabs(x), fabs(y));
    }
    if ((a->type & 0xff) != (b->type & 0xff))
        return 0;
    if (cJSON_IsString(a))
        return !strcmp(a->valuestring, b->valuestring);
    const cJSON *x = a->child, *y = b->child;
    for (; x && y; x = x->next, y = y->next)
        if (!same(x, y))
            return 0;
    return !x && !y;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    cJSON *j = hx_pyjson_parse((const char *)data, size);
    if (!j)
        return 0;
    cJSON *orig = cJSON_Duplicate(j, 1);
    char *txt = hx_pyjson_print(j);
    if (!txt)
        abort();
    cJSON *k = hx_pyjson_parse(txt, strlen(txt));
    if (!k || !same(orig, k)) {
        fprintf(stderr, "pyjson: printed text does not parse back to the same value:\n%s\n", txt);
        abort();
    }
    free(txt);
    cJSON_Delete(k);
    cJSON_Delete(orig);
    cJSON_Delete(j);
    return 0;
}

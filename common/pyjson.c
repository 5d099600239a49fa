/* pyjson.c - parse and print JSON with Python's non-finite float tokens
 * (see pyjson.h). */
#include "common/pyjson.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_word(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

/* the token at s (outside a string) when it is one of Python's */
static const char *nonfinite(const char *s, size_t left, size_t *len)
{
    static const char *const tok[] = {"-Infinity", "Infinity", "NaN"};
    static const char *const num[] = {"-1e999", "1e999", "0"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(tok[i]);
        if (left >= n && !memcmp(s, tok[i], n) && (left == n || !is_word(s[n]))) {
            *len = n;
            return num[i];
        }
    }
    return NULL;
}

cJSON *hx_pyjson_parse(const char *text, size_t len)
{
    /* rewrite the tokens as numbers no longer than they are, padded with
     * spaces: 1e999 parses (strtod) as infinity; a NaN is refused */
    char *t = malloc(len + 1);
    if (!t)
        return NULL;
    memcpy(t, text, len);
    t[len] = 0;
    int in_str = 0, nan = 0;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
            continue;
        }
        size_t n;
        const char *r = (i == 0 || !is_word(t[i - 1])) ? nonfinite(t + i, len - i, &n) : NULL;
        if (r) {
            size_t rl = strlen(r);
            memcpy(t + i, r, rl);
            memset(t + i + rl, ' ', n - rl);
            nan |= n == 3;
            i += n - 1;
        }
    }
    cJSON *j = cJSON_ParseWithLength(t, len);
    free(t);
    if (j && nan) { /* NaN is rare enough in configs to refuse rather than guess */
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

void hx_pyjson_restore(cJSON *j)
{
    if (!j)
        return;
    if (cJSON_IsNumber(j) && !isfinite(j->valuedouble)) {
        /* turn the node into a raw item in place (keeps its key and
         * position; the root too: a bare Infinity printed as null) */
        const char *tok = isnan(j->valuedouble) ? "NaN" : j->valuedouble > 0 ? "Infinity" : "-Infinity";
        char *raw = malloc(strlen(tok) + 1);
        if (!raw)
            return;
        strcpy(raw, tok);
        j->type = cJSON_Raw;
        j->valuestring = raw;
        return;
    }
    for (cJSON *e = j->child; e; e = e->next)
        hx_pyjson_restore(e);
}

char *hx_pyjson_print(cJSON *j)
{
    hx_pyjson_restore(j);
    return cJSON_Print(j);
}

hx_status hx_pyjson_load(const char *path, size_t max, cJSON **out)
{
    *out = NULL;
    char *txt;
    size_t n;
    hx_status st = hx_read_file(path, max, &txt, &n);
    if (st)
        return st;
    *out = hx_pyjson_parse(txt, n);
    free(txt);
    return *out ? HX_OK : HX_FAIL(HX_EFORMAT, "%s: invalid JSON", path);
}

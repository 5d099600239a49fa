/* rv_report.c - `hxzoo verify` driver: resolve, list, run the quick checks
 * (and the full ones), collect every check into the JSON report, print it. */
#include "verify/verify_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void rv_check(rv_ctx *c, const char *check, const char *result, const char *card, const char *measured,
              const char *fmt, ...)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "check", check);
    cJSON_AddStringToObject(j, "result", result);
    if (card)
        cJSON_AddStringToObject(j, "card", card);
    if (measured)
        cJSON_AddStringToObject(j, "measured", measured);
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        char buf[1024];
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        cJSON_AddStringToObject(j, "detail", buf);
    }
    cJSON_AddItemToArray(c->checks, j);
    if (!strcmp(result, "fail") || !strcmp(result, "contradicted"))
        c->sound = 0;
}

const hub_entry *rv_entry(const rv_ctx *c, const char *path)
{
    for (size_t i = 0; i < c->ls.n; i++)
        if (!strcmp(c->ls.files[i].path, path))
            return &c->ls.files[i];
    return NULL;
}

hx_status rv_fetch(rv_ctx *c, const char *path, char **out, size_t *len)
{
    const hub_entry *e = rv_entry(c, path);
    if (!e)
        return HX_FAIL(HX_ENOTFOUND, "%s: no file %s", c->repo, path);
    if (e->size > (64u << 20))
        return HX_FAIL(HX_EFORMAT, "%s: %s is too large to read whole (%llu bytes)", c->repo, path,
                       (unsigned long long)e->size);
    char *buf = hx_malloc(e->size + 1);
    size_t got = 0;
    hx_status st = e->size ? hub_fetch_range(c->hub, c->repo, c->commit, path, 0, e->size, buf, &got) : HX_OK;
    if (!st && got != e->size)
        st = HX_FAIL(HX_EINTEGRITY, "%s: %s: got %zu of %llu bytes", c->repo, path, got, (unsigned long long)e->size);
    if (st) {
        free(buf);
        return st;
    }
    buf[got] = 0;
    *out = buf;
    *len = got;
    return HX_OK;
}

hx_status repo_verify(const char *repo, const char *rev, const rv_opts *o, cJSON **report, int *sound)
{
    rv_ctx c = {.o = o, .repo = repo, .sound = 1};
    *report = NULL;
    hub_config cfg = {.endpoint = o->endpoint, .progress = hx_log_level ? -1 : 0};
    hx_status st = hub_client_new(&cfg, &c.hub);
    if (!st)
        st = hub_resolve_revision(c.hub, repo, rev ? rev : "main", c.commit);
    if (!st)
        st = hub_list_files(c.hub, repo, c.commit, &c.ls);
    if (st) {
        hub_client_free(c.hub);
        return st;
    }
    c.checks = cJSON_CreateArray();
    st = rv_quick(&c);
    if (!st && o->full)
        st = rv_full(&c);
    if (!st) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "repo", repo);
        cJSON_AddStringToObject(j, "revision", rev ? rev : "main");
        cJSON_AddStringToObject(j, "commit", c.commit);
        cJSON_AddStringToObject(j, "mode", o->full ? "full" : "quick");
        cJSON_AddBoolToObject(j, "sound", c.sound);
        cJSON *counts = cJSON_AddObjectToObject(j, "counts");
        const cJSON *ch;
        cJSON_ArrayForEach(ch, c.checks)
        {
            const char *r = cJSON_GetObjectItemCaseSensitive(ch, "result")->valuestring;
            cJSON *n = cJSON_GetObjectItemCaseSensitive(counts, r);
            if (n)
                cJSON_SetNumberValue(n, n->valuedouble + 1);
            else
                cJSON_AddNumberToObject(counts, r, 1);
        }
        cJSON_AddItemToObject(j, "checks", c.checks);
        c.checks = NULL;
        *report = j;
        *sound = c.sound;
    }
    cJSON_Delete(c.checks);
    cJSON_Delete(c.config);
    for (size_t i = 0; i < c.n_modules; i++)
        free(c.modules[i]);
    free(c.modules);
    if (c.have_card)
        card_doc_free(&c.card);
    hub_listing_free(&c.ls);
    hub_client_free(c.hub);
    return st;
}

static const char *s(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

void repo_verify_print(const cJSON *r, FILE *f)
{
    fprintf(f, "hxzoo verify %s@%s (%s, commit %s)\n", s(r, "repo"), s(r, "revision"), s(r, "mode"), s(r, "commit"));
    const cJSON *ch;
    cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(r, "checks"))
    {
        const char *card = s(ch, "card"), *meas = s(ch, "measured"), *d = s(ch, "detail");
        fprintf(f, "  %-13s %-34s", s(ch, "result"), s(ch, "check"));
        if (card && meas)
            fprintf(f, " card %s, measured %s%s", card, meas, d ? ";" : "");
        else if (card || meas)
            fprintf(f, " %s %s%s", card ? "card" : "measured", card ? card : meas, d ? ";" : "");
        if (d)
            fprintf(f, " %s", d);
        fputc('\n', f);
    }
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(r, "sound");
    char *counts = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "counts"));
    fprintf(f, "%s: %s %s\n", s(r, "repo"), cJSON_IsTrue(sd) ? "SOUND" : "NOT SOUND", counts);
    free(counts);
}

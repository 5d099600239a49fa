/* rv_quick.c - quick verification from metadata only: the card's front
 * matter, config.json and its quantization_config, the safetensors headers
 * (read with range requests) for every compressed module's tensors, and the
 * card's file hashes against the Hub's listing. */
#include "verify/verify_internal.h"
#include "common/pyjson.h"
#include "common/hash.h"

#include <stdlib.h>
#include <string.h>

static void check_front_matter(rv_ctx *c)
{
    char *t;
    size_t n;
    if (rv_fetch(c, "README.md", &t, &n)) {
        hx_clearerr();
        rv_check(c, "card", "fail", NULL, NULL, "the repo has no README.md");
        return;
    }
    card_parse(t, n, &c->card);
    free(t);
    c->have_card = 1;
    if (c->card.fm_error)
        rv_check(c, "card front matter", "fail", NULL, NULL, "%s", c->card.fm_error);
    else if (!c->card.front_matter)
        rv_check(c, "card front matter", "not stated", NULL, NULL, "README.md has no YAML front matter");
    else
        rv_check(c, "card front matter", "ok", NULL, NULL, "%zu keys", c->card.n_fm);
    static const char *const keys[] = {"base_model", "base_model_relation", "library_name", "pipeline_tag",
                                       "license", "tags", "model-index"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *v = card_fm(&c->card, keys[i]);
        char *name = hx_asprintf("card: %s", keys[i]);
        if (!v || !*v)
            rv_check(c, name, "not stated", NULL, NULL, NULL);
        else if (!strcmp(keys[i], "base_model_relation") && strcmp(v, "quantized"))
            rv_check(c, name, "fail", v, NULL, "must be \"quantized\" for an HXQ repo");
        else if (!strcmp(keys[i], "tags") && !strstr(v, "hxq"))
            rv_check(c, name, "warn", v, NULL, "no \"hxq\" tag");
        else
            rv_check(c, name, "ok", v, NULL, NULL);
        free(name);
    }
}

static void check_config(rv_ctx *c)
{
    char *t;
    size_t n;
    if (rv_fetch(c, "config.json", &t, &n)) {
        rv_check(c, "config.json", "fail", NULL, NULL, "%s", hx_lasterr());
        hx_clearerr();
        return;
    }
    c->config = hx_pyjson_parse(t, n);
    free(t);
    rv_qconfig q;
    const char *why = c->config ? rv_qconfig_parse(c->config, &q) : NULL;
    if (!c->config) {
        rv_check(c, "config.json", "fail", NULL, NULL, "not valid JSON");
    } else if (why) {
        rv_check(c, "quantization_config", "fail", NULL, NULL, "%s", why);
    } else {
        c->modules = q.modules;
        c->n_modules = q.n_modules;
        c->K = q.K;
        q.modules = NULL;
        q.n_modules = 0;
        rv_check(c, "quantization_config", strcmp(q.method, "hxq") ? "warn" : "ok", NULL, NULL,
                 "quant_method %s, %zu compressed modules%s", q.method, c->n_modules,
                 strcmp(q.method, "hxq") ? " (older alias; loads with helix-substrate 0.3.3)" : "");
    }
    if (c->config)
        rv_qconfig_free(&q);
}

/* All tensor headers of the repo's safetensors files, by range reads. */
static hx_status read_headers(rv_ctx *c, hx_st_file ***files, size_t *nf)
{
    *files = NULL;
    *nf = 0;
    for (size_t i = 0; i < c->ls.n; i++) {
        const hub_entry *e = &c->ls.files[i];
        size_t pl = strlen(e->path);
        if (pl < 12 || strcmp(e->path + pl - 12, ".safetensors"))
            continue;
        unsigned char h8[8];
        size_t got = 0;
        hx_status st = hub_fetch_range(c->hub, c->repo, c->commit, e->path, 0, 8, h8, &got);
        if (st)
            return st;
        uint64_t hl = 0;
        for (int k = 7; k >= 0; k--)
            hl = hl << 8 | h8[k];
        if (got != 8 || hl == 0 || hl > HX_ST_MAX_HEADER || hl + 8 > e->size) {
            rv_check(c, "safetensors header", "fail", NULL, NULL, "%s: bad header length", e->path);
            continue;
        }
        char *hdr = hx_malloc(hl);
        st = hub_fetch_range(c->hub, c->repo, c->commit, e->path, 8, hl, hdr, &got);
        hx_st_file *f = NULL;
        if (!st && got == hl)
            st = hx_st_parse_header(e->path, hdr, hl, e->size, &f);
        free(hdr);
        if (st || !f) {
            rv_check(c, "safetensors header", "fail", NULL, NULL, "%s: %s", e->path, hx_lasterr());
            hx_clearerr();
            continue;
        }
        *files = hx_realloc(*files, (*nf + 1) * sizeof **files);
        (*files)[(*nf)++] = f;
    }
    return HX_OK;
}

static void check_modules(rv_ctx *c)
{
    hx_st_file **f;
    size_t nf;
    hx_status st = read_headers(c, &f, &nf);
    if (st) {
        rv_check(c, "safetensors headers", "fail", NULL, NULL, "%s", hx_lasterr());
        hx_clearerr();
        return;
    }
    size_t ntens = 0;
    for (size_t i = 0; i < nf; i++)
        ntens += hx_st_count(f[i]);
    rv_check(c, "safetensors headers", nf ? "ok" : "fail", NULL, NULL, "%zu files, %zu tensors (range reads only)",
             nf, ntens);
    int K = c->K;
    size_t bad = 0, sc = 0;
    char first[600] = "";
    for (size_t i = 0; i < c->n_modules; i++) {
        int sidecar = 0;
        const char *why = rv_module_problem(f, nf, c->modules[i], K, &sidecar);
        sc += (size_t)sidecar;
        if (why && bad++ == 0)
            snprintf(first, sizeof first, "%s: %s", c->modules[i], why);
    }
    if (bad)
        rv_check(c, "compressed modules", "fail", NULL, NULL, "%zu of %zu modules malformed; first: %s", bad,
                 c->n_modules, first);
    else if (c->n_modules)
        rv_check(c, "compressed modules", "ok", NULL, NULL,
                 "%zu modules: F32 codebook (<= %d), U8 indices, %zu with an I64/F32 sidecar", c->n_modules, K, sc);
    for (size_t i = 0; i < nf; i++)
        hx_st_close(f[i]);
    free(f);
}

static void check_hashes(rv_ctx *c)
{
    if (!c->have_card || !c->card.n_files) {
        rv_check(c, "file hashes", "not stated", NULL, NULL, "the card lists no SHA-256 per file");
        return;
    }
    size_t ok = 0, bad = 0;
    for (size_t i = 0; i < c->card.n_files; i++) {
        const card_file *cf = &c->card.files[i];
        const hub_entry *e = rv_entry(c, cf->path);
        char got[65] = "";
        if (!e) {
            rv_check(c, "file hash", "fail", cf->sha256, "absent", "%s is on the card but not in the repo", cf->path);
            bad++;
            continue;
        }
        if (e->sha256[0]) {
            memcpy(got, e->sha256, 65);
        } else {
            char *t;
            size_t n;
            if (rv_fetch(c, cf->path, &t, &n)) {
                rv_check(c, "file hash", "fail", cf->sha256, NULL, "%s: %s", cf->path, hx_lasterr());
                hx_clearerr();
                bad++;
                continue;
            }
            hx_sha256_hex(t, n, got);
            free(t);
        }
        if (strcmp(got, cf->sha256) || e->size != cf->size) {
            rv_check(c, "file hash", "contradicted", cf->sha256, got, "%s (card %llu bytes, repo %llu)", cf->path,
                     (unsigned long long)cf->size, (unsigned long long)e->size);
            bad++;
        } else {
            ok++;
        }
    }
    size_t extra = 0;
    for (size_t i = 0; i < c->ls.n; i++) {
        const char *p = c->ls.files[i].path;
        int listed = !strcmp(p, "README.md") || !strcmp(p, ".gitattributes");
        for (size_t k = 0; !listed && k < c->card.n_files; k++)
            listed = !strcmp(c->card.files[k].path, p);
        if (!listed && extra++ == 0)
            rv_check(c, "file hashes", "warn", NULL, NULL, "%s is in the repo but not on the card", p);
    }
    if (!bad)
        rv_check(c, "file hashes", "confirmed", NULL, NULL, "%zu files match the card's SHA-256 and size", ok);
}

hx_status rv_quick(rv_ctx *c)
{
    check_front_matter(c);
    check_config(c);
    if (c->n_modules)
        check_modules(c);
    check_hashes(c);
    return HX_OK;
}

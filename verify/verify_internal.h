/* verify_internal.h - private to verify/ (and tests): the shared state of
 * `hxzoo verify` and the functions its files give each other (rv_report.c:
 * checks and the printed report; rv_qconfig.c: quantization_config and module
 * checks; rv_quick.c: metadata, headers, card; rv_full.c: decode, cosine,
 * perplexity). */
#ifndef HX_VERIFY_INTERNAL_H
#define HX_VERIFY_INTERNAL_H

#include "cards/card.h"
#include "codec/safetensors.h"
#include "hub/hub.h"
#include "verify/repo_verify.h"

typedef struct rv_ctx {
    const rv_opts *o;
    hub_client *hub;
    const char *repo;
    char commit[41];
    hub_listing ls;
    card_doc card;
    int have_card;
    cJSON *config;    /* config.json */
    cJSON *checks;    /* array */
    int sound;
    char **modules;   /* compressed_modules */
    size_t n_modules;
    int K;            /* codebook size (quantization_config) */
} rv_ctx;

/* ---- rv_report.c: the check list and small files of the repo ---- */

/* result: ok | warn | fail | not stated | confirmed | contradicted |
 * unchecked; fail and contradicted make the repo unsound. card/measured
 * may be NULL. */
void rv_check(rv_ctx *c, const char *check, const char *result, const char *card, const char *measured,
              const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A whole small file of the repo (caller frees). */
hx_status rv_fetch(rv_ctx *c, const char *path, char **out, size_t *len);
const hub_entry *rv_entry(const rv_ctx *c, const char *path);

/* ---- rv_qconfig.c: config.json's quantization_config and the module
 * checks on headers (no network) ---- */
typedef struct rv_qconfig {
    const char *method; /* quant_method (points into the JSON) */
    char **modules;     /* compressed_modules (their strings) */
    size_t n_modules;
    int K;              /* codebook_size or n_clusters; 256 when not stated */
} rv_qconfig;
/* NULL when the quantization_config is usable (q filled), else why not
 * (q->method may be set). Free q in both cases. */
const char *rv_qconfig_parse(const cJSON *config, rv_qconfig *q);
void rv_qconfig_free(rv_qconfig *q);
/* Why module M's tensors in the headers f[0, nf) are not an HXQ module of
 * codebook size at most K (NULL: they are); *sidecar: it has one. */
const char *rv_module_problem(hx_st_file *const *f, size_t nf, const char *M, int K, int *sidecar);

/* ---- rv_quick.c: metadata, safetensors headers, card ---- */
hx_status rv_quick(rv_ctx *c);

/* ---- rv_full.c: download, decode, cosines, perplexity ---- */
hx_status rv_full(rv_ctx *c);

#endif

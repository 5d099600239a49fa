/* repo_verify.h - `hxzoo verify REPO[@REV]`: is a published HXQ repo intact
 * and does its card tell the truth?
 *
 * Quick (default) reads only metadata and safetensors headers (HTTP range
 * requests): config.json and quantization_config, every compressed module's
 * tensors (dtypes, shapes, sidecar pairs), the card's front matter and its
 * file hashes against the Hub's listing. Full also downloads the repo and
 * its base model, decodes every module (indices < codebook size, sidecar
 * positions in range), recomputes the cosine of each weight against the
 * base and re-measures perplexity/KLD/top-1 with the card's protocol; each
 * claim of the card is reported as confirmed, contradicted (both numbers)
 * or not stated. */
#ifndef HX_REPO_VERIFY_H
#define HX_REPO_VERIFY_H

#include "common/hx.h"

#include <cJSON.h>
#include <stdio.h>

typedef struct rv_opts {
    const char *endpoint;   /* NULL: $HF_ENDPOINT */
    int full;
    const char *text;       /* evaluation text (default: found by the card's name) */
    const char *text_dir;   /* where to look for it (default: the zoo's tests/fixtures/eval) */
    int threads;
    int device;             /* hx_device (eval/eval.h) for --full: 0 auto, 1 cpu, 2 cuda */
} rv_opts;

/* Verify repo at rev (NULL = main). *report (caller deletes) holds
 * {repo, revision, commit, mode, sound, checks: [{check, result, card,
 * measured, detail}], counts}. Returns HX_OK when the verification ran
 * (sound or not: see *sound); an error status only when it could not run
 * (repo not found, network). */
hx_status repo_verify(const char *repo, const char *rev, const rv_opts *o, cJSON **report, int *sound);
/* The report as a table. */
void repo_verify_print(const cJSON *report, FILE *f);

#endif

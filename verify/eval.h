/* eval.h - perplexity / KL evaluation protocols on the CPU (`hxzoo eval`).
 *
 * Protocols (docs/EVAL.md), each reproducing its original exactly:
 *   helix    helix-substrate's eval_ppl_cpu.py: non-empty lines joined with
 *            "\n\n", tokenized with special tokens, truncated to n_tokens+1
 *            (8193) ids, non-overlapping windows of seq_len (2048) inputs +
 *            1, every target scored; PPL = exp(sum nll / n targets).
 *   gptq     the GPTQ paper: all lines joined with "\n\n", whole test set,
 *            nsamples = n_ids / seq_len windows of seq_len ids, each scored
 *            on its seq_len-1 inner targets; PPL = exp(mean window loss).
 *   sliding  Hugging Face's sliding window: all lines joined, windows of
 *            `context` ids every `stride`, each scoring its last
 *            end - prev_end labels; PPL = exp(sum loss*trg_len / sum trg_len).
 * "Lines" are those of the HF wikitext-2-raw-v1 split: the lines of the raw
 * file each keeping its "\n", whitespace-only lines replaced by "".
 * With a base model, both models run window by window in lockstep; the
 * result adds the mean KL(base || model) of the next-token distributions
 * and the top-1 agreement over the scored positions. */
#ifndef HX_EVAL_H
#define HX_EVAL_H

#include "common/hx.h"
#include "model/model.h"
#include "model/tokenizer.h"

typedef enum { HX_PROTO_HELIX = 0, HX_PROTO_GPTQ, HX_PROTO_SLIDING } hx_protocol;

typedef struct hx_eval_opts {
    hx_protocol proto;
    int seq_len;     /* helix/gptq window (2048); sliding: context (2048) */
    int stride;      /* sliding only (512) */
    long n_tokens;   /* helix: scored tokens (8192) */
    int max_windows; /* stop after this many windows (0 = all; for quick runs) */
} hx_eval_opts;

void hx_eval_opts_default(hx_eval_opts *o, hx_protocol p);
int hx_protocol_parse(const char *name, hx_protocol *p);
const char *hx_protocol_name(hx_protocol p);

/* One forward window: inputs ids[begin, begin+n); the logits of input
 * positions [s0, s1) are scored against ids[begin+t+1]; the window's mean
 * NLL enters the total with `weight`. */
typedef struct hx_window {
    long begin;
    int n, s0, s1;
    double weight;
} hx_window;

typedef struct hx_eval_plan {
    hx_protocol proto;
    int32_t *ids;
    long n_ids;
    hx_window *w;
    long n_windows;
    long n_scored;  /* targets scored */
    long n_forward; /* tokens fed to the model (per model) */
    int max_len;    /* longest window */
    char text_sha256[65];
    long text_bytes;
} hx_eval_plan;

/* The protocol's text from the raw WikiText file (malloc'd). */
hx_status hx_eval_text(const char *raw, size_t len, hx_protocol p, char **text, size_t *tlen);
/* Tokenize and lay out the windows. */
hx_status hx_eval_plan_build(const hx_tok *tok, const char *raw, size_t len, const hx_eval_opts *o,
                             hx_eval_plan *plan);
void hx_eval_plan_free(hx_eval_plan *p);

typedef struct hx_eval_side {
    double ppl, nll;
    double seconds; /* forward + logits time of this model */
} hx_eval_side;

typedef struct hx_eval_result {
    hx_eval_side model, base;
    int have_base;
    double kld_mean, top1; /* vs base */
    long n_windows_done, n_scored_done;
    double seconds;        /* whole evaluation wall time */
    double tokens_per_s;   /* forward tokens of all models / seconds */
    const char *device;    /* the ops' device ("cpu", "cuda") */
} hx_eval_result;

/* Run the plan on model (and base, NULL for none); both must have been
 * loaded with max_ctx >= plan->max_len. */
hx_status hx_eval_run(hx_model *model, hx_model *base, const hx_eval_plan *plan,
                      hx_eval_result *r);

/* The seam for other devices (`hxzoo eval --device cuda`): how one side
 * (model or base) is run. forward feeds a fresh sequence (the side resets
 * itself) and returns the n final normed hidden states on the host; logits
 * turns host hidden rows into host logits. The NLL/KL/top-1 reductions are
 * the CPU's for every device. */
typedef struct hx_eval_ops {
    const char *device; /* "cpu", "cuda" */
    hx_status (*forward)(void *side, const int32_t *ids, int n, float *hidden);
    hx_status (*logits)(void *side, const float *hidden, int rows, float *logits);
} hx_eval_ops;

/* hx_eval_run with explicit ops; msd/bsd: the sides (bsd NULL: no base),
 * mc/bc their configurations (vocab, dim). */
hx_status hx_eval_run_ops(const hx_eval_ops *ops, void *msd, const hx_model_config *mc, void *bsd,
                          const hx_model_config *bc, const hx_eval_plan *plan, hx_eval_result *r);

/* JSON receipt (caller frees). */
char *hx_eval_receipt(const hx_eval_plan *plan, const hx_eval_opts *o, const hx_eval_result *r,
                      const char *model_dir, const char *base_dir, const char *text_path);

#endif

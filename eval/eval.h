/* eval.h - the evaluation engine: perplexity / KL evaluation protocols,
 * the one entry point `hxzoo eval`, `hxzoo build` and `hxzoo verify --full`
 * call, on the CPU (model/) or the GPU (gpu/) as a parameter.
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
 * With a base model, both models run in lockstep; the result adds the mean
 * KL(base || model) of the next-token distributions and the top-1
 * agreement over the scored positions.
 *
 * Layer order (docs/EVAL.md): the windows are split into groups whose
 * activations fit a memory budget; each group is taken through the model
 * one layer at a time, every layer's weights read once in their stored
 * form (dense or HXQ, converted to float32 a tile at a time) and dropped
 * behind, for both models in lockstep; then the logits of the scored rows
 * are computed in blocks of the vocabulary for both models together and
 * reduced on the fly (log-sum-exp, target logit, KL, argmax), never
 * stored whole. Peak memory is about one layer plus the group's
 * activations, whatever the model's size. */
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
    const char *device;    /* the backend's device ("cpu", "cuda") */
    const char *dtype;     /* "float32" or "bfloat16" */
    char device_name[128]; /* the GPU's name, or "" */
    int groups;            /* window groups (weight passes) */
    uint64_t peak_rss;     /* VmHWM of the process at the end */
} hx_eval_result;

typedef enum { HX_DEV_AUTO = 0, HX_DEV_CPU, HX_DEV_CUDA } hx_device;

/* Arithmetic of the evaluation: F32 everywhere (the CPU; --dtype f32 on
 * CUDA), or BF16 inputs of every matrix product with FP32 accumulation
 * (CUDA's default). */
typedef enum { HX_DTYPE_AUTO = 0, HX_DTYPE_F32, HX_DTYPE_BF16 } hx_compute_dtype;
int hx_compute_dtype_parse(const char *name, hx_compute_dtype *d); /* auto, f32, bf16 */
extern const char *const hx_compute_dtype_names[]; /* "auto", "f32", "bf16", NULL: the --dtype values */
/* "float32" / "bfloat16" (what receipts and cards say) */
const char *hx_compute_dtype_name(hx_compute_dtype d);
/* The dtype a device runs with: auto is F32 on the CPU, BF16 on CUDA;
 * HX_EINVAL (with the reason) for BF16 on the CPU. */
hx_status hx_compute_dtype_resolve(hx_device dev, hx_compute_dtype d, hx_compute_dtype *out);

typedef struct hx_engine_opts {
    hx_device device;    /* auto: CUDA when a usable device is there, else CPU */
    hx_compute_dtype dtype; /* auto: the device's default */
    uint64_t mem_budget; /* bytes of activations and logits (0: hx_eval_default_budget) */
    uint64_t mem_limit;  /* refuse to start when the estimated peak exceeds it
                          * (0: 90% of the available memory; env
                          * HXZOO_EVAL_MEM_LIMIT overrides) */
    int progress;        /* draw the progress bar (stderr a terminal, not quiet) */
} hx_engine_opts;

void hx_engine_opts_default(hx_engine_opts *o);
int hx_device_parse(const char *name, hx_device *d);
const char *hx_device_name(hx_device d);
extern const char *const hx_device_names[]; /* "auto", "cpu", "cuda", NULL: the --device values */
/* min(2 GiB, a third of the available memory), at least 256 MiB */
uint64_t hx_eval_default_budget(void);
/* The device `auto` resolves to here (and why, in hx_lasterr() when CPU). */
hx_device hx_device_resolve(hx_device d);
/* The device a model of family `arch` (named `what` in the refusal) runs
 * on: hx_device_resolve for transformers; the CPU for the state-space
 * families, which the CUDA backend cannot run (auto: CPU; cuda: refused). */
hx_status hx_device_for(hx_device requested, hx_arch arch, const char *what, hx_device *out);

/* The engine's plan for a pair of models (model, and base or NULL): how the
 * windows are grouped, what it will hold at its peak and roughly how long
 * it takes, from the configs and the stored sizes (nothing is loaded). */
typedef struct hx_eval_estimate {
    hx_device device;
    hx_compute_dtype dtype;
    int groups, max_group_tokens;
    uint64_t buffers;   /* activations, scratch, logits blocks (host) */
    uint64_t mapped;    /* the largest layer of each model, resident while used */
    uint64_t peak;      /* host resident bytes at the peak, estimated */
    uint64_t device_bytes; /* CUDA: device memory needed (0 on the CPU) */
    double flops;       /* multiply-adds x 2 of every forward token and logit row */
    double seconds;     /* at the measured matrix-product rate of this machine */
    double gflops;      /* that rate */
} hx_eval_estimate;

hx_status hx_eval_estimate_pair(const char *model_dir, const char *base_dir,
                                const hx_eval_plan *plan, const hx_engine_opts *o,
                                hx_eval_estimate *e);

/* Evaluate the plan on model_dir (and base_dir in lockstep, NULL: none).
 * Logs the estimate first (hx_info) and refuses (HX_ENOMEM, naming the
 * figures) when its peak exceeds the memory limit; with --device cuda and
 * no usable device, refuses (never falls back to the CPU). */
hx_status hx_eval_models(const char *model_dir, const char *base_dir, const hx_eval_plan *plan,
                         const hx_engine_opts *o, hx_eval_result *r);

/* Keep only the first max_windows windows of a plan (quick runs). */
void hx_eval_plan_trim(hx_eval_plan *p, long max_windows);

/* A model against its base with a named protocol on a text file, reduced to
 * the numbers a card states: what `hxzoo build` gates on and `verify
 * --full` re-measures. Inputs: protocol, seq_len, stride, n_tokens (0 =
 * the protocol's defaults); the tokenizer is model_dir's. */
typedef struct hx_pair_eval {
    char protocol[16];
    int seq_len, stride;
    long n_tokens;
    /* results */
    double base_ppl, ppl, delta_ppl, delta_pct, kld_mean, top1;
    long windows, scored;
    char text_sha256[65];  /* of the protocol's constructed text */
    char file_sha256[65];  /* of the raw text file */
    double seconds;
    hx_eval_estimate est;  /* the plan it ran with */
    const char *device;    /* "cpu" or "cuda" */
    const char *dtype;     /* "float32" or "bfloat16" */
    char device_name[128]; /* the GPU's name, or "" */
} hx_pair_eval;

hx_status hx_eval_pair(const char *model_dir, const char *base_dir, const char *text_path,
                       const hx_engine_opts *o, hx_pair_eval *e);

/* JSON receipt (caller frees). */
char *hx_eval_receipt(const hx_eval_plan *plan, const hx_eval_opts *o, const hx_eval_result *r,
                      const char *model_dir, const char *base_dir, const char *text_path);

#endif

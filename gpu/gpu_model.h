/* gpu_model.h - the CUDA backend of the evaluation engine and of
 * `hxzoo generate --device cuda` (gpu/forward.cu): a Llama/Qwen2 model on
 * an NVIDIA GPU, its weights resident in their stored form. C-callable; no
 * CUDA header needed.
 *
 * Design (docs/GPU.md, "Forward pass"):
 *   - weights are uploaded as stored: HXQ modules as codes + codebook +
 *     sidecar (gpu.h's hxg_linear), dense ones in their dtype (BF16, F16
 *     or F32); all of a model stays resident when it fits the share of
 *     device memory it was given, else each layer is uploaded when it runs
 *     and freed after it (the embeddings and the output layer stay);
 *   - the compute dtype is BF16 (tensor cores: inputs of every matrix
 *     product in BF16, FP32 accumulation and FP32 outputs, the residual
 *     stream, norms, RoPE and softmax in FP32) or F32 (every product in
 *     FP32 without TF32: the CPU's arithmetic, for agreement checks);
 *   - linear layers over many tokens: an HXQ weight is expanded into a
 *     scratch buffer in the compute dtype (codebook lookup, then the
 *     sidecar values written at their positions), then one cuBLAS GEMM;
 *     a dense weight in the compute dtype is used directly. Decode (at
 *     most 8 tokens): the fused HXQ GEMV of gpu.h, no expansion;
 *   - attention: per sequence, in blocks of query rows, the causal part of
 *     the scores by a batched cuBLAS GEMM, a softmax kernel, the product
 *     with V by a batched GEMM; a one-kernel path for decode;
 *   - evaluation scores on the device: the logits of the scored rows, in
 *     blocks of the vocabulary, are folded into per-row running states
 *     (log-sum-exp, target logit, KL accumulator, argmax) by a kernel, for
 *     the model and its base together; only the states come back.
 *
 * Without a CUDA build (gpu/stub.c) every function fails with
 * HX_ENOTFOUND and the reason in hx_lasterr(). */
#ifndef HX_GPU_MODEL_H
#define HX_GPU_MODEL_H

#include "model/model.h"

typedef struct hxg_model hxg_model;

/* The compute dtype (matches gpu.h's hxg_dtype values). */
#define HXG_COMPUTE_F32 0
#define HXG_COMPUTE_BF16 1

/* 1 when this binary was built with the CUDA code, 0 for the stub. */
int hxg_built_with_cuda(void);

/* Is a usable CUDA device there (ordinal 0)? HX_OK with its name ("NVIDIA
 * H200") in name and a one-line description in desc (either may be NULL),
 * or HX_ENOTFOUND with the reason in hx_lasterr(). */
hx_status hxg_probe(char *name, size_t name_len, char *desc, size_t desc_len);
/* Free and total device memory (bytes) of ordinal 0. */
hx_status hxg_mem_info(uint64_t *free_b, uint64_t *total_b);

/* A device side for the CPU model `cpu` (which must outlive it: its
 * weights are read from its mapping when uploaded). max_ctx: longest
 * sequence (<= the CPU model's); max_tokens: rows of one batch; compute:
 * HXG_COMPUTE_*; share: how many models will share the device (the
 * weights stay resident when they fit 1/share of the free memory). */
hx_status hxg_model_create(hx_model *cpu, int max_ctx, int max_tokens, int compute, int share,
                           hxg_model **out);
void hxg_model_free(hxg_model *g);
/* Device bytes held now, and at most so far. */
uint64_t hxg_model_bytes(const hxg_model *g);
uint64_t hxg_model_peak_bytes(const hxg_model *g);
/* Are the weights resident (1) or streamed layer by layer (0)? */
int hxg_model_resident(const hxg_model *g);
/* Device bytes hxg_model_create allocates for buffers (without weights). */
uint64_t hxg_model_buffer_bytes(const hx_model_config *c, int max_ctx, int max_tokens, int compute);

/* As hx_model_batch_begin / _layer / _final (model/model.h); the packed
 * final rows stay on the device. */
hx_status hxg_batch_begin(hxg_model *g, const int32_t *ids, const int *lens, int nseq);
hx_status hxg_batch_layer(hxg_model *g, int l);
hx_status hxg_batch_final(hxg_model *g, const int *rows, int nrows);

/* Per-row reduction state of the scoring (the layout of eval/backend_internal.h's
 * hx_row_state: running max and sum of exp of model (a) and base (b), the
 * target logits, the argmaxes, the KL accumulator). */
typedef struct hxg_row_state {
    float ma, mb, ta, tb;
    int aa, ab;
    double sa, sb, u;
} hxg_row_state;

/* Score the packed final rows of model a (and base b, or NULL: both must
 * have the same rows and vocabulary): st[r] for r < nrows, targets tgt[r].
 * Logits never leave the device. */
hx_status hxg_score(hxg_model *a, hxg_model *b, int nrows, const int32_t *tgt, hxg_row_state *st);

/* Greedy generation on the device (token order, KV cache on the device):
 * prefill the prompt, then feed back the argmax until max_new tokens or an
 * EOS id. *out (malloc'd) holds the generated ids. */
hx_status hxg_generate(hxg_model *g, const int32_t *prompt, int n_prompt, int max_new,
                       int32_t **out, int *n_out, hx_gen_stats *stats);

#endif

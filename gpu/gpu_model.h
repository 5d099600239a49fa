/* gpu_model.h - the transformer forward pass on an NVIDIA GPU (gpu/forward.cu),
 * behind `hxzoo eval --device cuda`. C-callable; no CUDA header needed.
 *
 * First version, correctness first (docs/GPU.md, "Forward pass"):
 *   - the device model is built from a loaded CPU hx_model (model/model.h):
 *     the same F32 weights (HXQ modules decoded to F32 by the CPU loader),
 *     the same RoPE cos/sin tables (so rope_scaling is applied identically);
 *   - FP32 activations and FP32 accumulation throughout; the dense linears
 *     are cublasSgemm (cuBLAS opened with dlopen on first use, default math
 *     mode: no TF32), RMSNorm (double sum of squares), RoPE, SwiGLU, the
 *     residual adds and a causal grouped-query attention (one block per
 *     query row and head, scores in shared memory) are our kernels;
 *   - the HXQ kernels (gpu.h) are NOT used yet here, nor BF16 activations.
 * Semantics mirror model.h: a KV cache of max_ctx positions, forward feeds
 * n tokens at the current position, reset starts a new sequence.
 *
 * Without a CUDA build (gpu/stub.c) every function fails with
 * HX_ENOTFOUND and the reason in hx_lasterr(). */
#ifndef HX_GPU_MODEL_H
#define HX_GPU_MODEL_H

#include "model/model.h"

typedef struct hxg_model hxg_model;

/* 1 when this binary was built with the CUDA code, 0 for the stub. */
int hxg_built_with_cuda(void);

/* Is a usable CUDA device there (ordinal 0)? HX_OK and a one-line
 * description in desc, or HX_ENOTFOUND with the reason in hx_lasterr(). */
hx_status hxg_probe(char *desc, size_t desc_len);

/* Copy the model's weights to the device (cpu must stay alive only for
 * the call). max_ctx: the longest sequence (<= the CPU model's max_ctx). */
hx_status hxg_model_create(const hx_model *cpu, int max_ctx, hxg_model **out);
void hxg_model_free(hxg_model *g);
/* Device bytes held (weights, cache, scratch). */
uint64_t hxg_model_bytes(const hxg_model *g);
void hxg_model_reset(hxg_model *g);
/* As hx_model_forward: hidden (host, may be NULL) receives n*dim floats. */
hx_status hxg_model_forward(hxg_model *g, const int32_t *ids, int n, float *hidden);
/* As hx_model_logits: hidden and logits are host arrays. */
hx_status hxg_model_logits(hxg_model *g, const float *hidden, int rows, float *logits);

#endif

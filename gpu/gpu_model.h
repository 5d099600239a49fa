/* gpu_model.h - the CUDA backend of the evaluation engine (gpu/forward.cu,
 * eval/backend_cuda.c): a batch of sequences taken through the transformer
 * one layer at a time on an NVIDIA GPU. C-callable; no CUDA header needed.
 *
 * Correctness first (docs/GPU.md, "Forward pass"), not yet run on a GPU:
 *   - weights stay in their stored form on the host (model/weight.h, the
 *     CPU model's mapping); each linear's weight is converted to float32 on
 *     the host when its layer runs (hx_weight_rows_f32, the CPU reference
 *     decode), copied into one device buffer the size of the largest
 *     weight, and multiplied with cublasSgemm (cuBLAS opened with dlopen,
 *     default math mode: no TF32); nothing else of the model is resident
 *     on the device but the small vectors (norms, biases) and RoPE tables;
 *   - FP32 activations and accumulation; RMSNorm (double sum of squares),
 *     RoPE, SwiGLU, residual adds and a causal grouped-query attention are
 *     our kernels; the HXQ kernels of gpu.h are not used yet here.
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

/* A device side for the CPU model `cpu` (which must outlive it: its
 * weights are read at every layer). max_ctx: longest sequence (<= the
 * CPU model's); max_tokens: rows of one batch. */
hx_status hxg_model_create(hx_model *cpu, int max_ctx, int max_tokens, hxg_model **out);
void hxg_model_free(hxg_model *g);
/* Device bytes held. */
uint64_t hxg_model_bytes(const hxg_model *g);
/* Device bytes hxg_model_create would allocate. */
uint64_t hxg_model_bytes_for(const hx_model_config *c, int max_ctx, int max_tokens,
                             uint64_t largest_weight_bytes);

/* As hx_model_batch_begin / _layer / _final (model/model.h); the packed
 * final rows stay on the device. */
hx_status hxg_batch_begin(hxg_model *g, const int32_t *ids, const int *lens, int nseq);
hx_status hxg_batch_layer(hxg_model *g, int l);
hx_status hxg_batch_final(hxg_model *g, const int *rows, int nrows);
/* Host logits out[r*(v1-v0) + v-v0] of packed rows [r0, r0+nrows). */
hx_status hxg_logits_range(hxg_model *g, int r0, int nrows, int v0, int v1, float *out);

#endif

/* model_internal.h - the CPU forward pass's shared pieces (struct hx_model
 * itself is in model_data.h), for load.c (weights and
 * buffers), ssm_load.c (the state-space families' weights), forward.c (the
 * transformer layer), ssm.c / mamba.c / mamba2.c / zamba2.c (the
 * state-space layers), layer.c (which layer function a model runs),
 * batch.c (layer-major evaluation of a batch of sequences) and generate.c.
 * Not a public header. */
#ifndef HX_MODEL_INTERNAL_H
#define HX_MODEL_INTERNAL_H

#include "model/model_data.h"

#define QBLOCK 128               /* most query rows of one head per attention task */
#define HX_ATT_ROWS 384          /* query rows of all heads of a task, about */
#define HX_TILE_BYTES (4u << 20) /* float32 weight tile of one linear task */

/* Query rows of one head in an attention task: the task takes a block of
 * rows of every head of one key/value group (their keys and values are
 * packed once for all of them), about HX_ATT_ROWS rows in all. */
/* query heads per key/value head (at least 1) */
static inline int hx_att_grp(const hx_model_config *c)
{
    int grp = c->n_kv_heads > 0 ? c->n_heads / c->n_kv_heads : 1;
    return grp > 0 ? grp : 1;
}

static inline int hx_att_qrows(const hx_model_config *c)
{
    int r = HX_ATT_ROWS / hx_att_grp(c) / 16 * 16;
    return r > QBLOCK ? QBLOCK : r < 16 ? 16 : r;
}

/* floats of one attention slot (scores, gathered queries and outputs,
 * inverse sums) for max_ctx keys */
static inline size_t hx_att_slot_floats(const hx_model_config *c, int max_ctx)
{
    size_t rows = (size_t)hx_att_qrows(c) * (size_t)hx_att_grp(c);
    return rows * ((size_t)max_ctx + 2 * (size_t)c->head_dim + 1);
}

/* forward.c */
/* y[T, ldy] columns [0, o1-o0) += x[T, in] * W[o0:o1, in]^T */
void hx_linear_acc(hx_model *m, const float *x, int T, const hx_weight *W, int64_t o0, int64_t o1,
                   float *y, int ldy);
/* causal attention of the query rows in m->q over each sequence's K/V
 * (m->cfg's heads, head_dim, attn_scale) into m->att */
void hx_attention(hx_model *m, const hx_seq *seqs, int nseq);
/* RoPE on the rows of m->q and m->k (when rope), the keys and values
 * stored in KV cache `cache` (kv_cache: token order) or read in place,
 * then hx_attention */
void hx_attend(hx_model *m, int cache, hx_seq *seqs, int nseq, int kv_cache, int rope);
/* RoPE (m's tables) on T rows of nheads heads at positions pos0.. */
void hx_rope(const hx_model *m, float *v, int T, int nheads, int pos0);
/* y[T, ldy] columns [0, o1-o0) = x[T, in] * W[o0:o1, in]^T (+ b[o0:o1]) */
void hx_linear(hx_model *m, const float *x, int T, const hx_weight *W, int64_t o0, int64_t o1,
               const float *b, float *y, int ldy);
/* Layer l over the T rows of m->x holding the given sequences. kv_cache:
 * also store the keys/values at their positions in the layer's cache and
 * attend over it (one sequence); otherwise each sequence attends to its own
 * keys and values computed here. */
void hx_layer_apply(hx_model *m, int l, int T, hx_seq *seqs, int nseq, int kv_cache);
void hx_rmsnorm(const float *x, const float *w, int T, int dim, double eps, float *y);
/* m->x rows from token ids (ids checked by the caller) */
void hx_embed_rows(hx_model *m, const int32_t *ids, int T);

/* layer.c: layer l of any family over the T rows of m->x (see
 * hx_layer_apply for kv_cache: token order, one sequence, with state);
 * the pages of layer l's weights dropped */
void hx_apply_layer(hx_model *m, int l, int T, hx_seq *seqs, int nseq, int kv_cache);
void hx_release_layer(hx_model *m, int l);
/* the token-order state (KV cache, conv and scan states), once */
void hx_alloc_state(hx_model *m);

/* ssm_load.c: the weights of the state-space families, their layers'
 * stored bytes, and freeing them */
hx_status hx_ssm_open_weights(const hx_st_model *st, hx_model *m);
uint64_t hx_ssm_layer_bytes(const hx_model *m, int l);
void hx_ssm_free(hx_model *m);
void hx_ssm_release_layer(hx_model *m, int l);

/* ssm.c: the pieces Mamba-1 and Mamba-2 share; mamba.c, mamba2.c: their
 * mixers (in: T rows of dim inputs; out: T rows of dim outputs, may alias
 * in); zamba2.c: the hybrid layer */
void hx_mamba_mixer(hx_model *m, int l, const float *in, int T, const hx_seq *seqs, int nseq,
                    int carry, float *out);
void hx_mamba2_mixer(hx_model *m, int l, const float *in, int T, const hx_seq *seqs, int nseq,
                     int carry, float *out);
void hx_zamba2_shared(hx_model *m, int l, int T, hx_seq *seqs, int nseq, int kv_cache, float *out);
/* causal depthwise conv1d + SiLU of channels [c0, c1) of one sequence:
 * in rows of ld_in floats (channel c at column c), out rows of ld_out;
 * state: NULL (zeros before the sequence) or (d_conv-1) rows of conv_dim
 * floats, the inputs before it, updated to the last d_conv-1 inputs */
void hx_conv_silu(const hx_model *m, const hx_mixer *M, const float *in, int ld_in, int n, int c0,
                  int c1, float *state, float *out, int ld_out);
float hx_softplus(float x);
float hx_silu(float x);
/* per-layer state of token-order runs (NULL in layer-order batches) */
float *hx_conv_state(hx_model *m, int l);
float *hx_ssm_state(hx_model *m, int l);

#endif

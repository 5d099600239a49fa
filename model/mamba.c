/* mamba.c - the Mamba-1 mixer (transformers' MambaMixer.slow_forward):
 * in_proj -> [x, z]; x through the causal depthwise conv1d and SiLU;
 * x_proj -> [dt, B, C]; dt = softplus(dt_proj(dt)); per channel c and
 * state n the selective scan
 *     h[c,n] = exp(A[c,n] dt[c]) h[c,n] + dt[c] B[n] x[c]
 *     y[c]   = sum_n h[c,n] C[n] + D[c] x[c]
 * then y * SiLU(z) -> out_proj. The scan is sequential in time and
 * parallel over channels; sequences of a batch are independent, each
 * starting from zero state (or, token order, from the layer's state). */
#include "common/parallel.h"
#include "model/fastmath.h"
#include "model/model_internal.h"

#include <math.h>
#include <string.h>

/* one time step of one channel: h = exp(A dt) h + dx B; returns h . C,
 * summed in hx_sum16's fixed order */
static inline float step(float *h, const float *A, const float *B, const float *C, float dt, float dx,
                         int N)
{
    float v[HX_MAX_STATE];
    for (int n = 0; n < N; n++) {
        h[n] = hx_exp_nonpos(A[n] * dt) * h[n] + dx * B[n];
        v[n] = h[n] * C[n];
    }
    return hx_sum16(v, N);
}

#define CB 16 /* channels scanned together: their states stay in L1 */

/* channels [c0, c0 + CB) at most of one sequence, time step by time step */
HX_MULTIVERSION HX_VECTORIZE static void scan_block(hx_model *m, const hx_mixer *M, const hx_seq *sq,
                                                    int c0, int c1, float *state)
{
    const hx_ssm_config *s = &m->cfg.ssm;
    int di = s->d_inner, N = s->d_state, R = s->dt_rank, W = R + 2 * N, nc = c1 - c0;
    float h[CB * HX_MAX_STATE];
    if (state)
        memcpy(h, state + (size_t)c0 * N, (size_t)nc * N * sizeof *h);
    else
        memset(h, 0, (size_t)nc * N * sizeof *h);
    for (int t = 0; t < sq->n; t++) {
        size_t r = (size_t)sq->off + (size_t)t;
        const float *x = m->s_conv + r * di, *dt = m->s_dt + r * di, *z = m->s_in + r * 2 * di + di;
        const float *B = m->s_xdbl + r * W + R, *C = B + N;
        float *y = m->s_y + r * di;
        for (int c = c0; c < c1; c++) {
            float v = step(h + (size_t)(c - c0) * N, M->A + (size_t)c * N, B, C, dt[c], dt[c] * x[c], N);
            y[c] = (v + M->D[c] * x[c]) * hx_silu(z[c]);
        }
    }
    if (state)
        memcpy(state + (size_t)c0 * N, h, (size_t)nc * N * sizeof *h);
}

/* what the conv and scan tasks share: the layer and the batch's sequences */
struct ctx {
    hx_model *m;
    const hx_mixer *M;
    const hx_seq *seqs;
    int nseq, carry, l;
};

static void scan_fn(void *vc, uint64_t blk, uint64_t c0, uint64_t c1)
{
    (void)blk;
    struct ctx *c = vc;
    for (int q = 0; q < c->nseq; q++)
        for (uint64_t b = c0; b < c1; b += CB)
            scan_block(c->m, c->M, &c->seqs[q], (int)b, (int)(c1 - b < CB ? c1 : b + CB),
                       c->carry ? hx_ssm_state(c->m, c->l) : NULL);
}

static void conv_fn(void *vc, uint64_t blk, uint64_t c0, uint64_t c1)
{
    (void)blk;
    struct ctx *c = vc;
    hx_model *m = c->m;
    int di = m->cfg.ssm.d_inner;
    for (int q = 0; q < c->nseq; q++) {
        size_t off = (size_t)c->seqs[q].off;
        hx_conv_silu(m, c->M, m->s_in + off * 2 * di, 2 * di, c->seqs[q].n, (int)c0, (int)c1,
                     c->carry ? hx_conv_state(m, c->l) : NULL, m->s_conv + off * di, di);
    }
}

struct dt_ctx {
    float *dt;
    const float *b;
    int di;
};

static void dt_fn(void *vc, uint64_t blk, uint64_t r0, uint64_t r1)
{
    (void)blk;
    struct dt_ctx *c = vc;
    for (uint64_t r = r0; r < r1; r++)
        for (int i = 0; i < c->di; i++) {
            float *v = &c->dt[r * c->di + i];
            *v = hx_softplus(*v + c->b[i]);
        }
}

void hx_mamba_mixer(hx_model *m, int l, const float *in, int T, const hx_seq *seqs, int nseq,
                    int carry, float *out)
{
    const hx_ssm_config *s = &m->cfg.ssm;
    const hx_mixer *M = &m->layers[l].mix;
    int di = s->d_inner, N = s->d_state, R = s->dt_rank, W = R + 2 * N;
    hx_linear(m, in, T, &M->in_proj, 0, 2 * di, M->in_b, m->s_in, 2 * di);
    struct ctx cc = {m, M, seqs, nseq, carry, l};
    hx_parallel_blocks(m->threads, (uint64_t)di, 64, conv_fn, &cc);
    hx_linear(m, m->s_conv, T, &M->x_proj, 0, W, NULL, m->s_xdbl, W);
    for (int t = 0; t < T; t++) /* the dt columns, contiguous for dt_proj */
        memcpy(m->s_dtin + (size_t)t * R, m->s_xdbl + (size_t)t * W, (size_t)R * sizeof(float));
    hx_linear(m, m->s_dtin, T, &M->dt_proj, 0, di, NULL, m->s_dt, di);
    struct dt_ctx dc = {m->s_dt, M->dt_b, di};
    hx_parallel_blocks(m->threads, (uint64_t)T, 64, dt_fn, &dc);
    hx_parallel_blocks(m->threads, (uint64_t)di, 16, scan_fn, &cc);
    hx_linear(m, m->s_y, T, &M->out_proj, 0, m->cfg.dim, M->out_b, out, m->cfg.dim);
}

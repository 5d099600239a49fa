/* mamba2.c - the Mamba-2 mixer, as transformers' Mamba2Mixer /
 * Zamba2MambaMixer torch_forward computes it: in_proj -> [z, xBC, dt]
 * (after 2*d_mlp ignored columns); xBC through the causal depthwise conv1d
 * and SiLU, split into x (n_heads x head_dim), B and C (n_groups x
 * d_state; head h reads group h / (n_heads / n_groups));
 * dt = clamp(softplus(dt + dt_bias), dt_min, dt_max); per head h the SSD
 * recurrence, computed sequentially (the chunked form transformers uses is
 * the same sum in another order):
 *     S[p,n] = exp(dt A[h]) S[p,n] + dt x[p] B[n]
 *     y[p]   = sum_n S[p,n] C[n] + D[h] x[p]
 * then the gated RMSNorm norm(y * SiLU(z)) over groups of norm_group
 * channels, and out_proj. Parallel over heads. */
#include "common/parallel.h"
#include "model/fastmath.h"
#include "model/model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ctx {
    hx_model *m;
    const hx_mixer *M;
    const hx_seq *seqs;
    int nseq, carry, l;
};

static int proj_cols(const hx_ssm_config *s) { return s->d_inner + s->conv_dim + s->n_heads; }

static void conv_fn(void *vc, uint64_t blk, uint64_t c0, uint64_t c1)
{
    (void)blk;
    struct ctx *c = vc;
    hx_model *m = c->m;
    const hx_ssm_config *s = &m->cfg.ssm;
    int P = proj_cols(s);
    for (int q = 0; q < c->nseq; q++) {
        size_t off = (size_t)c->seqs[q].off;
        hx_conv_silu(m, c->M, m->s_in + off * P + s->d_inner, P, c->seqs[q].n, (int)c0, (int)c1,
                     c->carry ? hx_conv_state(m, c->l) : NULL, m->s_conv + off * s->conv_dim,
                     s->conv_dim);
    }
}

/* one time step of one channel p: S = dA S + dx B; returns S . C, summed
 * in hx_sum16's fixed order */
static inline float step(float *S, const float *B, const float *C, float dA, float dx, int N)
{
    float v[HX_MAX_STATE];
    for (int n = 0; n < N; n++) {
        S[n] = dA * S[n] + dx * B[n];
        v[n] = S[n] * C[n];
    }
    return hx_sum16(v, N);
}

/* heads [h0, h1) of every sequence */
HX_MULTIVERSION HX_VECTORIZE static void scan_fn(void *vc, uint64_t blk, uint64_t h0, uint64_t h1)
{
    (void)blk;
    struct ctx *c = vc;
    hx_model *m = c->m;
    const hx_mixer *M = c->M;
    const hx_ssm_config *s = &m->cfg.ssm;
    int P = proj_cols(s), hd = s->head_dim, N = s->d_state, di = s->d_inner, cd = s->conv_dim;
    int per_group = s->n_heads / s->n_groups;
    float *S = hx_malloc((size_t)hd * N * sizeof *S);
    for (int q = 0; q < c->nseq; q++) {
        const hx_seq *sq = &c->seqs[q];
        size_t off = (size_t)sq->off;
        float *state = c->carry ? hx_ssm_state(m, c->l) : NULL;
        for (uint64_t h = h0; h < h1; h++) {
            int g = (int)h / per_group;
            float A = M->A[h], Dh = M->D[h], bias = M->dt_b[h];
            if (state)
                memcpy(S, state + h * hd * N, (size_t)hd * N * sizeof *S);
            else
                memset(S, 0, (size_t)hd * N * sizeof *S);
            for (int t = 0; t < sq->n; t++) {
                size_t r = off + (size_t)t;
                float dt = hx_softplus(m->s_in[r * P + di + cd + h] + bias);
                dt = dt < s->dt_min ? (float)s->dt_min : dt;
                dt = dt > s->dt_max ? (float)s->dt_max : dt;
                float dA = expf(dt * A);
                const float *xr = m->s_conv + r * cd;
                const float *x = xr + h * hd, *B = xr + di + (size_t)g * N, *C = xr + di + (size_t)s->n_groups * N + (size_t)g * N;
                float *y = m->s_y + r * di + h * hd;
                for (int p = 0; p < hd; p++)
                    y[p] = step(S + (size_t)p * N, B, C, dA, dt * x[p], N) + Dh * x[p];
            }
            if (state)
                memcpy(state + h * hd * N, S, (size_t)hd * N * sizeof *S);
        }
    }
    free(S);
}

/* rows [r0, r1): y = weight * rmsnorm_groups(y * SiLU(z)) */
static void gnorm_fn(void *vc, uint64_t blk, uint64_t r0, uint64_t r1)
{
    (void)blk;
    struct ctx *c = vc;
    hx_model *m = c->m;
    const hx_ssm_config *s = &m->cfg.ssm;
    int P = proj_cols(s), di = s->d_inner, G = s->norm_group;
    for (uint64_t r = r0; r < r1; r++) {
        float *y = m->s_y + r * di;
        const float *z = m->s_in + r * P;
        for (int i = 0; i < di; i++)
            y[i] *= hx_silu(z[i]);
        for (int g0 = 0; g0 < di; g0 += G) {
            double ss = 0;
            for (int i = g0; i < g0 + G; i++)
                ss += (double)y[i] * y[i];
            float inv = (float)(1.0 / sqrt(ss / G + s->norm_eps));
            for (int i = g0; i < g0 + G; i++)
                y[i] = c->M->gnorm[i] * (y[i] * inv);
        }
    }
}

void hx_mamba2_mixer(hx_model *m, int l, const float *in, int T, const hx_seq *seqs, int nseq,
                     int carry, float *out)
{
    const hx_ssm_config *s = &m->cfg.ssm;
    const hx_mixer *M = &m->layers[l].mix;
    int P = proj_cols(s);
    hx_linear(m, in, T, &M->in_proj, 2 * (int64_t)s->d_mlp, 2 * (int64_t)s->d_mlp + P, M->in_b, m->s_in, P);
    struct ctx c = {m, M, seqs, nseq, carry, l};
    hx_parallel_blocks(m->threads, (uint64_t)s->conv_dim, 64, conv_fn, &c);
    hx_parallel_blocks(m->threads, (uint64_t)s->n_heads, 1, scan_fn, &c);
    hx_parallel_blocks(m->threads, (uint64_t)T, 32, gnorm_fn, &c);
    hx_linear(m, m->s_y, T, &M->out_proj, 0, m->cfg.dim, M->out_b, out, m->cfg.dim);
}

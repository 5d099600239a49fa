/* ssm.c - the pieces the Mamba-1 and Mamba-2 mixers share: the causal
 * depthwise conv1d (with the inputs before the sequence as its state) and
 * SiLU / softplus, computed as transformers computes them in float32. */
#include "model/fastmath.h"
#include "model/model_internal.h"

#include <math.h>
#include <string.h>

float hx_silu(float x) { return x / (1.0f + expf(-x)); }

/* torch.nn.functional.softplus (beta 1, threshold 20) */
float hx_softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

HX_MULTIVERSION void hx_conv_silu(const hx_model *m, const hx_mixer *M, const float *in, int ld_in,
                                  int n, int c0, int c1, float *state, float *out, int ld_out)
{
    const hx_ssm_config *s = &m->cfg.ssm;
    int K = s->d_conv, H = K - 1, C = s->conv_dim;
    for (int t = 0; t < n; t++) {
        /* out[t] = b + sum_k w[k] in[t - (K-1) + k]; before the sequence:
         * the state's rows, or zeros */
        float *o = out + (size_t)t * ld_out;
        for (int c = c0; c < c1; c++)
            o[c] = M->conv_b ? M->conv_b[c] : 0.0f;
        for (int k = 0; k < K; k++) {
            int src = t - H + k;
            const float *row = src >= 0 ? in + (size_t)src * ld_in : state ? state + (size_t)(H + src) * C : NULL;
            if (!row)
                continue;
            const float *w = M->conv_w + (size_t)k * C;
            for (int c = c0; c < c1; c++)
                o[c] += w[c] * row[c];
        }
        for (int c = c0; c < c1; c++)
            o[c] = hx_silu(o[c]);
    }
    /* the state becomes the last H inputs of (state, in); row r reads row
     * r + n of the old state when n < H, which is not yet overwritten */
    for (int r = 0; state && r < H; r++) {
        int src = n - H + r;
        const float *row = src >= 0 ? in + (size_t)src * ld_in : state + (size_t)(H + src) * C;
        memcpy(state + (size_t)r * C + c0, row + c0, (size_t)(c1 - c0) * sizeof(float));
    }
}

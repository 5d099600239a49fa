/* ssm.c - the pieces the Mamba-1 and Mamba-2 mixers share: the causal
 * depthwise conv1d (with the inputs before the sequence as its state) and
 * SiLU / softplus, computed as transformers computes them in float32. */
#include "model/model_internal.h"

#include <math.h>
#include <string.h>

float hx_silu(float x) { return x / (1.0f + expf(-x)); }

/* torch.nn.functional.softplus (beta 1, threshold 20) */
float hx_softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

void hx_conv_silu(const hx_model *m, const hx_mixer *M, const float *in, int ld_in, int n, int c0,
                  int c1, float *state, float *out, int ld_out)
{
    const hx_ssm_config *s = &m->cfg.ssm;
    int K = s->d_conv, H = K - 1, C = s->conv_dim;
    for (int ch = c0; ch < c1; ch++) {
        const float *w = M->conv_w + (size_t)ch * K;
        float b = M->conv_b ? M->conv_b[ch] : 0.0f;
        for (int t = 0; t < n; t++) {
            /* out[t] = b + sum_k w[k] in[t - (K-1) + k]; before the
             * sequence: the state's rows, or zeros */
            float acc = b;
            for (int k = 0; k < K; k++) {
                int src = t - H + k;
                float v = src >= 0 ? in[(size_t)src * ld_in + ch]
                                   : state ? state[(size_t)(H + src) * C + ch] : 0.0f;
                acc += w[k] * v;
            }
            out[(size_t)t * ld_out + ch] = hx_silu(acc);
        }
        if (state) { /* keep the last H inputs of (state, in); d_conv <= HX_MAX_CONV */
            float tmp[HX_MAX_CONV];
            for (int r = 0; r < H; r++) {
                int src = n - H + r; /* >= 0: a row of in; < 0: a row of the old state */
                tmp[r] = src >= 0 ? in[(size_t)src * ld_in + ch] : state[(size_t)(H + src) * C + ch];
            }
            for (int r = 0; r < H; r++)
                state[(size_t)r * C + ch] = tmp[r];
        }
    }
}

/* ref.c - CPU reference of the HXQ linear layer for the GPU self-check,
 * and the host-side CSR builder the device upload uses. Plain C11, no
 * CUDA: the semantics are those of gpu.h (sidecar values replace the
 * codebook value at their positions). */
#include "gpu/gpu.h"
#include "common/half.h"

#include <math.h>
#include <string.h>

float hxg_bf16_round(float f) { return hx_bf16_to_f32(hx_f32_to_bf16(f)); }

/* First sidecar entry at a flat position >= p (positions ascending). */
static uint64_t lower_bound_pos(const int64_t *pos, uint64_t n, int64_t p)
{
    uint64_t lo = 0, hi = n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (pos[mid] < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void hxg_ref_gemv(const hxg_ref_layer *L, const double *x, int w_bf16, const int64_t *rows_sel,
                  int64_t n_sel, double *y, double *S)
{
    int64_t n = rows_sel ? n_sel : L->rows;
    for (int64_t r = 0; r < n; r++) {
        int64_t o = rows_sel ? rows_sel[r] : r;
        const uint8_t *idx = L->indices + (size_t)o * (size_t)L->cols;
        int64_t base = o * L->cols;
        uint64_t p = L->sc_n ? lower_bound_pos(L->sc_pos, L->sc_n, base) : 0;
        double acc = 0, mag = 0;
        for (int64_t i = 0; i < L->cols; i++) {
            float cb = L->codebook[idx[i]];
            float wk = w_bf16 ? hxg_bf16_round(cb) : cb; /* what the kernel multiplies */
            double w = wk, corr = 0;
            if (p < L->sc_n && L->sc_pos[p] == base + i) {
                w = L->sc_val[p]; /* replace */
                corr = (double)L->sc_val[p] - (double)wk;
                p++;
            }
            acc += x[i] * w;
            mag += fabs(x[i]) * (fabs(w) + fabs(corr));
        }
        if (L->bias) {
            acc += L->bias[o];
            mag += fabs((double)L->bias[o]);
        }
        y[r] = acc;
        if (S)
            S[r] = mag;
    }
}

void hxg_ref_gemv_csr(const hxg_ref_layer *L, const double *x, double *y)
{
    for (int64_t o = 0; o < L->rows; o++) {
        const uint8_t *idx = L->indices + (size_t)o * (size_t)L->cols;
        double acc = 0;
        for (int64_t i = 0; i < L->cols; i++)
            acc += x[i] * (double)L->codebook[idx[i]];
        y[o] = acc + (L->bias ? L->bias[o] : 0.0);
    }
    for (uint64_t j = 0; j < L->sc_n; j++) {
        int64_t o = L->sc_pos[j] / L->cols, i = L->sc_pos[j] % L->cols;
        uint8_t q = L->indices[L->sc_pos[j]];
        y[o] += x[i] * ((double)L->sc_val[j] - (double)L->codebook[q]);
    }
}

hx_status hxg_build_csr(const char *name, const uint8_t *indices, int64_t rows, int64_t cols,
                        const int64_t *sc_pos, const float *sc_val, uint64_t sc_n,
                        uint32_t *row_ptr, uint32_t *ent, float *val)
{
    if (rows <= 0 || cols <= 0)
        return HX_FAIL(HX_EINVAL, "%s: bad shape [%lld, %lld]", name, (long long)rows,
                       (long long)cols);
    if (cols >= (int64_t)1 << 24)
        return HX_FAIL(HX_EINVAL, "%s: %lld columns: the GPU kernels take fewer than 2^24", name,
                       (long long)cols);
    if (sc_n > UINT32_MAX)
        return HX_FAIL(HX_EINVAL, "%s: %llu sidecar entries: too many", name,
                       (unsigned long long)sc_n);
    int64_t total = rows * cols;
    memset(row_ptr, 0, sizeof *row_ptr * (size_t)(rows + 1));
    for (uint64_t j = 0; j < sc_n; j++) {
        int64_t p = sc_pos[j];
        if (p < 0 || p >= total)
            return HX_FAIL(HX_EFORMAT, "%s: sidecar position %lld out of range [0, %lld)", name,
                           (long long)p, (long long)total);
        if (j && p <= sc_pos[j - 1])
            return HX_FAIL(HX_EFORMAT, "%s: sidecar positions not strictly ascending at entry %llu",
                           name, (unsigned long long)j);
        if (!isfinite(sc_val[j]))
            return HX_FAIL(HX_EFORMAT, "%s: sidecar value %llu is not finite", name,
                           (unsigned long long)j);
        int64_t o = p / cols, i = p % cols;
        row_ptr[o + 1]++;
        ent[j] = ((uint32_t)i << 8) | indices[p];
        val[j] = sc_val[j];
    }
    for (int64_t o = 0; o < rows; o++)
        row_ptr[o + 1] += row_ptr[o];
    return HX_OK;
}

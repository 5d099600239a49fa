/* fastmath.h - the exponential the CPU layers use in their inner loops
 * (softmax rows, the Mamba scans): one vectorizable formula, the same
 * result on every machine (no libm version dependence). */
#ifndef HX_FASTMATH_H
#define HX_FASTMATH_H

#include <stdint.h>
#include <string.h>

/* e^x for x <= 0 (x - max of a softmax row, A dt of a scan), vectorizable:
 * x = n ln2 + r with |r| <= ln2/2 (Cody-Waite, two-part ln2), e^r by its Taylor series to
 * r^7 (truncation < 6e-9 relative, under float rounding), times 2^n built
 * in the exponent bits; 0 below -87 (e^-87 < 2^-125: no subnormals). Same
 * result on every machine (no libm version dependence). */
static inline float hx_exp_nonpos(float x)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23: rounds to an integer */
    float xc = x < -87.0f ? -87.0f : x;
    float t = xc * 1.44269504f + magic;
    float n = t - magic;
    int32_t ti, mi;
    memcpy(&ti, &t, 4);
    memcpy(&mi, &magic, 4);
    int32_t e = ti - mi; /* n as an integer, in [-126, 0] */
    float r = xc - n * 0.693145752f - n * 1.42860677e-06f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.66666667e-1f + r * (4.16666667e-2f +
                       r * (8.33333333e-3f + r * (1.38888889e-3f + r * 1.98412698e-4f))))));
    int32_t sb = (e + 127) << 23;
    float sc;
    memcpy(&sc, &sb, 4);
    return x < -87.0f ? 0.0f : p * sc;
}

/* e^x for x <= 0 in double, vectorizable: the same scheme as
 * hx_exp_nonpos with a double ln2 split (ln2_hi has 11 trailing zero bits,
 * so n ln2_hi is exact) and the Taylor series to r^12 (truncation
 * < 2e-16 relative); 0 below -708 (no subnormals). For sums that must keep
 * double accuracy (the evaluation's log-sum-exp and KL divergence). */
static inline double hx_exp_nonpos_d(double x)
{
    const double magic = 6755399441055744.0; /* 1.5 * 2^52 */
    double xc = x < -708.0 ? -708.0 : x;
    double t = xc * 1.4426950408889634 + magic;
    double n = t - magic;
    int64_t ti, mi;
    memcpy(&ti, &t, 8);
    memcpy(&mi, &magic, 8);
    int64_t e = ti - mi; /* n as an integer, in [-1022, 0] */
    double r = xc - n * 6.93147180369123816490e-01 - n * 1.90821492927058770002e-10;
    double p = 1.0 / 479001600.0;
    p = 1.0 / 39916800.0 + r * p;
    p = 1.0 / 3628800.0 + r * p;
    p = 1.0 / 362880.0 + r * p;
    p = 1.0 / 40320.0 + r * p;
    p = 1.0 / 5040.0 + r * p;
    p = 1.0 / 720.0 + r * p;
    p = 1.0 / 120.0 + r * p;
    p = 1.0 / 24.0 + r * p;
    p = 1.0 / 6.0 + r * p;
    p = 0.5 + r * p;
    p = 1.0 + r * p;
    p = 1.0 + r * p;
    int64_t sb = (e + 1023) << 52;
    double sc;
    memcpy(&sc, &sb, 8);
    return x < -708.0 ? 0.0 : p * sc;
}

/* gcc's -O2 cost model ("very cheap") refuses simd loops that need an
 * epilogue: functions marked HX_VECTORIZE ask for the dynamic one (gcc
 * only). */
#if defined(__GNUC__) && !defined(__clang__)
#define HX_VECTORIZE __attribute__((optimize("vect-cost-model=dynamic")))
#else
#define HX_VECTORIZE
#endif

/* The sum of v[0..n) in one fixed order whatever the vector width the
 * compiler picks: 16 lanes (element i goes to lane i % 16), then a tree
 * 16 -> 8 -> 4 -> 2 -> 1. Every statement is elementwise, so SSE, AVX2 and
 * AVX-512 code give bit-identical results (an `omp simd` reduction would
 * not: its partial sums follow the vector width). */
static inline float hx_sum16(const float *v, int n)
{
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++)
            acc[l] += v[i + l];
    for (int l = 0; i + l < n; l++)
        acc[l] += v[i + l];
    for (int w = 8; w >= 1; w /= 2)
        for (int l = 0; l < w; l++)
            acc[l] += acc[l + w];
    return acc[0];
}

/* Hot loops that the baseline x86-64 target (SSE2) leaves 4 wide: also
 * compiled for x86-64-v3 (AVX2) and v4 (AVX-512), chosen at load time
 * (gcc's function multiversioning). Floating-point contraction stays off
 * (ISO C), so with hx_sum16's fixed order the clones give the same
 * results. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
#define HX_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define HX_MULTIVERSION
#endif

#endif

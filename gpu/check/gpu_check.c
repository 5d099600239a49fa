/* gpu_check.c - build/gpu-check: the GPU self-check and benchmark.
 *
 *   gpu-check [--json PATH] [--quick] [--no-bench] [--gemv-only] [--seed N]
 *
 * 1. CPU self-test of the reference and the CSR builder (no GPU needed).
 * 2. Device probe: without a usable CUDA device prints
 *    "no CUDA device: <reason>" and exits 77 (skipped).
 * 3. Correctness of the HXQ GEMV and GEMM against the CPU reference on
 *    random layers (odd shapes, batch 1..8, F32/BF16 x and y, with and
 *    without sidecar and bias, NaN in the padding of x, poisoned outputs),
 *    determinism (two runs bit-identical), and on the benchmark shapes.
 * 4. Benchmarks (unless --quick/--no-bench): GEMV vs cuBLAS BF16 on the
 *    Qwen2.5-7B / Llama-3-8B shapes (both GEMV kernels, v2 and v1), GEMM
 *    for 2048-token windows, decode and evaluation throughput of the linear
 *    layers of a Qwen2.5-7B-shaped stack (28 layers, random weights
 *    generated on the GPU). --gemv-only: the GEMV benchmark alone.
 *    The correctness checks and the stack run the default GEMV kernel
 *    (HXG_GEMV=v1 selects v1; the tolerance follows it).
 * Writes a JSON report to PATH. Exit: 0 pass, 1 a check failed, 77 no
 * device, 2 usage, 3 other error.
 *
 * Tolerance (docs/GPU.md): for each output, |y - ref| <= gamma_h * S (+ the
 * BF16 rounding of y when y is BF16), S = sum_i |x_i| (|W'_i| + |corr_i|) +
 * |bias|, gamma_h = h u / (1 - h u), u = 2^-24, h the depth of the
 * kernel's FP32 summation tree: the standard a-priori bound for any
 * summation order of that depth. The GEMM is compared with a reference
 * whose non-sidecar weights are rounded to BF16 (what its tensor cores
 * multiply); its error against the exact weights is reported too. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/half.h"
#include "common/buf.h"
#include "gpu/check/bench.h"
#include "gpu/gpu.h"

/* ------------------------------------------------------------ JSON */
/* A number, with non-finite values as null. */
static void jb_num(hx_buf *j, const char *key, double v)
{
    if (isfinite(v))
        hx_buf_printf(j, "\"%s\": %.6g", key, v);
    else
        hx_buf_printf(j, "\"%s\": null", key);
}

static void jb_str(hx_buf *j, const char *key, const char *v)
{
    hx_buf_printf(j, "\"%s\": \"", key);
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            hx_buf_printf(j, "\\%c", *p);
        else if ((unsigned char)*p < 0x20)
            hx_buf_printf(j, "\\u%04x", (unsigned char)*p);
        else
            hx_buf_put(j, p, 1);
    }
    hx_buf_put(j, "\"", 1);
}

/* ------------------------------------------------------------ helpers */
static uint64_t g_rng = 0x1234567ull;
static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}
static double rndu(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }
static double rndn(void)
{
    double a = rndu() + 1e-300, b = rndu();
    return sqrt(-2 * log(a)) * cos(6.283185307179586 * b);
}
static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static const char *dt_name(hxg_dtype t) { return t == HXG_F32 ? "f32" : "bf16"; }

static double gamma_h(double h)
{
    const double u = 5.9604644775390625e-08; /* 2^-24 */
    return h * u / (1 - h * u);
}

/* Read element i of a device-produced output of type t (host copy). */
static double out_val(const void *y, hxg_dtype t, size_t i)
{
    if (t == HXG_F32) return ((const float *)y)[i];
    return hx_bf16_to_f32(((const uint16_t *)y)[i]);
}

typedef struct ctx {
    hx_buf *j;
    int first_case;
    int cases, failed;
    double worst; /* max err / tol over all cases */
} ctx;

/* A host-side random layer in upload format. */
typedef struct hlayer {
    int64_t rows, cols;
    int k;
    float cb[256];
    uint8_t *idx;
    int64_t *pos;
    float *val;
    uint64_t sc_n;
    float *bias;
} hlayer;

static void hlayer_free(hlayer *L)
{
    free(L->idx);
    free(L->pos);
    free(L->val);
    free(L->bias);
}

static void hlayer_random(hlayer *L, int64_t rows, int64_t cols, int k, int sidecar, int bias)
{
    memset(L, 0, sizeof *L);
    L->rows = rows;
    L->cols = cols;
    L->k = k;
    for (int i = 0; i < k; i++) L->cb[i] = (float)(rndn() * 0.05);
    qsort(L->cb, (size_t)k, sizeof(float), cmp_float);
    size_t n = (size_t)(rows * cols);
    L->idx = hx_malloc(n);
    for (size_t i = 0; i < n; i++) L->idx[i] = (uint8_t)(rnd() % (uint64_t)k);
    if (sidecar) {
        L->pos = hx_malloc(sizeof(int64_t) * n);
        L->val = hx_malloc(sizeof(float) * n);
        /* ~1% of the elements, plus a dense first row (>32 entries: the
         * lane-strided loops wrap) */
        for (size_t i = 0; i < n; i++) {
            int dense = (int64_t)i < cols && (int64_t)i < 75;
            if (dense || rndu() < 0.01) {
                L->pos[L->sc_n] = (int64_t)i;
                L->val[L->sc_n] = (float)(rndn() * 0.3);
                L->sc_n++;
            }
        }
    }
    if (bias) {
        L->bias = hx_malloc(sizeof(float) * (size_t)rows);
        for (int64_t o = 0; o < rows; o++) L->bias[o] = (float)(rndn() * 0.1);
    }
}

static hxg_ref_layer as_ref(const hlayer *L)
{
    hxg_ref_layer r = {L->rows, L->cols, L->cb, L->idx, L->pos, L->val, L->sc_n, L->bias};
    return r;
}

/* Sidecar entries per row (caller frees). */
static int64_t *row_counts(const hlayer *L)
{
    int64_t *c = hx_calloc((size_t)L->rows, sizeof(int64_t));
    for (uint64_t j = 0; j < L->sc_n; j++) c[L->pos[j] / L->cols]++;
    return c;
}

/* ------------------------------------------------------------ CPU self-test */
static int cpu_selftest(void)
{
    int bad = 0;
    for (int t = 0; t < 6; t++) {
        int64_t rows = 1 + (int64_t)(rnd() % 40), cols = 1 + (int64_t)(rnd() % 300);
        hlayer L;
        hlayer_random(&L, rows, cols, t == 0 ? 7 : 256, t % 3 != 2, t % 2);
        double *x = hx_malloc(sizeof(double) * (size_t)cols);
        double *y1 = hx_malloc(sizeof(double) * (size_t)rows);
        double *y2 = hx_malloc(sizeof(double) * (size_t)rows);
        for (int64_t i = 0; i < cols; i++) x[i] = rndn();
        hxg_ref_layer R = as_ref(&L);
        hxg_ref_gemv(&R, x, 0, NULL, 0, y1, NULL);
        hxg_ref_gemv_csr(&R, x, y2);
        /* CSR built as the device gets it must reproduce the positions */
        uint32_t *rp = hx_malloc(4 * (size_t)(rows + 1));
        uint32_t *ent = hx_malloc(4 * (L.sc_n + 1));
        float *val = hx_malloc(4 * (L.sc_n + 1));
        if (hxg_build_csr("selftest", L.idx, rows, cols, L.pos, L.val, L.sc_n, rp, ent, val)) {
            fprintf(stderr, "cpu selftest: csr: %s\n", hx_lasterr());
            bad++;
        } else {
            for (int64_t o = 0; o < rows; o++)
                for (uint32_t e = rp[o]; e < rp[o + 1]; e++)
                    if (L.pos[e] != o * cols + (ent[e] >> 8) ||
                        (ent[e] & 0xff) != L.idx[L.pos[e]] || val[e] != L.val[e]) {
                        fprintf(stderr, "cpu selftest: csr entry %u of row %lld wrong\n", e,
                                (long long)o);
                        bad++;
                    }
        }
        for (int64_t o = 0; o < rows; o++)
            if (fabs(y1[o] - y2[o]) > 1e-12 * (1 + fabs(y1[o]))) {
                fprintf(stderr, "cpu selftest: replace vs delta differ at row %lld: %g vs %g\n",
                        (long long)o, y1[o], y2[o]);
                bad++;
                break;
            }
        free(rp), free(ent), free(val), free(x), free(y1), free(y2);
        hlayer_free(&L);
    }
    /* the CSR builder refuses unsorted positions */
    {
        uint8_t idx[4] = {0};
        int64_t pos[2] = {2, 1};
        float val[2] = {1, 2};
        uint32_t rp[3], ent[2];
        float v2[2];
        if (hxg_build_csr("t", idx, 2, 2, pos, val, 2, rp, ent, v2) != HX_EFORMAT) {
            fprintf(stderr, "cpu selftest: unsorted sidecar accepted\n");
            bad++;
        }
        hx_clearerr();
    }
    /* bf16 rounding: ties to even */
    if (hxg_bf16_round(1.0f + 1.0f / 256) != 1.0f || hxg_bf16_round(1.0f + 3.0f / 256) != 1.0f + 4.0f / 256) {
        fprintf(stderr, "cpu selftest: bf16 rounding wrong\n");
        bad++;
    }
    printf("cpu selftest: %s\n", bad ? "FAIL" : "ok");
    return bad;
}

/* ------------------------------------------------------------ GPU checks */
#define CK(expr)                                                                 \
    do {                                                                         \
        hx_status st_ = (expr);                                                  \
        if (st_) {                                                               \
            fprintf(stderr, "gpu-check: %s: %s\n", #expr, hx_lasterr());         \
            exit(3);                                                             \
        }                                                                        \
    } while (0)

/* The GEMV kernel the library runs by default: HXG_GEMV=v1 selects v1
 * (read the same way as gpu/hxq_gemv.cu does), else v2. */
static int gemv_v1(void)
{
    const char *v = getenv("HXG_GEMV");
    return v && !strcmp(v, "v1");
}

/* Depth h of the GEMV's FP32 summation tree for one output (docs/GPU.md
 * "Tolerances"): the most roundings any term passes through, for every
 * launch configuration of the kernel, given cols, the batch and the row's
 * sidecar entries nnz.
 *
 * v1: a thread takes the 16-byte index chunks t, t+256, ... of the row
 * padded to 64 bytes and does 16 FMAs per chunk into one accumulator
 * (16 * ceil(chunks / 256)), 5 shuffle levels, 8 warp partials; the
 * sidecar: ceil(nnz/32) FMAs per lane + 5 shuffle levels; 3 final adds.
 *
 * v2: a lane holds one 32-bit index word (4 columns) of each of its
 * warp's 32-word segments of the row; a warp has K <= nseg = ceil(cols/128)
 * segments (K = ceil(nseg/T) for a team of T warps; T = 1 is the worst).
 *   batch <= BLOCKED_MAX_B: each pipeline step's products (at most 4U FMAs,
 *     U <= UMAX) go into a fresh partial, then one add into the
 *     accumulator per step (ceil(K/U) <= ceil(nseg/UMIN) steps):
 *     4 UMAX + ceil(nseg / UMIN) (= 32 + nseg);
 *   larger batches: one FMA chain over all words: 4 nseg;
 * then the sidecar FMAs into the same accumulator (a lane takes every
 * 32T-th entry of the row group: <= ceil(nnz/32) of the row), 5 levels of
 * the warp reduction, T - 1 <= TMAX - 1 adds of the team's partials and
 * the bias: + ceil(nnz/32) + 5 + (TMAX - 1) + 1. A correction's own
 * rounding (value - codebook) adds 1 to a path that skips the main chain,
 * so the main chain's bound (>= 1) covers it. */
static double gemv_depth(int64_t cols, int64_t batch, int64_t nnz)
{
    if (gemv_v1()) {
        double chunks = ceil(cols / 64.0) * 4;
        return 16 * ceil(chunks / 256) + 5 + 8 + ceil(nnz / 32.0) + 5 + 3;
    }
    double nseg = ceil(ceil(cols / 4.0) / 32.0);
    double thread = batch <= HXG_CHECK_GEMV2_BLOCKED_MAX_B
                        ? 4.0 * HXG_CHECK_GEMV2_UMAX + ceil(nseg / HXG_CHECK_GEMV2_UMIN)
                        : 4.0 * nseg;
    return thread + ceil(nnz / 32.0) + 5 + (HXG_CHECK_GEMV2_TMAX - 1) + 1;
}

/* Compare outputs y (host copy of the device result, M rows of stride ldy)
 * with the reference for the given rows of the layer; records one case. */
static int compare_case(ctx *c, const char *kind, const hlayer *L, const double *xd, int64_t ldxd,
                        int64_t M, const int64_t *msel, int64_t n_m, const int64_t *rsel,
                        int64_t n_r, const void *y, hxg_dtype yt, int64_t ldy, int gemm,
                        int deterministic, hxg_dtype xt, int sidecar_on, int64_t pad_overwritten)
{
    hxg_ref_layer R = as_ref(L);
    double *ref = hx_malloc(sizeof(double) * (size_t)n_r);
    double *S = hx_malloc(sizeof(double) * (size_t)n_r);
    double *refx = hx_malloc(sizeof(double) * (size_t)n_r);
    int64_t *nnzr = row_counts(L);
    double worst = 0, num = 0, den = 0, numx = 0;
    int nan = 0;
    for (int64_t mi = 0; mi < n_m; mi++) {
        int64_t m = msel ? msel[mi] : mi;
        const double *x = xd + m * ldxd;
        hxg_ref_gemv(&R, x, gemm, rsel, n_r, ref, S);
        if (gemm) hxg_ref_gemv(&R, x, 0, rsel, n_r, refx, NULL);
        for (int64_t ri = 0; ri < n_r; ri++) {
            int64_t o = rsel ? rsel[ri] : ri;
            double v = out_val(y, yt, (size_t)(m * ldy + o));
            if (!isfinite(v)) {
                nan++;
                continue;
            }
            int64_t nnz = nnzr[o];
            double h = gemm ? 2.0 * (ceil(L->cols / 16.0) + 5) + (double)nnz + 3
                            : gemv_depth(L->cols, M, nnz);
            /* BF16 y: unit roundoff 2^-8 on top of the FP32 result's bound */
            double tol = (yt == HXG_BF16 ? ldexp(fabs(ref[ri]), -8) + (1 + 0x1p-8) * gamma_h(h) * S[ri]
                                         : gamma_h(h) * S[ri]) + 1e-30;
            double err = fabs(v - ref[ri]);
            if (err / tol > worst) worst = err / tol;
            num += err * err;
            den += ref[ri] * ref[ri];
            if (gemm) numx += (v - refx[ri]) * (v - refx[ri]);
        }
    }
    int pass = !nan && worst <= 1.0 && deterministic && !pad_overwritten;
    c->cases++;
    if (!pass) c->failed++;
    if (worst > c->worst) c->worst = worst;
    hx_buf *j = c->j;
    hx_buf_printf(j, "%s\n      {", c->first_case ? "" : ",");
    c->first_case = 0;
    jb_str(j, "kernel", kind);
    hx_buf_printf(j, ", \"rows\": %lld, \"cols\": %lld, \"m\": %lld, ", (long long)L->rows,
                  (long long)L->cols, (long long)M);
    hx_buf_printf(j, "\"x\": \"%s\", \"y\": \"%s\", \"sidecar\": %llu, \"bias\": %s, ", dt_name(xt),
                  dt_name(yt), (unsigned long long)(sidecar_on ? L->sc_n : 0), L->bias ? "true" : "false");
    jb_num(j, "max_err_over_tol", worst);
    hx_buf_printf(j, ", ");
    jb_num(j, "rel_l2_err", den > 0 ? sqrt(num / den) : sqrt(num));
    if (gemm) {
        hx_buf_printf(j, ", ");
        jb_num(j, "rel_l2_err_vs_exact_weights", den > 0 ? sqrt(numx / den) : sqrt(numx));
    }
    hx_buf_printf(j, ", \"nonfinite\": %d, \"deterministic\": %s, \"y_padding_overwritten\": %lld, "
                     "\"pass\": %s}",
                  nan, deterministic ? "true" : "false", (long long)pad_overwritten, pass ? "true" : "false");
    if (!pass)
        printf("FAIL %s %lldx%lld m=%lld x=%s y=%s sc=%llu bias=%d: err/tol %.3g nonfinite %d det %d "
               "y padding bytes overwritten %lld\n",
               kind, (long long)L->rows, (long long)L->cols, (long long)M, dt_name(xt),
               dt_name(yt), (unsigned long long)L->sc_n, L->bias != NULL, worst, nan,
               deterministic, (long long)pad_overwritten);
    free(ref), free(S), free(refx), free(nnzr);
    return pass;
}

/* One random case through the upload path. M <= 8: GEMV, else GEMM. */
static void check_case(ctx *c, int64_t rows, int64_t cols, int64_t M, hxg_dtype xt, hxg_dtype yt,
                       int sidecar, int bias, int k)
{
    hlayer L;
    hlayer_random(&L, rows, cols, k, sidecar, bias);
    hxg_linear *w;
    CK(hxg_linear_upload("check", L.cb, k, L.idx, rows, cols, L.pos, L.val, L.sc_n, L.bias, &w));
    int gemm = M > HXG_GEMV_MAX_BATCH;
    if (gemm) xt = HXG_BF16;
    int64_t ldx = (cols + 7) / 8 * 8 + 8; /* padding filled with NaN: must be ignored */
    size_t xs = xt == HXG_F32 ? 4 : 2, ys = yt == HXG_F32 ? 4 : 2;
    int64_t ldy = gemm ? rows + 5 : rows + 3;
    void *xh = hx_malloc(xs * (size_t)(M * ldx));
    double *xd = hx_malloc(sizeof(double) * (size_t)(M * ldx));
    for (int64_t m = 0; m < M; m++)
        for (int64_t i = 0; i < ldx; i++) {
            float v = i < cols ? (float)rndn() : NAN;
            if (xt == HXG_F32)
                ((float *)xh)[m * ldx + i] = v;
            else
                ((uint16_t *)xh)[m * ldx + i] = hx_f32_to_bf16(v);
            xd[m * ldx + i] = xt == HXG_F32 ? v : hxg_bf16_round(v);
        }
    void *xdv, *y1, *y2;
    size_t ybytes = ys * (size_t)(M * ldy);
    CK(hxg_malloc(&xdv, xs * (size_t)(M * ldx)));
    CK(hxg_malloc(&y1, ybytes));
    CK(hxg_malloc(&y2, ybytes));
    CK(hxg_h2d(xdv, xh, xs * (size_t)(M * ldx)));
    CK(hxg_memset(y1, 0xff, ybytes)); /* NaN poison */
    CK(hxg_memset(y2, 0xff, ybytes));
    CK(hxg_hxq_linear(w, xdv, xt, ldx, M, y1, yt, ldy, NULL));
    CK(hxg_hxq_linear(w, xdv, xt, ldx, M, y2, yt, ldy, NULL));
    CK(hxg_sync());
    void *h1 = hx_malloc(ybytes), *h2 = hx_malloc(ybytes);
    CK(hxg_d2h(h1, y1, ybytes));
    CK(hxg_d2h(h2, y2, ybytes));
    int det = 1;
    for (int64_t m = 0; m < M && det; m++)
        if (memcmp((char *)h1 + ys * (size_t)(m * ldy), (char *)h2 + ys * (size_t)(m * ldy),
                   ys * (size_t)rows))
            det = 0;
    /* y's row padding [rows, ldy) must still hold the poison: a kernel that
     * writes past `rows` (into the next row's padding) fails here */
    int64_t overrun = 0;
    for (int64_t m = 0; m < M; m++)
        for (size_t b = ys * (size_t)rows; b < ys * (size_t)ldy; b++)
            if (((unsigned char *)h1)[ys * (size_t)(m * ldy) + b] != 0xff) overrun++;
    compare_case(c, gemm ? "gemm" : "gemv", &L, xd, ldx, M, NULL, M, NULL, rows, h1, yt, ldy, gemm,
                 det, xt, sidecar, overrun);
    free(h1), free(h2), free(xh), free(xd);
    hxg_free(xdv), hxg_free(y1), hxg_free(y2);
    hxg_linear_free(w);
    hlayer_free(&L);
}

/* The benchmark shapes, generated on the device: sampled outputs. */
static void check_device_layer(ctx *c, int64_t rows, int64_t cols, int64_t M, uint64_t seed)
{
    hxg_linear *w;
    CK(hxg_linear_random(rows, cols, 0.001, 1, seed, &w));
    hlayer L;
    memset(&L, 0, sizeof L);
    L.rows = rows;
    L.cols = cols;
    L.k = 256;
    float *cb;
    CK(hxg_linear_download(w, &cb, &L.idx, &L.pos, &L.val, &L.sc_n, &L.bias));
    memcpy(L.cb, cb, sizeof L.cb);
    free(cb);
    int gemm = M > HXG_GEMV_MAX_BATCH;
    int64_t ldx = (cols + 7) / 8 * 8;
    uint16_t *xh = hx_malloc(2 * (size_t)(M * ldx));
    double *xd = hx_malloc(sizeof(double) * (size_t)(M * ldx));
    for (int64_t i = 0; i < M * ldx; i++) {
        xh[i] = hx_f32_to_bf16((float)rndn());
        xd[i] = hx_bf16_to_f32(xh[i]);
    }
    void *xdv, *y1, *y2;
    size_t ybytes = 4 * (size_t)(M * rows);
    CK(hxg_malloc(&xdv, 2 * (size_t)(M * ldx)));
    CK(hxg_malloc(&y1, ybytes));
    CK(hxg_malloc(&y2, ybytes));
    CK(hxg_h2d(xdv, xh, 2 * (size_t)(M * ldx)));
    CK(hxg_memset(y1, 0xff, ybytes));
    CK(hxg_hxq_linear(w, xdv, HXG_BF16, ldx, M, y1, HXG_F32, rows, NULL));
    CK(hxg_hxq_linear(w, xdv, HXG_BF16, ldx, M, y2, HXG_F32, rows, NULL));
    CK(hxg_sync());
    float *h1 = hx_malloc(ybytes), *h2 = hx_malloc(ybytes);
    CK(hxg_d2h(h1, y1, ybytes));
    CK(hxg_d2h(h2, y2, ybytes));
    int det = memcmp(h1, h2, ybytes) == 0;
    /* all-output NaN scan (unwritten elements), then sampled reference */
    int64_t n_r = 48, n_m = M < 6 ? M : 6;
    int64_t rsel[48], msel[6];
    for (int64_t i = 0; i < n_r; i++) rsel[i] = i == 0 ? 0 : i == 1 ? rows - 1 : (int64_t)(rnd() % (uint64_t)rows);
    for (int64_t i = 0; i < n_m; i++) msel[i] = i == 0 ? 0 : i == 1 ? M - 1 : (int64_t)(rnd() % (uint64_t)M);
    int nan = 0;
    for (size_t i = 0; i < (size_t)(M * rows); i++)
        if (!isfinite(h1[i])) nan++;
    if (nan) printf("FAIL %s %lldx%lld: %d outputs not finite (unwritten?)\n", gemm ? "gemm" : "gemv",
                    (long long)rows, (long long)cols, nan);
    compare_case(c, gemm ? "gemm(bench shape, sampled)" : "gemv(bench shape, sampled)", &L, xd, ldx,
                 M, msel, n_m, rsel, n_r, h1, HXG_F32, rows, gemm, det && !nan, HXG_BF16, 1, 0);
    free(h1), free(h2), free(xh), free(xd);
    hxg_free(xdv), hxg_free(y1), hxg_free(y2);
    hxg_linear_free(w);
    hlayer_free(&L);
}

/* ------------------------------------------------------------ benchmarks */
typedef struct gemv_op {
    hxg_linear **hw;   /* HXQ copies */
    void **bw;         /* BF16 copies */
    int ncopy;
    int64_t rows, cols, M;
    void *x, *y;
    hxg_blas *blas;
    void *stream;
} gemv_op;

static hx_status op_hxq(void *p, int i)
{
    gemv_op *o = p;
    return hxg_hxq_linear(o->hw[i % o->ncopy], o->x, HXG_BF16, o->cols, o->M, o->y, HXG_BF16,
                          o->rows, o->stream);
}
/* The GEMV kernels by name, for timing both in one run. */
static hx_status op_gemv(gemv_op *o, int i, int variant)
{
    return hxg_bench_gemv(variant, o->hw[i % o->ncopy], o->x, HXG_BF16, o->cols, (int)o->M, o->y,
                          HXG_BF16, o->rows, o->stream);
}
static hx_status op_gemv_v1(void *p, int i) { return op_gemv(p, i, 1); }
static hx_status op_gemv_v2(void *p, int i) { return op_gemv(p, i, 2); }
static hx_status op_blas(void *p, int i)
{
    gemv_op *o = p;
    return hxg_blas_linear_bf16(o->blas, o->bw[i % o->ncopy], o->rows, o->cols, o->x, o->M, o->y);
}

typedef struct shape { int64_t rows, cols; const char *what; } shape;

static const shape k_shapes[] = {
    {4096, 4096, "llama3-8b q/o"},        {4096, 14336, "llama3-8b down"},
    {14336, 4096, "llama3-8b gate/up"},   {3584, 18944, "qwen2.5-7b down"},
    {18944, 3584, "qwen2.5-7b gate/up"},  {3584, 3584, "qwen2.5-7b q/o"},
};
#define N_SHAPES (int)(sizeof k_shapes / sizeof k_shapes[0])

static void bench_shapes(hx_buf *j, const hxg_device_info *di, hxg_blas *blas, void *stream,
                         double copy_bw, int gemm)
{
    static const int batches[] = {1, 2, 4, 8};
    const int64_t MW = 2048;
    void *x, *y;
    CK(hxg_malloc(&x, 2 * (size_t)MW * 18944));
    CK(hxg_malloc(&y, 2 * (size_t)MW * 18944));
    CK(hxg_rand_bf16(x, (size_t)MW * 18944, 99, 1.0f));
    hx_buf_printf(j, ",\n  \"gemv\": [");
    printf("\nGEMV (decode), x/y BF16, HXQ fused (v2 = default kernel, v1 = HXG_GEMV=v1) vs cuBLAS "
           "BF16 (cublasGemmEx), median of 15 samples; speedup = cublas/v2, v1/v2 = v1 time over "
           "v2 time; GB/s and %%peak of v2\n");
    printf("%-8s %-7s %2s %10s %10s %10s %7s %6s %9s %7s %7s\n", "rows", "cols", "B", "hxq_v2_us",
           "hxq_v1_us", "cublas_us", "speedup", "v1/v2", "v2_GB/s", "%peak", "%copy");
    int first = 1;
    for (int s = 0; s < N_SHAPES; s++) {
        int64_t rows = k_shapes[s].rows, cols = k_shapes[s].cols;
        /* enough copies that the rotation does not fit in L2 */
        double hbytes = (double)rows * cols, bbytes = 2.0 * rows * cols;
        int nc = (int)ceil(4.0 * di->l2_bytes / hbytes);
        if (nc < 2) nc = 2;
        if (nc > 16) nc = 16;
        hxg_linear *hw[16];
        void *bw[16];
        for (int k = 0; k < nc; k++) {
            CK(hxg_linear_random(rows, cols, 0.001, 0, 1000 + (uint64_t)s * 31 + (uint64_t)k, &hw[k]));
            CK(hxg_malloc(&bw[k], (size_t)bbytes));
            CK(hxg_rand_bf16(bw[k], (size_t)(rows * cols), 2000 + (uint64_t)k, 0.05f));
        }
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
            gemv_op o = {hw, bw, nc, rows, cols, batches[b], x, y, blas, stream};
            double hm, hmin, h1m, h1min, bm = NAN, bmin = NAN;
            CK(hxg_time_op(op_gemv_v2, &o, stream, 10, 50, 15, &hm, &hmin));
            CK(hxg_time_op(op_gemv_v1, &o, stream, 10, 50, 15, &h1m, &h1min));
            if (blas) CK(hxg_time_op(op_blas, &o, stream, 10, 50, 15, &bm, &bmin));
            uint64_t hb = hxg_linear_bytes(hw[0]) + 2 * (uint64_t)(batches[b] * (cols + rows));
            double hgbs = hb / (hm * 1e-6) / 1e9;
            double bgbs = (bbytes + 2.0 * batches[b] * (cols + rows)) / (bm * 1e-6) / 1e9;
            hx_buf_printf(j, "%s\n    {\"rows\": %lld, \"cols\": %lld, \"what\": \"%s\", \"batch\": %d, ",
                          first ? "" : ",", (long long)rows, (long long)cols, k_shapes[s].what, batches[b]);
            first = 0;
            jb_num(j, "hxq_us", hm), hx_buf_printf(j, ", "), jb_num(j, "hxq_us_min", hmin), hx_buf_printf(j, ", ");
            jb_num(j, "hxq_v1_us", h1m), hx_buf_printf(j, ", "), jb_num(j, "hxq_v1_us_min", h1min);
            hx_buf_printf(j, ", "), jb_num(j, "v1_over_v2", h1m / hm), hx_buf_printf(j, ", ");
            jb_num(j, "cublas_bf16_us", bm), hx_buf_printf(j, ", "), jb_num(j, "speedup", bm / hm);
            hx_buf_printf(j, ", \"hxq_bytes\": %llu, ", (unsigned long long)hb);
            jb_num(j, "hxq_gbs", hgbs), hx_buf_printf(j, ", ");
            jb_num(j, "hxq_frac_peak", di->peak_bw_gbs > 0 ? hgbs / di->peak_bw_gbs : NAN), hx_buf_printf(j, ", ");
            jb_num(j, "hxq_frac_copy_bw", hgbs / copy_bw), hx_buf_printf(j, ", ");
            jb_num(j, "cublas_gbs", bgbs), hx_buf_printf(j, ", ");
            jb_num(j, "cublas_frac_peak", di->peak_bw_gbs > 0 ? bgbs / di->peak_bw_gbs : NAN);
            hx_buf_printf(j, ", \"l2_rotation_copies\": %d}", nc);
            printf("%-8lld %-7lld %2d %10.2f %10.2f %10.2f %7.2f %6.2f %9.0f %6.1f%% %6.1f%%\n",
                   (long long)rows, (long long)cols, batches[b], hm, h1m, bm, bm / hm, h1m / hm, hgbs,
                   di->peak_bw_gbs > 0 ? 100 * hgbs / di->peak_bw_gbs : NAN, 100 * hgbs / copy_bw);
        }
        fflush(stdout);
        for (int k = 0; k < nc; k++) {
            hxg_linear_free(hw[k]);
            hxg_free(bw[k]);
        }
    }
    hx_buf_printf(j, "\n  ]");
    if (!gemm) {
        hxg_free(x);
        hxg_free(y);
        return;
    }

    hx_buf_printf(j, ",\n  \"gemm\": [");
    printf("\nGEMM (evaluation window M=%lld), x/y BF16, HXQ (WMMA) vs cuBLAS BF16\n", (long long)MW);
    printf("%-8s %-7s %10s %10s %7s %9s %9s\n", "rows", "cols", "hxq_us", "cublas_us", "ratio",
           "hxq_TF/s", "cublas_TF");
    first = 1;
    for (int s = 0; s < N_SHAPES; s++) {
        int64_t rows = k_shapes[s].rows, cols = k_shapes[s].cols;
        hxg_linear *hw[1];
        void *bw[1];
        CK(hxg_linear_random(rows, cols, 0.001, 0, 3000 + (uint64_t)s, &hw[0]));
        CK(hxg_malloc(&bw[0], 2 * (size_t)(rows * cols)));
        CK(hxg_rand_bf16(bw[0], (size_t)(rows * cols), 4000 + (uint64_t)s, 0.05f));
        gemv_op o = {hw, bw, 1, rows, cols, MW, x, y, blas, stream};
        double hm, hmin, bm = NAN, bmin = NAN;
        CK(hxg_time_op(op_hxq, &o, stream, 2, 5, 7, &hm, &hmin));
        if (blas) CK(hxg_time_op(op_blas, &o, stream, 2, 5, 7, &bm, &bmin));
        double fl = 2.0 * MW * rows * cols;
        hx_buf_printf(j, "%s\n    {\"rows\": %lld, \"cols\": %lld, \"m\": %lld, ", first ? "" : ",",
                      (long long)rows, (long long)cols, (long long)MW);
        first = 0;
        jb_num(j, "hxq_us", hm), hx_buf_printf(j, ", "), jb_num(j, "cublas_bf16_us", bm), hx_buf_printf(j, ", ");
        jb_num(j, "hxq_tflops", fl / (hm * 1e-6) / 1e12), hx_buf_printf(j, ", ");
        jb_num(j, "cublas_tflops", fl / (bm * 1e-6) / 1e12), hx_buf_printf(j, ", ");
        jb_num(j, "speedup", bm / hm), hx_buf_printf(j, "}");
        printf("%-8lld %-7lld %10.1f %10.1f %7.2f %9.1f %9.1f\n", (long long)rows, (long long)cols,
               hm, bm, bm / hm, fl / (hm * 1e-6) / 1e12, fl / (bm * 1e-6) / 1e12);
        fflush(stdout);
        hxg_linear_free(hw[0]);
        hxg_free(bw[0]);
    }
    hx_buf_printf(j, "\n  ]");
    hxg_free(x);
    hxg_free(y);
}

/* The linear layers of a Qwen2.5-7B-shaped decoder stack. */
#define QW_LAYERS 28
#define QW_H 3584
#define QW_KV 512
#define QW_I 18944
typedef struct stack {
    hxg_linear *hw[QW_LAYERS][7];
    void *bw[QW_LAYERS][7];
    void *xh, *q, *k, *v, *o, *g, *u, *d; /* activations, BF16, M rows */
    int64_t M;
    hxg_blas *blas;
    void *stream;
} stack;

static const int64_t qw_rows[7] = {QW_H, QW_KV, QW_KV, QW_H, QW_I, QW_I, QW_H};
static const int64_t qw_cols[7] = {QW_H, QW_H, QW_H, QW_H, QW_H, QW_H, QW_I};

/* call i = layer i/7, linear i%7: q k v o gate up down; o reads q's
 * output, down reads up's output, the others the hidden state. */
static void stack_io(stack *st, int l, void **in, void **out)
{
    void *ins[7] = {st->xh, st->xh, st->xh, st->q, st->xh, st->xh, st->u};
    void *outs[7] = {st->q, st->k, st->v, st->o, st->g, st->u, st->d};
    *in = ins[l];
    *out = outs[l];
}
static hx_status stack_hxq(void *p, int i)
{
    stack *st = p;
    int l = i % 7;
    void *in, *out;
    stack_io(st, l, &in, &out);
    return hxg_hxq_linear(st->hw[(i / 7) % QW_LAYERS][l], in, HXG_BF16, qw_cols[l], st->M, out,
                          HXG_BF16, qw_rows[l], st->stream);
}
static hx_status stack_blas(void *p, int i)
{
    stack *st = p;
    int l = i % 7;
    void *in, *out;
    stack_io(st, l, &in, &out);
    return hxg_blas_linear_bf16(st->blas, st->bw[(i / 7) % QW_LAYERS][l], qw_rows[l], qw_cols[l], in,
                                st->M, out);
}

static void bench_stack(hx_buf *j, hxg_blas *blas, void *stream, const hxg_device_info *di)
{
    stack st;
    memset(&st, 0, sizeof st);
    st.blas = blas;
    st.stream = stream;
    uint64_t hbytes = 0, bbytes = 0;
    for (int L = 0; L < QW_LAYERS; L++)
        for (int l = 0; l < 7; l++) {
            CK(hxg_linear_random(qw_rows[l], qw_cols[l], 0.001, l < 3, 5000 + (uint64_t)(L * 7 + l),
                                 &st.hw[L][l]));
            hbytes += hxg_linear_bytes(st.hw[L][l]);
            if (blas) {
                size_t n = (size_t)(qw_rows[l] * qw_cols[l]);
                CK(hxg_malloc(&st.bw[L][l], 2 * n));
                CK(hxg_rand_bf16(st.bw[L][l], n, 7000 + (uint64_t)(L * 7 + l), 0.05f));
                bbytes += 2 * n;
            }
        }
    const int64_t MW = 2048;
    void **bufs[8] = {&st.xh, &st.q, &st.k, &st.v, &st.o, &st.g, &st.u, &st.d};
    const int64_t width[8] = {QW_H, QW_H, QW_KV, QW_KV, QW_H, QW_I, QW_I, QW_H};
    for (int b = 0; b < 8; b++) {
        CK(hxg_malloc(bufs[b], 2 * (size_t)(MW * width[b])));
        CK(hxg_rand_bf16(*bufs[b], (size_t)(MW * width[b]), 9000 + (uint64_t)b, 1.0f));
    }
    CK(hxg_sync());
    const char *note = "linear layers only (q,k,v,o,gate,up,down of 28 decoder layers, Qwen2.5-7B "
                       "shapes, random weights generated on the GPU); attention, norms, "
                       "embeddings and lm_head excluded";
    printf("\nQwen2.5-7B-shaped stack: %s\n", note);
    printf("weights: HXQ %.2f GB, BF16 %.2f GB\n", hbytes / 1e9, bbytes / 1e9);
    hx_buf_printf(j, ",\n  \"stack\": {");
    jb_str(j, "note", note);
    hx_buf_printf(j, ", \"layers\": %d, \"hxq_weight_bytes\": %llu, \"bf16_weight_bytes\": %llu",
                  QW_LAYERS, (unsigned long long)hbytes, (unsigned long long)bbytes);
    static const int64_t Ms[] = {1, 8, 2048};
    for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++) {
        st.M = Ms[mi];
        double hm, hmin, bm = NAN, bmin = NAN;
        int g1 = 0, g2 = 0;
        int samples = st.M > 8 ? 3 : 10;
        /* one warm-up pass so that lazy setup stays out of the capture */
        for (int i = 0; i < 7; i++) CK(stack_hxq(&st, i));
        if (blas)
            for (int i = 0; i < 7; i++) CK(stack_blas(&st, i));
        CK(hxg_sync());
        CK(hxg_time_graph(stack_hxq, &st, stream, QW_LAYERS * 7, samples, &hm, &hmin, &g1));
        if (blas) CK(hxg_time_graph(stack_blas, &st, stream, QW_LAYERS * 7, samples, &bm, &bmin, &g2));
        double htok = st.M / (hm * 1e-6), btok = st.M / (bm * 1e-6);
        const char *mode = st.M > 8 ? "eval_window" : "decode";
        hx_buf_printf(j, ",\n    \"%s_m%lld\": {\"m\": %lld, ", mode, (long long)st.M, (long long)st.M);
        jb_num(j, "hxq_ms_per_step", hm / 1e3), hx_buf_printf(j, ", ");
        jb_num(j, "bf16_ms_per_step", bm / 1e3), hx_buf_printf(j, ", ");
        jb_num(j, "hxq_tokens_per_s", htok), hx_buf_printf(j, ", ");
        jb_num(j, "bf16_tokens_per_s", btok), hx_buf_printf(j, ", ");
        jb_num(j, "speedup", bm / hm), hx_buf_printf(j, ", ");
        jb_num(j, "hxq_weight_gbs", hbytes / (hm * 1e-6) / 1e9), hx_buf_printf(j, ", ");
        jb_num(j, "hxq_frac_peak", di->peak_bw_gbs > 0 ? hbytes / (hm * 1e-6) / 1e9 / di->peak_bw_gbs : NAN);
        hx_buf_printf(j, ", \"cuda_graph\": %s}", g1 && (g2 || !blas) ? "true" : "false");
        printf("%s M=%-5lld HXQ %8.3f ms/step %10.1f tok/s | BF16 %8.3f ms/step %10.1f tok/s | x%.2f%s\n",
               mode, (long long)st.M, hm / 1e3, htok, bm / 1e3, btok, bm / hm,
               g1 ? " (graph)" : " (no graph)");
        fflush(stdout);
    }
    hx_buf_printf(j, "\n  }");
    for (int L = 0; L < QW_LAYERS; L++)
        for (int l = 0; l < 7; l++) {
            hxg_linear_free(st.hw[L][l]);
            hxg_free(st.bw[L][l]);
        }
    for (int b = 0; b < 8; b++) hxg_free(*bufs[b]);
}

/* ------------------------------------------------------------ main */
static int write_json(const char *path, hx_buf *j)
{
    if (!path) return 0;
    FILE *f = fopen(path, "w");
    if (!f || fwrite(j->data, 1, j->len, f) != j->len || fclose(f)) {
        fprintf(stderr, "gpu-check: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *json = NULL;
    int quick = 0, bench = 1, gemv_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json") && i + 1 < argc)
            json = argv[++i];
        else if (!strcmp(argv[i], "--quick"))
            quick = 1, bench = 0;
        else if (!strcmp(argv[i], "--no-bench"))
            bench = 0;
        else if (!strcmp(argv[i], "--gemv-only"))
            gemv_only = 1;
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            g_rng = strtoull(argv[++i], NULL, 0) | 1;
        else {
            fprintf(stderr, "usage: gpu-check [--json PATH] [--quick] [--no-bench] [--gemv-only] "
                            "[--seed N]\n");
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    double t0 = hx_now();
    hx_buf j = HX_BUF_INIT;
    hx_buf_printf(&j, "{\n  \"tool\": \"hxzoo gpu-check\", \"format\": 1");
    int cpu_bad = cpu_selftest();
    hx_buf_printf(&j, ",\n  \"cpu_selftest\": %s", cpu_bad ? "false" : "true");

    hxg_device_info di;
    if (hxg_device_probe(0, &di)) {
        printf("no CUDA device: %s\n", hx_lasterr());
        hx_buf_printf(&j, ",\n  ");
        jb_str(&j, "status", cpu_bad ? "fail" : "skipped");
        hx_buf_printf(&j, ", ");
        jb_str(&j, "reason", hx_lasterr());
        hx_buf_printf(&j, "\n}\n");
        write_json(json, &j);
        return cpu_bad ? 1 : 77;
    }
    printf("device: %s (sm_%d%d, %d SMs, %.1f GiB, L2 %d MiB), peak DRAM %.0f GB/s (%s), driver %d, runtime %d\n",
           di.name, di.cc_major, di.cc_minor, di.sm_count, di.total_mem / 1073741824.0,
           di.l2_bytes >> 20, di.peak_bw_gbs, di.peak_bw_source, di.driver_version,
           di.runtime_version);
    hx_buf_printf(&j, ",\n  \"device\": {");
    jb_str(&j, "name", di.name);
    hx_buf_printf(&j, ", \"cc\": \"%d.%d\", \"sms\": %d, \"mem_bytes\": %llu, \"l2_bytes\": %d, "
                      "\"mem_clock_khz\": %d, \"mem_bus_bits\": %d, ",
                  di.cc_major, di.cc_minor, di.sm_count, (unsigned long long)di.total_mem, di.l2_bytes,
                  di.mem_clock_khz, di.mem_bus_bits);
    jb_num(&j, "peak_bw_gbs", di.peak_bw_gbs);
    hx_buf_printf(&j, ", ");
    jb_str(&j, "peak_bw_source", di.peak_bw_source);
    hx_buf_printf(&j, ", \"driver\": %d, \"runtime\": %d}", di.driver_version, di.runtime_version);

    /* correctness */
    ctx c = {&j, 1, 0, 0, 0};
    hx_buf_printf(&j, ",\n  \"tolerance\": \"|y-ref| <= gamma_h*S (+2^-8|ref| for BF16 y); S = "
                      "sum|x||W'|+|x||corr|+|bias|; gamma_h = h*2^-24/(1-h*2^-24); GEMV (%s) h = %s; "
                      "GEMM h = 2*(ceil(cols/16)+5)+nnz+3 against BF16-rounded codebook weights\"",
                  gemv_v1() ? "v1" : "v2",
                  gemv_v1() ? "16*ceil(ceil(cols/64)*4/256)+ceil(nnz/32)+21"
                            : "(batch<=4 ? 32+nseg : 4*nseg)+ceil(nnz/32)+21, "
                              "nseg = ceil(ceil(cols/4)/32)");
    hx_buf_printf(&j, ",\n  \"checks\": [");
    /* v2's edge cases: {2, 130}: a team of 2 warps, the second with one
     * partial segment; {7, 18944}: rows far fewer than the grid (teams of
     * 16 warps, the last with no segment), rows not a multiple of the row
     * group; {9001, 1101}: several row groups per team (the pipeline
     * crosses groups), several steps per group with a partial last one,
     * cols not a multiple of 4, 64 or a segment (128). */
    static const int64_t gv[][2] = {{1, 1},      {3, 5},       {17, 33},     {2, 130},
                                    {64, 256},   {7, 18944},   {100, 1000},  {257, 4100},
                                    {1030, 777}, {33, 20000},  {9001, 1101}};
    int ns = quick ? 7 : (int)(sizeof gv / sizeof gv[0]);
    for (int s = 0; s < ns; s++)
        for (int b = 1; b <= HXG_GEMV_MAX_BATCH; b++)
            check_case(&c, gv[s][0], gv[s][1], b, (b + s) % 2 ? HXG_BF16 : HXG_F32,
                       (b / 2 + s) % 2 ? HXG_BF16 : HXG_F32, b % 3 != 0, b % 2, s == 2 ? 16 : 256);
    static const int64_t gm[][3] = {{17, 33, 9},    {100, 200, 100}, {130, 257, 130},
                                    {64, 64, 300},  {257, 1000, 129}, {300, 4096, 257},
                                    {129, 999, 33}};
    int nm = quick ? 5 : (int)(sizeof gm / sizeof gm[0]);
    for (int s = 0; s < nm; s++)
        check_case(&c, gm[s][0], gm[s][1], gm[s][2], HXG_BF16, s % 2 ? HXG_BF16 : HXG_F32, s != 3,
                   s % 2 == 0, 256);
    if (!quick)
        for (int s = 0; s < N_SHAPES; s++) {
            check_device_layer(&c, k_shapes[s].rows, k_shapes[s].cols, 1 + s % 3, 11 + (uint64_t)s);
            check_device_layer(&c, k_shapes[s].rows, k_shapes[s].cols, 2048, 21 + (uint64_t)s);
        }
    hx_buf_printf(&j, "\n  ],\n  \"checks_run\": %d, \"checks_failed\": %d, ", c.cases, c.failed);
    jb_num(&j, "worst_err_over_tol", c.worst);
    printf("correctness: %d checks, %d failed, worst err/tol %.3g (%.1f s)\n", c.cases, c.failed,
           c.worst, hx_now() - t0);

    if (bench) {
        void *stream;
        CK(hxg_stream_create(&stream));
        hxg_blas *blas = NULL;
        if (hxg_blas_open(stream, &blas)) {
            printf("cuBLAS unavailable, baselines skipped: %s\n", hx_lasterr());
            hx_buf_printf(&j, ",\n  ");
            jb_str(&j, "cublas", hx_lasterr());
            blas = NULL;
        } else {
            hx_buf_printf(&j, ",\n  ");
            jb_str(&j, "cublas", hxg_blas_name(blas));
        }
        double copy_bw = 0;
        CK(hxg_copy_bw((size_t)1 << 30, &copy_bw));
        printf("device-to-device copy: %.0f GB/s (read + write)\n", copy_bw);
        hx_buf_printf(&j, ",\n  ");
        jb_num(&j, "copy_bw_gbs", copy_bw);
        bench_shapes(&j, &di, blas, stream, copy_bw, !gemv_only);
        if (!gemv_only) bench_stack(&j, blas, stream, &di);
        hxg_blas_close(blas);
        hxg_stream_destroy(stream);
    }
    int bad = cpu_bad || c.failed;
    hx_buf_printf(&j, ",\n  \"seconds\": %.1f,\n  ", hx_now() - t0);
    jb_str(&j, "status", bad ? "fail" : "pass");
    hx_buf_printf(&j, "\n}\n");
    if (write_json(json, &j)) return 3;
    printf("gpu-check: %s (%.1f s)\n", bad ? "FAIL" : "pass", hx_now() - t0);
    hx_buf_free(&j);
    return bad ? 1 : 0;
}

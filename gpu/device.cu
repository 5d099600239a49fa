/* device.cu - device probe, memory helpers and the upload of an HXQ layer
 * (gpu.h). */
#include <stdlib.h>
#include <string.h>

#include "gpu/common.cuh"

hx_status hxg_cuda_fail(cudaError_t e, const char *what, const char *file, int line)
{
    hx_seterr("cuda: %s: %s (%s at %s:%d)", cudaGetErrorName(e), cudaGetErrorString(e), what, file,
              line);
    return e == cudaErrorMemoryAllocation ? HX_ENOMEM : HX_EINTERNAL;
}

/* Peak DRAM bandwidth of known cards in GB/s (vendor datasheets), for when
 * the runtime does not report the memory clock. */
static double known_peak(const char *name)
{
    static const struct { const char *sub; double gbs; } t[] = {
        {"H200", 4800.0}, {"H100 NVL", 3900.0}, {"H100 PCIe", 2000.0},
        {"H100", 3350.0}, {"A100-SXM4-80GB", 2039.0}, {"A100 80GB PCIe", 1935.0},
        {"A100", 1555.0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strstr(name, t[i].sub)) return t[i].gbs;
    return 0;
}

hx_status hxg_device_probe(int ordinal, hxg_device_info *info)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess)
        return HX_FAIL(HX_ENOTFOUND, "%s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
    if (n <= ordinal)
        return HX_FAIL(HX_ENOTFOUND, "%d CUDA device(s), asked for #%d", n, ordinal);
    HXG_CUDA(cudaSetDevice(ordinal));
    cudaDeviceProp p;
    HXG_CUDA(cudaGetDeviceProperties(&p, ordinal));
    if (!info) return HX_OK;
    memset(info, 0, sizeof *info);
    info->ordinal = ordinal;
    snprintf(info->name, sizeof info->name, "%s", p.name);
    info->cc_major = p.major;
    info->cc_minor = p.minor;
    info->sm_count = p.multiProcessorCount;
    info->total_mem = p.totalGlobalMem;
    info->l2_bytes = p.l2CacheSize;
    info->mem_bus_bits = p.memoryBusWidth;
    int clk = 0;
    if (cudaDeviceGetAttribute(&clk, cudaDevAttrMemoryClockRate, ordinal) != cudaSuccess) {
        cudaGetLastError();
        clk = 0;
    }
    info->mem_clock_khz = clk;
    if (clk > 0 && p.memoryBusWidth > 0) {
        /* DDR: two transfers per clock. */
        info->peak_bw_gbs = 2.0 * clk * 1e3 * (p.memoryBusWidth / 8.0) / 1e9;
        info->peak_bw_source = "clock*bus";
    } else if ((info->peak_bw_gbs = known_peak(p.name)) > 0) {
        info->peak_bw_source = "table";
    } else {
        info->peak_bw_source = "unknown";
    }
    cudaDriverGetVersion(&info->driver_version);
    cudaRuntimeGetVersion(&info->runtime_version);
    return HX_OK;
}

hx_status hxg_malloc(void **p, size_t n)
{
    *p = NULL;
    HXG_CUDA(cudaMalloc(p, n ? n : 1));
    return HX_OK;
}
void hxg_free(void *p)
{
    if (p) cudaFree(p);
}
hx_status hxg_h2d(void *dst, const void *src, size_t n)
{
    HXG_CUDA(cudaMemcpy(dst, src, n, cudaMemcpyHostToDevice));
    return HX_OK;
}
hx_status hxg_d2h(void *dst, const void *src, size_t n)
{
    HXG_CUDA(cudaMemcpy(dst, src, n, cudaMemcpyDeviceToHost));
    return HX_OK;
}
hx_status hxg_memset(void *p, int byte, size_t n)
{
    HXG_CUDA(cudaMemset(p, byte, n));
    return HX_OK;
}
hx_status hxg_sync(void)
{
    HXG_CUDA(cudaDeviceSynchronize());
    return HX_OK;
}

void hxg_linear_free(hxg_linear *w)
{
    if (!w) return;
    cudaFree(w->codebook);
    cudaFree(w->indices);
    cudaFree(w->row_ptr);
    cudaFree(w->sc_ent);
    cudaFree(w->sc_val);
    cudaFree(w->bias);
    free(w);
}

int64_t hxg_linear_rows(const hxg_linear *w) { return w->rows; }
int64_t hxg_linear_cols(const hxg_linear *w) { return w->cols; }
uint64_t hxg_linear_bytes_for(int64_t rows, int64_t cols, uint64_t sc_n, int with_bias)
{
    return (uint64_t)rows * (uint64_t)hxg_round_up(cols, HXG_LD_ALIGN) + 256 * 4 +
           (uint64_t)(rows + 1) * 4 + sc_n * 8 + (with_bias ? (uint64_t)rows * 4 : 0);
}

uint64_t hxg_linear_bytes(const hxg_linear *w)
{
    return hxg_linear_bytes_for(w->rows, w->cols, w->sc_n, w->bias != NULL);
}

hx_status hxg_linear_alloc(int64_t rows, int64_t cols, uint64_t sc_n, int with_bias,
                           hxg_linear **out)
{
    *out = NULL;
    if (rows <= 0 || cols <= 0 || cols >= ((int64_t)1 << 24) || rows >= ((int64_t)1 << 31))
        return HX_FAIL(HX_EINVAL, "gpu: unsupported layer shape [%lld, %lld]", (long long)rows,
                       (long long)cols);
    hxg_linear *w = (hxg_linear *)calloc(1, sizeof *w);
    if (!w) return HX_FAIL(HX_ENOMEM, "gpu: out of host memory");
    w->rows = rows;
    w->cols = cols;
    w->ld = hxg_round_up(cols, HXG_LD_ALIGN);
    w->sc_n = sc_n;
    cudaError_t e;
    if ((e = cudaMalloc(&w->codebook, 256 * sizeof(float))) != cudaSuccess ||
        (e = cudaMalloc(&w->indices, (size_t)rows * (size_t)w->ld)) != cudaSuccess ||
        (e = cudaMalloc(&w->row_ptr, (size_t)(rows + 1) * 4)) != cudaSuccess ||
        (e = cudaMalloc(&w->sc_ent, (size_t)(sc_n ? sc_n : 1) * 4)) != cudaSuccess ||
        (e = cudaMalloc(&w->sc_val, (size_t)(sc_n ? sc_n : 1) * 4)) != cudaSuccess ||
        (with_bias && (e = cudaMalloc(&w->bias, (size_t)rows * 4)) != cudaSuccess) ||
        (e = cudaMemset(w->codebook, 0, 256 * sizeof(float))) != cudaSuccess ||
        (e = cudaMemset(w->indices, 0, (size_t)rows * (size_t)w->ld)) != cudaSuccess ||
        (e = cudaMemset(w->row_ptr, 0, (size_t)(rows + 1) * 4)) != cudaSuccess) {
        hxg_linear_free(w);
        return hxg_cuda_fail(e, "allocating an HXQ layer", __FILE__, __LINE__);
    }
    *out = w;
    return HX_OK;
}

hx_status hxg_linear_upload(const char *name, const float *codebook, int k, const uint8_t *indices,
                            int64_t rows, int64_t cols, const int64_t *sc_pos, const float *sc_val,
                            uint64_t sc_n, const float *bias, hxg_linear **out)
{
    *out = NULL;
    if (k < 1 || k > 256) return HX_FAIL(HX_EFORMAT, "%s: codebook of %d entries", name, k);
    float cb[256] = {0};
    for (int j = 0; j < k; j++) {
        if (!isfinite(codebook[j]))
            return HX_FAIL(HX_EFORMAT, "%s: codebook entry %d is not finite", name, j);
        cb[j] = codebook[j];
    }
    if (k < 256) {
        for (int64_t i = 0; i < rows * cols; i++)
            if (indices[i] >= k)
                return HX_FAIL(HX_EFORMAT, "%s: index %u at %lld >= codebook size %d", name,
                               indices[i], (long long)i, k);
    }
    uint32_t *rp = (uint32_t *)malloc((size_t)(rows + 1) * 4);
    uint32_t *ent = (uint32_t *)malloc((size_t)(sc_n ? sc_n : 1) * 4);
    float *val = (float *)malloc((size_t)(sc_n ? sc_n : 1) * 4);
    hxg_linear *w = NULL;
    hx_status st;
    if (!rp || !ent || !val) {
        st = HX_FAIL(HX_ENOMEM, "%s: out of host memory", name);
        goto done;
    }
    if ((st = hxg_build_csr(name, indices, rows, cols, sc_pos, sc_val, sc_n, rp, ent, val)))
        goto done;
    if ((st = hxg_linear_alloc(rows, cols, sc_n, bias != NULL, &w))) goto done;
    {
        cudaError_t e = cudaMemcpy(w->codebook, cb, sizeof cb, cudaMemcpyHostToDevice);
        if (e == cudaSuccess)
            e = cudaMemcpy2D(w->indices, (size_t)w->ld, indices, (size_t)cols, (size_t)cols,
                             (size_t)rows, cudaMemcpyHostToDevice);
        if (e == cudaSuccess)
            e = cudaMemcpy(w->row_ptr, rp, (size_t)(rows + 1) * 4, cudaMemcpyHostToDevice);
        if (e == cudaSuccess && sc_n) e = cudaMemcpy(w->sc_ent, ent, sc_n * 4, cudaMemcpyHostToDevice);
        if (e == cudaSuccess && sc_n) e = cudaMemcpy(w->sc_val, val, sc_n * 4, cudaMemcpyHostToDevice);
        if (e == cudaSuccess && bias)
            e = cudaMemcpy(w->bias, bias, (size_t)rows * 4, cudaMemcpyHostToDevice);
        if (e != cudaSuccess) {
            st = hxg_cuda_fail(e, "uploading an HXQ layer", __FILE__, __LINE__);
            hx_preerr("%s", name);
            goto done;
        }
    }
    *out = w;
    w = NULL;
done:
    hxg_linear_free(w);
    free(rp);
    free(ent);
    free(val);
    return st;
}

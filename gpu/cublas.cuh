/* cublas.cuh - cuBLAS opened at run time with dlopen (libcublas.so.13,
 * .12, .so), so that no binary links libcublas and a machine without it
 * still runs everything else: the one loader of gpu/, used by the forward
 * pass (forward.cu) and by gpu-check (check/bench.cu). C++ (CUDA sources)
 * only; C code uses gpu.h. */
#ifndef HX_GPU_CUBLAS_CUH
#define HX_GPU_CUBLAS_CUH

#include <cublas_v2.h>

#include "gpu/gpu.h"

/* The library and the entry points hxzoo uses; an entry point is NULL when
 * the library lacks it (callers check those they need). */
struct hxg_cublas_api {
    void *lib;
    char name[64]; /* the library that was loaded */
    decltype(&cublasCreate_v2) create;
    decltype(&cublasDestroy_v2) destroy;
    decltype(&cublasSetStream_v2) set_stream;
    decltype(&cublasSetWorkspace_v2) set_workspace;
    cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                              const void *, const void *, cudaDataType_t, int, const void *,
                              cudaDataType_t, int, const void *, void *, cudaDataType_t, int,
                              cublasComputeType_t, cublasGemmAlgo_t);
    cublasStatus_t (*gemm_sb)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                              const void *, const void *, cudaDataType_t, int, long long int,
                              const void *, cudaDataType_t, int, long long int, const void *, void *,
                              cudaDataType_t, int, long long int, int, cublasComputeType_t,
                              cublasGemmAlgo_t);
};

/* Open the first of the libraries that loads and look up the entry points
 * (*api zeroed first). HX_ENOTFOUND ("cuBLAS not loadable (last error:
 * ...)") when none loads. */
hx_status hxg_cublas_load(hxg_cublas_api *api);
/* Close the library (if open) and zero *api. */
void hxg_cublas_unload(hxg_cublas_api *api);

#endif

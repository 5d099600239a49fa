/* cublas.cu - the run-time cuBLAS loader (cublas.cuh): dlopen of the first
 * libcublas that loads, dlsym of the entry points forward.cu and
 * check/bench.cu call. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "gpu/cublas.cuh"

hx_status hxg_cublas_load(hxg_cublas_api *api)
{
    memset(api, 0, sizeof *api);
    static const char *names[] = {"libcublas.so.13", "libcublas.so.12", "libcublas.so"};
    const char *last = "";
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !api->lib; i++) {
        api->lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (api->lib)
            snprintf(api->name, sizeof api->name, "%s", names[i]);
        else
            last = dlerror();
    }
    if (!api->lib)
        return HX_FAIL(HX_ENOTFOUND, "cuBLAS not loadable (last error: %s)", last);
    *(void **)&api->create = dlsym(api->lib, "cublasCreate_v2");
    *(void **)&api->destroy = dlsym(api->lib, "cublasDestroy_v2");
    *(void **)&api->set_stream = dlsym(api->lib, "cublasSetStream_v2");
    *(void **)&api->set_workspace = dlsym(api->lib, "cublasSetWorkspace_v2");
    *(void **)&api->gemm_ex = dlsym(api->lib, "cublasGemmEx");
    *(void **)&api->gemm_sb = dlsym(api->lib, "cublasGemmStridedBatchedEx");
    return HX_OK;
}

void hxg_cublas_unload(hxg_cublas_api *api)
{
    if (api->lib)
        dlclose(api->lib);
    memset(api, 0, sizeof *api);
}

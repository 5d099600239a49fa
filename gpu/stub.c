/* stub.c - gpu_model.h for a build without nvcc: every entry point fails
 * with HX_ENOTFOUND, so `hxzoo eval --device cuda` refuses clearly. */
#include "gpu/gpu_model.h"

#include <stdlib.h>

#define NO_CUDA "this hxzoo was built without CUDA (nvcc not found at build time, or a sanitizer build)"

int hxg_built_with_cuda(void) { return 0; }

hx_status hxg_probe(char *desc, size_t desc_len)
{
    (void)desc;
    (void)desc_len;
    return HX_FAIL(HX_ENOTFOUND, NO_CUDA);
}

hx_status hxg_model_create(const hx_model *cpu, int max_ctx, hxg_model **out)
{
    (void)cpu;
    (void)max_ctx;
    *out = NULL;
    return HX_FAIL(HX_ENOTFOUND, NO_CUDA);
}

void hxg_model_free(hxg_model *g) { (void)g; }
uint64_t hxg_model_bytes(const hxg_model *g) { (void)g; return 0; }
void hxg_model_reset(hxg_model *g) { (void)g; }

hx_status hxg_model_forward(hxg_model *g, const int32_t *ids, int n, float *hidden)
{
    (void)g, (void)ids, (void)n, (void)hidden;
    return HX_FAIL(HX_ENOTFOUND, NO_CUDA);
}

hx_status hxg_model_logits(hxg_model *g, const float *hidden, int rows, float *logits)
{
    (void)g, (void)hidden, (void)rows, (void)logits;
    return HX_FAIL(HX_ENOTFOUND, NO_CUDA);
}

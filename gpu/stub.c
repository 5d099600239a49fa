/* stub.c - gpu_model.h for a build without nvcc: every entry point fails
 * with HX_ENOTFOUND, so `--device cuda` refuses clearly. */
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

hx_status hxg_model_create(hx_model *cpu, int max_ctx, int max_tokens, hxg_model **out)
{
    (void)cpu, (void)max_ctx, (void)max_tokens;
    *out = NULL;
    return HX_FAIL(HX_ENOTFOUND, NO_CUDA);
}

void hxg_model_free(hxg_model *g) { (void)g; }
uint64_t hxg_model_bytes(const hxg_model *g) { (void)g; return 0; }

uint64_t hxg_model_bytes_for(const hx_model_config *c, int max_ctx, int max_tokens, uint64_t lw)
{
    (void)c, (void)max_ctx, (void)max_tokens, (void)lw;
    return 0;
}

hx_status hxg_batch_begin(hxg_model *g, const int32_t *ids, const int *lens, int nseq)
{
    (void)g, (void)ids, (void)lens, (void)nseq;
    return HX_FAIL(HX_ENOTFOUND, NO_CUDA);
}

hx_status hxg_batch_layer(hxg_model *g, int l)
{
    (void)g, (void)l;
    return HX_FAIL(HX_ENOTFOUND, NO_CUDA);
}

hx_status hxg_batch_final(hxg_model *g, const int *rows, int nrows)
{
    (void)g, (void)rows, (void)nrows;
    return HX_FAIL(HX_ENOTFOUND, NO_CUDA);
}

hx_status hxg_logits_range(hxg_model *g, int r0, int nrows, int v0, int v1, float *out)
{
    (void)g, (void)r0, (void)nrows, (void)v0, (void)v1, (void)out;
    return HX_FAIL(HX_ENOTFOUND, NO_CUDA);
}

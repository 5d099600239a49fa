/* stub.c - gpu_model.h for a build without nvcc: every entry point fails
 * with HX_ENOTFOUND, so `--device cuda` refuses clearly. */
#include "gpu/gpu_model.h"

#include <stdlib.h>

#define NO_CUDA "this hxzoo was built without CUDA (nvcc not found at build time, or a sanitizer build)"

int hxg_built_with_cuda(void) { return 0; }

hx_status hxg_probe(char *name, size_t name_len, char *desc, size_t desc_len)
{
    (void)name, (void)name_len, (void)desc, (void)desc_len;
    return HX_FAIL(HX_ENOTFOUND, NO_CUDA);
}

hx_status hxg_mem_info(uint64_t *free_b, uint64_t *total_b)
{
    *free_b = *total_b = 0;
    return HX_FAIL(HX_ENOTFOUND, NO_CUDA);
}

hx_status hxg_model_create(hx_model *cpu, int max_ctx, int max_tokens, int compute, int share,
                           hxg_model **out)
{
    (void)cpu, (void)max_ctx, (void)max_tokens, (void)compute, (void)share;
    *out = NULL;
    return HX_FAIL(HX_ENOTFOUND, NO_CUDA);
}

void hxg_model_free(hxg_model *g) { (void)g; }
uint64_t hxg_model_bytes(const hxg_model *g) { (void)g; return 0; }
uint64_t hxg_model_peak_bytes(const hxg_model *g) { (void)g; return 0; }
int hxg_model_resident(const hxg_model *g) { (void)g; return 0; }

uint64_t hxg_model_buffer_bytes(const hx_model_config *c, int max_ctx, int max_tokens, int compute)
{
    (void)c, (void)max_ctx, (void)max_tokens, (void)compute;
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

hx_status hxg_score(hxg_model *a, hxg_model *b, int nrows, const int32_t *tgt, hxg_row_state *st)
{
    (void)a, (void)b, (void)nrows, (void)tgt, (void)st;
    return HX_FAIL(HX_ENOTFOUND, NO_CUDA);
}

hx_status hxg_generate(hxg_model *g, const int32_t *prompt, int n_prompt, int max_new,
                       int32_t **out, int *n_out, hx_gen_stats *stats)
{
    (void)g, (void)prompt, (void)n_prompt, (void)max_new, (void)stats;
    *out = NULL;
    *n_out = 0;
    return HX_FAIL(HX_ENOTFOUND, NO_CUDA);
}

/* fuzz_hxq_decode.c - an HXQ model.safetensors into the codec's decoder
 * (codec/decode.c), the path `hxzoo verify --full` and the evaluator take
 * through a downloaded repo: the input is written as a one-file model
 * directory, opened with hx_st_model_open, and every weight is loaded with
 * hxq_load_f32, dense or as an HXQ module (codebook dtype and length,
 * indices U8 [out, in] below the codebook size, sidecar I64 positions
 * within the tensor + F32 values); loaded weights are compared against
 * themselves with hxq_compare. */
#include "codec/hxq.h"
#include "tests/fuzz/util.h"

#include <stdlib.h>
#include <string.h>

static void load(const hx_st_model *m, const char *name)
{
    float *w = NULL;
    int64_t shape[HX_ST_MAX_DIMS];
    int nd = 0;
    if (hxq_load_f32(m, name, &w, shape, &nd) == HX_OK) {
        uint64_t n = 1;
        for (int i = 0; i < nd; i++)
            n *= (uint64_t)shape[i];
        hxq_stats st;
        hxq_compare(w, HX_DT_F32, w, n, &st);
    }
    free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    fz_clear();
    char *p = fz_write("model.safetensors", data, size);
    free(p);
    hx_st_model *m = NULL;
    if (hx_st_model_open(fz_dir(), &m) != HX_OK) {
        hx_clearerr();
        return 0;
    }
    for (size_t i = 0; i < hx_st_model_count(m) && i < 64; i++) {
        const char *nm = hx_st_model_at(m, i)->name;
        size_t l = strlen(nm);
        if (l > 8 && !strcmp(nm + l - 8, ".indices")) {
            char *w = hx_asprintf("%.*s.weight", (int)(l - 8), nm);
            load(m, w); /* the module */
            free(w);
        } else {
            load(m, nm); /* a dense tensor, or a part that is not a weight */
        }
    }
    load(m, "model.layers.0.self_attn.q_proj.weight");
    hx_st_model_close(m);
    hx_clearerr();
    return 0;
}

/* fuzz_config.c - a config.json into model/config.c: written to a scratch
 * directory and read with hx_model_config_load (common/pyjson.c parse with
 * Python's Infinity/NaN, model_type dispatch to the transformer, Mamba,
 * Mamba2 and Zamba2 readers, every size range-checked, RoPE scaling, BOS /
 * EOS ids). What it accepts must be self-consistent: the checks below are
 * the invariants the forward pass relies on. */
#include "model/model.h"
#include "tests/fuzz/util.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    fz_clear();
    char *p = fz_write("config.json", data, size);
    if (!p)
        return 0;
    free(p);
    hx_model_config c;
    if (hx_model_config_load(fz_dir(), &c) == HX_OK) {
        if (c.vocab <= 0 || c.dim <= 0 || c.n_layers <= 0 || c.n_layers > HX_MAX_LAYERS || c.n_eos < 0 ||
            c.n_eos > 8)
            abort();
        if (c.arch == HX_ARCH_TRANSFORMER &&
            (c.n_heads <= 0 || c.n_kv_heads <= 0 || c.n_heads % c.n_kv_heads || c.head_dim <= 0))
            abort();
        if (c.arch != HX_ARCH_TRANSFORMER &&
            (c.ssm.d_inner <= 0 || c.ssm.d_state <= 0 || c.ssm.d_state > HX_MAX_STATE || c.ssm.d_conv <= 0 ||
             c.ssm.d_conv > HX_MAX_CONV))
            abort();
    }
    hx_clearerr();
    return 0;
}

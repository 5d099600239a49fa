/* fuzz_st_model.c - a model directory into codec/st_model.c: the input is
 * split into files (tests/fuzz/util.h container; the part before the first
 * "--8<-- NAME" marker is model.safetensors.index.json, the named parts are
 * its shards or a model.safetensors), written to a scratch directory and
 * opened with hx_st_model_open (index JSON, weight_map file names, every
 * mapped tensor present in its shard, no tensor in two shards); every
 * tensor of the namespace is then looked up by name. */
#include "codec/safetensors.h"
#include "tests/fuzz/util.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    fz_write_parts(data, size, "model.safetensors.index.json");
    hx_st_model *m = NULL;
    if (hx_st_model_open(fz_dir(), &m) == HX_OK) {
        for (size_t i = 0; i < hx_st_model_count(m); i++) {
            const hx_st_tensor *t = hx_st_model_at(m, i);
            if (hx_st_model_find(m, t->name) != t)
                abort(); /* one namespace, sorted, no name twice */
            if (!hx_st_model_shard(m, (size_t)t->shard))
                abort();
        }
        hx_st_model_find(m, "model.embed_tokens.weight");
        hx_st_model_close(m);
    }
    hx_clearerr();
    return 0;
}

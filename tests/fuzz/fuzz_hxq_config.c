/* fuzz_hxq_config.c - an HXQ repo's config.json and safetensors header
 * into what `hxzoo verify` judges from them (verify/rv_qconfig.c): the
 * input's first part is config.json (parsed with common/pyjson.c, then
 * rv_qconfig_parse: quantization_config, quant_method, compressed_modules,
 * codebook_size), the part after a "--8<-- model.safetensors" marker (see
 * tests/fuzz/util.h) the start of a safetensors file whose header (the u64
 * length, then that many bytes, as the verifier reads them with range
 * requests) goes to hx_st_parse_header; then every compressed module is
 * checked against it with rv_module_problem (codebook, indices, sidecar
 * dtypes and shapes). */
#include "common/pyjson.h"
#include "tests/fuzz/util.h"
#include "verify/verify_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    fz_part parts[4];
    size_t np = fz_split(data, size, "config.json", parts, 4);
    const fz_part *cfg = NULL, *hdr = NULL;
    for (size_t i = 0; i < np; i++) {
        if (!strcmp(parts[i].name, "config.json"))
            cfg = &parts[i];
        else if (!strcmp(parts[i].name, "model.safetensors"))
            hdr = &parts[i];
    }
    if (!cfg)
        return 0;
    cJSON *j = hx_pyjson_parse((const char *)cfg->data, cfg->n);
    rv_qconfig q;
    const char *why = rv_qconfig_parse(j, &q);
    if (!why) {
        if (q.K < 1 || q.K > 65536 || !q.method)
            abort();
        hx_st_file *f = NULL;
        if (hdr && hdr->n >= 8) {
            uint64_t hl = 0;
            for (int k = 7; k >= 0; k--)
                hl = hl << 8 | hdr->data[k];
            if (hl && hl <= hdr->n - 8 && hx_st_parse_header("fuzz", hdr->data + 8, hl, hdr->n, &f) != HX_OK)
                f = NULL;
        }
        hx_st_file *const files[1] = {f};
        for (size_t i = 0; i < q.n_modules; i++) {
            int sc;
            rv_module_problem(files, f ? 1 : 0, q.modules[i], q.K, &sc);
        }
        hx_st_close(f);
    }
    rv_qconfig_free(&q);
    cJSON_Delete(j);
    hx_clearerr();
    return 0;
}

/* rv_qconfig.c - what `hxzoo verify` reads from a repo's config.json
 * quantization_config (method, compressed modules, codebook size) and its
 * check of one compressed module against the safetensors headers. No
 * network: rv_quick.c fetches, these judge (and the fuzz target
 * tests/fuzz/fuzz_hxq_config.c feeds them directly). */
#include "verify/verify_internal.h"

#include <stdlib.h>
#include <string.h>

const char *rv_qconfig_parse(const cJSON *config, rv_qconfig *q)
{
    memset(q, 0, sizeof *q);
    q->K = 256;
    const cJSON *qc = cJSON_GetObjectItemCaseSensitive(config, "quantization_config");
    const cJSON *qm = cJSON_GetObjectItemCaseSensitive(qc, "quant_method");
    const cJSON *cm = cJSON_GetObjectItemCaseSensitive(qc, "compressed_modules");
    if (!cJSON_IsObject(qc))
        return "config.json has no quantization_config";
    if (!cJSON_IsString(qm) ||
        (strcmp(qm->valuestring, "hxq") && strcmp(qm->valuestring, "helix") && strcmp(qm->valuestring, "cdna_v3")))
        return "quant_method is not hxq, helix or cdna_v3";
    q->method = qm->valuestring;
    if (!cJSON_IsArray(cm) || !cJSON_GetArraySize(cm))
        return "compressed_modules missing or empty (nothing loads as HXQ)";
    /* the codebook size bounds each codebook's length; range-checked
     * before the conversion (config.json may say 1e300 or, through
     * Python's tokens, Infinity) */
    const cJSON *kk = cJSON_GetObjectItemCaseSensitive(qc, "codebook_size");
    if (!cJSON_IsNumber(kk))
        kk = cJSON_GetObjectItemCaseSensitive(qc, "n_clusters");
    if (cJSON_IsNumber(kk)) {
        if (!(kk->valuedouble >= 1 && kk->valuedouble <= 65536))
            return "codebook_size is not a number in [1, 65536]";
        q->K = (int)kk->valuedouble;
    }
    const cJSON *m;
    q->modules = hx_calloc((size_t)cJSON_GetArraySize(cm), sizeof *q->modules);
    cJSON_ArrayForEach(m, cm) if (cJSON_IsString(m)) q->modules[q->n_modules++] = hx_strdup(m->valuestring);
    return NULL;
}

void rv_qconfig_free(rv_qconfig *q)
{
    for (size_t i = 0; i < q->n_modules; i++)
        free(q->modules[i]);
    free(q->modules);
    memset(q, 0, sizeof *q);
}

static const hx_st_tensor *find(hx_st_file *const *f, size_t nf, const char *name)
{
    for (size_t i = 0; i < nf; i++) {
        const hx_st_tensor *t = hx_st_find(f[i], name);
        if (t)
            return t;
    }
    return NULL;
}

const char *rv_module_problem(hx_st_file *const *f, size_t nf, const char *M, int K, int *sidecar)
{
    char *n1 = hx_asprintf("%s.codebook", M), *n2 = hx_asprintf("%s.indices", M);
    char *n3 = hx_asprintf("%s.sidecar_positions", M), *n4 = hx_asprintf("%s.sidecar_values", M);
    char *n5 = hx_asprintf("%s.weight", M);
    const hx_st_tensor *cb = find(f, nf, n1), *ix = find(f, nf, n2), *sp = find(f, nf, n3), *sv = find(f, nf, n4);
    const char *why = NULL;
    if (!cb || !ix)
        why = "codebook or indices missing";
    else if (cb->dtype != HX_DT_F32 || cb->ndim != 1 || cb->shape[0] < 1 || cb->shape[0] > K)
        why = "codebook must be F32 [K <= codebook_size]";
    else if (ix->dtype != HX_DT_U8 || ix->ndim != 2)
        why = "indices must be U8 [out, in]";
    else if (!sp != !sv)
        why = "only one of sidecar_positions / sidecar_values";
    else if (sp && (sp->dtype != HX_DT_I64 || sv->dtype != HX_DT_F32 || sp->ndim != 1 || sv->ndim != 1 ||
                    sp->shape[0] != sv->shape[0] || (uint64_t)sp->shape[0] > ix->nelem))
        why = "sidecar must be I64 [n] + F32 [n], n <= elements";
    else if (find(f, nf, n5))
        why = "a dense .weight is stored next to the HXQ tensors";
    *sidecar = sp != NULL;
    free(n1), free(n2), free(n3), free(n4), free(n5);
    return why;
}

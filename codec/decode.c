/* decode.c - HXQ decoding and comparison: rebuild W' from codebook,
 * indices and sidecar exactly as helix-substrate 0.3.3's loader does
 * (codebook lookup, then sidecar values replace), validate untrusted
 * indices and positions, compute quality statistics in double precision,
 * and load any weight of a model as F32 whether it is dense or HXQ. */
#include "codec/hxq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

hx_status hxq_decode(const char *name, const float *codebook, int k, const uint8_t *indices,
                     uint64_t rows, uint64_t cols, const int64_t *sc_pos, const float *sc_val,
                     uint64_t sc_n, float *out)
{
    uint64_t n = rows * cols;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t ix = indices[i];
        if (ix >= k)
            return HX_FAIL(HX_EFORMAT, "%s: index %u at position %llu is outside the %d-entry codebook",
                           name, ix, (unsigned long long)i, k);
        out[i] = codebook[ix];
    }
    for (uint64_t s = 0; s < sc_n; s++) {
        int64_t p;
        float v;
        memcpy(&p, &sc_pos[s], sizeof p);
        memcpy(&v, &sc_val[s], sizeof v);
        if (p < 0 || (uint64_t)p >= n)
            return HX_FAIL(HX_EFORMAT, "%s: sidecar position %lld (entry %llu) is outside [0, %llu)",
                           name, (long long)p, (unsigned long long)s, (unsigned long long)n);
        out[p] = v;
    }
    return HX_OK;
}

void hxq_compare(const void *src, hx_dtype dt, const float *recon, uint64_t n, hxq_stats *st)
{
    memset(st, 0, sizeof *st);
    st->n = n;
    double sw2 = 0, swr = 0, sr2 = 0, se = 0, maxe = 0;
    float buf[4096];
    const unsigned char *s = src;
    size_t esz = hx_dtype_size(dt);
    for (uint64_t i = 0; i < n; i += 4096) {
        size_t m = n - i < 4096 ? (size_t)(n - i) : 4096;
        hx_to_f32(dt, s + i * esz, buf, m);
        for (size_t j = 0; j < m; j++) {
            double w = buf[j], r = recon[i + j], d = w - r;
            sw2 += w * w;
            swr += w * r;
            sr2 += r * r;
            se += d * d;
            if (fabs(d) > maxe)
                maxe = fabs(d);
        }
    }
    st->cosine = (sw2 > 0 && sr2 > 0) ? swr / (sqrt(sw2) * sqrt(sr2)) : (sw2 == sr2 ? 1.0 : 0.0);
    st->rel_mse = sw2 > 0 ? se / sw2 : 0;
    st->max_abs_err = maxe;
    st->sqnr_db = se > 0 ? 10 * log10(sw2 / se) : INFINITY;
}

char *hxq_module_name(const char *name)
{
    size_t l = strlen(name);
    if (l > 7 && !strcmp(name + l - 7, ".weight"))
        return hx_asprintf("%.*s", (int)(l - 7), name);
    return hx_strdup(name);
}

static const hx_st_tensor *find_part(const hx_st_model *m, const char *mod, const char *part)
{
    char *k = hx_asprintf("%s.%s", mod, part);
    const hx_st_tensor *t = hx_st_model_find(m, k);
    free(k);
    return t;
}

hx_status hxq_load_f32(const hx_st_model *m, const char *name, float **out, int64_t *shape,
                       int *ndim)
{
    *out = NULL;
    const hx_st_tensor *t = hx_st_model_find(m, name);
    if (t) {
        if (!hx_dtype_is_float(t->dtype))
            return HX_FAIL(HX_EFORMAT, "tensor '%s' has dtype %s, not a float type", name,
                           hx_dtype_name(t->dtype));
        float *buf = malloc((t->nelem ? t->nelem : 1) * sizeof(float));
        if (!buf)
            return HX_FAIL(HX_ENOMEM, "tensor '%s': out of memory", name);
        hx_st_read_f32(t, buf);
        memcpy(shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
        *ndim = t->ndim;
        *out = buf;
        return HX_OK;
    }
    char *mod = hxq_module_name(name);
    const hx_st_tensor *cb = find_part(m, mod, "codebook"), *ix = find_part(m, mod, "indices");
    const hx_st_tensor *sp = find_part(m, mod, "sidecar_positions");
    const hx_st_tensor *sv = find_part(m, mod, "sidecar_values");
    hx_status st = HX_OK;
    if (!cb || !ix) {
        st = HX_FAIL(HX_ENOTFOUND, "tensor '%s' is neither stored dense nor as an HXQ module", name);
    } else if (cb->dtype != HX_DT_F32 || cb->ndim != 1 || cb->shape[0] < 1 ||
               cb->shape[0] > HXQ_K_MAX) {
        st = HX_FAIL(HX_EFORMAT, "%s.codebook must be F32[1..%d], is %s with %d dims", mod,
                     HXQ_K_MAX, hx_dtype_name(cb->dtype), cb->ndim);
    } else if (ix->dtype != HX_DT_U8 || ix->ndim != 2) {
        st = HX_FAIL(HX_EFORMAT, "%s.indices must be U8[out,in], is %s with %d dims", mod,
                     hx_dtype_name(ix->dtype), ix->ndim);
    } else if (!sp != !sv) {
        st = HX_FAIL(HX_EFORMAT, "%s: sidecar_positions and sidecar_values must come together", mod);
    } else if (sp && (sp->dtype != HX_DT_I64 || sv->dtype != HX_DT_F32 || sp->ndim != 1 ||
                      sv->ndim != 1 || sp->nelem != sv->nelem)) {
        st = HX_FAIL(HX_EFORMAT, "%s: sidecar must be I64[n] positions and F32[n] values", mod);
    }
    if (st) {
        free(mod);
        return st;
    }
    float cbuf[HXQ_K_MAX];
    memcpy(cbuf, cb->data, (size_t)cb->shape[0] * sizeof(float));
    float *buf = malloc((ix->nelem ? ix->nelem : 1) * sizeof(float));
    if (!buf) {
        free(mod);
        return HX_FAIL(HX_ENOMEM, "tensor '%s': out of memory", name);
    }
    int64_t *pos = NULL;
    float *val = NULL;
    uint64_t ns = sp ? sp->nelem : 0;
    if (ns) {
        pos = hx_malloc(ns * sizeof *pos);
        val = hx_malloc(ns * sizeof *val);
        memcpy(pos, sp->data, ns * sizeof *pos);
        memcpy(val, sv->data, ns * sizeof *val);
    }
    st = hxq_decode(mod, cbuf, (int)cb->shape[0], ix->data, (uint64_t)ix->shape[0],
                    (uint64_t)ix->shape[1], pos, val, ns, buf);
    free(pos);
    free(val);
    free(mod);
    if (st) {
        free(buf);
        return st;
    }
    shape[0] = ix->shape[0];
    shape[1] = ix->shape[1];
    *ndim = 2;
    *out = buf;
    return HX_OK;
}

/* weight.c - hx_weight: open a dense or HXQ weight without decoding it
 * (shape, dtype, index and sidecar checks up front), convert rows to
 * float32 on demand, drop its pages when a layer is done. */
#include "model/weight.h"

#include "codec/dtype.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const hx_st_tensor *part(const hx_st_model *st, const char *mod, const char *suffix)
{
    char k[600];
    snprintf(k, sizeof k, "%s.%s", mod, suffix);
    return hx_st_model_find(st, k);
}

/* "a.b.weight" -> "a.b" */
static void module_of(const char *name, char *mod, size_t cap)
{
    size_t l = strlen(name);
    if (l > 7 && !strcmp(name + l - 7, ".weight"))
        l -= 7;
    snprintf(mod, cap, "%.*s", (int)l, name);
}

int hx_weight_exists(const hx_st_model *st, const char *name)
{
    char mod[512];
    module_of(name, mod, sizeof mod);
    return hx_st_model_find(st, name) || (part(st, mod, "codebook") && part(st, mod, "indices"));
}

static int cmp_pos(const void *a, const void *b)
{
    const int64_t *x = a, *y = b; /* pairs (position, original entry) */
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* Owned, ascending, unique copy of the sidecar; on duplicate positions the
 * later entry wins, as in a sequential replace. */
static hx_status load_sidecar(const char *mod, const hx_st_tensor *sp, const hx_st_tensor *sv,
                              uint64_t n, hx_weight *w)
{
    uint64_t ns = sp->nelem;
    w->sc_pos = malloc((ns ? ns : 1) * sizeof *w->sc_pos);
    w->sc_val = malloc((ns ? ns : 1) * sizeof *w->sc_val);
    if (!w->sc_pos || !w->sc_val)
        return HX_FAIL(HX_ENOMEM, "%s: sidecar of %llu entries: out of memory", mod,
                       (unsigned long long)ns);
    memcpy(w->sc_pos, sp->data, ns * sizeof *w->sc_pos);
    memcpy(w->sc_val, sv->data, ns * sizeof *w->sc_val);
    int sorted = 1;
    for (uint64_t s = 0; s < ns; s++) {
        if (w->sc_pos[s] < 0 || (uint64_t)w->sc_pos[s] >= n)
            return HX_FAIL(HX_EFORMAT, "%s: sidecar position %lld (entry %llu) is outside [0, %llu)",
                           mod, (long long)w->sc_pos[s], (unsigned long long)s,
                           (unsigned long long)n);
        if (s && w->sc_pos[s] <= w->sc_pos[s - 1])
            sorted = 0;
    }
    w->sc_n = ns;
    if (sorted || !ns)
        return HX_OK;
    int64_t *pr = malloc(ns * 2 * sizeof *pr);
    float *v = malloc(ns * sizeof *v);
    if (!pr || !v) {
        free(pr);
        free(v);
        return HX_FAIL(HX_ENOMEM, "%s: out of memory", mod);
    }
    for (uint64_t s = 0; s < ns; s++)
        pr[2 * s] = w->sc_pos[s], pr[2 * s + 1] = (int64_t)s;
    qsort(pr, ns, 2 * sizeof *pr, cmp_pos);
    uint64_t m = 0;
    for (uint64_t s = 0; s < ns; s++) {
        if (m && w->sc_pos[m - 1] == pr[2 * s])
            m--; /* a later entry for the same position replaces */
        w->sc_pos[m] = pr[2 * s];
        v[m++] = w->sc_val[pr[2 * s + 1]];
    }
    memcpy(w->sc_val, v, m * sizeof *v);
    free(v);
    free(pr);
    w->sc_n = m;
    return HX_OK;
}

static hx_status open_hxq(const hx_st_model *st, const char *name, const char *mod, int64_t rows,
                          int64_t cols, int flags, hx_weight *w)
{
    const hx_st_tensor *cb = part(st, mod, "codebook"), *ix = part(st, mod, "indices");
    const hx_st_tensor *sp = part(st, mod, "sidecar_positions"), *sv = part(st, mod, "sidecar_values");
    if (!cb || !ix)
        return HX_FAIL(HX_ENOTFOUND, "tensor '%s' is neither stored dense nor as an HXQ module", name);
    if (cb->dtype != HX_DT_F32 || cb->ndim != 1 || cb->shape[0] < 1 || cb->shape[0] > 256)
        return HX_FAIL(HX_EFORMAT, "%s.codebook must be F32[1..256], is %s with %d dims", mod,
                       hx_dtype_name(cb->dtype), cb->ndim);
    if (ix->dtype != HX_DT_U8 || ix->ndim != 2)
        return HX_FAIL(HX_EFORMAT, "%s.indices must be U8[out,in], is %s with %d dims", mod,
                       hx_dtype_name(ix->dtype), ix->ndim);
    if (ix->shape[0] != rows || ix->shape[1] != cols)
        return HX_FAIL(HX_EFORMAT, "%s has shape [%lld, %lld], expected [%lld, %lld]", mod,
                       (long long)ix->shape[0], (long long)ix->shape[1], (long long)rows,
                       (long long)cols);
    if (!sp != !sv)
        return HX_FAIL(HX_EFORMAT, "%s: sidecar_positions and sidecar_values must come together", mod);
    if (sp && (sp->dtype != HX_DT_I64 || sv->dtype != HX_DT_F32 || sp->ndim != 1 || sv->ndim != 1 ||
               sp->nelem != sv->nelem))
        return HX_FAIL(HX_EFORMAT, "%s: sidecar must be I64[n] positions and F32[n] values", mod);
    w->kind = HX_WEIGHT_HXQ;
    w->k = (int)cb->shape[0];
    memset(w->codebook, 0, sizeof w->codebook);
    memcpy(w->codebook, cb->data, (size_t)w->k * sizeof(float));
    w->indices = ix->data;
    w->parts[w->nparts++] = cb;
    w->parts[w->nparts++] = ix;
    if (w->k < 256) {
        /* every index must select an entry: one pass now, none later */
        uint8_t mx = 0;
        for (uint64_t i = 0; i < ix->nelem; i++)
            mx = w->indices[i] > mx ? w->indices[i] : mx;
        hx_st_release(ix);
        if (mx >= w->k) {
            const void *at = memchr(w->indices, mx, ix->nelem);
            return HX_FAIL(HX_EFORMAT, "%s: index %u at position %llu is outside the %d-entry codebook",
                           mod, mx, (unsigned long long)((const uint8_t *)at - w->indices), w->k);
        }
    }
    if (sp && !(flags & HX_WEIGHT_NO_SIDECAR)) {
        w->parts[w->nparts++] = sp;
        w->parts[w->nparts++] = sv;
        return load_sidecar(mod, sp, sv, ix->nelem, w);
    }
    return HX_OK;
}

hx_status hx_weight_open(const hx_st_model *st, const char *name, int64_t rows, int64_t cols,
                         int flags, hx_weight *w)
{
    memset(w, 0, sizeof *w);
    w->rows = cols ? rows : 1;
    w->cols = cols ? cols : rows;
    const hx_st_tensor *t = hx_st_model_find(st, name);
    hx_status s;
    if (t) {
        if (!hx_dtype_is_float(t->dtype))
            return HX_FAIL(HX_EFORMAT, "tensor '%s' has dtype %s, not a float type", name,
                           hx_dtype_name(t->dtype));
        int ok = cols ? (t->ndim == 2 && t->shape[0] == rows && t->shape[1] == cols)
                      : (t->ndim == 1 && t->shape[0] == rows);
        if (!ok)
            return HX_FAIL(HX_EFORMAT, "tensor %s has an unexpected shape", name);
        w->kind = HX_WEIGHT_DENSE;
        w->dtype = t->dtype;
        w->data = t->data;
        w->parts[w->nparts++] = t;
        return HX_OK;
    }
    char mod[512];
    module_of(name, mod, sizeof mod);
    if (!cols)
        return HX_FAIL(HX_ENOTFOUND, "tensor '%s' not found", name);
    if ((s = open_hxq(st, name, mod, rows, cols, flags, w))) {
        hx_weight_close(w);
        return s;
    }
    return HX_OK;
}

void hx_weight_close(hx_weight *w)
{
    if (!w)
        return;
    free(w->sc_pos);
    free(w->sc_val);
    memset(w, 0, sizeof *w);
}

/* first sidecar entry at or after flat position p */
static uint64_t sc_lower(const hx_weight *w, int64_t p)
{
    uint64_t lo = 0, hi = w->sc_n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (w->sc_pos[mid] < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void hx_weight_rows_f32(const hx_weight *w, int64_t r0, int64_t r1, float *dst)
{
    size_t n = (size_t)(r1 - r0) * (size_t)w->cols;
    int64_t p0 = r0 * w->cols, p1 = r1 * w->cols;
    if (w->kind == HX_WEIGHT_DENSE) {
        const char *src = (const char *)w->data + (size_t)p0 * hx_dtype_size(w->dtype);
        hx_to_f32(w->dtype, src, dst, n);
        return;
    }
    const uint8_t *ix = w->indices + p0;
    const float *cb = w->codebook;
    for (size_t i = 0; i < n; i++)
        dst[i] = cb[ix[i]];
    for (uint64_t s = sc_lower(w, p0); s < w->sc_n && w->sc_pos[s] < p1; s++)
        dst[w->sc_pos[s] - p0] = w->sc_val[s];
}

const float *hx_weight_f32_direct(const hx_weight *w)
{
    if (w->kind == HX_WEIGHT_DENSE && w->dtype == HX_DT_F32 && ((uintptr_t)w->data & 3) == 0)
        return w->data;
    return NULL;
}

float *hx_weight_vector_f32(const hx_weight *w)
{
    float *v = hx_malloc((size_t)(w->rows * w->cols) * sizeof *v);
    hx_weight_rows_f32(w, 0, w->rows, v);
    return v;
}

void hx_weight_release(const hx_weight *w)
{
    for (int i = 0; i < w->nparts; i++)
        hx_st_release(w->parts[i]);
}

void hx_weight_release_rows(const hx_weight *w, int64_t r0, int64_t r1)
{
    size_t esz = w->kind == HX_WEIGHT_DENSE ? hx_dtype_size(w->dtype) : 1;
    const char *base = w->kind == HX_WEIGHT_DENSE ? w->data : (const void *)w->indices;
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)(base + (size_t)(r0 * w->cols) * esz) & ~(pg - 1);
    uintptr_t e = (uintptr_t)(base + (size_t)(r1 * w->cols) * esz);
    if (e > a)
        madvise((void *)a, e - a, MADV_DONTNEED);
}

uint64_t hx_weight_bytes(const hx_weight *w)
{
    uint64_t b = 0;
    for (int i = 0; i < w->nparts; i++)
        b += w->parts[i]->nbytes;
    return b;
}

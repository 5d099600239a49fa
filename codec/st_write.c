/* st_write.c - streaming safetensors writer.
 *
 * Data is written sequentially after a header area whose size the caller
 * bounds in advance; the real header is produced at the end (so variable-
 * size tensors such as sidecars can be written as they are computed),
 * padded with spaces to the reserved length (a multiple of 8, so the data
 * buffer starts 8-aligned) and written at offset 8. The buffer has no holes:
 * tensors are contiguous in writing order, as the reference loader demands.
 * The file is built under a temp name and renamed on success. */
#include "codec/safetensors.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name;
    hx_dtype dt;
    int ndim;
    int64_t shape[HX_ST_MAX_DIMS];
    uint64_t begin, end;
} wentry;

struct hx_st_writer {
    hx_afile af;
    size_t reserve;  /* header bytes reserved (multiple of 8) */
    uint64_t pos;    /* data bytes written so far */
    wentry *e;
    size_t n, cap;
    char **mk, **mv;
    size_t nm;
    int open_tensor; /* index+1 of tensor being written, 0 if none */
    uint64_t remaining;
};

/* JSON-escaped length bound: every byte could become \u00XX (6 bytes). */
size_t hx_st_header_bound(const char *name, int ndim)
{
    return 6 * strlen(name) + 4 + /* "name": */
           48 +                   /* {"dtype":"BF16","shape":[ */
           (size_t)ndim * 21 + 20 + 2 * 21 + 8;
}

hx_status hx_st_writer_open(const char *path, size_t header_reserve, hx_st_writer **out)
{
    *out = NULL;
    hx_st_writer *w = hx_calloc(1, sizeof *w);
    w->reserve = (header_reserve + 64 + 7) & ~(size_t)7;
    hx_status st = hx_afile_open(&w->af, path);
    if (st) {
        free(w);
        return st;
    }
    *out = w;
    return HX_OK;
}

hx_status hx_st_writer_meta(hx_st_writer *w, const char *key, const char *value)
{
    w->mk = hx_realloc(w->mk, (w->nm + 1) * sizeof(char *));
    w->mv = hx_realloc(w->mv, (w->nm + 1) * sizeof(char *));
    w->mk[w->nm] = hx_strdup(key);
    w->mv[w->nm] = hx_strdup(value);
    w->nm++;
    return HX_OK;
}

hx_status hx_st_writer_begin(hx_st_writer *w, const char *name, hx_dtype dt, int ndim,
                             const int64_t *shape)
{
    if (w->open_tensor && w->remaining)
        return HX_FAIL(HX_EINTERNAL, "safetensors writer: tensor '%s' started before '%s' was complete",
                       name, w->e[w->open_tensor - 1].name);
    if (ndim < 0 || ndim > HX_ST_MAX_DIMS || hx_dtype_size(dt) == 0)
        return HX_FAIL(HX_EINTERNAL, "safetensors writer: bad dtype/ndim for '%s'", name);
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->e[i].name, name))
            return HX_FAIL(HX_EINTERNAL, "safetensors writer: tensor '%s' written twice", name);
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 64;
        w->e = hx_realloc(w->e, w->cap * sizeof *w->e);
    }
    wentry *e = &w->e[w->n++];
    memset(e, 0, sizeof *e);
    e->name = hx_strdup(name);
    e->dt = dt;
    e->ndim = ndim;
    uint64_t nel = 1;
    for (int i = 0; i < ndim; i++) {
        e->shape[i] = shape[i];
        nel *= (uint64_t)shape[i];
    }
    e->begin = w->pos;
    e->end = w->pos + nel * hx_dtype_size(dt);
    w->open_tensor = (int)w->n;
    w->remaining = e->end - e->begin;
    return HX_OK;
}

hx_status hx_st_writer_data(hx_st_writer *w, const void *buf, size_t n)
{
    if (!w->open_tensor || n > w->remaining)
        return HX_FAIL(HX_EINTERNAL, "safetensors writer: %zu bytes more than the tensor holds", n);
    hx_status st = hx_afile_pwrite(&w->af, buf, n, 8 + w->reserve + w->pos);
    if (st)
        return st;
    w->pos += n;
    w->remaining -= n;
    return HX_OK;
}

hx_status hx_st_writer_add(hx_st_writer *w, const char *name, hx_dtype dt, int ndim,
                           const int64_t *shape, const void *data)
{
    hx_status st = hx_st_writer_begin(w, name, dt, ndim, shape);
    if (st)
        return st;
    return hx_st_writer_data(w, data, (size_t)w->remaining);
}

uint64_t hx_st_writer_bytes(const hx_st_writer *w) { return 8 + w->reserve + w->pos; }

static void free_writer(hx_st_writer *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->e[i].name);
    for (size_t i = 0; i < w->nm; i++) {
        free(w->mk[i]);
        free(w->mv[i]);
    }
    free(w->mk);
    free(w->mv);
    free(w->e);
    free(w);
}

void hx_st_writer_abort(hx_st_writer *w)
{
    if (!w)
        return;
    hx_afile_abort(&w->af);
    free_writer(w);
}

static int cmp_went(const void *a, const void *b)
{
    return strcmp(((const wentry *)a)->name, ((const wentry *)b)->name);
}

hx_status hx_st_writer_finish(hx_st_writer *w)
{
    if (w->open_tensor && w->remaining) {
        hx_seterr("safetensors writer: tensor '%s' is missing %llu bytes",
                  w->e[w->open_tensor - 1].name, (unsigned long long)w->remaining);
        hx_st_writer_abort(w);
        return HX_EINTERNAL;
    }
    /* header object: metadata first, then tensors sorted by name */
    cJSON *root = cJSON_CreateObject();
    if (w->nm) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        for (size_t i = 0; i < w->nm; i++)
            cJSON_AddStringToObject(meta, w->mk[i], w->mv[i]);
    }
    qsort(w->e, w->n, sizeof *w->e, cmp_went);
    for (size_t i = 0; i < w->n; i++) {
        wentry *e = &w->e[i];
        cJSON *o = cJSON_AddObjectToObject(root, e->name);
        cJSON_AddStringToObject(o, "dtype", hx_dtype_name(e->dt));
        cJSON *sh = cJSON_AddArrayToObject(o, "shape");
        for (int d = 0; d < e->ndim; d++)
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)e->shape[d]));
        cJSON *off = cJSON_AddArrayToObject(o, "data_offsets");
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)e->begin));
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)e->end));
    }
    char *js = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    size_t jl = strlen(js);
    if (jl > w->reserve) {
        hx_seterr("safetensors writer: header of %zu bytes exceeds the %zu reserved", jl,
                  w->reserve);
        free(js);
        hx_st_writer_abort(w);
        return HX_EINTERNAL;
    }
    char *hdr = hx_malloc(8 + w->reserve);
    uint64_t hl = w->reserve;
    memcpy(hdr, &hl, 8);
    memcpy(hdr + 8, js, jl);
    memset(hdr + 8 + jl, ' ', w->reserve - jl);
    free(js);
    hx_status st = hx_afile_pwrite(&w->af, hdr, 8 + w->reserve, 0);
    free(hdr);
    if (st) {
        hx_st_writer_abort(w);
        return st;
    }
    st = hx_afile_commit(&w->af);
    free_writer(w);
    return st;
}

/* st_read.c - safetensors reader: mmap, header parsing and validation.
 *
 * Format: u64 little-endian header length N, then N bytes of UTF-8 JSON
 * (an object: tensor name -> {dtype, shape, data_offsets:[begin,end]}, plus
 * an optional "__metadata__" string->string map), then the data buffer.
 * Offsets are relative to the start of the data buffer. We refuse: headers
 * over HX_ST_MAX_HEADER or past the end of the file, invalid JSON, unknown
 * dtypes, negative or overflowing shapes, byte ranges that do not match
 * dtype x shape, ranges outside the file, and overlapping ranges. Every
 * error names the file and, where there is one, the tensor. */
#include "codec/safetensors.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct hx_st_file {
    char *path;
    void *map;
    uint64_t size;
    uint64_t data_start;
    hx_st_tensor *t;
    size_t n;
    char **meta_k, **meta_v;
    size_t nmeta;
};

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const hx_st_tensor *)a)->name, ((const hx_st_tensor *)b)->name);
}

static int cmp_off_idx(const void *a, const void *b, void *ctx)
{
    const hx_st_tensor *t = ctx;
    const hx_st_tensor *x = &t[*(const size_t *)a], *y = &t[*(const size_t *)b];
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

void hx_st_close(hx_st_file *f)
{
    if (!f)
        return;
    if (f->map)
        munmap(f->map, f->size);
    for (size_t i = 0; i < f->n; i++)
        free(f->t[i].name);
    for (size_t i = 0; i < f->nmeta; i++) {
        free(f->meta_k[i]);
        free(f->meta_v[i]);
    }
    free(f->meta_k);
    free(f->meta_v);
    free(f->t);
    free(f->path);
    free(f);
}

/* JSON numbers are doubles in cJSON; offsets up to 2^53 are exact, which
 * covers 8 PiB files. We additionally check integrality and range. */
static int json_u64(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v))
        return -1;
    double d = v->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0 || d != (double)(uint64_t)d)
        return -1;
    *out = (uint64_t)d;
    return 0;
}

static hx_status parse_entry(const char *what, const cJSON *e, hx_st_tensor *t, uint64_t data_len)
{
    if (!cJSON_IsObject(e))
        return HX_FAIL(HX_EFORMAT, "%s: tensor '%s': entry is not an object", what, t->name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt))
        return HX_FAIL(HX_EFORMAT, "%s: tensor '%s': missing or non-string dtype", what, t->name);
    t->dtype = hx_dtype_parse(dt->valuestring);
    if (t->dtype == HX_DT_INVALID)
        return HX_FAIL(HX_EFORMAT, "%s: tensor '%s': unsupported dtype '%s'", what, t->name,
                       dt->valuestring);
    if (!cJSON_IsArray(sh))
        return HX_FAIL(HX_EFORMAT, "%s: tensor '%s': missing shape", what, t->name);
    int nd = cJSON_GetArraySize(sh);
    if (nd > HX_ST_MAX_DIMS)
        return HX_FAIL(HX_EFORMAT, "%s: tensor '%s': %d dimensions (max %d)", what, t->name, nd,
                       HX_ST_MAX_DIMS);
    t->ndim = nd;
    uint64_t nel = 1;
    for (int i = 0; i < nd; i++) {
        uint64_t d;
        if (json_u64(cJSON_GetArrayItem(sh, i), &d) != 0)
            return HX_FAIL(HX_EFORMAT, "%s: tensor '%s': shape[%d] is not a non-negative integer",
                           what, t->name, i);
        if (d && nel > UINT64_MAX / d / 8)
            return HX_FAIL(HX_EFORMAT, "%s: tensor '%s': shape overflows", what, t->name);
        t->shape[i] = (int64_t)d;
        nel *= d;
    }
    t->nelem = nel;
    uint64_t b, en;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
        json_u64(cJSON_GetArrayItem(off, 0), &b) || json_u64(cJSON_GetArrayItem(off, 1), &en))
        return HX_FAIL(HX_EFORMAT, "%s: tensor '%s': data_offsets must be [begin, end]", what,
                       t->name);
    if (en < b)
        return HX_FAIL(HX_EFORMAT, "%s: tensor '%s': data_offsets end %llu < begin %llu", what,
                       t->name, (unsigned long long)en, (unsigned long long)b);
    uint64_t want = nel * hx_dtype_size(t->dtype);
    if (en - b != want)
        return HX_FAIL(HX_EFORMAT,
                       "%s: tensor '%s': %llu bytes in data_offsets but dtype %s x shape needs %llu",
                       what, t->name, (unsigned long long)(en - b), hx_dtype_name(t->dtype),
                       (unsigned long long)want);
    if (data_len != UINT64_MAX && en > data_len)
        return HX_FAIL(HX_EFORMAT,
                       "%s: tensor '%s': data_offsets [%llu, %llu] run past the end of the data "
                       "(%llu bytes; truncated file?)",
                       what, t->name, (unsigned long long)b, (unsigned long long)en,
                       (unsigned long long)data_len);
    t->offset = b; /* relative for now */
    t->nbytes = want;
    return HX_OK;
}

hx_status hx_st_parse_header(const char *what, const void *hdr, uint64_t hdr_len,
                             uint64_t file_size, hx_st_file **out)
{
    *out = NULL;
    if (hdr_len > HX_ST_MAX_HEADER)
        return HX_FAIL(HX_EFORMAT, "%s: header of %llu bytes exceeds the %u-byte limit", what,
                       (unsigned long long)hdr_len, HX_ST_MAX_HEADER);
    if (hdr_len < 2 || ((const char *)hdr)[0] != '{')
        return HX_FAIL(HX_EFORMAT, "%s: header does not start with a JSON object", what);
    const char *endp = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)hdr_len, &endp, 0);
    if (!root)
        return HX_FAIL(HX_EFORMAT, "%s: header is not valid JSON (near byte %lld)", what,
                       endp ? (long long)(endp - (const char *)hdr) : -1LL);
    /* only whitespace may follow the object */
    for (const char *p = endp; p && p < (const char *)hdr + hdr_len; p++)
        if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r' && *p != 0) {
            cJSON_Delete(root);
            return HX_FAIL(HX_EFORMAT, "%s: garbage after the header's JSON object", what);
        }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return HX_FAIL(HX_EFORMAT, "%s: header is not a JSON object", what);
    }
    hx_st_file *f = hx_calloc(1, sizeof *f);
    f->path = hx_strdup(what);
    f->size = file_size;
    f->data_start = 8 + hdr_len;
    uint64_t data_len = file_size ? (file_size >= f->data_start ? file_size - f->data_start : 0)
                                  : UINT64_MAX;
    if (file_size && file_size < f->data_start) {
        cJSON_Delete(root);
        hx_st_close(f);
        return HX_FAIL(HX_EFORMAT, "%s: file is shorter than its header (truncated?)", what);
    }
    size_t cap = (size_t)cJSON_GetArraySize(root);
    f->t = hx_calloc(cap ? cap : 1, sizeof *f->t);
    hx_status st = HX_OK;
    for (cJSON *e = root->child; e; e = e->next) {
        if (!e->string) {
            st = HX_FAIL(HX_EFORMAT, "%s: header entry without a name", what);
            break;
        }
        if (!strcmp(e->string, "__metadata__")) {
            if (!cJSON_IsObject(e)) {
                st = HX_FAIL(HX_EFORMAT, "%s: __metadata__ is not an object", what);
                break;
            }
            for (cJSON *m = e->child; m; m = m->next) {
                if (!cJSON_IsString(m)) {
                    st = HX_FAIL(HX_EFORMAT, "%s: __metadata__ value '%s' is not a string", what,
                                 m->string);
                    break;
                }
                f->meta_k = hx_realloc(f->meta_k, (f->nmeta + 1) * sizeof(char *));
                f->meta_v = hx_realloc(f->meta_v, (f->nmeta + 1) * sizeof(char *));
                f->meta_k[f->nmeta] = hx_strdup(m->string);
                f->meta_v[f->nmeta] = hx_strdup(m->valuestring);
                f->nmeta++;
            }
            if (st)
                break;
            continue;
        }
        hx_st_tensor *t = &f->t[f->n];
        t->name = hx_strdup(e->string);
        f->n++;
        if ((st = parse_entry(what, e, t, data_len)))
            break;
    }
    cJSON_Delete(root);
    if (st == HX_OK) {
        /* duplicate names (cJSON keeps both) and overlapping ranges */
        qsort(f->t, f->n, sizeof *f->t, cmp_name);
        for (size_t i = 1; i < f->n && !st; i++)
            if (!strcmp(f->t[i - 1].name, f->t[i].name))
                st = HX_FAIL(HX_EFORMAT, "%s: tensor '%s' appears twice in the header", what,
                             f->t[i].name);
        size_t *ord = hx_malloc((f->n ? f->n : 1) * sizeof *ord);
        for (size_t i = 0; i < f->n; i++)
            ord[i] = i;
        qsort_r(ord, f->n, sizeof *ord, cmp_off_idx, f->t);
        for (size_t i = 1; i < f->n && !st; i++) {
            const hx_st_tensor *a = &f->t[ord[i - 1]], *b = &f->t[ord[i]];
            if (b->nbytes && a->offset + a->nbytes > b->offset)
                st = HX_FAIL(HX_EFORMAT, "%s: tensors '%s' and '%s' overlap in the data buffer",
                             what, a->name, b->name);
        }
        free(ord);
    }
    if (st) {
        hx_st_close(f);
        return st;
    }
    for (size_t i = 0; i < f->n; i++)
        f->t[i].offset += f->data_start;
    *out = f;
    return HX_OK;
}

hx_status hx_st_open(const char *path, hx_st_file **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return HX_FAIL(errno == ENOENT ? HX_ENOTFOUND : HX_EIO, "cannot open %s: %s", path,
                       strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return HX_FAIL(HX_EIO, "cannot stat %s: %s", path, strerror(errno));
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (size < 8) {
        close(fd);
        return HX_FAIL(HX_EFORMAT, "%s: %llu bytes is too short for a safetensors file", path,
                       (unsigned long long)size);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return HX_FAIL(HX_EIO, "cannot map %s: %s", path, strerror(errno));
    uint64_t n = 0;
    memcpy(&n, map, 8); /* little-endian host assumed (x86-64, arm64) */
    if (n > HX_ST_MAX_HEADER) {
        munmap(map, size);
        return HX_FAIL(HX_EFORMAT, "%s: header length %llu exceeds the %u-byte limit", path,
                       (unsigned long long)n, HX_ST_MAX_HEADER);
    }
    if (n > size - 8) {
        munmap(map, size);
        return HX_FAIL(HX_EFORMAT,
                       "%s: header length %llu runs past the end of the %llu-byte file "
                       "(truncated or not safetensors)",
                       path, (unsigned long long)n, (unsigned long long)size);
    }
    hx_st_file *f;
    hx_status st = hx_st_parse_header(path, (const char *)map + 8, n, size, &f);
    if (st) {
        munmap(map, size);
        return st;
    }
    f->map = map;
    for (size_t i = 0; i < f->n; i++)
        f->t[i].data = (const char *)map + f->t[i].offset;
    *out = f;
    return HX_OK;
}

size_t hx_st_count(const hx_st_file *f) { return f->n; }
const hx_st_tensor *hx_st_at(const hx_st_file *f, size_t i) { return i < f->n ? &f->t[i] : NULL; }
const char *hx_st_path(const hx_st_file *f) { return f->path; }
uint64_t hx_st_file_size(const hx_st_file *f) { return f->size; }

const hx_st_tensor *hx_st_find(const hx_st_file *f, const char *name)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(f->t[mid].name, name);
        if (!c)
            return &f->t[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *hx_st_meta(const hx_st_file *f, const char *key)
{
    for (size_t i = 0; i < f->nmeta; i++)
        if (!strcmp(f->meta_k[i], key))
            return f->meta_v[i];
    return NULL;
}

void hx_st_release(const hx_st_tensor *t)
{
    if (!t->data || !t->nbytes)
        return;
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)t->data & ~(uintptr_t)(pg - 1);
    uintptr_t e = (uintptr_t)t->data + t->nbytes;
    madvise((void *)a, e - a, MADV_DONTNEED);
}

void hx_st_prefetch(const hx_st_tensor *t)
{
    if (!t->data || !t->nbytes)
        return;
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)t->data & ~(uintptr_t)(pg - 1);
    uintptr_t e = (uintptr_t)t->data + t->nbytes;
#ifdef MADV_POPULATE_READ
    if (madvise((void *)a, e - a, MADV_POPULATE_READ) == 0)
        return;
#endif
    madvise((void *)a, e - a, MADV_WILLNEED);
}

hx_status hx_st_read_f32(const hx_st_tensor *t, float *dst)
{
    if (hx_to_f32(t->dtype, t->data, dst, t->nelem) != 0)
        return HX_FAIL(HX_EINVAL, "tensor '%s' has dtype %s, not a float type", t->name,
                       hx_dtype_name(t->dtype));
    return HX_OK;
}

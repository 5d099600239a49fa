/* st_model.c - a model directory as one tensor namespace: either a single
 * model.safetensors or model.safetensors.index.json with its shards. The
 * index's weight_map is checked against the shards (every mapped tensor
 * present in the named shard, shard names plain file names, no tensor in
 * two shards). */
#include "codec/safetensors.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

struct hx_st_model {
    hx_st_file **files;
    size_t nfiles;
    const hx_st_tensor **all; /* sorted by name */
    size_t n;
};

static int cmp_tptr(const void *a, const void *b)
{
    return strcmp((*(const hx_st_tensor *const *)a)->name, (*(const hx_st_tensor *const *)b)->name);
}

void hx_st_model_close(hx_st_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nfiles; i++)
        hx_st_close(m->files[i]);
    free(m->files);
    free(m->all);
    free(m);
}

static int plain_name(const char *s)
{
    return s[0] && !strchr(s, '/') && !strchr(s, '\\') && strcmp(s, ".") && strcmp(s, "..");
}

static hx_status add_file(hx_st_model *m, const char *path)
{
    hx_st_file *f;
    hx_status st = hx_st_open(path, &f);
    if (st)
        return st;
    m->files = hx_realloc(m->files, (m->nfiles + 1) * sizeof *m->files);
    m->files[m->nfiles] = f;
    hx_st_tensor *t = (hx_st_tensor *)hx_st_at(f, 0);
    for (size_t i = 0; i < hx_st_count(f); i++)
        t[i].shard = (int)m->nfiles;
    m->nfiles++;
    return HX_OK;
}

static hx_status open_index(hx_st_model *m, const char *dir, const char *ipath)
{
    char *txt;
    size_t len;
    hx_status st = hx_read_file(ipath, 64u << 20, &txt, &len);
    if (st)
        return st;
    cJSON *root = cJSON_ParseWithLength(txt, len);
    free(txt);
    if (!root)
        return HX_FAIL(HX_EFORMAT, "%s: not valid JSON", ipath);
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(wm)) {
        cJSON_Delete(root);
        return HX_FAIL(HX_EFORMAT, "%s: no weight_map object", ipath);
    }
    /* unique shard names, in order of first appearance */
    char **names = NULL;
    size_t nn = 0;
    for (const cJSON *e = wm->child; e && !st; e = e->next) {
        if (!cJSON_IsString(e) || !plain_name(e->valuestring)) {
            st = HX_FAIL(HX_EFORMAT, "%s: weight_map['%s'] is not a plain file name", ipath,
                         e->string ? e->string : "?");
            break;
        }
        size_t j = 0;
        while (j < nn && strcmp(names[j], e->valuestring))
            j++;
        if (j == nn) {
            names = hx_realloc(names, (nn + 1) * sizeof *names);
            names[nn++] = e->valuestring;
        }
    }
    for (size_t j = 0; j < nn && !st; j++) {
        char *p = hx_path_join(dir, names[j]);
        st = add_file(m, p);
        free(p);
    }
    /* every mapped tensor must be in its shard */
    for (const cJSON *e = wm->child; e && !st; e = e->next) {
        size_t j = 0;
        while (j < nn && strcmp(names[j], e->valuestring))
            j++;
        if (!hx_st_find(m->files[j], e->string))
            st = HX_FAIL(HX_EFORMAT, "%s: tensor '%s' is mapped to %s but not in that file", ipath,
                         e->string, e->valuestring);
    }
    free(names);
    cJSON_Delete(root);
    return st;
}

hx_status hx_st_model_open(const char *dir, hx_st_model **out)
{
    *out = NULL;
    hx_st_model *m = hx_calloc(1, sizeof *m);
    char *single = hx_path_join(dir, "model.safetensors");
    char *index = hx_path_join(dir, "model.safetensors.index.json");
    hx_status st;
    if (hx_file_exists(single))
        st = add_file(m, single);
    else if (hx_file_exists(index))
        st = open_index(m, dir, index);
    else
        st = HX_FAIL(HX_ENOTFOUND, "%s: no model.safetensors or model.safetensors.index.json",
                     dir);
    free(single);
    free(index);
    if (st) {
        hx_st_model_close(m);
        return st;
    }
    for (size_t i = 0; i < m->nfiles; i++)
        m->n += hx_st_count(m->files[i]);
    m->all = hx_malloc((m->n ? m->n : 1) * sizeof *m->all);
    size_t k = 0;
    for (size_t i = 0; i < m->nfiles; i++)
        for (size_t j = 0; j < hx_st_count(m->files[i]); j++)
            m->all[k++] = hx_st_at(m->files[i], j);
    qsort(m->all, m->n, sizeof *m->all, cmp_tptr);
    for (size_t i = 1; i < m->n; i++)
        if (!strcmp(m->all[i - 1]->name, m->all[i]->name)) {
            hx_seterr("%s: tensor '%s' is stored in two shards (%s and %s)", dir, m->all[i]->name,
                      hx_st_path(m->files[m->all[i - 1]->shard]),
                      hx_st_path(m->files[m->all[i]->shard]));
            hx_st_model_close(m);
            return HX_EFORMAT;
        }
    *out = m;
    return HX_OK;
}

size_t hx_st_model_count(const hx_st_model *m) { return m->n; }
const hx_st_tensor *hx_st_model_at(const hx_st_model *m, size_t i)
{
    return i < m->n ? m->all[i] : NULL;
}
size_t hx_st_model_nshards(const hx_st_model *m) { return m->nfiles; }
const hx_st_file *hx_st_model_shard(const hx_st_model *m, size_t i)
{
    return i < m->nfiles ? m->files[i] : NULL;
}

const hx_st_tensor *hx_st_model_find(const hx_st_model *m, const char *name)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(m->all[mid]->name, name);
        if (!c)
            return m->all[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

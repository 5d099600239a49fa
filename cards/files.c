/* files.c - the file list of a model folder (path, size, SHA-256) that the
 * card publishes and `hxzoo verify` checks against the Hub. */
#include "cards/card.h"
#include "common/hash.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct flist {
    card_file *f;
    size_t n, cap;
} flist;

static hx_status walk(const char *root, const char *rel, flist *l)
{
    char *dir = rel[0] ? hx_path_join(root, rel) : hx_strdup(root);
    DIR *d = opendir(dir);
    if (!d) {
        hx_status st = HX_FAIL(HX_EIO, "cannot list %s", dir);
        free(dir);
        return st;
    }
    hx_status st = HX_OK;
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (!rel[0] && (!strcmp(e->d_name, "README.md") || !strcmp(e->d_name, ".git") ||
                        !strcmp(e->d_name, ".cache")))
            continue;
        if (strstr(e->d_name, ".tmp."))
            continue;
        char *r = rel[0] ? hx_asprintf("%s/%s", rel, e->d_name) : hx_strdup(e->d_name);
        char *p = hx_path_join(root, r);
        struct stat sb;
        if (stat(p, &sb)) {
            st = HX_FAIL(HX_EIO, "cannot stat %s", p);
        } else if (S_ISDIR(sb.st_mode)) {
            st = walk(root, r, l);
        } else if (S_ISREG(sb.st_mode)) {
            if (l->n == l->cap) {
                l->cap = l->cap ? 2 * l->cap : 16;
                l->f = hx_realloc(l->f, l->cap * sizeof *l->f);
            }
            card_file *f = &l->f[l->n];
            f->path = r;
            r = NULL;
            f->size = (uint64_t)sb.st_size;
            st = hx_sha256_file(p, f->sha256);
            l->n++;
        }
        free(r);
        free(p);
    }
    closedir(d);
    free(dir);
    return st;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const card_file *)a)->path, ((const card_file *)b)->path);
}

hx_status card_list_files(const char *dir, card_file **files, size_t *n)
{
    flist l = {0};
    hx_status st = walk(dir, "", &l);
    if (st) {
        card_files_free(l.f, l.n);
        return st;
    }
    qsort(l.f, l.n, sizeof *l.f, by_path);
    *files = l.f;
    *n = l.n;
    return HX_OK;
}

void card_files_free(card_file *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i].path);
    free(f);
}

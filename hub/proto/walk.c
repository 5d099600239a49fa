/* walk.c - list the files of a local folder for upload or import: sorted
 * relative paths, .git/ and the top-level .cache/ skipped, symlinks to
 * files followed, anything else (sockets, devices) ignored. */
#include "hub/proto/proto.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static hx_status walk_rec(const char *root, const char *rel, hub_walk *w, int depth)
{
    if (depth > 64)
        return HX_FAIL(HX_EINVAL, "%s: folders nested too deep", root);
    char *dir = *rel ? hx_path_join(root, rel) : hx_strdup(root);
    DIR *d = opendir(dir);
    if (!d) {
        hx_seterr("cannot open folder %s: %s", dir, strerror(errno));
        free(dir);
        return HX_EIO;
    }
    struct dirent *e;
    hx_status st = HX_OK;
    while (!st && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, ".git") ||
            (!*rel && !strcmp(e->d_name, ".cache")))
            continue;
        char *r2 = *rel ? hx_asprintf("%s/%s", rel, e->d_name) : hx_strdup(e->d_name);
        char *full = hx_path_join(root, r2);
        struct stat sb;
        if (stat(full, &sb) != 0) {
            st = HX_FAIL(HX_EIO, "cannot stat %s: %s", full, strerror(errno));
        } else if (S_ISDIR(sb.st_mode)) {
            st = walk_rec(root, r2, w, depth + 1);
        } else if (S_ISREG(sb.st_mode)) {
            if (w->n == w->cap)
                w->paths = hx_realloc(w->paths, (w->cap = w->cap ? 2 * w->cap : 64) * sizeof *w->paths);
            w->paths[w->n++] = r2;
            r2 = NULL;
        }
        free(full);
        free(r2);
    }
    closedir(d);
    free(dir);
    return st;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

hx_status hub_walk_dir(const char *root, hub_walk *w)
{
    memset(w, 0, sizeof *w);
    hx_status st = walk_rec(root, "", w, 0);
    if (st) {
        hub_walk_free(w);
        return st;
    }
    if (w->n)
        qsort(w->paths, w->n, sizeof *w->paths, cmp_str);
    return HX_OK;
}

void hub_walk_free(hub_walk *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->paths[i]);
    free(w->paths);
    memset(w, 0, sizeof *w);
}

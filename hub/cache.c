/* cache.c - the Hugging Face cache layout, as huggingface_hub writes it:
 * CACHE/models--org--name/{blobs/<etag>, snapshots/<commit>/<path> (relative
 * symlinks), refs/<rev> (bare commit, no newline), trees/<commit>.json,
 * .no_exist/<commit>/<path>}, CACHE/.locks/models--org--name/<etag>.lock
 * (flock) and CACHE/CACHEDIR.TAG. */
#include "hub/client_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static char *folder_name(const char *repo)
{
    char *f = hx_asprintf("models--%s", repo);
    char *o = hx_malloc(strlen(f) * 2 + 1), *w = o;
    for (char *p = f; *p; p++) {
        if (*p == '/') {
            *w++ = '-';
            *w++ = '-';
        } else {
            *w++ = *p;
        }
    }
    *w = 0;
    free(f);
    return o;
}

char *hub_cache_repo_dir(hub_client *c, const char *repo)
{
    char *f = folder_name(repo);
    char *d = hx_path_join(c->cache_dir, f);
    free(f);
    return d;
}

hx_status hub_cache_prepare(hub_client *c, const char *repo)
{
    hx_status st = hx_mkdirs(c->cache_dir);
    if (st)
        return st;
    char *tag = hx_path_join(c->cache_dir, "CACHEDIR.TAG");
    if (!hx_file_exists(tag)) {
        const char *t = "Signature: 8a477f597d28d172789f06886806bc55\n"
                        "# This file is a cache directory tag created by huggingface_hub.\n"
                        "# For information about cache directory tags, see:\n"
                        "#\thttps://bford.info/cachedir/\n";
        hx_write_file_atomic(tag, t, strlen(t));
    }
    free(tag);
    char *d = hub_cache_repo_dir(c, repo);
    const char *subs[] = {"blobs", "snapshots", "refs"};
    for (int i = 0; i < 3 && !st; i++) {
        char *p = hx_path_join(d, subs[i]);
        st = hx_mkdirs(p);
        free(p);
    }
    char *f = folder_name(repo);
    char *ld = hx_asprintf("%s/.locks/%s", c->cache_dir, f);
    if (!st)
        st = hx_mkdirs(ld);
    free(ld);
    free(f);
    free(d);
    return st;
}

hx_status hub_cache_write_ref(hub_client *c, const char *repo, const char *rev, const char *commit)
{
    if (!strcmp(rev, commit))
        return HX_OK;
    if (!hub_rev_safe(rev))
        return HX_FAIL(HX_EINVAL, "revision name '%.100s' cannot be stored under refs/", rev);
    char *d = hub_cache_repo_dir(c, repo);
    char *p = hx_asprintf("%s/refs/%s", d, rev);
    free(d);
    char old[41];
    hx_status st = HX_OK;
    if (!(hub_cache_read_ref(c, repo, rev, old) && !strcmp(old, commit))) {
        char *pd = hx_strdup(p);
        *strrchr(pd, '/') = 0;
        st = hx_mkdirs(pd);
        free(pd);
        if (!st)
            st = hx_write_file_atomic(p, commit, 40);
    }
    free(p);
    return st;
}

int hub_cache_read_ref(hub_client *c, const char *repo, const char *rev, char commit[41])
{
    if (!hub_rev_safe(rev))
        return 0;
    char *d = hub_cache_repo_dir(c, repo);
    char *p = hx_asprintf("%s/refs/%s", d, rev);
    free(d);
    char *txt = NULL;
    size_t len = 0;
    int ok = hx_read_file(p, 256, &txt, &len) == HX_OK;
    free(p);
    if (ok) {
        char *t = txt;
        while (*t == ' ' || *t == '\n')
            t++;
        t[strcspn(t, " \r\n")] = 0;
        ok = hub_is_commit_id(t);
        if (ok)
            memcpy(commit, t, 41);
    }
    free(txt);
    hx_clearerr();
    return ok;
}

hx_status hub_cache_link(hub_client *c, const char *repo, const char *commit, const char *path, const char *blob)
{
    char *d = hub_cache_repo_dir(c, repo);
    char *link = hx_asprintf("%s/snapshots/%s/%s", d, commit, path);
    free(d);
    char *ld = hx_strdup(link);
    *strrchr(ld, '/') = 0;
    hx_status st = hx_mkdirs(ld);
    free(ld);
    if (st) {
        free(link);
        return st;
    }
    /* ../ once per folder between the link and the repo folder */
    size_t ups = 2;
    for (const char *p = path; *p; p++)
        if (*p == '/')
            ups++;
    size_t tl = ups * 3 + strlen(blob) + 8;
    char *target = hx_malloc(tl);
    target[0] = 0;
    for (size_t i = 0; i < ups; i++)
        strcat(target, "../");
    strcat(target, "blobs/");
    strcat(target, blob);
    char cur[512];
    ssize_t n = readlink(link, cur, sizeof cur - 1);
    if (n > 0) {
        cur[n] = 0;
        if (!strcmp(cur, target)) {
            free(target);
            free(link);
            return HX_OK;
        }
    }
    /* a new link is created in one step (no temp name that a kill -9 could
     * leave behind); only replacing a link that points elsewhere goes
     * through a temp name and rename, and clears temp links an interrupted
     * run left for this name */
    if (symlink(target, link) == 0) {
        free(target);
        free(link);
        return HX_OK;
    }
    if (errno != EEXIST) {
        st = HX_FAIL(HX_EIO, "cannot link %s: %s", link, strerror(errno));
        free(target);
        free(link);
        return st;
    }
    char *pat = hx_asprintf("%s.*.tmp", link);
    glob_t g;
    if (glob(pat, GLOB_NOSORT, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            unlink(g.gl_pathv[i]);
        globfree(&g);
    }
    free(pat);
    char r[9];
    hub_rand_hex(r, 8);
    char *tmp = hx_asprintf("%s.%s.tmp", link, r);
    if (symlink(target, tmp) != 0 || rename(tmp, link) != 0) {
        st = HX_FAIL(HX_EIO, "cannot link %s: %s", link, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    free(target);
    free(link);
    return st;
}

hx_status hub_cache_no_exist(hub_client *c, const char *repo, const char *commit, const char *path)
{
    if (!hub_is_commit_id(commit) || !hub_path_safe(path))
        return HX_OK;
    char *d = hub_cache_repo_dir(c, repo);
    char *p = hx_asprintf("%s/.no_exist/%s/%s", d, commit, path);
    free(d);
    char *pd = hx_strdup(p);
    *strrchr(pd, '/') = 0;
    hx_status st = hx_mkdirs(pd);
    if (!st) {
        int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
        if (fd >= 0)
            close(fd);
    }
    free(pd);
    free(p);
    return st;
}

int hub_cache_lock(hub_client *c, const char *repo, const char *blob)
{
    char *f = folder_name(repo);
    char *p = hx_asprintf("%s/.locks/%s/%s.lock", c->cache_dir, f, blob);
    free(f);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0664);
    free(p);
    if (fd < 0)
        return -1;
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

hx_status hub_cache_write_tree(hub_client *c, const char *repo, const hub_listing *l)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "format_version", 1);
    cJSON *files = cJSON_AddObjectToObject(j, "files");
    /* the listing is sorted by path (bytes), which is Python's key order */
    for (size_t i = 0; i < l->n; i++) {
        const hub_entry *e = &l->files[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "size", (double)e->size);
        cJSON_AddStringToObject(o, "blob_id", e->oid);
        if (e->sha256[0]) {
            cJSON_AddStringToObject(o, "lfs_sha256", e->sha256);
            cJSON_AddNumberToObject(o, "lfs_size", (double)e->size);
        }
        cJSON_AddItemToObject(files, e->path, o);
    }
    char *txt = cJSON_Print(j);
    cJSON_Delete(j);
    char *d = hub_cache_repo_dir(c, repo);
    char *td = hx_path_join(d, "trees");
    hx_status st = hx_mkdirs(td);
    if (!st) {
        char *p = hx_asprintf("%s/%s.json", td, l->commit);
        st = hx_write_file_atomic(p, txt, strlen(txt));
        free(p);
    }
    free(td);
    free(d);
    free(txt);
    return st;
}

hx_status hub_cache_read_tree(hub_client *c, const char *repo, const char *commit, hub_listing *l)
{
    memset(l, 0, sizeof *l);
    char *d = hub_cache_repo_dir(c, repo);
    char *p = hx_asprintf("%s/trees/%s.json", d, commit);
    free(d);
    char *txt = NULL;
    size_t len = 0;
    hx_status st = hx_read_file(p, (size_t)256 << 20, &txt, &len);
    free(p);
    if (st)
        return st;
    char what[300];
    snprintf(what, sizeof what, "cached tree listing of %s@%.40s", repo, commit);
    st = hub_parse_cached_tree(txt, len, what, l);
    free(txt);
    if (!st)
        memcpy(l->commit, commit, 41);
    return st;
}

hx_status hub_parse_cached_tree(const char *txt, size_t len, const char *what, hub_listing *l)
{
    memset(l, 0, sizeof *l);
    cJSON *j = cJSON_ParseWithLength(txt, len);
    cJSON *files = j ? cJSON_GetObjectItem(j, "files") : NULL;
    cJSON *fv = j ? cJSON_GetObjectItem(j, "format_version") : NULL;
    if (!cJSON_IsObject(files) || !cJSON_IsNumber(fv) || fv->valuedouble != 1) {
        cJSON_Delete(j);
        return HX_FAIL(HX_EFORMAT, "%s is not usable", what);
    }
    size_t n = (size_t)cJSON_GetArraySize(files);
    l->files = hx_calloc(n + 1, sizeof *l->files);
    cJSON *e;
    cJSON_ArrayForEach(e, files)
    {
        const char *bid = cJSON_GetStringValue(cJSON_GetObjectItem(e, "blob_id"));
        const char *sha = cJSON_GetStringValue(cJSON_GetObjectItem(e, "lfs_sha256"));
        cJSON *sz = cJSON_GetObjectItem(e, "size");
        /* the size is range-checked before the conversion, as in a listing
         * from the server (a double out of range of uint64_t is undefined) */
        if (!e->string || !hub_path_safe(e->string) || !bid || !hx_is_hex(bid, 40) || !cJSON_IsNumber(sz) ||
            !(sz->valuedouble >= 0 && sz->valuedouble <= HUB_MAX_FILE_SIZE) || (sha && !hx_is_hex(sha, 64))) {
            cJSON_Delete(j);
            hub_listing_free(l);
            return HX_FAIL(HX_EFORMAT, "%s has a bad entry", what);
        }
        hub_entry *x = &l->files[l->n++];
        x->path = hx_strdup(e->string);
        x->size = (uint64_t)sz->valuedouble;
        memcpy(x->oid, bid, 41);
        if (sha)
            memcpy(x->sha256, sha, 65);
    }
    cJSON_Delete(j);
    /* the same checks as a listing from the server: no path twice (a JSON
     * object may repeat a key), no file that is also a folder */
    return hub_listing_check(l, what);
}

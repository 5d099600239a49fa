/* upload.c - publish a local folder as one commit: hash every file
 * (SHA-256, and git blob SHA-1 for small ones) in parallel, create the repo
 * (exists-ok) and branch, preupload to learn regular vs LFS and the remote
 * oids, upload changed LFS objects (lfs.c), then one NDJSON commit with
 * parentCommit. A commit whose answer is lost is retried; the parent check
 * makes a duplicate impossible, and a 412 followed by "nothing left to
 * change" proves the first attempt landed: the upload commits exactly once.
 * Re-publishing identical content uploads and commits nothing. */
#include "hub/client_internal.h"
#include "common/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SMALL_SHA1_MAX ((uint64_t)16 << 20)

typedef struct up_file {
    char *path, *full;
    uint64_t size;
    char sha256[65], sha1[41];
    char *sample; /* base64 of the first ≤ 512 bytes */
    int lfs, ignore, changed;
    hx_status st;
    char err[400];
} up_file;

typedef struct up_ctx {
    up_file *f;
    hub_client *c;
} up_ctx;

static void hash_task(void *ud, uint64_t i, void *state)
{
    (void)state;
    up_ctx *x = ud;
    up_file *f = &x->f[i];
    int fd = open(f->full, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        f->st = HX_EIO;
        snprintf(f->err, sizeof f->err, "cannot open %s: %s", f->full, strerror(errno));
        return;
    }
    unsigned char head[512];
    ssize_t hn = hx_pread_full(fd, head, sizeof head, 0);
    f->sample = hub_b64_encode(head, hn > 0 ? (size_t)hn : 0);
    hx_status st = hx_hash_fd(fd, f->size, f->sha256, f->size <= SMALL_SHA1_MAX ? f->sha1 : NULL, f->full);
    if (f->size > SMALL_SHA1_MAX)
        f->sha1[0] = 0;
    close(fd);
    if (st) {
        f->st = st;
        snprintf(f->err, sizeof f->err, "%s", hx_lasterr());
    }
}

static hx_status ensure_branch(hub_client *c, CURL *h, const char *repo, const char *branch)
{
    char commit[41];
    hx_status st = hub_resolve_revision(c, repo, branch, commit);
    if (st != HX_ENOTFOUND)
        return st;
    hx_clearerr();
    char *enc = hub_urlencode(branch, 0);
    char *base = hub_repo_api(c, repo);
    char *url = hx_asprintf("%s/branch/%s", base, enc);
    long status = 0;
    cJSON *j = NULL;
    char what[300];
    snprintf(what, sizeof what, "creating branch %s of %s", branch, repo);
    st = hub_api_json(c, h, "POST", url, "application/json", "{}", 2, 1, &status, &j, what);
    cJSON_Delete(j);
    free(url);
    free(base);
    free(enc);
    return st; /* 409 (exists) is fine */
}

/* The answer to one preupload call for the files f[0, n): their upload
 * mode, whether the server ignores them, whether they changed (the remote
 * oid differs); *nchanged counts the changed ones. Each file must be
 * answered exactly once. */
static hx_status preupload_answer(const cJSON *j, up_file *f, size_t n, size_t *nchanged, const char *what)
{
    const cJSON *files = j ? cJSON_GetObjectItem(j, "files") : NULL;
    if (!cJSON_IsArray(files))
        return HX_FAIL(HX_EFORMAT, "%s: answer has no files array", what);
    char *seen = hx_calloc(n + 1, 1);
    hx_status st = HX_OK;
    const cJSON *o;
    cJSON_ArrayForEach(o, files)
    {
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(o, "path"));
        const char *mode = cJSON_GetStringValue(cJSON_GetObjectItem(o, "uploadMode"));
        const char *oid = cJSON_GetStringValue(cJSON_GetObjectItem(o, "oid"));
        size_t k = 0;
        while (k < n && (!p || strcmp(f[k].path, p)))
            k++;
        if (k == n || !mode || (strcmp(mode, "lfs") && strcmp(mode, "regular"))) {
            st = HX_FAIL(HX_EFORMAT, "%s: unexpected entry in the answer", what);
            break;
        }
        if (seen[k]) { /* counted twice in *nchanged otherwise */
            st = HX_FAIL(HX_EFORMAT, "%s: the answer lists %.200s twice", what, f[k].path);
            break;
        }
        seen[k] = 1;
        f[k].lfs = !strcmp(mode, "lfs") && f[k].size > 0;
        f[k].ignore = cJSON_IsTrue(cJSON_GetObjectItem(o, "shouldIgnore"));
        f[k].changed = 1;
        if (f[k].lfs && oid && !strcmp(oid, f[k].sha256))
            f[k].changed = 0;
        if (!f[k].lfs && oid && f[k].sha1[0] && !strcmp(oid, f[k].sha1))
            f[k].changed = 0;
        if (f[k].ignore)
            f[k].changed = 0;
        if (f[k].changed)
            (*nchanged)++;
    }
    /* a file the answer leaves out would silently be left out of the
     * commit (neither uploaded nor counted) */
    for (size_t k = 0; k < n && !st; k++)
        if (!seen[k])
            st = HX_FAIL(HX_EFORMAT, "%s: the answer does not mention %.200s", what, f[k].path);
    free(seen);
    return st;
}

hx_status hub_preupload_answer_check(const char *body, size_t len, const char *const *paths, const uint64_t *sizes,
                                     size_t n, size_t *nchanged)
{
    up_file *f = hx_calloc(n + 1, sizeof *f);
    for (size_t i = 0; i < n; i++) {
        f[i].path = (char *)paths[i];
        f[i].size = sizes[i];
        memset(f[i].sha256, 'a', 64);
        memset(f[i].sha1, 'b', 40);
    }
    *nchanged = 0;
    cJSON *j = body ? cJSON_ParseWithLength(body, len) : NULL;
    hx_status st = preupload_answer(j, f, n, nchanged, "preupload answer");
    cJSON_Delete(j);
    free(f);
    return st;
}

/* preupload all files; fills lfs/ignore/changed. */
static hx_status preupload(hub_client *c, CURL *h, const char *repo, const char *rev, up_file *f, size_t n,
                           size_t *nchanged)
{
    char *enc = hub_urlencode(rev, 0);
    char *base = hub_repo_api(c, repo);
    char *url = hx_asprintf("%s/preupload/%s", base, enc);
    free(base);
    free(enc);
    hx_status st = HX_OK;
    *nchanged = 0;
    for (size_t b = 0; b < n && !st; b += 256) {
        size_t e = b + 256 < n ? b + 256 : n;
        cJSON *body = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(body, "files");
        for (size_t i = b; i < e; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "path", f[i].path);
            cJSON_AddStringToObject(o, "sample", f[i].sample);
            cJSON_AddNumberToObject(o, "size", (double)f[i].size);
            cJSON_AddItemToArray(arr, o);
        }
        char *txt = cJSON_PrintUnformatted(body);
        cJSON_Delete(body);
        cJSON *j = NULL;
        char what[300];
        snprintf(what, sizeof what, "preupload to %s@%s", repo, rev);
        st = hub_api_json(c, h, "POST", url, "application/json", txt, strlen(txt), 1, NULL, &j, what);
        free(txt);
        if (!st)
            st = preupload_answer(j, f + b, e - b, nchanged, what);
        cJSON_Delete(j);
    }
    free(url);
    return st;
}

static int obj_cmp(const void *a, const void *b)
{
    const hub_lfs_obj *x = a, *y = b;
    int c = strcmp(x->sha256, y->sha256);
    return c ? c : (x->size > y->size) - (x->size < y->size);
}

hx_status hub_parse_commit_answer(const char *body, size_t len, const char *what, char commit[41])
{
    cJSON *j = cJSON_ParseWithLength(body ? body : "", body ? len : 0);
    const char *oid = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "commitOid")) : NULL;
    hx_status st = HX_OK;
    if (oid && hub_is_commit_id(oid))
        memcpy(commit, oid, 41);
    else
        st = HX_FAIL(HX_EFORMAT, "%s: answer has no commitOid", what);
    cJSON_Delete(j);
    return st;
}

static hx_status read_whole(const char *path, uint64_t size, char **out)
{
    if (size > ((uint64_t)1 << 30))
        return HX_FAIL(HX_EINVAL, "%s: %" PRIu64 " bytes is too large for a regular (non-LFS) file", path, size);
    size_t len;
    return hx_read_file(path, (size_t)size + 1, out, &len);
}

/* one NDJSON line */
static void put_line(hx_buf *b, const char *line)
{
    hx_buf_puts(b, line);
    hx_buf_put(b, "\n", 1);
}

static char *build_commit(const up_file *f, size_t n, const char *msg, const char *parent, hx_status *st)
{
    hx_buf buf = HX_BUF_INIT;
    *st = HX_OK;
    cJSON *hdr = cJSON_CreateObject();
    cJSON_AddStringToObject(hdr, "key", "header");
    cJSON *v = cJSON_AddObjectToObject(hdr, "value");
    cJSON_AddStringToObject(v, "summary", msg);
    cJSON_AddStringToObject(v, "description", "");
    if (parent)
        cJSON_AddStringToObject(v, "parentCommit", parent);
    char *t = cJSON_PrintUnformatted(hdr);
    cJSON_Delete(hdr);
    put_line(&buf, t);
    free(t);
    for (size_t i = 0; i < n; i++) {
        if (!f[i].changed)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON *val;
        if (f[i].lfs) {
            cJSON_AddStringToObject(o, "key", "lfsFile");
            val = cJSON_AddObjectToObject(o, "value");
            cJSON_AddStringToObject(val, "path", f[i].path);
            cJSON_AddStringToObject(val, "algo", "sha256");
            cJSON_AddStringToObject(val, "oid", f[i].sha256);
            cJSON_AddNumberToObject(val, "size", (double)f[i].size);
        } else {
            char *data = NULL;
            if ((*st = read_whole(f[i].full, f[i].size, &data))) {
                cJSON_Delete(o);
                hx_buf_free(&buf);
                return NULL;
            }
            char *b64 = hub_b64_encode(data, (size_t)f[i].size);
            free(data);
            cJSON_AddStringToObject(o, "key", "file");
            val = cJSON_AddObjectToObject(o, "value");
            cJSON_AddStringToObject(val, "content", b64);
            cJSON_AddStringToObject(val, "path", f[i].path);
            cJSON_AddStringToObject(val, "encoding", "base64");
            free(b64);
        }
        t = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        put_line(&buf, t);
        free(t);
    }
    return hx_buf_steal(&buf, NULL);
}

hx_status hub_upload_folder(hub_client *c, const char *repo, const char *dir, const hub_upload_opts *o,
                            hub_upload_result *res)
{
    memset(res, 0, sizeof *res);
    double t0 = hx_now();
    const char *branch = o && o->branch ? o->branch : "main";
    const char *msg = o && o->message ? o->message : "Upload folder with hxzoo";
    if (!hub_repo_id_valid(repo) || !strchr(repo, '/'))
        return HX_FAIL(HX_EINVAL, "'%.120s' is not a valid repo id (namespace/name)", repo);
    if (!hub_rev_safe(branch) || hub_is_commit_id(branch))
        return HX_FAIL(HX_EINVAL, "'%.120s' is not a valid branch name", branch);
    if (!*msg)
        return HX_FAIL(HX_EINVAL, "the commit message may not be empty");
    hub_walk w;
    hx_status st = hub_walk_dir(dir, &w);
    if (st)
        return st;
    up_file *f = hx_calloc(w.n + 1, sizeof *f);
    size_t n = w.n;
    for (size_t i = 0; i < n && !st; i++) {
        f[i].path = w.paths[i];
        w.paths[i] = NULL;
        f[i].full = hx_path_join(dir, f[i].path);
        if (!hub_path_safe(f[i].path)) {
            hx_preerr("%s", dir);
            st = HX_EINVAL;
            break;
        }
        struct stat sb;
        if (stat(f[i].full, &sb) != 0)
            st = HX_FAIL(HX_EIO, "cannot stat %s: %s", f[i].full, strerror(errno));
        f[i].size = (uint64_t)sb.st_size;
    }
    hub_walk_free(&w);
    res->files = n;
    CURL *h = NULL;
    char *body = NULL;
    char head[41] = "";
    if (st)
        goto out;
    up_ctx hx = {.f = f, .c = c};
    double th = hx_now();
    int ht = c->jobs < 4 ? c->jobs : 4; /* hashing: the compute pool */
    hx_pool_run(hx_pool_default(ht), ht, n, hash_task, &hx);
    hx_debug("upload: hashed %zu files in %.2f s", n, hx_now() - th);
    for (size_t i = 0; i < n; i++)
        if (f[i].st) {
            hx_seterr("%s", f[i].err);
            st = f[i].st;
            goto out;
        }
    if ((st = hub_create_repo(c, repo, o ? o->private_ : 0, 1)))
        goto out;
    h = hub_curl_new(c);
    if (strcmp(branch, "main") && (st = ensure_branch(c, h, repo, branch)))
        goto out;
    if ((st = hub_resolve_revision(c, repo, branch, head)))
        goto out;
    size_t nchanged = 0;
    if ((st = preupload(c, h, repo, branch, f, n, &nchanged)))
        goto out;
    for (size_t i = 0; i < n; i++) /* regular files too big for the quick SHA-1 */
        if (f[i].changed && !f[i].lfs && !f[i].sha1[0]) {
            int fd = open(f[i].full, O_RDONLY | O_CLOEXEC);
            if (fd < 0 || (st = hx_hash_fd(fd, f[i].size, f[i].sha256, f[i].sha1, f[i].full))) {
                if (fd >= 0)
                    close(fd);
                st = st ? st : HX_FAIL(HX_EIO, "cannot open %s", f[i].full);
                goto out;
            }
            close(fd);
        }
    res->files_changed = nchanged;
    if (!nchanged) {
        memcpy(res->commit, head, 41);
        hx_info("%s@%s: already up to date (%zu files), nothing uploaded", repo, branch, n);
        goto out;
    }
    /* LFS objects */
    hub_lfs_obj *objs = hx_calloc(nchanged + 1, sizeof *objs);
    size_t nobj = 0;
    for (size_t i = 0; i < n; i++)
        if (f[i].changed && f[i].lfs) {
            objs[nobj].path = f[i].path;
            objs[nobj].full = f[i].full;
            memcpy(objs[nobj].sha256, f[i].sha256, 65);
            objs[nobj].size = f[i].size;
            nobj++;
        }
    /* files with the same content are one LFS object, negotiated and
     * uploaded once (the server answers every object it is asked for; a
     * repeated one made the client drop the rest of the batch answer, and
     * the commit then named objects that were never uploaded) */
    if (nobj > 1) {
        qsort(objs, nobj, sizeof *objs, obj_cmp);
        size_t u = 1;
        for (size_t i = 1; i < nobj; i++)
            if (obj_cmp(&objs[i], &objs[u - 1]))
                objs[u++] = objs[i];
        nobj = u;
    }
    double tl = hx_now();
    st = hub_lfs_upload(c, repo, branch, objs, nobj, &res->bytes_uploaded, &res->lfs_uploaded);
    free(objs);
    hx_debug("upload: %zu LFS objects in %.2f s", nobj, hx_now() - tl);
    if (st)
        goto out;
    /* the commit */
    body = build_commit(f, n, msg, head, &st);
    if (st)
        goto out;
    char *enc = hub_urlencode(branch, 0);
    char *base = hub_repo_api(c, repo);
    char *url = hx_asprintf("%s/commit/%s", base, enc);
    free(base);
    free(enc);
    for (int attempt = 0;; attempt++) {
        hub_http_req rq = {.method = "POST", .url = url, .content_type = "application/x-ndjson",
                           .body = body, .body_len = strlen(body), .follow = 0, .max_resp = 1 << 20};
        hub_http_resp rs = {0};
        st = hub_http(c, h, &rq, &rs);
        char what[300];
        snprintf(what, sizeof what, "commit to %s@%s", repo, branch);
        if (!st && rs.status == 200) {
            st = hub_parse_commit_answer(rs.body, rs.len, what, res->commit);
            res->committed = !st;
            hub_http_resp_free(&rs);
            break;
        }
        if (!st && rs.status == 412) {
            /* The head moved. Our earlier attempt may have landed (its answer
             * lost; libcurl itself re-sends a request whose reused connection
             * died), so check whether anything is left to change. */
            hub_http_resp_free(&rs);
            size_t left = 0;
            if ((st = preupload(c, h, repo, branch, f, n, &left)))
                break;
            if (left) {
                st = HX_FAIL(HX_EINVAL, "%s: the branch moved during the upload; run it again", what);
                break;
            }
            if ((st = hub_resolve_revision(c, repo, branch, res->commit)))
                break;
            res->committed = 1;
            break;
        }
        int retry = (st && rs.transport_error) || (!st && hub_http_retryable(&rs));
        if (retry && attempt < c->max_retries) {
            hub_http_backoff(c, attempt, &rs);
            hub_http_resp_free(&rs);
            st = HX_OK;
            continue;
        }
        if (!st)
            st = hub_http_error(&rs, what);
        hub_http_resp_free(&rs);
        break;
    }
    free(url);
out:
    if (h)
        curl_easy_cleanup(h);
    free(body);
    for (size_t i = 0; i < n; i++) {
        free(f[i].path);
        free(f[i].full);
        free(f[i].sample);
    }
    free(f);
    res->seconds = hx_now() - t0;
    return st;
}

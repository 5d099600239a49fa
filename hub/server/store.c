/* store.c - the server's on-disk repository store: repos, refs, commits
 * (full file lists, so history stays downloadable) and content-addressed
 * objects. Every write is temp+fsync+rename; a commit file is durable
 * before the ref that names it moves. See store_internal.h for the layout. */
#include "hub/server/store_internal.h"
#include "common/buf.h"
#include "common/hash.h"
#include "hub/proto/proto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct hub_store {
    char *root;
    char secret[65];
    pthread_mutex_t mu; /* serialises every write to repos/ */
};

const char *store_default_gitattributes =
    "*.7z filter=lfs diff=lfs merge=lfs -text\n"
    "*.arrow filter=lfs diff=lfs merge=lfs -text\n"
    "*.bin filter=lfs diff=lfs merge=lfs -text\n"
    "*.bz2 filter=lfs diff=lfs merge=lfs -text\n"
    "*.ckpt filter=lfs diff=lfs merge=lfs -text\n"
    "*.ftz filter=lfs diff=lfs merge=lfs -text\n"
    "*.gguf filter=lfs diff=lfs merge=lfs -text\n"
    "*.gz filter=lfs diff=lfs merge=lfs -text\n"
    "*.h5 filter=lfs diff=lfs merge=lfs -text\n"
    "*.joblib filter=lfs diff=lfs merge=lfs -text\n"
    "*.lfs.* filter=lfs diff=lfs merge=lfs -text\n"
    "*.mlmodel filter=lfs diff=lfs merge=lfs -text\n"
    "*.model filter=lfs diff=lfs merge=lfs -text\n"
    "*.msgpack filter=lfs diff=lfs merge=lfs -text\n"
    "*.npy filter=lfs diff=lfs merge=lfs -text\n"
    "*.npz filter=lfs diff=lfs merge=lfs -text\n"
    "*.onnx filter=lfs diff=lfs merge=lfs -text\n"
    "*.ot filter=lfs diff=lfs merge=lfs -text\n"
    "*.parquet filter=lfs diff=lfs merge=lfs -text\n"
    "*.pb filter=lfs diff=lfs merge=lfs -text\n"
    "*.pickle filter=lfs diff=lfs merge=lfs -text\n"
    "*.pkl filter=lfs diff=lfs merge=lfs -text\n"
    "*.pt filter=lfs diff=lfs merge=lfs -text\n"
    "*.pth filter=lfs diff=lfs merge=lfs -text\n"
    "*.rar filter=lfs diff=lfs merge=lfs -text\n"
    "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
    "saved_model/**/* filter=lfs diff=lfs merge=lfs -text\n"
    "*.tar.* filter=lfs diff=lfs merge=lfs -text\n"
    "*.tar filter=lfs diff=lfs merge=lfs -text\n"
    "*.tflite filter=lfs diff=lfs merge=lfs -text\n"
    "*.tgz filter=lfs diff=lfs merge=lfs -text\n"
    "*.wasm filter=lfs diff=lfs merge=lfs -text\n"
    "*.xz filter=lfs diff=lfs merge=lfs -text\n"
    "*.zip filter=lfs diff=lfs merge=lfs -text\n"
    "*.zst filter=lfs diff=lfs merge=lfs -text\n"
    "*tfevents* filter=lfs diff=lfs merge=lfs -text\n";

static char *repo_dir(hub_store *s, const char *type, const char *repo)
{
    char *flat = hx_strdup(repo);
    char *d;
    const char *slash = strchr(repo, '/');
    if (slash)
        d = hx_asprintf("%s/repos/%ss--%.*s--%s", s->root, type, (int)(slash - repo), repo, slash + 1);
    else
        d = hx_asprintf("%s/repos/%ss--%s", s->root, type, repo);
    free(flat);
    return d;
}

hx_status store_open(hub_store **out, const char *root)
{
    hub_store *s = hx_calloc(1, sizeof *s);
    s->root = hx_strdup(root);
    pthread_mutex_init(&s->mu, NULL);
    const char *subs[] = {"objects/lfs", "objects/git", "tmp", "repos"};
    for (size_t i = 0; i < 4; i++) {
        char *p = hx_path_join(root, subs[i]);
        hx_status st = hx_mkdirs(p);
        free(p);
        if (st) {
            store_close(s);
            return st;
        }
    }
    /* Left-over uploads from a crash are garbage: nothing refers to them. */
    char *tmpd = hx_path_join(root, "tmp");
    DIR *dd = opendir(tmpd);
    if (dd) {
        struct dirent *e;
        while ((e = readdir(dd))) {
            if (e->d_name[0] == '.')
                continue;
            char *p = hx_path_join(tmpd, e->d_name);
            struct stat stt;
            if (lstat(p, &stt) == 0 && S_ISREG(stt.st_mode))
                unlink(p);
            free(p);
        }
        closedir(dd);
    }
    free(tmpd);
    char *sp = hx_path_join(root, "secret");
    char *txt = NULL;
    size_t len = 0;
    if (hx_read_file(sp, 4096, &txt, &len) == HX_OK && len >= 64 && hx_is_hex((txt[64] = 0, txt), 64)) {
        memcpy(s->secret, txt, 65);
    } else {
        hub_rand_hex(s->secret, 64);
        hx_status st = hx_write_file_atomic(sp, s->secret, 64);
        if (st) {
            free(txt);
            free(sp);
            store_close(s);
            return st;
        }
    }
    free(txt);
    free(sp);
    *out = s;
    return HX_OK;
}

void store_close(hub_store *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s->root);
    free(s);
}

const char *store_root(hub_store *s) { return s->root; }
const char *store_secret(hub_store *s) { return s->secret; }

char *store_lfs_path(hub_store *s, const char *sha256) { return hx_asprintf("%s/objects/lfs/%s", s->root, sha256); }
char *store_git_path(hub_store *s, const char *sha1) { return hx_asprintf("%s/objects/git/%s", s->root, sha1); }

char *store_tmp_path(hub_store *s, const char *tag)
{
    char r[17];
    hub_rand_hex(r, 16);
    return hx_asprintf("%s/tmp/%s.%s", s->root, tag, r);
}

int store_tmp_create(hub_store *s, const char *tag, char **path)
{
    char *prefix = hx_asprintf("%s/tmp/%s.", s->root, tag);
    int fd = hx_create_unique(prefix, path);
    free(prefix);
    if (fd < 0)
        hx_seterr("cannot create a temp file in %s/tmp: %s", s->root, strerror(errno));
    return fd;
}

int store_lfs_has(hub_store *s, const char *sha256, uint64_t *size)
{
    if (!hx_is_hex(sha256, 64))
        return 0;
    char *p = store_lfs_path(s, sha256);
    struct stat st;
    int ok = stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    if (ok && size)
        *size = (uint64_t)st.st_size;
    return ok;
}

hx_status store_git_put(hub_store *s, const void *buf, size_t n, char oid[41])
{
    hx_git_sha1_buf(buf, n, oid);
    char *p = store_git_path(s, oid);
    hx_status st = HX_OK;
    if (!hx_file_exists(p)) {
        /* temp + rename without a per-object fsync: store_commit syncs the
         * file system once before a commit that names the object becomes
         * durable (many small files would otherwise cost two fsyncs each). */
        if (hx_write_file_atomic_sync(p, buf, n, 0) != HX_OK)
            st = HX_FAIL(HX_EIO, "cannot store object %s: %s", oid, hx_lasterr());
    }
    free(p);
    return st;
}

hx_status store_lfs_ingest(hub_store *s, const char *tmp, const char *sha256, uint64_t size, int sha_known)
{
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return HX_FAIL(HX_EIO, "cannot open upload %s: %s", tmp, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != size) {
        close(fd);
        unlink(tmp);
        return HX_FAIL(HX_EINTEGRITY, "upload of %s has %lld bytes, expected %" PRIu64, sha256,
                       (long long)st.st_size, size);
    }
    if (!sha_known) {
        char got[65];
        hx_status hs = hx_hash_fd(fd, size, got, NULL, tmp);
        if (hs) {
            close(fd);
            unlink(tmp);
            return hs;
        }
        if (strcmp(got, sha256) != 0) {
            close(fd);
            unlink(tmp);
            return HX_FAIL(HX_EINTEGRITY, "upload of %s has SHA-256 %s", sha256, got);
        }
    }
    fsync(fd);
    close(fd);
    char *dst = store_lfs_path(s, sha256);
    int rc = rename(tmp, dst);
    int e = errno;
    free(dst);
    if (rc != 0) {
        unlink(tmp);
        return HX_FAIL(HX_EIO, "cannot store LFS object %s: %s", sha256, strerror(e));
    }
    return HX_OK;
}

/* ---- repo metadata ---- */

void st_repo_free(st_repo *r)
{
    free(r->id);
    cJSON_Delete(r->granted);
    memset(r, 0, sizeof *r);
}

hx_status store_repo_get(hub_store *s, const char *type, const char *repo, st_repo *out)
{
    memset(out, 0, sizeof *out);
    if (!hub_repo_id_valid(repo))
        return HX_FAIL(HX_ENOTFOUND, "repository %s not found", repo);
    char *d = repo_dir(s, type, repo);
    char *p = hx_path_join(d, "repo.json");
    free(d);
    char *txt = NULL;
    hx_status st = hx_read_file(p, 1 << 20, &txt, NULL);
    free(p);
    if (st)
        return HX_FAIL(HX_ENOTFOUND, "repository %s not found", repo);
    cJSON *j = cJSON_Parse(txt);
    free(txt);
    if (!j)
        return HX_FAIL(HX_EFORMAT, "repo.json of %s is corrupt", repo);
    snprintf(out->type, sizeof out->type, "%s", type);
    out->id = hx_strdup(repo);
    out->private_ = cJSON_IsTrue(cJSON_GetObjectItem(j, "private"));
    const char *g = cJSON_GetStringValue(cJSON_GetObjectItem(j, "gated"));
    snprintf(out->gated, sizeof out->gated, "%s", g ? g : "");
    const char *uid = cJSON_GetStringValue(cJSON_GetObjectItem(j, "uid"));
    snprintf(out->uid, sizeof out->uid, "%s", uid ? uid : "000000000000000000000000");
    cJSON *gr = cJSON_GetObjectItem(j, "granted");
    out->granted = cJSON_IsArray(gr) ? cJSON_Duplicate(gr, 1) : NULL;
    cJSON *c = cJSON_GetObjectItem(j, "created");
    out->created = cJSON_IsNumber(c) ? c->valuedouble : 0;
    cJSON_Delete(j);
    return HX_OK;
}

static hx_status write_repo_json(const char *dir, const char *uid, int private_, const char *gated,
                                 cJSON *granted, double created)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "uid", uid);
    cJSON_AddBoolToObject(j, "private", private_);
    if (gated && *gated)
        cJSON_AddStringToObject(j, "gated", gated);
    if (granted)
        cJSON_AddItemToObject(j, "granted", cJSON_Duplicate(granted, 1));
    cJSON_AddNumberToObject(j, "created", created);
    char *txt = cJSON_Print(j);
    cJSON_Delete(j);
    char *p = hx_path_join(dir, "repo.json");
    hx_status st = hx_write_file_atomic(p, txt, strlen(txt));
    free(p);
    free(txt);
    return st;
}

hx_status store_repo_set(hub_store *s, const char *type, const char *repo, int private_, const char *gated,
                         cJSON *granted)
{
    st_repo r;
    hx_status st = store_repo_get(s, type, repo, &r);
    if (st)
        return st;
    char *d = repo_dir(s, type, repo);
    pthread_mutex_lock(&s->mu);
    st = write_repo_json(d, r.uid, private_, gated, granted, r.created);
    pthread_mutex_unlock(&s->mu);
    free(d);
    st_repo_free(&r);
    return st;
}

/* ---- commits ---- */

void st_commit_free(st_commit *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->files[i].path);
    free(c->files);
    free(c->title);
    free(c->message);
    free(c->author);
    memset(c, 0, sizeof *c);
}

static int file_cmp(const void *a, const void *b)
{
    return strcmp(((const st_file *)a)->path, ((const st_file *)b)->path);
}

const st_file *st_commit_find(const st_commit *c, const char *path)
{
    st_file key = {.path = (char *)path};
    return bsearch(&key, c->files, c->n, sizeof *c->files, file_cmp);
}

hx_status store_commit_load(hub_store *s, const char *type, const char *repo, const char *id, st_commit *c)
{
    memset(c, 0, sizeof *c);
    if (!hub_is_commit_id(id))
        return HX_FAIL(HX_ENOTFOUND, "invalid commit id %.60s", id);
    char *d = repo_dir(s, type, repo);
    char *p = hx_asprintf("%s/commits/%s.json", d, id);
    free(d);
    char *txt = NULL;
    hx_status st = hx_read_file(p, (size_t)1 << 30, &txt, NULL);
    free(p);
    if (st)
        return HX_FAIL(HX_ENOTFOUND, "commit %s not found in %s", id, repo);
    cJSON *j = cJSON_Parse(txt);
    free(txt);
    cJSON *files = j ? cJSON_GetObjectItem(j, "files") : NULL;
    if (!cJSON_IsArray(files)) {
        cJSON_Delete(j);
        return HX_FAIL(HX_EFORMAT, "commit %s of %s is corrupt", id, repo);
    }
    memcpy(c->id, id, 41);
    const char *par = cJSON_GetStringValue(cJSON_GetObjectItem(j, "parent"));
    snprintf(c->parent, sizeof c->parent, "%s", par ? par : "");
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(j, "title"));
    const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(j, "message"));
    const char *a = cJSON_GetStringValue(cJSON_GetObjectItem(j, "author"));
    c->title = hx_strdup(t ? t : "");
    c->message = hx_strdup(m ? m : "");
    c->author = hx_strdup(a ? a : "");
    cJSON *dt = cJSON_GetObjectItem(j, "date");
    c->date = cJSON_IsNumber(dt) ? dt->valuedouble : 0;
    c->n = (size_t)cJSON_GetArraySize(files);
    c->files = hx_calloc(c->n ? c->n : 1, sizeof *c->files);
    size_t i = 0;
    cJSON *f;
    cJSON_ArrayForEach(f, files)
    {
        st_file *x = &c->files[i++];
        const char *fp = cJSON_GetStringValue(cJSON_GetObjectItem(f, "path"));
        const char *oid = cJSON_GetStringValue(cJSON_GetObjectItem(f, "oid"));
        const char *lfs = cJSON_GetStringValue(cJSON_GetObjectItem(f, "lfs"));
        cJSON *sz = cJSON_GetObjectItem(f, "size");
        x->path = hx_strdup(fp ? fp : "?");
        snprintf(x->oid, sizeof x->oid, "%s", oid ? oid : "");
        snprintf(x->lfs, sizeof x->lfs, "%s", lfs ? lfs : "");
        /* range-checked before converting (a damaged file must not make
         * the conversion undefined) */
        x->size = cJSON_IsNumber(sz) && sz->valuedouble >= 0 && sz->valuedouble <= 9007199254740992.0
                      ? (uint64_t)sz->valuedouble
                      : 0;
    }
    cJSON_Delete(j);
    qsort(c->files, c->n, sizeof *c->files, file_cmp);
    return HX_OK;
}

/* Write a commit (files already sorted) and return its id. */
static hx_status write_commit(const char *dir, st_commit *c)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "parent", c->parent);
    cJSON_AddStringToObject(j, "title", c->title);
    cJSON_AddStringToObject(j, "message", c->message);
    cJSON_AddStringToObject(j, "author", c->author);
    cJSON_AddNumberToObject(j, "date", c->date);
    char nonce[17];
    hub_rand_hex(nonce, 16);
    cJSON_AddStringToObject(j, "nonce", nonce);
    cJSON *files = cJSON_AddArrayToObject(j, "files");
    for (size_t i = 0; i < c->n; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "path", c->files[i].path);
        cJSON_AddNumberToObject(f, "size", (double)c->files[i].size);
        cJSON_AddStringToObject(f, "oid", c->files[i].oid);
        if (c->files[i].lfs[0])
            cJSON_AddStringToObject(f, "lfs", c->files[i].lfs);
        cJSON_AddItemToArray(files, f);
    }
    char *txt = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    char id[41];
    hx_git_sha1_buf(txt, strlen(txt), id); /* content-derived id */
    memcpy(c->id, id, 41);
    char *cd = hx_path_join(dir, "commits");
    hx_status st = hx_mkdirs(cd);
    if (!st) {
        char *p = hx_asprintf("%s/%s.json", cd, id);
        st = hx_write_file_atomic(p, txt, strlen(txt));
        free(p);
    }
    free(cd);
    free(txt);
    return st;
}

static char *ref_path(const char *dir, const char *kind, const char *name)
{
    return hx_asprintf("%s/refs/%s/%s", dir, kind, name);
}

static int read_ref(const char *dir, const char *kind, const char *name, char commit[41])
{
    if (!hub_rev_safe(name))
        return 0;
    char *p = ref_path(dir, kind, name);
    char *txt = NULL;
    size_t len = 0;
    int ok = hx_read_file(p, 128, &txt, &len) == HX_OK && len >= 40;
    free(p);
    if (ok) {
        txt[40] = 0;
        ok = hub_is_commit_id(txt);
        if (ok)
            memcpy(commit, txt, 41);
    }
    free(txt);
    return ok;
}

static hx_status write_ref(const char *dir, const char *kind, const char *name, const char *commit)
{
    char *p = ref_path(dir, kind, name);
    char *pd = hx_strdup(p);
    *strrchr(pd, '/') = 0;
    hx_status st = hx_mkdirs(pd);
    if (!st)
        st = hx_write_file_atomic(p, commit, 40);
    free(pd);
    free(p);
    return st;
}

hx_status store_repo_create(hub_store *s, const char *type, const char *repo, int private_, const char *author,
                            int *exists)
{
    *exists = 0;
    if (!hub_repo_id_valid(repo))
        return HX_FAIL(HX_EINVAL, "invalid repo id '%.100s'", repo);
    char *d = repo_dir(s, type, repo);
    pthread_mutex_lock(&s->mu);
    hx_status st = HX_OK;
    char *rj = hx_path_join(d, "repo.json");
    if (hx_file_exists(rj)) {
        *exists = 1;
        st = HX_FAIL(HX_EINVAL, "repository %s already exists", repo);
        goto out;
    }
    /* The repo becomes visible only when repo.json appears, after its
     * initial commit and main ref are in place. */
    if ((st = hx_mkdirs(d)))
        goto out;
    char goid[41];
    if ((st = store_git_put(s, store_default_gitattributes, strlen(store_default_gitattributes), goid)))
        goto out;
    st_commit c = {0};
    c.title = "initial commit";
    c.message = "";
    c.author = (char *)author;
    c.date = (double)time(NULL);
    st_file f = {.path = ".gitattributes", .size = strlen(store_default_gitattributes)};
    memcpy(f.oid, goid, 41);
    c.files = &f;
    c.n = 1;
    if ((st = write_commit(d, &c)))
        goto out;
    if ((st = write_ref(d, "heads", "main", c.id)))
        goto out;
    char uid[25];
    hub_rand_hex(uid, 24);
    st = write_repo_json(d, uid, private_, "", NULL, (double)time(NULL));
out:
    pthread_mutex_unlock(&s->mu);
    free(rj);
    free(d);
    return st;
}

hx_status store_repo_delete(hub_store *s, const char *type, const char *repo)
{
    st_repo r;
    hx_status st = store_repo_get(s, type, repo, &r);
    if (st)
        return st;
    st_repo_free(&r);
    char *d = repo_dir(s, type, repo);
    pthread_mutex_lock(&s->mu);
    /* Hide first (rename away), then delete. */
    char *gone = store_tmp_path(s, "deleted-repo");
    if (rename(d, gone) == 0)
        hx_remove_tree(gone);
    pthread_mutex_unlock(&s->mu);
    free(gone);
    free(d);
    return HX_OK;
}

hx_status store_resolve(hub_store *s, const char *type, const char *repo, const char *rev, char commit[41])
{
    char *d = repo_dir(s, type, repo);
    hx_status st = HX_OK;
    if (!strcmp(rev, "HEAD"))
        rev = "main";
    if (read_ref(d, "heads", rev, commit) || read_ref(d, "tags", rev, commit))
        goto out;
    if (hub_is_commit_id(rev)) {
        char *p = hx_asprintf("%s/commits/%s.json", d, rev);
        int ok = hx_file_exists(p);
        free(p);
        if (ok) {
            memcpy(commit, rev, 41);
            goto out;
        }
    } else if (strlen(rev) >= 7 && strlen(rev) < 40 && hx_is_hex(rev, strlen(rev))) {
        char *cd = hx_path_join(d, "commits");
        DIR *dd = opendir(cd);
        int hits = 0;
        if (dd) {
            struct dirent *e;
            while ((e = readdir(dd)))
                if (!strncmp(e->d_name, rev, strlen(rev)) && strlen(e->d_name) == 45) {
                    memcpy(commit, e->d_name, 40);
                    commit[40] = 0;
                    hits++;
                }
            closedir(dd);
        }
        free(cd);
        if (hits == 1)
            goto out;
    }
    st = HX_FAIL(HX_ENOTFOUND, "Invalid rev id: %.200s", rev);
out:
    free(d);
    return st;
}

int store_gitattr_is_lfs(const char *attrs, const char *path)
{
    if (!attrs)
        return 0;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    int lfs = 0;
    const char *line = attrs;
    while (*line) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        char *l = hx_asprintf("%.*s", (int)len, line);
        char *sp = strpbrk(l, " \t");
        if (l[0] && l[0] != '#' && sp) {
            *sp = 0;
            const char *rest = sp + 1;
            int has_lfs = strstr(rest, "filter=lfs") != NULL;
            int unset = strstr(rest, "-filter") != NULL || strstr(rest, "!filter") != NULL;
            const char *pat = l[0] == '/' ? l + 1 : l;
            int match = strchr(pat, '/') ? hub_glob_match(pat, path) : hub_glob_match(pat, base);
            if (match && has_lfs)
                lfs = 1;
            else if (match && unset)
                lfs = 0;
        }
        free(l);
        line += len;
        if (*line == '\n')
            line++;
    }
    return lfs;
}

static int folder_prefix_match(const char *folder, const char *path)
{
    size_t n = strlen(folder);
    while (n && folder[n - 1] == '/')
        n--;
    if (n == 0)
        return 1;
    return !strncmp(path, folder, n) && path[n] == '/';
}

hx_status store_commit(hub_store *s, const char *type, const char *repo, const char *branch, const char *parent,
                       const st_op *ops, size_t nops, const char *author, const char *title, const char *message,
                       char out[41], int *http)
{
    *http = 500;
    if (!hub_rev_safe(branch) || hub_is_commit_id(branch)) {
        *http = 404;
        return HX_FAIL(HX_ENOTFOUND, "Invalid rev id: %.200s", branch);
    }
    char *d = repo_dir(s, type, repo);
    pthread_mutex_lock(&s->mu);
    hx_status st;
    char head[41];
    st_commit cur = {0}, nc = {0};
    char *attrs = NULL;
    if (!read_ref(d, "heads", branch, head)) {
        *http = 404;
        st = HX_FAIL(HX_ENOTFOUND, "Invalid rev id: %.200s", branch);
        goto out;
    }
    if (parent && *parent && strncmp(parent, head, strlen(parent)) != 0) {
        *http = 412;
        st = HX_FAIL(HX_EINVAL, "The branch was updated since you opened this page. Please refresh and try again.");
        goto out;
    }
    if ((st = store_commit_load(s, type, repo, head, &cur)))
        goto out;
    /* Work on a growable copy of the file list. */
    size_t cap = cur.n + nops + 2, n = 0;
    st_file *files = hx_calloc(cap, sizeof *files);
    for (size_t i = 0; i < cur.n; i++) {
        files[n] = cur.files[i];
        files[n++].path = hx_strdup(cur.files[i].path);
    }
    nc.files = files;
    nc.n = n;
    for (size_t k = 0; k < nops; k++) {
        const st_op *op = &ops[k];
        if (op->kind == ST_DELETE_FILE || op->kind == ST_DELETE_FOLDER) {
            size_t w = 0, removed = 0;
            for (size_t i = 0; i < nc.n; i++) {
                int hit = !strcmp(files[i].path, op->path) || folder_prefix_match(op->path, files[i].path);
                if (op->kind == ST_DELETE_FILE && strcmp(files[i].path, op->path) != 0 &&
                    !folder_prefix_match(op->path, files[i].path))
                    hit = 0;
                if (hit) {
                    free(files[i].path);
                    removed++;
                } else {
                    files[w++] = files[i];
                }
            }
            nc.n = w;
            if (!removed) {
                *http = 404;
                st = HX_FAIL(HX_ENOTFOUND, "A file with this name doesn't exist: %.200s", op->path);
                goto out;
            }
            continue;
        }
        st_file nf = {0};
        nf.path = hx_strdup(op->path);
        nf.size = op->size;
        if (op->kind == ST_ADD_LFS) {
            uint64_t have = 0;
            if (!store_lfs_has(s, op->oid, &have)) {
                free(nf.path);
                *http = 422;
                st = HX_FAIL(HX_EINVAL, "LFS object %s for %.200s was never uploaded", op->oid, op->path);
                goto out;
            }
            if (op->size != UINT64_MAX && op->size != have) {
                free(nf.path);
                *http = 422;
                st = HX_FAIL(HX_EINVAL, "LFS object %s has %" PRIu64 " bytes, commit says %" PRIu64, op->oid, have,
                             op->size);
                goto out;
            }
            nf.size = have;
            memcpy(nf.lfs, op->oid, 65);
            char ptr[256];
            size_t pl = hub_lfs_pointer(op->oid, have, ptr);
            hx_git_sha1_buf(ptr, pl, nf.oid);
        } else {
            memcpy(nf.oid, op->oid, 41);
        }
        /* replace or append; a file may not shadow a folder or vice versa */
        int replaced = 0;
        for (size_t i = 0; i < nc.n; i++) {
            if (!strcmp(files[i].path, nf.path)) {
                free(files[i].path);
                files[i] = nf;
                replaced = 1;
                break;
            }
            if (folder_prefix_match(nf.path, files[i].path) || folder_prefix_match(files[i].path, nf.path)) {
                free(nf.path);
                *http = 409;
                st = HX_FAIL(HX_EINVAL, "path %.200s conflicts with existing %.200s", op->path, files[i].path);
                goto out;
            }
        }
        if (!replaced) {
            if (nc.n + 1 >= cap) {
                cap *= 2;
                files = hx_realloc(files, cap * sizeof *files);
                nc.files = files;
            }
            files[nc.n++] = nf;
        }
    }
    qsort(files, nc.n, sizeof *files, file_cmp);
    /* Track newly committed LFS paths in .gitattributes. */
    const st_file *ga = st_commit_find(&nc, ".gitattributes");
    if (ga && !ga->lfs[0]) {
        char *gp = store_git_path(s, ga->oid);
        hx_read_file(gp, 1 << 20, &attrs, NULL);
        free(gp);
    }
    hx_buf extra = HX_BUF_INIT;
    for (size_t k = 0; k < nops; k++) {
        if (ops[k].kind != ST_ADD_LFS || store_gitattr_is_lfs(attrs, ops[k].path))
            continue;
        char *esc = hx_strdup(ops[k].path);
        for (char *q = esc; *q; q++)
            if (*q == ' ')
                *q = '?';
        hx_buf_printf(&extra, "%s filter=lfs diff=lfs merge=lfs -text\n", esc);
        free(esc);
    }
    if (extra.len) {
        const char *base = attrs ? attrs : "";
        size_t bl = strlen(base);
        char *na = hx_asprintf("%s%s%s", base, bl && base[bl - 1] != '\n' ? "\n" : "", extra.data);
        char goid[41];
        if ((st = store_git_put(s, na, strlen(na), goid))) {
            free(na);
            hx_buf_free(&extra);
            goto out;
        }
        st_file *gf = (st_file *)st_commit_find(&nc, ".gitattributes");
        if (gf) {
            memcpy(gf->oid, goid, 41);
            gf->size = strlen(na);
        } else {
            if (nc.n + 1 >= cap) {
                cap *= 2;
                files = hx_realloc(files, cap * sizeof *files);
                nc.files = files;
            }
            st_file g = {.path = hx_strdup(".gitattributes"), .size = strlen(na)};
            memcpy(g.oid, goid, 41);
            files[nc.n++] = g;
            qsort(files, nc.n, sizeof *files, file_cmp);
        }
        free(na);
    }
    hx_buf_free(&extra);
    {
        /* every object the new commit names must be durable before it */
        int rfd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rfd >= 0) {
            syncfs(rfd);
            close(rfd);
        }
    }
    memcpy(nc.parent, head, 41);
    nc.title = hx_strdup(title);
    nc.message = hx_strdup(message ? message : "");
    nc.author = hx_strdup(author);
    nc.date = (double)time(NULL);
    if ((st = write_commit(d, &nc)))
        goto out;
    if ((st = write_ref(d, "heads", branch, nc.id)))
        goto out;
    memcpy(out, nc.id, 41);
    *http = 200;
out:
    pthread_mutex_unlock(&s->mu);
    st_commit_free(&cur);
    st_commit_free(&nc);
    free(attrs);
    free(d);
    return st;
}

hx_status store_branch_create(hub_store *s, const char *type, const char *repo, const char *branch,
                              const char *from_rev, int *http)
{
    if (!hub_rev_safe(branch) || !strncmp(branch, "refs/", 5) || hub_is_commit_id(branch)) {
        *http = 400;
        return HX_FAIL(HX_EINVAL, "Invalid reference for a branch: %.200s", branch);
    }
    char commit[41];
    hx_status st = store_resolve(s, type, repo, from_rev && *from_rev ? from_rev : "main", commit);
    if (st) {
        *http = 404;
        return st;
    }
    char *d = repo_dir(s, type, repo);
    pthread_mutex_lock(&s->mu);
    char tmp[41];
    if (read_ref(d, "heads", branch, tmp)) {
        *http = 409;
        st = HX_FAIL(HX_EINVAL, "Reference refs/heads/%s already exists", branch);
    } else {
        st = write_ref(d, "heads", branch, commit);
        *http = st ? 500 : 200;
    }
    pthread_mutex_unlock(&s->mu);
    free(d);
    return st;
}

/* Remove ref kind/name ("heads" or "tags") of a repo: 404 when missing. */
static hx_status ref_delete(hub_store *s, const char *type, const char *repo, const char *kind, const char *name,
                            int *http)
{
    char *d = repo_dir(s, type, repo);
    char tmp[41];
    hx_status st = HX_OK;
    pthread_mutex_lock(&s->mu);
    if (!read_ref(d, kind, name, tmp)) {
        *http = 404;
        st = HX_FAIL(HX_ENOTFOUND, "Invalid rev id: %.200s", name);
    } else {
        char *p = ref_path(d, kind, name);
        unlink(p);
        free(p);
        *http = 200;
    }
    pthread_mutex_unlock(&s->mu);
    free(d);
    return st;
}

hx_status store_branch_delete(hub_store *s, const char *type, const char *repo, const char *branch, int *http)
{
    if (!strcmp(branch, "main")) {
        *http = 403;
        return HX_FAIL(HX_EINVAL, "Cannot delete refs/heads/main");
    }
    return ref_delete(s, type, repo, "heads", branch, http);
}

hx_status store_tag_create(hub_store *s, const char *type, const char *repo, const char *tag, const char *rev,
                           int *http)
{
    if (!hub_rev_safe(tag) || !strncmp(tag, "refs/", 5)) {
        *http = 400;
        return HX_FAIL(HX_EINVAL, "Invalid tag name: %.200s", tag);
    }
    char commit[41];
    hx_status st = store_resolve(s, type, repo, rev, commit);
    if (st) {
        *http = 404;
        return st;
    }
    char *d = repo_dir(s, type, repo);
    char tmp[41];
    pthread_mutex_lock(&s->mu);
    if (read_ref(d, "tags", tag, tmp)) {
        *http = 409;
        st = HX_FAIL(HX_EINVAL, "Tag %s already exists", tag);
    } else {
        st = write_ref(d, "tags", tag, commit);
        *http = st ? 500 : 200;
    }
    pthread_mutex_unlock(&s->mu);
    free(d);
    return st;
}

hx_status store_tag_delete(hub_store *s, const char *type, const char *repo, const char *tag, int *http)
{
    return ref_delete(s, type, repo, "tags", tag, http);
}

static void list_refs(const char *base, const char *prefix, const char *kind, cJSON *arr)
{
    DIR *dd = opendir(base);
    if (!dd)
        return;
    struct dirent *e;
    while ((e = readdir(dd))) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp."))
            continue;
        char *p = hx_path_join(base, e->d_name);
        char *name = *prefix ? hx_asprintf("%s/%s", prefix, e->d_name) : hx_strdup(e->d_name);
        if (hx_dir_exists(p)) {
            list_refs(p, name, kind, arr);
        } else {
            char *txt = NULL;
            size_t len = 0;
            if (hx_read_file(p, 128, &txt, &len) == HX_OK && len >= 40) {
                txt[40] = 0;
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "name", name);
                char *ref = hx_asprintf("refs/%s/%s", kind, name);
                cJSON_AddStringToObject(o, "ref", ref);
                free(ref);
                cJSON_AddStringToObject(o, "targetCommit", txt);
                cJSON_AddItemToArray(arr, o);
            }
            free(txt);
        }
        free(name);
        free(p);
    }
    closedir(dd);
}

cJSON *store_refs_json(hub_store *s, const char *type, const char *repo)
{
    char *d = repo_dir(s, type, repo);
    cJSON *j = cJSON_CreateObject();
    char *hp = hx_path_join(d, "refs/heads"), *tp = hx_path_join(d, "refs/tags");
    list_refs(hp, "", "heads", cJSON_AddArrayToObject(j, "branches"));
    cJSON_AddArrayToObject(j, "converts");
    list_refs(tp, "", "tags", cJSON_AddArrayToObject(j, "tags"));
    free(hp);
    free(tp);
    free(d);
    return j;
}

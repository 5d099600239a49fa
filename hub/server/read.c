/* read.c - the read side of the Hub API: whoami, repo info, tree
 * listings (recursive, paginated with absolute Link headers; folders named
 * by their git tree ids; with expand, each entry's last commit from one
 * walk of the history), paths-info (form or JSON bodies), refs, commit
 * history, /resolve/ + /raw/ with the Hub's headers (ETag, X-Repo-Commit,
 * X-Linked-Etag, X-Linked-Size) and 302 redirects of LFS files to the
 * object route, and /api/validate-yaml (cards/validate.c). A gated repo's
 * metadata is readable by anyone; only its files are gated. */
#include "cards/card.h"
#include "common/buf.h"
#include "hub/server/server_internal.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum MHD_Result srv_h_whoami(srv_req *r)
{
    if (r->anon)
        return srv_err(r, 401, NULL, "Invalid credentials in Authorization header");
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "type", "user");
    cJSON_AddStringToObject(j, "id", "000000000000000000000001");
    cJSON_AddStringToObject(j, "name", r->user);
    cJSON_AddStringToObject(j, "fullname", r->user);
    cJSON_AddBoolToObject(j, "emailVerified", 1);
    cJSON_AddBoolToObject(j, "isPro", 0);
    cJSON *orgs = cJSON_AddArrayToObject(j, "orgs");
    if (r->tok)
        for (size_t i = 0; i < r->tok->norgs; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", r->tok->orgs[i]);
            cJSON_AddItemToArray(orgs, o);
        }
    cJSON *auth = cJSON_AddObjectToObject(j, "auth");
    cJSON_AddStringToObject(auth, "type", "access_token");
    cJSON *at = cJSON_AddObjectToObject(auth, "accessToken");
    cJSON_AddStringToObject(at, "displayName", "hxzoo");
    cJSON_AddStringToObject(at, "role", !r->tok || r->tok->write ? "write" : "read");
    return srv_json(r, 200, j);
}

static uint64_t lie(srv_req *r, uint64_t size) { return size + (r->srv->f.lie_size ? 1 : 0); }

/* The "lfs" object of a file entry; the tree API names the hash "oid",
 * model info's siblings name it "sha256". */
static void add_lfs(srv_req *r, cJSON *parent, const char *idkey, const st_file *f)
{
    cJSON *l = cJSON_AddObjectToObject(parent, "lfs");
    char ptr[256];
    cJSON_AddStringToObject(l, idkey, f->lfs);
    cJSON_AddNumberToObject(l, "size", (double)lie(r, f->size));
    cJSON_AddNumberToObject(l, "pointerSize", (double)hub_lfs_pointer(f->lfs, f->size, ptr));
}

static cJSON *file_entry(srv_req *r, const st_file *f)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", "file");
    cJSON_AddStringToObject(e, "oid", f->oid);
    cJSON_AddNumberToObject(e, "size", (double)lie(r, f->size));
    cJSON_AddStringToObject(e, "path", f->path);
    if (f->lfs[0])
        add_lfs(r, e, "oid", f);
    return e;
}

/* ---- folders: git tree ids ---- */

typedef struct tree_ids {
    struct tree_id {
        const char *path; /* a file path whose first len bytes name the folder */
        size_t len;
        char oid[41];
    } * v;
    size_t n, cap;
} tree_ids;

static void hex_bytes(const char *hex, unsigned char out[20])
{
    for (int i = 0; i < 20; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            unsigned ch = (unsigned char)hex[2 * i + k];
            v = v * 16 + (ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10);
        }
        out[i] = (unsigned char)v;
    }
}

/* The git tree id of the folder holding c->files[lo, hi), the files whose
 * paths start with the folder's pl-byte prefix ("" or "dir/"): entries
 * "100644 name" + blob id (of the content, or of the LFS pointer) and
 * "40000 name" + tree id, in git's order. Files are sorted by path, so a
 * folder's files are contiguous and its children come in git's order (a
 * folder compares as its name + '/', as in the paths). Every subfolder's id
 * is added to ids. */
static void tree_oid(const st_commit *c, size_t lo, size_t hi, size_t pl, tree_ids *ids, char out[41])
{
    hx_buf buf = HX_BUF_INIT;
    unsigned char raw[20];
    for (size_t i = lo; i < hi;) {
        const char *rel = c->files[i].path + pl;
        const char *sl = strchr(rel, '/');
        if (!sl) {
            hx_buf_put(&buf, "100644 ", 7);
            hx_buf_put(&buf, rel, strlen(rel) + 1);
            hex_bytes(c->files[i].oid, raw);
            hx_buf_put(&buf, raw, 20);
            i++;
            continue;
        }
        size_t dl = pl + (size_t)(sl - rel) + 1; /* "dir/sub/" */
        size_t j = i + 1;
        while (j < hi && !strncmp(c->files[j].path, c->files[i].path, dl))
            j++;
        char sub[41];
        tree_oid(c, i, j, dl, ids, sub);
        if (ids->n == ids->cap)
            ids->v = hx_realloc(ids->v, (ids->cap = ids->cap ? 2 * ids->cap : 64) * sizeof *ids->v);
        ids->v[ids->n].path = c->files[i].path;
        ids->v[ids->n].len = dl - 1;
        memcpy(ids->v[ids->n++].oid, sub, 41);
        hx_buf_put(&buf, "40000 ", 6);
        hx_buf_put(&buf, rel, (size_t)(sl - rel));
        hx_buf_put(&buf, "", 1);
        hex_bytes(sub, raw);
        hx_buf_put(&buf, raw, 20);
        i = j;
    }
    hx_git_sha1_obj("tree", buf.data, buf.len, out);
    hx_buf_free(&buf);
}

static int tree_id_cmp(const void *a, const void *b)
{
    const struct tree_id *x = a, *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int d = memcmp(x->path, y->path, m);
    return d ? d : (x->len > y->len) - (x->len < y->len);
}

/* [*lo, *hi): the files of c under folder "pre" (pre ends with '/'). */
static void folder_range(const st_commit *c, const char *pre, size_t pl, size_t *lo, size_t *hi)
{
    size_t a = 0, b = c->n;
    while (a < b) { /* first path >= pre */
        size_t m = a + (b - a) / 2;
        if (strcmp(c->files[m].path, pre) < 0)
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    while (a < c->n && !strncmp(c->files[a].path, pre, pl))
        a++;
    *hi = a;
}

/* The tree ids of every folder below folder pfx (pl bytes, no trailing
 * '/'; pl = 0: the root) of commit c, sorted for folder_oid(); *self (may
 * be NULL) = pfx's own tree id. */
static void tree_ids_under(const st_commit *c, const char *pfx, size_t pl, tree_ids *ids, char self[41])
{
    char own[41];
    size_t lo = 0, hi = c->n;
    memset(ids, 0, sizeof *ids);
    if (pl) {
        char *pre = hx_asprintf("%.*s/", (int)pl, pfx);
        folder_range(c, pre, pl + 1, &lo, &hi);
        free(pre);
    }
    tree_oid(c, lo, hi, pl ? pl + 1 : 0, ids, self ? self : own);
    if (ids->n)
        qsort(ids->v, ids->n, sizeof *ids->v, tree_id_cmp);
}

static const char *folder_oid(const tree_ids *ids, const char *path, size_t len)
{
    struct tree_id key = {.path = path, .len = len};
    const struct tree_id *t = ids->n ? bsearch(&key, ids->v, ids->n, sizeof key, tree_id_cmp) : NULL;
    return t ? t->oid : NULL;
}

/* A folder's entry (path: its first len bytes) with its tree id. */
static cJSON *dir_entry(const char *oid, const char *path, size_t len)
{
    cJSON *e = cJSON_CreateObject();
    char *p = hx_asprintf("%.*s", (int)len, path);
    cJSON_AddStringToObject(e, "type", "directory");
    cJSON_AddStringToObject(e, "oid", oid ? oid : "");
    cJSON_AddNumberToObject(e, "size", 0);
    cJSON_AddStringToObject(e, "path", p);
    free(p);
    return e;
}

/* ---- lastCommit: the newest commit that changed each listed path ---- */

/* Does the file or folder (pre = "path/") differ between commit c and its
 * parent p? */
static int path_changed(const st_commit *c, const st_commit *p, const char *path, const char *pre)
{
    if (!pre) {
        const st_file *a = st_commit_find(c, path), *b = st_commit_find(p, path);
        return !a || !b || strcmp(a->oid, b->oid) != 0;
    }
    size_t pl = strlen(pre), alo, ahi, blo, bhi;
    folder_range(c, pre, pl, &alo, &ahi);
    folder_range(p, pre, pl, &blo, &bhi);
    if (ahi - alo != bhi - blo)
        return 1;
    for (size_t k = 0; k < ahi - alo; k++)
        if (strcmp(c->files[alo + k].path, p->files[blo + k].path) ||
            strcmp(c->files[alo + k].oid, p->files[blo + k].oid))
            return 1;
    return 0;
}

static void add_last_commit(cJSON *e, const st_commit *c)
{
    char ts[32];
    hub_iso_time(c->date, ts);
    cJSON *lc = cJSON_AddObjectToObject(e, "lastCommit");
    cJSON_AddStringToObject(lc, "id", c->id);
    cJSON_AddStringToObject(lc, "title", c->title);
    cJSON_AddStringToObject(lc, "date", ts);
}

/* Add "lastCommit" to every entry (tree entries of head's revision): one
 * walk from head through its parents, comparing the still-unresolved
 * paths of each commit with its parent's; a path is resolved by the first
 * commit that changed it (or by the root commit). */
static void add_last_commits(srv_req *r, const char *type, const char *repo, const st_commit *head, cJSON *entries)
{
    size_t n = (size_t)cJSON_GetArraySize(entries), left = 0;
    if (!n)
        return;
    cJSON **ent = hx_calloc(n, sizeof *ent);
    char **pre = hx_calloc(n, sizeof *pre); /* "dir/" for folders */
    cJSON *e;
    cJSON_ArrayForEach(e, entries)
    {
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(e, "type"));
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(e, "path"));
        if (!t || !p)
            continue;
        if (!strcmp(t, "directory"))
            pre[left] = hx_asprintf("%s/", p);
        ent[left++] = e;
    }
    const st_commit *c = head;
    st_commit own = {0}; /* c when it is not head */
    for (long steps = 0; left && steps < 1000000; steps++) {
        st_commit par;
        int has_parent = c->parent[0] && store_commit_load(r->srv->st, type, repo, c->parent, &par) == HX_OK;
        if (!has_parent)
            hx_clearerr();
        for (size_t k = 0; k < left;) {
            const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(ent[k], "path"));
            if (has_parent && !path_changed(c, &par, p, pre[k])) {
                k++;
                continue;
            }
            add_last_commit(ent[k], c);
            free(pre[k]); /* resolved: swap in the last unresolved entry */
            ent[k] = ent[--left];
            pre[k] = pre[left];
            pre[left] = NULL;
        }
        st_commit_free(&own);
        if (!has_parent)
            break;
        own = par;
        c = &own;
    }
    st_commit_free(&own);
    for (size_t k = 0; k < n; k++)
        free(pre[k]);
    free(pre);
    free(ent);
}

/* A count in a query parameter: absent or empty (*v unchanged), or digits
 * only. Returns 0 when malformed; a value above max reads as max. */
static int query_count(srv_req *r, const char *key, long max, long *v)
{
    char *s = srv_query(r, key);
    if (!s)
        return 1;
    int ok = strspn(s, "0123456789") == strlen(s);
    uint64_t u;
    if (ok && s[0]) /* digits only: a parse failure is a value too large */
        *v = srv_parse_u64(s, (uint64_t)max, &u) ? (long)u : max;
    free(s);
    return ok;
}

/* Resolve a revision and load the commit; answers the error itself. */
enum MHD_Result srv_h_repo_info(srv_req *r, const char *type, const char *repo_id, const char *rev)
{
    st_repo repo;
    enum MHD_Result ret;
    if (!srv_open_repo(r, type, repo_id, &repo, SRV_READ_META, &ret))
        return ret;
    st_commit c;
    if (!srv_load_rev(r, type, repo_id, rev ? rev : "main", &c, &ret)) {
        st_repo_free(&repo);
        return ret;
    }
    int blobs = srv_query_bool(r, "blobs");
    char *exp[32];
    size_t nexp = srv_query_all(r, "expand", exp, 32);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "_id", repo.uid);
    cJSON_AddStringToObject(j, "id", repo_id);
    if (!strcmp(type, "model"))
        cJSON_AddStringToObject(j, "modelId", repo_id);
    const char *sl = strchr(repo_id, '/');
    char *author = sl ? hx_asprintf("%.*s", (int)(sl - repo_id), repo_id) : hx_strdup(repo_id);
    cJSON_AddStringToObject(j, "author", author);
    free(author);
    cJSON_AddStringToObject(j, "sha", c.id);
    char ts[32], cts[32];
    hub_iso_time(c.date, ts);
    hub_iso_time(repo.created, cts);
    cJSON_AddStringToObject(j, "lastModified", ts);
    cJSON_AddStringToObject(j, "createdAt", cts);
    cJSON_AddBoolToObject(j, "private", repo.private_);
    if (repo.gated[0])
        cJSON_AddStringToObject(j, "gated", repo.gated);
    else
        cJSON_AddBoolToObject(j, "gated", 0);
    cJSON_AddBoolToObject(j, "disabled", 0);
    cJSON_AddBoolToObject(j, "xetEnabled", 0);
    cJSON_AddNumberToObject(j, "downloads", 0);
    cJSON_AddNumberToObject(j, "likes", 0);
    cJSON *tags = cJSON_AddArrayToObject(j, "tags");
    cJSON_AddItemToArray(tags, cJSON_CreateString("region:us"));
    cJSON_AddObjectToObject(j, "cardData");
    cJSON *sib = cJSON_AddArrayToObject(j, "siblings");
    uint64_t used = 0;
    for (size_t i = 0; i < c.n; i++) {
        const st_file *f = &c.files[i];
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "rfilename", f->path);
        if (blobs) {
            cJSON_AddNumberToObject(s, "size", (double)lie(r, f->size));
            cJSON_AddStringToObject(s, "blobId", f->oid);
            if (f->lfs[0])
                add_lfs(r, s, "sha256", f);
        }
        used += f->size;
        cJSON_AddItemToArray(sib, s);
    }
    cJSON_AddNumberToObject(j, "usedStorage", (double)used);
    if (nexp) {
        /* Only _id, id and the requested properties. */
        cJSON *k = cJSON_CreateObject();
        cJSON_AddStringToObject(k, "_id", repo.uid);
        cJSON_AddStringToObject(k, "id", repo_id);
        for (size_t i = 0; i < nexp; i++) {
            cJSON *v = cJSON_GetObjectItem(j, exp[i]);
            if (v && !cJSON_GetObjectItem(k, exp[i]))
                cJSON_AddItemToObject(k, exp[i], cJSON_Duplicate(v, 1));
            free(exp[i]);
        }
        cJSON_Delete(j);
        j = k;
    }
    st_commit_free(&c);
    st_repo_free(&repo);
    return srv_json(r, 200, j);
}

enum MHD_Result srv_h_tree(srv_req *r, const char *type, const char *repo_id, const char *rev, const char *path)
{
    enum MHD_Result ret;
    int recursive = srv_query_bool(r, "recursive");
    int expand = srv_query_bool(r, "expand");
    /* limit: 1..10000 (else the Hub's default); cursor: the index of the
     * page's first entry, range-checked (past the end: an empty page) */
    long limit = 0, start = 0;
    if (!query_count(r, "limit", 1000000, &limit))
        return srv_err(r, 400, NULL, "Invalid limit: expected a whole number");
    if (!query_count(r, "cursor", LONG_MAX, &start))
        return srv_err(r, 400, NULL, "Invalid cursor");
    if (limit <= 0 || limit > 10000)
        limit = expand ? 100 : 1000;
    st_commit c;
    if (!srv_open_rev(r, type, repo_id, rev, SRV_READ_META, &c, &ret))
        return ret;
    char *pfx = hx_strdup(path);
    size_t pl = strlen(pfx);
    while (pl && pfx[pl - 1] == '/')
        pfx[--pl] = 0;
    tree_ids ids = {0}; /* the folders under pfx, hashed when the first one is listed */
    int have_ids = 0;
    /* Build the whole listing (files and directories), then page it. */
    cJSON *all = cJSON_CreateArray();
    int found = pl == 0;
    const char *prev = NULL; /* previous file inside the listed folder */
    for (size_t i = 0; i < c.n; i++) {
        const char *fp = c.files[i].path;
        if (pl) {
            if (!strcmp(fp, pfx)) {
                found = 1;
                cJSON_AddItemToArray(all, file_entry(r, &c.files[i]));
                continue;
            }
            if (strncmp(fp, pfx, pl) != 0 || fp[pl] != '/')
                continue;
            found = 1;
        }
        const char *rel = fp + (pl ? pl + 1 : 0);
        /* Files under one folder are contiguous in sorted order, so a folder
         * is new exactly when the previous file is not inside it. */
        for (const char *sl = strchr(rel, '/'); sl; sl = strchr(sl + 1, '/')) {
            size_t dl = (size_t)(sl - fp);
            if (!(prev && !strncmp(prev, fp, dl) && prev[dl] == '/')) {
                if (!have_ids)
                    tree_ids_under(&c, pfx, pl, &ids, NULL), have_ids = 1;
                cJSON_AddItemToArray(all, dir_entry(folder_oid(&ids, fp, dl), fp, dl));
            }
            if (!recursive)
                break;
        }
        prev = fp;
        if (!recursive && strchr(rel, '/'))
            continue;
        cJSON_AddItemToArray(all, file_entry(r, &c.files[i]));
    }
    free(pfx);
    free(ids.v);
    if (!found) {
        cJSON_Delete(all);
        st_commit_free(&c);
        return srv_err(r, 404, "EntryNotFound", "Entry not found: %s", path);
    }
    long total = cJSON_GetArraySize(all);
    cJSON *page = cJSON_CreateArray();
    long end = start < total ? (total - start > limit ? start + limit : total) : start;
    cJSON *it = start < total ? cJSON_GetArrayItem(all, (int)start) : NULL; /* walked, not indexed per entry */
    for (long i = start; i < end && it; i++, it = it->next)
        cJSON_AddItemToArray(page, cJSON_Duplicate(it, 1));
    cJSON_Delete(all);
    if (expand)
        add_last_commits(r, type, repo_id, &c, page);
    char *txt = cJSON_PrintUnformatted(page);
    cJSON_Delete(page);
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(txt), txt, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    if (end < total) {
        char *l = hx_asprintf("<%s%s?recursive=%s&expand=%s&limit=%ld&cursor=%ld>; rel=\"next\"", r->base, r->path,
                              recursive ? "true" : "false", expand ? "true" : "false", limit, end);
        MHD_add_response_header(resp, "Link", l);
        free(l);
    }
    st_commit_free(&c);
    return srv_send(r, 200, resp);
}

enum MHD_Result srv_h_paths_info(srv_req *r, const char *type, const char *repo_id, const char *rev)
{
    enum MHD_Result ret;
    st_commit c;
    if (!srv_open_rev(r, type, repo_id, rev, SRV_READ_META, &c, &ret))
        return ret;
    /* Paths from a JSON body or a form body (paths=a&paths=b&expand=x). */
    char **paths = NULL;
    size_t np = 0;
    int expand = 0;
    const char *ct = srv_header(r, "Content-Type");
    if (ct && strstr(ct, "json")) {
        cJSON *j = srv_body_json(r);
        if (!j) {
            st_commit_free(&c);
            return srv_err(r, 400, NULL, "malformed JSON body");
        }
        cJSON *ps = cJSON_GetObjectItem(j, "paths");
        expand = cJSON_IsTrue(cJSON_GetObjectItem(j, "expand"));
        if (cJSON_IsString(ps)) {
            paths = hx_malloc(sizeof *paths);
            paths[np++] = hx_strdup(ps->valuestring);
        } else if (cJSON_IsArray(ps)) {
            paths = hx_calloc((size_t)cJSON_GetArraySize(ps) + 1, sizeof *paths);
            cJSON *p;
            cJSON_ArrayForEach(p, ps) if (cJSON_IsString(p)) paths[np++] = hx_strdup(p->valuestring);
        }
        cJSON_Delete(j);
    } else if (r->cx->body.data) {
        size_t cap = 16;
        paths = hx_malloc(cap * sizeof *paths);
        char *save = NULL;
        for (char *kv = strtok_r(r->cx->body.data, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(kv, '=');
            if (!eq)
                continue;
            *eq = 0;
            for (char *q = eq + 1; *q; q++)
                if (*q == '+')
                    *q = ' ';
            if (!hub_urldecode(kv) || !hub_urldecode(eq + 1))
                continue;
            if (!strcmp(kv, "paths") || !strcmp(kv, "paths[]")) {
                if (np == cap)
                    paths = hx_realloc(paths, (cap *= 2) * sizeof *paths);
                paths[np++] = hx_strdup(eq + 1);
            } else if (!strcmp(kv, "expand")) {
                expand = !strcmp(eq + 1, "true") || !strcmp(eq + 1, "1") || !strcmp(eq + 1, "True");
            }
        }
    }
    cJSON *out = cJSON_CreateArray();
    for (size_t i = 0; i < np; i++) {
        const char *p = paths[i];
        const st_file *f = st_commit_find(&c, p);
        size_t l = strlen(p), lo, hi;
        char *pre = hx_asprintf("%s/", p);
        if (f) {
            cJSON_AddItemToArray(out, file_entry(r, f));
        } else if (l && (folder_range(&c, pre, l + 1, &lo, &hi), lo < hi)) {
            tree_ids sub;
            char oid[41];
            tree_ids_under(&c, p, l, &sub, oid);
            free(sub.v);
            cJSON_AddItemToArray(out, dir_entry(oid, p, l));
        }
        free(pre);
        free(paths[i]);
    }
    free(paths);
    if (expand)
        add_last_commits(r, type, repo_id, &c, out);
    st_commit_free(&c);
    return srv_json(r, 200, out);
}

enum MHD_Result srv_h_refs(srv_req *r, const char *type, const char *repo_id)
{
    enum MHD_Result ret;
    if (!srv_check_repo(r, type, repo_id, SRV_READ_META, &ret))
        return ret;
    cJSON *j = store_refs_json(r->srv->st, type, repo_id);
    if (srv_query_bool(r, "include_prs"))
        cJSON_AddArrayToObject(j, "pullRequests");
    return srv_json(r, 200, j);
}

enum MHD_Result srv_h_commits(srv_req *r, const char *type, const char *repo_id, const char *rev)
{
    enum MHD_Result ret;
    /* p (page) and limit: whole numbers, range-checked before page*limit
     * (p=10^18 is a page past the end: empty; p=-1 or 1e18: 400) */
    long page = 0, limit = 50;
    if (!query_count(r, "p", LONG_MAX, &page))
        return srv_err(r, 400, NULL, "Invalid p: expected a whole number");
    if (!query_count(r, "limit", 1000000, &limit))
        return srv_err(r, 400, NULL, "Invalid limit: expected a whole number");
    if (limit <= 0 || limit > 1000)
        limit = 50;
    long first = page < LONG_MAX / limit - 1 ? page * limit : LONG_MAX - limit, last = first + limit;
    if (!srv_check_repo(r, type, repo_id, SRV_READ_META, &ret))
        return ret;
    char id[41];
    if (store_resolve(r->srv->st, type, repo_id, rev, id) != HX_OK)
        return srv_err(r, 404, "RevisionNotFound", "Invalid rev id: %s", rev);
    cJSON *arr = cJSON_CreateArray();
    long idx = 0, total = 0;
    for (int guard = 0; id[0] && guard < 1000000; guard++) {
        st_commit c;
        if (store_commit_load(r->srv->st, type, repo_id, id, &c) != HX_OK)
            break;
        if (idx >= first && idx < last) {
            cJSON *o = cJSON_CreateObject();
            char ts[32];
            hub_iso_time(c.date, ts);
            cJSON_AddStringToObject(o, "id", c.id);
            cJSON_AddStringToObject(o, "title", c.title);
            cJSON_AddStringToObject(o, "message", c.message);
            cJSON *au = cJSON_AddArrayToObject(o, "authors");
            cJSON *a = cJSON_CreateObject();
            cJSON_AddStringToObject(a, "user", c.author);
            cJSON_AddItemToArray(au, a);
            cJSON_AddStringToObject(o, "date", ts);
            cJSON *fm = cJSON_AddObjectToObject(o, "formatted");
            cJSON_AddStringToObject(fm, "title", c.title);
            cJSON_AddStringToObject(fm, "message", c.message);
            cJSON_AddItemToArray(arr, o);
        }
        idx++;
        total++;
        memcpy(id, c.parent, 41);
        st_commit_free(&c);
    }
    char *txt = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(txt), txt, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    char tc[32];
    snprintf(tc, sizeof tc, "%ld", total);
    MHD_add_response_header(resp, "X-Total-Count", tc);
    if (last < total) {
        char *l = hx_asprintf("<%s%s?p=%ld&limit=%ld>; rel=\"next\"", r->base, r->path, page + 1, limit);
        MHD_add_response_header(resp, "Link", l);
        free(l);
    }
    return srv_send(r, 200, resp);
}

enum MHD_Result srv_h_resolve(srv_req *r, const char *type, const char *repo_id, const char *rev, const char *path,
                              int raw)
{
    if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
        return srv_err(r, 405, NULL, "method not allowed");
    enum MHD_Result ret;
    st_commit c;
    if (!srv_open_rev(r, type, repo_id, rev, 0, &c, &ret))
        return ret;
    const st_file *f = st_commit_find(&c, path);
    if (!f) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "error", "Entry not found");
        char *txt = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(txt), txt, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
        MHD_add_response_header(resp, "X-Error-Code", "EntryNotFound");
        MHD_add_response_header(resp, "X-Error-Message", "Entry not found");
        MHD_add_response_header(resp, "X-Repo-Commit", c.id);
        st_commit_free(&c);
        return srv_send(r, 404, resp);
    }
    if (f->lfs[0] && raw) {
        char ptr[256];
        size_t pl = hub_lfs_pointer(f->lfs, f->size, ptr);
        struct MHD_Response *resp = MHD_create_response_from_buffer(pl, ptr, MHD_RESPMEM_MUST_COPY);
        char *e = hx_asprintf("\"%s\"", f->oid);
        MHD_add_response_header(resp, "ETag", e);
        free(e);
        MHD_add_response_header(resp, "X-Repo-Commit", c.id);
        MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
        st_commit_free(&c);
        return srv_send(r, 200, resp);
    }
    if (f->lfs[0]) {
        char *q = srv_sign_query(r->srv, "get", type, repo_id, f->lfs, 0, 0);
        /* Python follows same-host redirects and reads the metadata from the
         * final response, so the object route repeats it (commit in query). */
        char *loc = hx_asprintf("%s/_lfs/objects/%s?commit=%s&%s", r->base, f->lfs, c.id, q);
        free(q);
        const char *note = "Found. Redirecting to the object storage.";
        struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(note), (void *)note,
                                                                    MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Location", loc);
        free(loc);
        char *le = hx_asprintf("\"%s\"", f->lfs), *e = hx_asprintf("\"%s\"", f->oid);
        char sz[32];
        snprintf(sz, sizeof sz, "%" PRIu64, lie(r, f->size));
        MHD_add_response_header(resp, "X-Linked-Etag", le);
        MHD_add_response_header(resp, "X-Linked-Size", sz);
        MHD_add_response_header(resp, "ETag", e);
        MHD_add_response_header(resp, "X-Repo-Commit", c.id);
        MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
        free(le);
        free(e);
        st_commit_free(&c);
        return srv_send(r, 302, resp);
    }
    char *p = store_git_path(r->srv->st, f->oid);
    ret = srv_send_file(r, p, f->size, f->oid, c.id, f->path);
    free(p);
    st_commit_free(&c);
    return ret;
}

enum MHD_Result srv_h_lfs_object(srv_req *r, const char *oid)
{
    if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
        return srv_err(r, 405, NULL, "method not allowed");
    const char *why = srv_sig_verify(r, "get", oid, NULL, NULL);
    if (why)
        return srv_err(r, 403, NULL, "bad or missing signature for object %s: %s", oid, why);
    uint64_t size;
    if (!store_lfs_has(r->srv->st, oid, &size))
        return srv_err(r, 404, "EntryNotFound", "object %s not found", oid);
    char *p = store_lfs_path(r->srv->st, oid);
    char *commit = srv_query(r, "commit");
    if (commit && !hub_is_commit_id(commit)) {
        free(commit);
        commit = NULL;
    }
    enum MHD_Result ret = srv_send_file(r, p, size, oid, commit, NULL);
    free(commit);
    free(p);
    return ret;
}

/* POST /api/validate-yaml {"content": README text, "repoType": ...}: the
 * Hub's metadata check (cards/validate.c). JSON answer {"errors":
 * [{"message"}], "warnings": [...]} (what HfApi reads before committing a
 * README.md), or, for "Accept: text/plain" (RepoCard.validate), one
 * "- Error: ..." / "- Warning: ..." line each; 400 when there are errors. */
enum MHD_Result srv_h_validate_yaml(srv_req *r)
{
    if (strcmp(r->method, "POST"))
        return srv_err(r, 405, NULL, "method not allowed");
    cJSON *j = srv_body_json(r);
    cJSON *content = cJSON_GetObjectItem(j, "content"), *rt = cJSON_GetObjectItem(j, "repoType");
    cJSON *errors = cJSON_CreateArray(), *warnings = cJSON_CreateArray();
    const char *type = cJSON_IsString(rt) ? rt->valuestring : "model";
    if (!cJSON_IsObject(j) || !cJSON_IsString(content)) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "message", "\"content\" is required and must be a string");
        cJSON_AddItemToArray(errors, m);
    } else if (rt && !cJSON_IsNull(rt) && (!cJSON_IsString(rt) || (strcmp(type, "model") && strcmp(type, "dataset") &&
                                                                   strcmp(type, "space")))) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "message", "\"repoType\" must be one of [model, dataset, space]");
        cJSON_AddItemToArray(errors, m);
    } else {
        card_validate_metadata(content->valuestring, strlen(content->valuestring), type, errors, warnings);
    }
    cJSON_Delete(j);
    int status = cJSON_GetArraySize(errors) ? 400 : 200;
    const char *accept = srv_header(r, "Accept");
    if (accept && strstr(accept, "text/plain") && !strstr(accept, "json")) {
        hx_buf txt = HX_BUF_INIT;
        hx_buf_puts(&txt, "");
        for (int pass = 0; pass < 2; pass++) {
            cJSON *m, *list = pass ? warnings : errors;
            cJSON_ArrayForEach(m, list)
            hx_buf_printf(&txt, "- %s: %s\n", pass ? "Warning" : "Error",
                          cJSON_GetStringValue(cJSON_GetObjectItem(m, "message")));
        }
        cJSON_Delete(errors);
        cJSON_Delete(warnings);
        enum MHD_Result ret = srv_text(r, status, "text/plain; charset=utf-8", txt.data);
        hx_buf_free(&txt);
        return ret;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddItemToObject(out, "errors", errors);
    cJSON_AddItemToObject(out, "warnings", warnings);
    return srv_json(r, status, out);
}

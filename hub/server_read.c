/* server_read.c - the read side of the Hub API: whoami, repo info, tree
 * listings (recursive, paginated with absolute Link headers), paths-info
 * (form or JSON bodies), refs, commit history, and /resolve/ + /raw/ with
 * the Hub's headers (ETag, X-Repo-Commit, X-Linked-Etag, X-Linked-Size)
 * and 302 redirects of LFS files to the object route. */
#include "hub/server_int.h"

#include <inttypes.h>
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

static cJSON *file_entry(srv_req *r, const st_file *f, const st_commit *c, int expand)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", "file");
    cJSON_AddStringToObject(e, "oid", f->oid);
    cJSON_AddNumberToObject(e, "size", (double)lie(r, f->size));
    cJSON_AddStringToObject(e, "path", f->path);
    if (f->lfs[0])
        add_lfs(r, e, "oid", f);
    if (expand) {
        char ts[32];
        hub_iso_time(c->date, ts);
        cJSON *lc = cJSON_AddObjectToObject(e, "lastCommit");
        cJSON_AddStringToObject(lc, "id", c->id);
        cJSON_AddStringToObject(lc, "title", c->title);
        cJSON_AddStringToObject(lc, "date", ts);
    }
    return e;
}

static cJSON *dir_entry(const st_commit *c, const char *path, size_t len)
{
    cJSON *e = cJSON_CreateObject();
    char *p = hx_asprintf("%.*s", (int)len, path);
    char *k = hx_asprintf("tree %s %s", c->id, p);
    char oid[41];
    hub_git_sha1_buf(k, strlen(k), oid);
    free(k);
    cJSON_AddStringToObject(e, "type", "directory");
    cJSON_AddStringToObject(e, "oid", oid);
    cJSON_AddNumberToObject(e, "size", 0);
    cJSON_AddStringToObject(e, "path", p);
    free(p);
    return e;
}

/* Resolve a revision and load the commit; answers the error itself. */
enum MHD_Result srv_h_repo_info(srv_req *r, const char *type, const char *repo_id, const char *rev)
{
    st_repo repo;
    enum MHD_Result ret;
    if (!srv_open_repo(r, type, repo_id, &repo, 0, &ret))
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
    st_commit c;
    if (!srv_open_rev(r, type, repo_id, rev, 0, &c, &ret))
        return ret;
    int recursive = srv_query_bool(r, "recursive");
    int expand = srv_query_bool(r, "expand");
    char *lim = srv_query(r, "limit"), *cur = srv_query(r, "cursor");
    long limit = lim ? strtol(lim, NULL, 10) : 0;
    if (limit <= 0 || limit > 10000)
        limit = expand ? 100 : 1000;
    long start = cur ? strtol(cur, NULL, 10) : 0;
    if (start < 0)
        start = 0;
    free(lim);
    free(cur);
    char *pfx = hx_strdup(path);
    size_t pl = strlen(pfx);
    while (pl && pfx[pl - 1] == '/')
        pfx[--pl] = 0;
    /* Build the whole listing (files and directories), then page it. */
    cJSON *all = cJSON_CreateArray();
    int found = pl == 0;
    const char *prev = NULL; /* previous file inside the listed folder */
    for (size_t i = 0; i < c.n; i++) {
        const char *fp = c.files[i].path;
        if (pl) {
            if (!strcmp(fp, pfx)) {
                found = 1;
                cJSON_AddItemToArray(all, file_entry(r, &c.files[i], &c, expand));
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
            if (!(prev && !strncmp(prev, fp, dl) && prev[dl] == '/'))
                cJSON_AddItemToArray(all, dir_entry(&c, fp, dl));
            if (!recursive)
                break;
        }
        prev = fp;
        if (!recursive && strchr(rel, '/'))
            continue;
        cJSON_AddItemToArray(all, file_entry(r, &c.files[i], &c, expand));
    }
    free(pfx);
    if (!found) {
        cJSON_Delete(all);
        st_commit_free(&c);
        return srv_err(r, 404, "EntryNotFound", "Entry not found: %s", path);
    }
    long total = cJSON_GetArraySize(all);
    cJSON *page = cJSON_CreateArray();
    for (long i = start; i < total && i < start + limit; i++)
        cJSON_AddItemToArray(page, cJSON_Duplicate(cJSON_GetArrayItem(all, (int)i), 1));
    cJSON_Delete(all);
    char *txt = cJSON_PrintUnformatted(page);
    cJSON_Delete(page);
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(txt), txt, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    if (start + limit < total) {
        char *l = hx_asprintf("<%s%s?recursive=%s&expand=%s&limit=%ld&cursor=%ld>; rel=\"next\"", r->base, r->path,
                              recursive ? "true" : "false", expand ? "true" : "false", limit, start + limit);
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
    if (!srv_open_rev(r, type, repo_id, rev, 0, &c, &ret))
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
    } else if (r->cx->body) {
        size_t cap = 16;
        paths = hx_malloc(cap * sizeof *paths);
        char *save = NULL;
        for (char *kv = strtok_r(r->cx->body, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
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
        if (f) {
            cJSON_AddItemToArray(out, file_entry(r, f, &c, expand));
        } else {
            size_t l = strlen(p);
            for (size_t k = 0; k < c.n; k++)
                if (l && !strncmp(c.files[k].path, p, l) && c.files[k].path[l] == '/') {
                    cJSON_AddItemToArray(out, dir_entry(&c, p, l));
                    break;
                }
        }
        free(paths[i]);
    }
    free(paths);
    st_commit_free(&c);
    return srv_json(r, 200, out);
}

enum MHD_Result srv_h_refs(srv_req *r, const char *type, const char *repo_id)
{
    enum MHD_Result ret;
    if (!srv_check_repo(r, type, repo_id, 0, &ret))
        return ret;
    cJSON *j = store_refs_json(r->srv->st, type, repo_id);
    if (srv_query_bool(r, "include_prs"))
        cJSON_AddArrayToObject(j, "pullRequests");
    return srv_json(r, 200, j);
}

enum MHD_Result srv_h_commits(srv_req *r, const char *type, const char *repo_id, const char *rev)
{
    enum MHD_Result ret;
    if (!srv_check_repo(r, type, repo_id, 0, &ret))
        return ret;
    char id[41];
    if (store_resolve(r->srv->st, type, repo_id, rev, id) != HX_OK)
        return srv_err(r, 404, "RevisionNotFound", "Invalid rev id: %s", rev);
    char *ps = srv_query(r, "p"), *ls = srv_query(r, "limit");
    long page = ps ? strtol(ps, NULL, 10) : 0, limit = ls ? strtol(ls, NULL, 10) : 50;
    free(ps);
    free(ls);
    if (limit <= 0 || limit > 1000)
        limit = 50;
    if (page < 0)
        page = 0;
    cJSON *arr = cJSON_CreateArray();
    long idx = 0, total = 0;
    for (int guard = 0; id[0] && guard < 1000000; guard++) {
        st_commit c;
        if (store_commit_load(r->srv->st, type, repo_id, id, &c) != HX_OK)
            break;
        if (idx >= page * limit && idx < (page + 1) * limit) {
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
    if ((page + 1) * limit < total) {
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
        char *sig = srv_sign(r->srv, "get", f->lfs, 0, 0);
        /* Python follows same-host redirects and reads the metadata from the
         * final response, so the object route repeats it (commit in query). */
        char *loc = hx_asprintf("%s/_lfs/objects/%s?commit=%s&sig=%s", r->base, f->lfs, c.id, sig);
        free(sig);
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
    if (!srv_check_sig(r, "get", oid, NULL, NULL))
        return srv_err(r, 403, NULL, "bad or missing signature for object %s", oid);
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

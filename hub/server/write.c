/* write.c - the write side of the Hub API: create/delete repo,
 * settings, preupload (regular vs LFS decision, remote oids for no-op
 * detection), NDJSON/JSON commits applied atomically by the store (an
 * NDJSON body is parsed line by line as it arrives, so that memory holds
 * one line and the operations, never the whole body), branches and tags. */
#include "hub/server/server_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *type_prefix(const char *type)
{
    if (!strcmp(type, "dataset"))
        return "datasets/";
    if (!strcmp(type, "space"))
        return "spaces/";
    return "";
}

enum MHD_Result srv_h_create_repo(srv_req *r)
{
    cJSON *j = srv_body_json(r);
    if (!j)
        return srv_err(r, 400, NULL, "malformed or missing JSON body");
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(j, "name"));
    const char *org = cJSON_GetStringValue(cJSON_GetObjectItem(j, "organization"));
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(j, "type"));
    const char *vis = cJSON_GetStringValue(cJSON_GetObjectItem(j, "visibility"));
    int private_ = cJSON_IsTrue(cJSON_GetObjectItem(j, "private")) || (vis && strcmp(vis, "public") != 0);
    if (!type)
        type = "model";
    if (strcmp(type, "model") && strcmp(type, "dataset") && strcmp(type, "space")) {
        enum MHD_Result bad = srv_err(r, 400, NULL, "unsupported repo type '%.50s'", type); /* type is j's */
        cJSON_Delete(j);
        return bad;
    }
    if (!name) {
        cJSON_Delete(j);
        return srv_err(r, 400, NULL, "missing 'name'");
    }
    if (r->anon && !r->srv->open_mode) {
        cJSON_Delete(j);
        return srv_err(r, 401, NULL, "You must be authenticated to create a repo");
    }
    char *id = strchr(name, '/') ? hx_strdup(name) : hx_asprintf("%s/%s", org ? org : r->user, name);
    enum MHD_Result ret;
    if (!hub_repo_id_valid(id)) {
        ret = srv_err(r, 400, NULL, "invalid repo id '%.120s'", id);
        goto out;
    }
    char *ns = hx_asprintf("%.*s", (int)(strchr(id, '/') - id), id);
    int may = srv_may_write_ns(r, ns);
    free(ns);
    char *url = hx_asprintf("%s/%s%s", r->base, type_prefix(type), id);
    if (!may) {
        ret = srv_err(r, 403, NULL, "You don't have the rights to create a repo under this namespace");
        free(url);
        goto out;
    }
    int exists = 0;
    hx_status st = store_repo_create(r->srv->st, type, id, private_, r->user, &exists);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "url", url);
    if (exists) {
        char *m = hx_asprintf("You already created this %s repo", type);
        cJSON_AddStringToObject(o, "error", m);
        free(m);
        ret = srv_json(r, 409, o);
    } else if (st) {
        cJSON_Delete(o);
        ret = srv_err(r, 500, NULL, "cannot create repo: %s", hx_lasterr());
    } else {
        st_repo rp;
        if (store_repo_get(r->srv->st, type, id, &rp) == HX_OK) {
            cJSON_AddStringToObject(o, "id", rp.uid);
            st_repo_free(&rp);
        }
        cJSON_AddStringToObject(o, "name", id);
        ret = srv_json(r, 200, o);
    }
    free(url);
out:
    free(id);
    cJSON_Delete(j);
    return ret;
}

enum MHD_Result srv_h_delete_repo(srv_req *r)
{
    cJSON *j = srv_body_json(r);
    if (!j)
        return srv_err(r, 400, NULL, "malformed or missing JSON body");
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(j, "name"));
    const char *org = cJSON_GetStringValue(cJSON_GetObjectItem(j, "organization"));
    const char *ty = cJSON_GetStringValue(cJSON_GetObjectItem(j, "type"));
    if (!name) {
        cJSON_Delete(j);
        return srv_err(r, 400, NULL, "missing 'name'");
    }
    char *id = strchr(name, '/') ? hx_strdup(name) : hx_asprintf("%s/%s", org ? org : r->user, name);
    char *type = hx_strdup(ty ? ty : "model"); /* j's strings die with it */
    cJSON_Delete(j);
    st_repo repo;
    enum MHD_Result ret;
    if (srv_open_repo(r, type, id, &repo, 1, &ret)) {
        st_repo_free(&repo);
        store_repo_delete(r->srv->st, type, id);
        ret = srv_text(r, 200, "application/json", "{}");
    }
    free(type);
    free(id);
    return ret;
}

enum MHD_Result srv_h_settings(srv_req *r, const char *type, const char *repo_id)
{
    if (strcmp(r->method, "PUT"))
        return srv_err(r, 405, NULL, "method not allowed");
    st_repo repo;
    enum MHD_Result ret;
    if (!srv_open_repo(r, type, repo_id, &repo, 1, &ret))
        return ret;
    cJSON *j = srv_body_json(r);
    if (!j) {
        st_repo_free(&repo);
        return srv_err(r, 400, NULL, "malformed or missing JSON body");
    }
    int private_ = repo.private_;
    cJSON *p = cJSON_GetObjectItem(j, "private");
    if (cJSON_IsBool(p))
        private_ = cJSON_IsTrue(p);
    const char *vis = cJSON_GetStringValue(cJSON_GetObjectItem(j, "visibility"));
    if (vis)
        private_ = strcmp(vis, "public") != 0;
    char gated[16];
    snprintf(gated, sizeof gated, "%s", repo.gated);
    cJSON *g = cJSON_GetObjectItem(j, "gated");
    if (cJSON_IsString(g) && (!strcmp(g->valuestring, "auto") || !strcmp(g->valuestring, "manual")))
        snprintf(gated, sizeof gated, "%s", g->valuestring);
    else if (cJSON_IsFalse(g))
        gated[0] = 0;
    cJSON *granted = cJSON_GetObjectItem(j, "granted");
    store_repo_set(r->srv->st, type, repo_id, private_, gated, cJSON_IsArray(granted) ? granted : repo.granted);
    cJSON_Delete(j);
    st_repo_free(&repo);
    return srv_text(r, 200, "application/json", "{}");
}

static int ignore_match(const char *gi, const char *path)
{
    if (!gi)
        return 0;
    int hit = 0;
    char *dup = hx_strdup(gi), *save = NULL;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (char *l = strtok_r(dup, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        size_t n = strlen(l);
        while (n && (l[n - 1] == '\r' || l[n - 1] == ' '))
            l[--n] = 0;
        if (!n || l[0] == '#')
            continue;
        int neg = l[0] == '!';
        const char *pat = l + neg;
        if (*pat == '/')
            pat++;
        int m = strchr(pat, '/') && pat[strlen(pat) - 1] != '/' ? hub_glob_match(pat, path)
                                                                 : hub_glob_match(pat, base) || hub_glob_match(pat, path);
        if (m)
            hit = !neg;
    }
    free(dup);
    return hit;
}

enum MHD_Result srv_h_preupload(srv_req *r, const char *type, const char *repo_id, const char *rev)
{
    if (strcmp(r->method, "POST"))
        return srv_err(r, 405, NULL, "method not allowed");
    enum MHD_Result ret;
    st_commit c;
    if (!srv_open_rev(r, type, repo_id, rev, 1, &c, &ret))
        return ret;
    cJSON *j = srv_body_json(r);
    cJSON *files = j ? cJSON_GetObjectItem(j, "files") : NULL;
    if (!cJSON_IsArray(files) || cJSON_GetArraySize(files) > 1000) {
        cJSON_Delete(j);
        st_commit_free(&c);
        return srv_err(r, 422, NULL, "body must be {\"files\":[{path,sample,size}...]} with at most 1000 files");
    }
    const char *ga_req = cJSON_GetStringValue(cJSON_GetObjectItem(j, "gitAttributes"));
    const char *gi = cJSON_GetStringValue(cJSON_GetObjectItem(j, "gitIgnore"));
    char *ga_rev = NULL;
    const st_file *gaf = st_commit_find(&c, ".gitattributes");
    if (!ga_req && gaf && !gaf->lfs[0]) {
        char *gp = store_git_path(r->srv->st, gaf->oid);
        hx_read_file(gp, 1 << 20, &ga_rev, NULL);
        free(gp);
    }
    const char *attrs = ga_req ? ga_req : ga_rev;
    cJSON *out = cJSON_CreateObject();
    cJSON *oarr = cJSON_AddArrayToObject(out, "files");
    cJSON *f;
    ret = MHD_YES;
    int bad = 0, idx = 0;
    cJSON_ArrayForEach(f, files)
    {
        const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(f, "path"));
        cJSON *szj = cJSON_GetObjectItem(f, "size");
        const char *sample = cJSON_GetStringValue(cJSON_GetObjectItem(f, "sample"));
        if (!path || !cJSON_IsNumber(szj)) {
            bad = 1;
            ret = srv_err(r, 422, NULL, "each file needs a string 'path' and a numeric 'size'");
            break;
        }
        uint64_t size = 0;
        if (!srv_json_uint(szj, 0, SRV_LFS_MAX_SIZE, &size)) {
            bad = 1;
            ret = srv_err(r, 400, NULL, "files[%d].size must be an integer from 0 to %" PRIu64, idx,
                          SRV_LFS_MAX_SIZE);
            break;
        }
        if (!hub_path_safe(path)) {
            bad = 1;
            ret = srv_err(r, 422, NULL, "%s", hx_lasterr());
            break;
        }
        idx++;
        int binary = 0;
        if (sample) {
            size_t sl = 0;
            unsigned char *raw = hub_b64_decode(sample, strlen(sample), &sl);
            if (raw) {
                binary = memchr(raw, 0, sl) != NULL;
                free(raw);
            }
        }
        int lfs = size > 0 && (store_gitattr_is_lfs(attrs, path) || size >= (10u << 20) ||
                               (binary && size >= (1u << 20)));
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", path);
        cJSON_AddStringToObject(o, "uploadMode", lfs ? "lfs" : "regular");
        cJSON_AddBoolToObject(o, "shouldIgnore", ignore_match(gi, path));
        const st_file *have = st_commit_find(&c, path);
        if (have)
            cJSON_AddStringToObject(o, "oid", have->lfs[0] ? have->lfs : have->oid);
        cJSON_AddItemToArray(oarr, o);
    }
    cJSON_AddStringToObject(out, "commitOid", c.id);
    free(ga_rev);
    cJSON_Delete(j);
    st_commit_free(&c);
    if (bad) {
        cJSON_Delete(out);
        return ret;
    }
    return srv_json(r, 200, out);
}

static void free_ops(st_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ops[i].path);
    free(ops);
}

/* Parse one commit operation (NDJSON line value, or legacy JSON entry). */
static int parse_op(srv_req *r, const char *key, cJSON *v, st_op *op, char *err, size_t errlen, int *http)
{
    memset(op, 0, sizeof *op);
    const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(v, "path"));
    if (!path) {
        snprintf(err, errlen, "%s without a string 'path'", key);
        return 0;
    }
    const char *chk = path;
    char *trim = NULL;
    if (!strcmp(key, "deletedFolder") || !strcmp(key, "deletedEntry") || !strcmp(key, "deletedFile")) {
        trim = hx_strdup(path);
        size_t l = strlen(trim);
        while (l && trim[l - 1] == '/')
            trim[--l] = 0;
        chk = trim;
    }
    if (!hub_path_safe(chk)) {
        snprintf(err, errlen, "%s", hx_lasterr());
        free(trim);
        return 0;
    }
    op->path = hx_strdup(chk);
    free(trim);
    if (!strcmp(key, "file")) {
        const char *content = cJSON_GetStringValue(cJSON_GetObjectItem(v, "content"));
        const char *enc = cJSON_GetStringValue(cJSON_GetObjectItem(v, "encoding"));
        if (!content) {
            snprintf(err, errlen, "file %.200s without 'content'", path);
            return 0;
        }
        unsigned char *data;
        size_t n;
        if (!enc || !strcmp(enc, "utf-8")) {
            n = strlen(content);
            data = (unsigned char *)hx_strdup(content);
        } else if (!strcmp(enc, "base64")) {
            data = hub_b64_decode(content, strlen(content), &n);
            if (!data) {
                snprintf(err, errlen, "file %.200s: malformed base64 content", path);
                return 0;
            }
        } else {
            snprintf(err, errlen, "file %.200s: unknown encoding '%.20s'", path, enc);
            return 0;
        }
        char oid[41];
        hx_status st = store_git_put(r->srv->st, data, n, oid);
        free(data);
        if (st) {
            snprintf(err, errlen, "cannot store %.200s: %s", path, hx_lasterr());
            return 0;
        }
        op->kind = ST_ADD_REGULAR;
        memcpy(op->oid, oid, 41);
        op->size = n;
        return 1;
    }
    if (!strcmp(key, "lfsFile")) {
        const char *oid = cJSON_GetStringValue(cJSON_GetObjectItem(v, "oid"));
        const char *algo = cJSON_GetStringValue(cJSON_GetObjectItem(v, "algo"));
        cJSON *sz = cJSON_GetObjectItem(v, "size");
        if (!oid || !hx_is_hex(oid, 64) || (algo && strcmp(algo, "sha256"))) {
            snprintf(err, errlen, "lfsFile %.200s needs a sha256 'oid'", path);
            return 0;
        }
        op->kind = ST_ADD_LFS;
        memcpy(op->oid, oid, 65);
        op->size = UINT64_MAX; /* no size: a server-side copy, the stored object's */
        if (sz && !srv_json_uint(sz, 0, SRV_LFS_MAX_SIZE, &op->size)) {
            snprintf(err, errlen, "lfsFile %.200s: size must be an integer from 0 to %" PRIu64, path,
                     SRV_LFS_MAX_SIZE);
            *http = 400;
            return 0;
        }
        return 1;
    }
    if (!strcmp(key, "deletedFile") || !strcmp(key, "deletedEntry")) {
        op->kind = ST_DELETE_FILE;
        return 1;
    }
    if (!strcmp(key, "deletedFolder")) {
        op->kind = ST_DELETE_FOLDER;
        return 1;
    }
    snprintf(err, errlen, "unknown commit operation '%.40s'", key);
    return 0;
}

/* ---- commits ---- */

/* The operations of one commit, parsed as its NDJSON body arrives. After
 * the first error the rest of the body is ignored (the error is answered
 * at its end). */
struct srv_commit_in {
    hx_buf line;         /* the line being received (limit SRV_COMMIT_LINE + 1) */
    int line_no;
    st_op *ops;
    size_t nops, ops_cap;
    char *summary, *desc, *parent;
    char err[512];
    int http;            /* status for err */
};

void srv_commit_in_free(srv_commit_in *cm)
{
    if (!cm)
        return;
    hx_buf_free(&cm->line);
    free_ops(cm->ops, cm->nops);
    free(cm->summary);
    free(cm->desc);
    free(cm->parent);
    free(cm);
}

void srv_commit_in_begin(srv_req *r)
{
    srv_commit_in *cm = hx_calloc(1, sizeof *cm);
    cm->http = 400;
    r->cx->cm = cm;
}

static void cm_header(srv_commit_in *cm, cJSON *v)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(v, "summary"));
    const char *d = cJSON_GetStringValue(cJSON_GetObjectItem(v, "description"));
    const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(v, "parentCommit"));
    free(cm->summary);
    free(cm->desc);
    free(cm->parent);
    cm->summary = s ? hx_strdup(s) : NULL;
    cm->desc = d ? hx_strdup(d) : NULL;
    cm->parent = p ? hx_strdup(p) : NULL;
}

/* One operation (an NDJSON line's value, or an entry of a legacy JSON
 * commit's lists) appended to cm; 0 with cm->err set on error. */
static int cm_op(srv_req *r, srv_commit_in *cm, const char *key, cJSON *v)
{
    if (cm->nops >= SRV_COMMIT_OPS) {
        snprintf(cm->err, sizeof cm->err, "a commit has at most %d operations", SRV_COMMIT_OPS);
        cm->http = 413;
        return 0;
    }
    if (cm->nops == cm->ops_cap) {
        cm->ops_cap = cm->ops_cap ? 2 * cm->ops_cap : 64;
        cm->ops = hx_realloc(cm->ops, cm->ops_cap * sizeof *cm->ops);
    }
    cm->http = 422;
    if (!parse_op(r, key, v, &cm->ops[cm->nops], cm->err, sizeof cm->err, &cm->http)) {
        free(cm->ops[cm->nops].path);
        return 0;
    }
    cm->nops++;
    return 1;
}

static void cm_line(srv_req *r, srv_commit_in *cm, const char *line, size_t n)
{
    cm->line_no++;
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
        n--;
    if (!n)
        return;
    cJSON *l = srv_json_parse(line, n, SRV_JSON_VALUES);
    const char *key = l ? cJSON_GetStringValue(cJSON_GetObjectItem(l, "key")) : NULL;
    cJSON *v = l ? cJSON_GetObjectItem(l, "value") : NULL;
    if (!key || !cJSON_IsObject(v)) {
        snprintf(cm->err, sizeof cm->err, "line %d of the commit is not {\"key\":..,\"value\":{..}}", cm->line_no);
        cm->http = 400;
    } else if (!strcmp(key, "header")) {
        cm_header(cm, v);
    } else {
        cm_op(r, cm, key, v);
    }
    cJSON_Delete(l);
}

void srv_commit_in_data(srv_req *r, const char *data, size_t n)
{
    srv_commit_in *cm = r->cx->cm;
    while (n && !cm->err[0]) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n;
        if (cm->line.len + take > SRV_COMMIT_LINE) {
            snprintf(cm->err, sizeof cm->err, "line %d of the commit is longer than %zu bytes", cm->line_no + 1,
                     SRV_COMMIT_LINE);
            cm->http = 413;
            return;
        }
        if (nl && cm->line.len == 0) { /* a whole line in this piece: parse it in place */
            cm_line(r, cm, data, take);
        } else {
            cm->line.limit = SRV_COMMIT_LINE + 1;
            hx_buf_put(&cm->line, data, take);
            if (nl) {
                cm_line(r, cm, cm->line.data, cm->line.len);
                hx_buf_clear(&cm->line);
            }
        }
        if (!nl)
            return;
        data = nl + 1;
        n -= take + 1;
    }
}

/* A legacy JSON commit {"summary",..,"files":[..],"lfsFiles":[..],..}. */
static void cm_json(srv_req *r, srv_commit_in *cm)
{
    cJSON *j = srv_body_json(r);
    if (!j) {
        snprintf(cm->err, sizeof cm->err, "malformed JSON commit body");
        return;
    }
    cm_header(cm, j);
    const char *lists[] = {"files", "lfsFiles", "deletedFiles", "deletedEntries"};
    const char *keys[] = {"file", "lfsFile", "deletedFile", "deletedEntry"};
    for (int k = 0; k < 4 && !cm->err[0]; k++) {
        cJSON *arr = cJSON_GetObjectItem(j, lists[k]), *e;
        cJSON_ArrayForEach(e, arr) if (!cm_op(r, cm, keys[k], e)) break;
    }
    cJSON_Delete(j);
}

enum MHD_Result srv_h_commit(srv_req *r, const char *type, const char *repo_id, const char *rev)
{
    if (strcmp(r->method, "POST"))
        return srv_err(r, 405, NULL, "method not allowed");
    enum MHD_Result ret;
    if (!srv_check_repo(r, type, repo_id, 1, &ret))
        return ret;
    /* create_pr was refused at the headers (daemon.c classify) */
    srv_commit_in *cm = r->cx->cm;
    if (cm) { /* NDJSON streamed: the last line may lack its newline (JS) */
        if (!cm->err[0] && cm->line.len)
            cm_line(r, cm, cm->line.data, cm->line.len);
        hx_buf_clear(&cm->line);
        if (!cm->err[0] && !r->cx->seen)
            snprintf(cm->err, sizeof cm->err, "empty commit body");
    } else {
        if (!r->cx->body.data)
            return srv_err(r, 400, NULL, "empty commit body");
        srv_commit_in_begin(r);
        cm = r->cx->cm;
        const char *ct = srv_header(r, "Content-Type");
        if (!ct || strstr(ct, "ndjson") || !strstr(ct, "json")) {
            srv_commit_in_data(r, r->cx->body.data, r->cx->body.len);
            if (!cm->err[0] && cm->line.len)
                cm_line(r, cm, cm->line.data, cm->line.len);
        } else {
            cm_json(r, cm);
        }
    }
    if (!cm->err[0] && (!cm->summary || !*cm->summary)) {
        snprintf(cm->err, sizeof cm->err, "the commit needs a non-empty header.summary");
        cm->http = 400;
    }
    if (!cm->err[0] && cm->parent &&
        !(strlen(cm->parent) >= 5 && strlen(cm->parent) <= 40 && hx_is_hex(cm->parent, strlen(cm->parent)))) {
        snprintf(cm->err, sizeof cm->err, "parentCommit must be 5 to 40 hex characters");
        cm->http = 400;
    }
    if (cm->err[0])
        return srv_err(r, cm->http, NULL, "%s", cm->err);
    char oid[41];
    int http = 500;
    const char *branch = !strcmp(rev, "HEAD") ? "main" : rev;
    hx_status st = store_commit(r->srv->st, type, repo_id, branch, cm->parent, cm->ops, cm->nops, r->user,
                                cm->summary, cm->desc, oid, &http);
    if (st)
        return srv_err(r, http, http == 404 ? "RevisionNotFound" : NULL, "%s", hx_lasterr());
    srv_faults *f = &r->srv->f;
    if (f->commit_lost && (int)atomic_fetch_add(&f->ncommit, 1) < f->commit_lost) {
        srv_fault_fired("commitlost");
        return MHD_NO; /* fault: the commit is applied but its answer is lost */
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "success", 1);
    cJSON_AddStringToObject(o, "commitOid", oid);
    char *url = hx_asprintf("%s/%s%s/commit/%s", r->base, type_prefix(type), repo_id, oid);
    cJSON_AddStringToObject(o, "commitUrl", url);
    free(url);
    cJSON_AddStringToObject(o, "hookOutput", "");
    return srv_json(r, 200, o);
}

enum MHD_Result srv_h_branch(srv_req *r, const char *type, const char *repo_id, const char *name)
{
    enum MHD_Result ret;
    if (!srv_check_repo(r, type, repo_id, 1, &ret))
        return ret;
    int http = 500;
    hx_status st;
    if (!strcmp(r->method, "POST")) {
        cJSON *j = srv_body_json(r);
        const char *from = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "startingPoint")) : NULL;
        st = store_branch_create(r->srv->st, type, repo_id, name, from, &http);
        cJSON_Delete(j);
    } else if (!strcmp(r->method, "DELETE")) {
        st = store_branch_delete(r->srv->st, type, repo_id, name, &http);
    } else {
        return srv_err(r, 405, NULL, "method not allowed");
    }
    if (st)
        return srv_err(r, http, http == 404 ? "RevisionNotFound" : NULL, "%s", hx_lasterr());
    return srv_text(r, 200, "application/json", "{}");
}

enum MHD_Result srv_h_tag(srv_req *r, const char *type, const char *repo_id, const char *name)
{
    enum MHD_Result ret;
    if (!srv_check_repo(r, type, repo_id, 1, &ret))
        return ret;
    int http = 500;
    hx_status st;
    if (!strcmp(r->method, "POST")) {
        /* POST /tag/{revision} {"tag": name} */
        cJSON *j = srv_body_json(r);
        const char *tag = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "tag")) : NULL;
        if (!tag) {
            cJSON_Delete(j);
            return srv_err(r, 400, NULL, "missing 'tag'");
        }
        st = store_tag_create(r->srv->st, type, repo_id, tag, name, &http);
        cJSON_Delete(j);
    } else if (!strcmp(r->method, "DELETE")) {
        st = store_tag_delete(r->srv->st, type, repo_id, name, &http);
    } else {
        return srv_err(r, 405, NULL, "method not allowed");
    }
    if (st)
        return srv_err(r, http, http == 404 ? "RevisionNotFound" : NULL, "%s", hx_lasterr());
    return srv_text(r, 200, "application/json", "{}");
}

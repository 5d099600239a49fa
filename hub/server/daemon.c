/* daemon.c - the Hub-compatible server's daemon (libmicrohttpd,
 * thread per connection, at most max_conn connections, loopback by
 * default) and its router: it splits a raw request path into API route,
 * repo id, revision and file path, and calls the handlers of
 * read.c / write.c / lfs.c. A request that carries a
 * body is checked at its headers, before any of the body is read: token,
 * access to the repo, URL signature, and the route's body limit against
 * Content-Length (docs/HUB.md "Limits"); a refused one is answered there. */
#include "hub/server/server_internal.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void srv_conn_free(srv_conn *cx)
{
    if (!cx)
        return;
    hx_buf_free(&cx->body);
    srv_commit_in_free(cx->cm);
    if (cx->fd >= 0)
        close(cx->fd);
    if (cx->tmp) {
        unlink(cx->tmp);
        free(cx->tmp);
    }
    if (cx->mp_writer)
        srv_mp_abandon(cx);
    if (cx->hashing)
        hx_hasher_abort(&cx->h);
    free(cx->g.buf);
    free(cx);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    srv_conn_free(*con_cls);
    *con_cls = NULL;
}

/* Count connections; say when the cap is reached (connections beyond it
 * wait in the listen queue until one closes). */
static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_ctx,
                        enum MHD_ConnectionNotificationCode code)
{
    (void)c, (void)socket_ctx;
    hub_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        unsigned n = atomic_fetch_add(&s->nconn, 1) + 1;
        if (n >= s->max_conn)
            hx_info("connection limit reached (%u connections): new connections wait until one closes", n);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        atomic_fetch_sub(&s->nconn, 1);
    }
}

/* Keep the URL raw: we decode each component ourselves so that %2F in a
 * revision or tree path is not confused with a separator. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls, (void)c;
    return strlen(s);
}

static const char *type_from_plural(const char *seg)
{
    if (!strcmp(seg, "models"))
        return "model";
    if (!strcmp(seg, "datasets"))
        return "dataset";
    if (!strcmp(seg, "spaces"))
        return "space";
    return NULL;
}

static int is_marker(const char *s)
{
    static const char *m[] = {"revision", "tree", "paths-info", "refs", "commits", "preupload", "commit",
                              "branch", "tag", "settings", "xet-read-token", "xet-write-token", NULL};
    for (int i = 0; m[i]; i++)
        if (!strcmp(s, m[i]))
            return 1;
    return 0;
}

/* Split "a/b/c" into segments (in place). */
static size_t split(char *p, char **seg, size_t max)
{
    size_t n = 0;
    while (*p && n < max) {
        seg[n++] = p;
        char *s = strchr(p, '/');
        if (!s)
            break;
        *s = 0;
        p = s + 1;
    }
    return n;
}

/* Join seg[from..n) with '/' (raw) into a new string. */
static char *join(char **seg, size_t from, size_t n)
{
    size_t len = 1;
    for (size_t i = from; i < n; i++)
        len += strlen(seg[i]) + 1;
    char *o = hx_malloc(len), *w = o;
    *w = 0;
    for (size_t i = from; i < n; i++) {
        if (i > from)
            *w++ = '/';
        size_t l = strlen(seg[i]);
        memcpy(w, seg[i], l);
        w += l;
        *w = 0;
    }
    return o;
}

static char *dec(const char *s)
{
    char *d = hx_strdup(s);
    if (!hub_urldecode(d)) {
        free(d);
        return NULL;
    }
    return d;
}

/* segments [from, n) joined and percent-decoded (NULL: a bad escape) */
static char *dec_tail(char **seg, size_t from, size_t n)
{
    char *j = join(seg, from, n);
    char *d = dec(j);
    free(j);
    return d;
}

static int is_method(const srv_req *r, const char *m) { return !strcmp(r->method, m); }

static enum MHD_Result route_api_repo(srv_req *r, const char *type, char **seg, size_t n)
{
    /* seg: repo segments then marker and rest. Prefer a 2-segment id. */
    size_t idn;
    if (n >= 2 && (n == 2 || is_marker(seg[2])))
        idn = 2;
    else if (n >= 1 && (n == 1 || is_marker(seg[1])))
        idn = 1;
    else
        return srv_err(r, 404, NULL, "Sorry, we can't find the page you are looking for.");
    char *repo = join(seg, 0, idn);
    enum MHD_Result ret;
    char *rev = NULL, *rest = NULL;
    if (n == idn) {
        if (is_method(r, "GET") || is_method(r, "HEAD"))
            ret = srv_h_repo_info(r, type, repo, NULL);
        else
            ret = srv_err(r, 405, NULL, "method not allowed");
        goto out;
    }
    const char *mk = seg[idn];
    if (n > idn + 1)
        rev = dec(seg[idn + 1]);
    if (n > idn + 1 && !rev) {
        ret = srv_err(r, 400, NULL, "malformed percent-encoding in revision");
        goto out;
    }
    if (!strcmp(mk, "refs")) {
        ret = srv_h_refs(r, type, repo);
    } else if (!strcmp(mk, "settings")) {
        ret = srv_h_settings(r, type, repo);
    } else if (!rev) {
        ret = srv_err(r, 404, NULL, "missing revision in %s route", mk);
    } else if (!strcmp(mk, "revision")) {
        /* revision may itself contain raw slashes (refs/pr/1) */
        char *d = dec_tail(seg, idn + 1, n);
        ret = d ? srv_h_repo_info(r, type, repo, d) : srv_err(r, 400, NULL, "bad revision");
        free(d);
    } else if (!strcmp(mk, "tree")) {
        rest = n > idn + 2 ? join(seg, idn + 2, n) : hx_strdup("");
        char *d = dec(rest);
        ret = d ? srv_h_tree(r, type, repo, rev, d) : srv_err(r, 400, NULL, "bad path");
        free(d);
    } else if (!strcmp(mk, "paths-info")) {
        ret = srv_h_paths_info(r, type, repo, rev);
    } else if (!strcmp(mk, "commits")) {
        ret = srv_h_commits(r, type, repo, rev);
    } else if (!strcmp(mk, "preupload")) {
        ret = srv_h_preupload(r, type, repo, rev);
    } else if (!strcmp(mk, "commit")) {
        ret = srv_h_commit(r, type, repo, rev);
    } else if (!strcmp(mk, "branch")) {
        char *d = dec_tail(seg, idn + 1, n);
        ret = d ? srv_h_branch(r, type, repo, d) : srv_err(r, 400, NULL, "bad branch");
        free(d);
    } else if (!strcmp(mk, "tag")) {
        char *d = dec_tail(seg, idn + 1, n);
        ret = d ? srv_h_tag(r, type, repo, d) : srv_err(r, 400, NULL, "bad tag");
        free(d);
    } else {
        ret = srv_err(r, 404, NULL, "Xet is not supported by this server");
    }
out:
    free(rev);
    free(rest);
    free(repo);
    return ret;
}

static enum MHD_Result route(srv_req *r)
{
    /* an origin-form target starts with '/'; "GET ?a" leaves an empty path
     * (reading r->path + 1 would run past it) */
    if (r->path[0] != '/')
        return srv_err(r, 400, NULL, "the request target must be an absolute path");
    char *p = hx_strdup(r->path + 1);
    char *seg[1024];
    size_t n = split(p, seg, 1024);
    enum MHD_Result ret;
    if (n >= 1 && !strcmp(seg[0], "api")) {
        if (n == 2 && !strcmp(seg[1], "whoami-v2"))
            ret = srv_h_whoami(r);
        else if (n == 2 && !strcmp(seg[1], "agent-harnesses"))
            ret = srv_text(r, 200, "application/json", "{\"standardEnvVars\":[],\"harnesses\":{}}");
        else if (n == 2 && !strcmp(seg[1], "validate-yaml"))
            ret = srv_h_validate_yaml(r);
        else if (n == 3 && !strcmp(seg[1], "repos") && !strcmp(seg[2], "create") && is_method(r, "POST"))
            ret = srv_h_create_repo(r);
        else if (n == 3 && !strcmp(seg[1], "repos") && !strcmp(seg[2], "delete") && is_method(r, "DELETE"))
            ret = srv_h_delete_repo(r);
        else if (n >= 3 && type_from_plural(seg[1]))
            ret = route_api_repo(r, type_from_plural(seg[1]), seg + 2, n - 2);
        else
            ret = srv_err(r, 404, NULL, "Sorry, we can't find the page you are looking for.");
        free(p);
        return ret;
    }
    if (n >= 3 && !strcmp(seg[0], "_lfs")) {
        char *oid = seg[2];
        if (!hx_is_hex(oid, 64))
            ret = srv_err(r, 400, NULL, "bad object id");
        else if (!strcmp(seg[1], "objects") && n == 3)
            ret = srv_h_lfs_object(r, oid);
        else if ((!strcmp(seg[1], "upload") && n == 3) || (!strcmp(seg[1], "part") && n == 4))
            ret = srv_lfs_upload_end(r);
        else if (!strcmp(seg[1], "complete") && n == 3)
            ret = srv_h_lfs_complete(r, oid);
        else if (!strcmp(seg[1], "verify") && n == 3)
            ret = srv_h_lfs_verify(r, oid);
        else
            ret = srv_err(r, 404, NULL, "no such LFS route");
        free(p);
        return ret;
    }
    /* web routes: [datasets/|spaces/]repo/(resolve|raw)/rev/path, repo.git/info/lfs/objects/batch */
    const char *type = "model";
    size_t off = 0;
    if (n >= 1 && (!strcmp(seg[0], "datasets") || !strcmp(seg[0], "spaces"))) {
        type = type_from_plural(seg[0]);
        off = 1;
    }
    size_t m = n - off;
    char **s = seg + off;
    for (size_t idn = 1; idn <= 2 && idn < m; idn++) {
        if ((!strcmp(s[idn], "resolve") || !strcmp(s[idn], "raw")) && m >= idn + 3) {
            char *repo = join(s, 0, idn);
            char *rev = dec(s[idn + 1]);
            char *rp = join(s, idn + 2, m);
            char *path = dec(rp);
            free(rp);
            if (!rev || !path)
                ret = srv_err(r, 400, NULL, "malformed percent-encoding");
            else
                ret = srv_h_resolve(r, type, repo, rev, path, !strcmp(s[idn], "raw"));
            free(repo);
            free(rev);
            free(path);
            free(p);
            return ret;
        }
    }
    if (m >= 5 && !strcmp(s[m - 1], "batch") && !strcmp(s[m - 2], "objects") && !strcmp(s[m - 3], "lfs") &&
        !strcmp(s[m - 4], "info") && m - 4 >= 1 && m - 4 <= 2) {
        char *repo = join(s, 0, m - 4);
        size_t rl = strlen(repo);
        if (rl > 4 && !strcmp(repo + rl - 4, ".git")) {
            repo[rl - 4] = 0;
            ret = srv_h_lfs_batch(r, type, repo);
        } else {
            ret = srv_err(r, 404, NULL, "not an LFS route");
        }
        free(repo);
        free(p);
        return ret;
    }
    free(p);
    return srv_err(r, 404, NULL, "Sorry, we can't find the page you are looking for.");
}

/* ---- the headers stage ---- */

static void set_base(srv_req *r)
{
    const char *host = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "Host");
    if (host && strlen(host) < 256 && !strpbrk(host, "/ \t\r\n@"))
        r->base = hx_asprintf("http://%s", host);
    else
        r->base = hx_asprintf("http://127.0.0.1:%d", r->srv->port);
}

static enum MHD_Result answer_bad_token(srv_req *r)
{
    static const char body[] = "{\"error\":\"Invalid credentials in Authorization header\"}";
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "X-Error-Message", "Invalid credentials in Authorization header");
    MHD_add_response_header(resp, "Content-Type", "application/json");
    return srv_send(r, 401, resp);
}

/* The access check at the headers of a request to repo TYPE/ID: write
 * (1), or may see it at all (SRV_READ_META). 0 and the answer queued if
 * not. */
static int early_repo_ok(srv_req *r, const char *type, const char *id, int write)
{
    enum MHD_Result ret;
    return srv_check_repo(r, type, id, write, &ret);
}

/* Where a request with a body goes and what it may carry; 0 when it was
 * answered here (refused). Sets cx->kind and cx->max. */
static int classify(srv_req *r, srv_conn *cx)
{
    cx->kind = BODY_MEM;
    cx->max = SRV_BODY_DEFAULT;
    const char *m = r->method;
    int post = !strcmp(m, "POST"), put = !strcmp(m, "PUT");
    if (r->path[0] != '/')
        return 1; /* route() answers 400 */
    char *p = hx_strdup(r->path + 1);
    char *seg[64];
    size_t n = split(p, seg, 64);
    int ok = 1;
    if (n >= 3 && !strcmp(seg[0], "_lfs")) {
        const char *oid = seg[2];
        if (put && !strcmp(seg[1], "upload") && n == 3) {
            cx->kind = BODY_LFS_PUT;
            ok = srv_lfs_upload_begin(r, "upload", oid, 0);
        } else if (put && !strcmp(seg[1], "part") && n == 4) {
            cx->kind = BODY_LFS_PART;
            uint64_t part = 0;
            srv_parse_u64(seg[3], SRV_MP_MAX_PARTS, &part); /* 0: refused as a bad part number */
            ok = srv_lfs_upload_begin(r, "part", oid, (int)part);
        } else if (hx_is_hex(oid, 64) && n == 3 && (!strcmp(seg[1], "complete") || !strcmp(seg[1], "verify"))) {
            cx->max = SRV_BODY_SMALL;
            const char *why = srv_sig_verify(r, !strcmp(seg[1], "verify") ? "verify" : "mp", oid, NULL, NULL);
            if (why) {
                srv_err(r, 403, NULL, "LFS %s of %s refused: %s", seg[1], oid, why);
                ok = 0;
            }
        }
        if (!ok && cx->upload_err) /* queued by srv_lfs_upload_begin's failure */
            srv_err(r, cx->upload_err, NULL, "%s", cx->upload_msg);
    } else if (n >= 1 && !strcmp(seg[0], "api")) {
        if (n == 3 && !strcmp(seg[1], "repos")) {
            cx->max = SRV_BODY_SMALL;
            if (r->anon && !r->srv->open_mode) {
                srv_err(r, 401, NULL, "You must be authenticated to %s a repo",
                        !strcmp(seg[2], "delete") ? "delete" : "create");
                ok = 0;
            }
        } else if (n >= 4 && type_from_plural(seg[1])) {
            /* api/{type}s/{repo: 1 or 2 segments}/{marker}/... */
            char **rs = seg + 2;
            size_t rn = n - 2, idn = 0;
            if (rn >= 3 && is_marker(rs[2]))
                idn = 2;
            else if (rn >= 2 && is_marker(rs[1]))
                idn = 1;
            if (idn) {
                const char *type = type_from_plural(seg[1]), *mk = rs[idn];
                char *repo = join(rs, 0, idn);
                int write = !strcmp(mk, "commit") || !strcmp(mk, "preupload") || !strcmp(mk, "settings") ||
                            !strcmp(mk, "branch") || !strcmp(mk, "tag");
                if (!strcmp(mk, "preupload"))
                    cx->max = SRV_BODY_PREUPLOAD;
                else if (!strcmp(mk, "paths-info"))
                    cx->max = SRV_BODY_PATHS;
                else if (write)
                    cx->max = SRV_BODY_SMALL;
                ok = early_repo_ok(r, type, repo, write ? 1 : SRV_READ_META);
                if (ok && post && !strcmp(mk, "commit") && srv_query_bool(r, "create_pr")) {
                    /* refused before any line is parsed (a streamed commit
                     * stores its files' blobs as they arrive) */
                    srv_err(r, 400, NULL, "pull requests are not supported by hxzoo serve");
                    ok = 0;
                } else if (ok && post && !strcmp(mk, "commit")) {
                    const char *ct = srv_header(r, "Content-Type");
                    if (!ct || strstr(ct, "ndjson") || !strstr(ct, "json")) {
                        cx->kind = BODY_COMMIT; /* parsed line by line as it arrives */
                        srv_commit_in_begin(r);
                    } else {
                        cx->max = SRV_COMMIT_LINE; /* a legacy JSON commit is one document */
                    }
                }
                free(repo);
            }
        }
    } else if (post) {
        /* [datasets/|spaces/]repo.git/info/lfs/objects/batch */
        size_t off = n >= 1 && (!strcmp(seg[0], "datasets") || !strcmp(seg[0], "spaces")) ? 1 : 0;
        char **s2 = seg + off;
        size_t k = n - off;
        if (k >= 5 && k <= 6 && !strcmp(s2[k - 1], "batch") && !strcmp(s2[k - 2], "objects") &&
            !strcmp(s2[k - 3], "lfs") && !strcmp(s2[k - 4], "info")) {
            cx->max = SRV_BODY_SMALL;
            char *repo = join(s2, 0, k - 4);
            size_t rl = strlen(repo);
            if (rl > 4 && !strcmp(repo + rl - 4, ".git")) {
                repo[rl - 4] = 0;
                ok = early_repo_ok(r, off ? type_from_plural(seg[0]) : "model", repo, SRV_READ_META);
            }
            free(repo);
        }
    }
    free(p);
    if (!ok)
        return 0;
    /* a body longer than the route takes is refused before it is read */
    const char *cl = srv_header(r, "Content-Length");
    uint64_t len = 0;
    if (cx->kind == BODY_MEM && cl && srv_parse_u64(cl, UINT64_MAX / 2, &len) && len > cx->max) {
        srv_err(r, 413, NULL, "request body of %" PRIu64 " bytes is larger than the %zu bytes %s takes", len,
                cx->max, r->path);
        return 0;
    }
    return 1;
}

/* The first call of a request (its headers): faults, then the checks. */
static void begin_request(srv_req *r, srv_conn *cx)
{
    hub_server *s = r->srv;
    srv_faults *f = &s->f;
    unsigned long nr = atomic_fetch_add(&f->nreq, 1) + 1;
    if (srv_fault_hit(f, nr, f->every_429))
        cx->fault = 429, srv_fault_fired("429");
    else if (srv_fault_hit(f, nr, f->every_500))
        cx->fault = 500, srv_fault_fired("500");
    if (f->slow_every && nr % (unsigned long)f->slow_every == 0) {
        srv_fault_fired("slow");
        usleep((useconds_t)f->slow_ms * 1000);
    }
    int lfs_up = !strcmp(r->method, "PUT") &&
                 (!strncmp(r->path, "/_lfs/upload/", 13) || !strncmp(r->path, "/_lfs/part/", 11));
    if (lfs_up && srv_fault_hit(f, atomic_fetch_add(&f->nup, 1) + 1, f->dropup_every))
        cx->drop_up = 1, srv_fault_fired("dropup");
    /* nothing is done for a faulted request, GET and HEAD take no body */
    if (cx->fault || !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD")) {
        cx->kind = BODY_DISCARD;
        return;
    }
    srv_identify(r);
    set_base(r);
    int ok;
    if (r->bad_token) {
        answer_bad_token(r);
        ok = 0;
    } else {
        ok = classify(r, cx);
    }
    free(r->base);
    r->base = NULL;
    if (!ok) {
        /* answered: MHD sends it without reading the body (and without
         * "100 Continue" to a client that waits for one), then closes */
        cx->answered = 1;
        if (cx->kind == BODY_COMMIT) {
            srv_commit_in_free(cx->cm);
            cx->cm = NULL;
        }
        cx->kind = BODY_DISCARD;
    }
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_data_size,
                               void **con_cls)
{
    (void)version;
    hub_server *s = cls;
    srv_req r = {.srv = s, .c = c, .method = method};
    srv_conn *cx = *con_cls;
    char *path = hx_strdup(url);
    char *q = strchr(path, '?');
    /* MHD strips the query from url; rebuild it from the raw request line is
     * not possible, so srv_query uses MHD's argument table instead. */
    if (q)
        *q = 0;
    r.path = path;
    r.query = "";
    if (!cx) {
        cx = hx_calloc(1, sizeof *cx);
        cx->fd = -1;
        *con_cls = cx;
        r.cx = cx;
        begin_request(&r, cx);
        free(path);
        return MHD_YES;
    }
    r.cx = cx;
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (cx->drop_up && cx->seen + n > s->f.dropup_after) {
            free(path);
            return MHD_NO; /* fault: drop the connection mid-upload */
        }
        cx->seen += n;
        if (cx->kind == BODY_MEM) {
            if (cx->too_big || cx->body.len + n > cx->max) {
                cx->too_big = 1; /* counted to the end, not kept */
                hx_buf_free(&cx->body);
            } else {
                cx->body.limit = cx->max + 1;
                hx_buf_put(&cx->body, upload_data, n);
            }
        } else if (cx->kind == BODY_COMMIT) {
            srv_commit_in_data(&r, upload_data, n);
        } else if (cx->kind == BODY_LFS_PUT || cx->kind == BODY_LFS_PART) {
            srv_lfs_upload_data(&r, upload_data, n);
        }
        free(path);
        return MHD_YES;
    }
    /* Final call: answer (unless that was done at the headers). */
    if (cx->answered) {
        free(path);
        return MHD_YES;
    }
    srv_identify(&r);
    set_base(&r);
    enum MHD_Result ret;
    if (cx->fault == 429) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Retry-After", "1");
        MHD_add_response_header(resp, "RateLimit", "\"api\";r=0;t=1");
        MHD_add_response_header(resp, "RateLimit-Policy", "\"fixed window\";\"api\";q=1000;w=300");
        MHD_add_response_header(resp, "X-Error-Message", "Too many requests (injected fault)");
        ret = srv_send(&r, 429, resp);
    } else if (cx->fault == 500) {
        ret = srv_err(&r, 500, NULL, "Internal Error (injected fault)");
    } else if (r.bad_token) {
        ret = answer_bad_token(&r);
    } else if (cx->kind == BODY_MEM && cx->too_big) {
        ret = srv_err(&r, 413, NULL, "request body larger than the %zu bytes %s takes", cx->max, r.path);
    } else {
        ret = route(&r);
    }
    free(r.base);
    free(path);
    return ret;
}

/* The connection cap: opts, else $HXZOO_SERVE_MAX_CONNECTIONS, else the
 * default. */
static hx_status max_connections(const hub_server_opts *o, unsigned *out)
{
    *out = SRV_MAX_CONNECTIONS;
    if (o->max_connections) {
        *out = o->max_connections;
    } else {
        const char *e = getenv("HXZOO_SERVE_MAX_CONNECTIONS");
        uint64_t v;
        if (e && *e) {
            if (!srv_parse_u64(e, 65536, &v) || v < 1)
                return HX_FAIL(HX_EINVAL, "HXZOO_SERVE_MAX_CONNECTIONS must be a number from 1 to 65536, got '%.40s'",
                               e);
            *out = (unsigned)v;
        }
    }
    if (*out < 1 || *out > 65536)
        return HX_FAIL(HX_EINVAL, "max_connections must be from 1 to 65536, got %u", *out);
    return HX_OK;
}

hx_status hub_server_start(const hub_server_opts *o, hub_server **out)
{
    hub_server *s = hx_calloc(1, sizeof *s);
    hx_status st = store_open(&s->st, o->root);
    if (st) {
        free(s);
        return st;
    }
    s->mp_chunk = o->multipart_chunk ? o->multipart_chunk : (uint64_t)64 << 20;
    pthread_mutex_init(&s->mp_mu, NULL);
    pthread_cond_init(&s->mp_cv, NULL);
    const char *fs = o->faults ? o->faults : getenv(srv_fault_env);
    if ((st = srv_faults_parse(&s->f, fs)))
        goto fail;
    if ((st = max_connections(o, &s->max_conn)))
        goto fail;
    if (o->tokens_file) {
        if ((st = srv_tokens_load(s, o->tokens_file)))
            goto fail;
    } else {
        s->open_mode = 1;
    }
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o->port);
    const char *host = o->host ? o->host : "127.0.0.1";
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        st = HX_FAIL(HX_EINVAL, "bind address must be an IPv4 address, got '%s'", host);
        goto fail;
    }
    s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                (hx_log_level >= 2 ? MHD_USE_ERROR_LOG : 0),
                            (uint16_t)o->port, NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape,
                            NULL, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)1 << 20,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120, MHD_OPTION_CONNECTION_LIMIT,
                            s->max_conn, MHD_OPTION_NOTIFY_CONNECTION, conn_notify, s, MHD_OPTION_END);
    if (!s->d) {
        st = HX_FAIL(HX_EIO, "cannot listen on %s:%d (port in use?)", host, o->port);
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : o->port;
    *out = s;
    return HX_OK;
fail:
    store_close(s->st);
    srv_tokens_free(s);
    pthread_mutex_destroy(&s->mp_mu);
    pthread_cond_destroy(&s->mp_cv);
    free(s);
    return st;
}

int hub_server_port(const hub_server *s) { return s->port; }

unsigned hub_server_connections(const hub_server *s)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return di ? di->num_connections : 0;
}

void hub_server_stop(hub_server *s)
{
    if (!s)
        return;
    if (s->d)
        MHD_stop_daemon(s->d);
    srv_mp_free_all(s);
    store_close(s->st);
    srv_tokens_free(s);
    pthread_mutex_destroy(&s->mp_mu);
    pthread_cond_destroy(&s->mp_cv);
    free(s);
}

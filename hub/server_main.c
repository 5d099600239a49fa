/* server_main.c - the Hub-compatible server's daemon (libmicrohttpd,
 * thread per connection, loopback by default) and its router: it splits a
 * raw request path into API route, repo id, revision and file path, and
 * calls the handlers of server_read.c / server_write.c / server_lfs.c. */
#include "hub/server_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_JSON_BODY ((size_t)16 << 20)
#define MAX_COMMIT_BODY ((size_t)512 << 20)

void srv_conn_free(srv_conn *cx)
{
    if (!cx)
        return;
    free(cx->body);
    if (cx->fd >= 0)
        close(cx->fd);
    if (cx->tmp) {
        unlink(cx->tmp);
        free(cx->tmp);
    }
    if (cx->mp_writer)
        srv_mp_abandon(cx);
    if (cx->hashing)
        hub_hasher_abort(&cx->h);
    free(cx->g.buf);
    free(cx);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    srv_conn_free(*con_cls);
    *con_cls = NULL;
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
        char *rr = join(seg, idn + 1, n);
        char *d = dec(rr);
        free(rr);
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
        char *rr = join(seg, idn + 1, n);
        char *d = dec(rr);
        free(rr);
        ret = d ? srv_h_branch(r, type, repo, d) : srv_err(r, 400, NULL, "bad branch");
        free(d);
    } else if (!strcmp(mk, "tag")) {
        char *rr = join(seg, idn + 1, n);
        char *d = dec(rr);
        free(rr);
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
            ret = srv_text(r, 200, "application/json", "{\"errors\":[],\"warnings\":[]}");
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
        if (!hub_is_hex(oid, 64))
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
        /* Faults are decided once per request. */
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
        int is_put = !strcmp(method, "PUT");
        if (is_put && !strncmp(path, "/_lfs/upload/", 13)) {
            cx->kind = BODY_LFS_PUT;
            srv_lfs_upload_begin(&r, "upload", path + 13, 0);
        } else if (is_put && !strncmp(path, "/_lfs/part/", 11)) {
            cx->kind = BODY_LFS_PART;
            const char *oid = path + 11;
            const char *sl = strchr(oid, '/');
            char o[65] = "";
            if (sl && sl - oid == 64)
                memcpy(o, oid, 64);
            srv_lfs_upload_begin(&r, "part", o, sl ? atoi(sl + 1) : 0);
        } else {
            cx->kind = BODY_MEM;
            cx->max = strstr(path, "/commit/") ? MAX_COMMIT_BODY : MAX_JSON_BODY;
        }
        if (cx->kind != BODY_MEM && srv_fault_hit(f, atomic_fetch_add(&f->nup, 1) + 1, f->dropup_every))
            cx->drop_up = 1, srv_fault_fired("dropup");
        free(path);
        return MHD_YES;
    }
    r.cx = cx;
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (cx->kind == BODY_MEM) {
            if (cx->len + n > cx->max) {
                cx->too_big = 1;
            } else {
                if (cx->len + n + 1 > cx->cap) {
                    cx->cap = (cx->len + n + 1) * 2;
                    if (cx->cap > cx->max + 1)
                        cx->cap = cx->max + 1;
                    cx->body = hx_realloc(cx->body, cx->cap);
                }
                memcpy(cx->body + cx->len, upload_data, n);
                cx->len += n;
                cx->body[cx->len] = 0;
            }
        } else {
            if (cx->drop_up && cx->got + n > s->f.dropup_after) {
                free(path);
                return MHD_NO; /* fault: drop the connection mid-upload */
            }
            srv_lfs_upload_data(&r, upload_data, n);
        }
        free(path);
        return MHD_YES;
    }
    /* Final call: answer. */
    srv_identify(&r);
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (host && strlen(host) < 256 && !strpbrk(host, "/ \t\r\n@"))
        r.base = hx_asprintf("http://%s", host);
    else
        r.base = hx_asprintf("http://127.0.0.1:%d", s->port);
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
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            strlen("{\"error\":\"Invalid credentials in Authorization header\"}"),
            "{\"error\":\"Invalid credentials in Authorization header\"}", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "X-Error-Message", "Invalid credentials in Authorization header");
        MHD_add_response_header(resp, "Content-Type", "application/json");
        ret = srv_send(&r, 401, resp);
    } else if (cx->kind == BODY_MEM && cx->too_big) {
        ret = srv_err(&r, 413, NULL, "request body larger than %zu bytes", cx->max);
    } else {
        ret = route(&r);
    }
    free(r.base);
    free(path);
    return ret;
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
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120, MHD_OPTION_END);
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

/* respond.c - response helpers of the server: JSON and error answers
 * in the Hub's shape (X-Error-Code / X-Error-Message headers plus a JSON
 * {"error"} body), query parsing, and file bodies with Range support
 * (sendfile through MHD, or a reader callback when a drop/corrupt fault is
 * injected). */
#include "hub/server/server_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum MHD_Result srv_send(srv_req *r, int status, struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                            "X-Repo-Commit,X-Request-Id,X-Error-Code,X-Error-Message,X-Total-Count,ETag,Link,"
                            "Accept-Ranges,Content-Range,X-Linked-Size,X-Linked-ETag");
    enum MHD_Result ret = MHD_queue_response(r->c, (unsigned int)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result srv_text(srv_req *r, int status, const char *ctype, const char *text)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", ctype);
    return srv_send(r, status, resp);
}

enum MHD_Result srv_json(srv_req *r, int status, cJSON *j)
{
    char *txt = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(txt), txt, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    return srv_send(r, status, resp);
}

enum MHD_Result srv_err(srv_req *r, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* header values must be single-line */
    for (char *p = msg; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", msg);
    char *txt = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(txt), txt, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    if (code)
        MHD_add_response_header(resp, "X-Error-Code", code);
    MHD_add_response_header(resp, "X-Error-Message", msg);
    return srv_send(r, status, resp);
}

const char *srv_header(const srv_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, name);
}

struct qctx {
    const char *key;
    char **vals;
    size_t n, max;
};

static enum MHD_Result q_it(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct qctx *q = cls;
    char *k = hx_strdup(key);
    hub_urldecode(k);
    size_t kl = strlen(q->key);
    int match = !strcmp(k, q->key) || (!strncmp(k, q->key, kl) && !strcmp(k + kl, "[]"));
    free(k);
    if (match && q->n < q->max) {
        char *v = hx_strdup(value ? value : "");
        for (char *p = v; *p; p++)
            if (*p == '+')
                *p = ' ';
        if (!hub_urldecode(v))
            v[0] = 0;
        q->vals[q->n++] = v;
    }
    return MHD_YES;
}

size_t srv_query_all(const srv_req *r, const char *key, char **vals, size_t max)
{
    struct qctx q = {key, vals, 0, max};
    MHD_get_connection_values(r->c, MHD_GET_ARGUMENT_KIND, q_it, &q);
    return q.n;
}

char *srv_query(const srv_req *r, const char *key)
{
    char *v[1];
    return srv_query_all(r, key, v, 1) ? v[0] : NULL;
}

int srv_query_bool(const srv_req *r, const char *key)
{
    char *v = srv_query(r, key);
    int b = v && (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcmp(v, ""));
    free(v);
    return b;
}

cJSON *srv_json_parse(const char *txt, size_t len, size_t max_values)
{
    /* every value but the first follows a '[', ',' or ':' outside a
     * string: their count bounds the parse tree before it is built */
    size_t n = 1;
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = txt[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = 0;
        } else if (ch == '"') {
            in_str = 1;
        } else if (ch == '[' || ch == ',' || ch == ':') {
            if (++n > max_values)
                return NULL;
        }
    }
    return cJSON_ParseWithLength(txt, len);
}

cJSON *srv_body_json(srv_req *r)
{
    if (!r->cx->body.data || !r->cx->body.len)
        return NULL;
    return srv_json_parse(r->cx->body.data, r->cx->body.len, SRV_JSON_VALUES);
}

int srv_json_uint(const cJSON *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!cJSON_IsNumber(v))
        return 0;
    double d = v->valuedouble;
    /* the comparisons fail for NaN; 2^53 bounds the exact integers */
    if (!(d >= (double)lo && d <= (double)hi && d <= 9007199254740992.0) || d != floor(d))
        return 0;
    if (out)
        *out = (uint64_t)d;
    return 1;
}

int srv_parse_u64(const char *s, uint64_t hi, uint64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 20 || strspn(s, "0123456789") != n)
        return 0;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno == ERANGE || v > hi)
        return 0;
    *out = v;
    return 1;
}

/* ---- file bodies ---- */

typedef struct faulty_body {
    int fd;
    uint64_t start, len, drop_after;
    int corrupt;
} faulty_body;

static ssize_t faulty_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    faulty_body *b = cls;
    if (pos >= b->len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (b->drop_after != UINT64_MAX && pos >= b->drop_after)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t want = max;
    if (want > b->len - pos)
        want = (size_t)(b->len - pos);
    if (b->drop_after != UINT64_MAX && want > b->drop_after - pos)
        want = (size_t)(b->drop_after - pos);
    ssize_t n = pread(b->fd, buf, want, (off_t)(b->start + pos));
    if (n <= 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (b->corrupt && pos <= b->len / 2 && b->len / 2 < pos + (uint64_t)n)
        buf[b->len / 2 - pos] ^= 0x5a;
    return n;
}

static void faulty_free(void *cls)
{
    faulty_body *b = cls;
    close(b->fd);
    free(b);
}

/* Parse "bytes=a-b" / "bytes=a-" / "bytes=-n". 0 = no/ignored range,
 * 1 = satisfiable (start,len), -1 = unsatisfiable. */
static int parse_range(const char *h, uint64_t size, uint64_t *start, uint64_t *len)
{
    if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 0;
    const char *p = h + 6;
    char *end;
    if (*p == '-') {
        unsigned long long n = strtoull(p + 1, &end, 10);
        if (end == p + 1 || *end)
            return 0;
        if (n == 0)
            return -1;
        if (n > size)
            n = size;
        *start = size - n;
        *len = n;
        return size ? 1 : -1;
    }
    unsigned long long a = strtoull(p, &end, 10);
    if (end == p || *end != '-')
        return 0;
    p = end + 1;
    unsigned long long b;
    if (*p == 0) {
        b = size ? size - 1 : 0;
    } else {
        b = strtoull(p, &end, 10);
        if (*end)
            return 0;
        if (b >= size)
            b = size ? size - 1 : 0;
    }
    if (a >= size || b < a)
        return -1;
    *start = a;
    *len = b - a + 1;
    return 1;
}

enum MHD_Result srv_send_file(srv_req *r, const char *path, uint64_t size, const char *etag, const char *repo_commit,
                              const char *filename)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return srv_err(r, 500, NULL, "stored object is missing");
    uint64_t start = 0, len = size;
    int status = 200;
    int rg = parse_range(srv_header(r, "Range"), size, &start, &len);
    if (rg < 0) {
        close(fd);
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        char cr[64];
        snprintf(cr, sizeof cr, "bytes */%" PRIu64, size);
        MHD_add_response_header(resp, "Content-Range", cr);
        MHD_add_response_header(resp, "X-Error-Message", "Requested range not satisfiable");
        return srv_send(r, 416, resp);
    }
    if (rg > 0)
        status = 206;
    srv_faults *f = &r->srv->f;
    int is_get = !strcmp(r->method, "GET");
    int drop = 0, corrupt = 0;
    if (is_get && (f->drop_every || f->corrupt_every)) {
        unsigned long nb = atomic_fetch_add(&f->nbody, 1) + 1;
        /* drop counts only the bodies it can cut (longer than N), so that
         * every K-th of those is cut whatever order they are asked in */
        drop = f->drop_every && len > f->drop_after &&
               srv_fault_hit(f, atomic_fetch_add(&f->nbig, 1) + 1, f->drop_every);
        if (!drop)
            corrupt = srv_fault_hit(f, nb, f->corrupt_every);
        if (drop || corrupt)
            srv_fault_fired(drop ? "drop" : "corrupt");
    }
    struct MHD_Response *resp;
    if (drop || corrupt) {
        faulty_body *b = hx_calloc(1, sizeof *b);
        b->fd = fd;
        b->start = start;
        b->len = len;
        b->drop_after = drop ? f->drop_after : UINT64_MAX;
        b->corrupt = corrupt;
        resp = MHD_create_response_from_callback(len, 256 * 1024, faulty_read, b, faulty_free);
    } else {
        resp = MHD_create_response_from_fd_at_offset64(len, fd, start);
    }
    if (!resp) {
        close(fd);
        return srv_err(r, 500, NULL, "cannot create response");
    }
    if (status == 206) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start, start + len - 1, size);
        MHD_add_response_header(resp, "Content-Range", cr);
    }
    MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
    if (etag) {
        char *e = hx_asprintf("\"%s\"", etag);
        MHD_add_response_header(resp, "ETag", e);
        free(e);
    }
    if (repo_commit)
        MHD_add_response_header(resp, "X-Repo-Commit", repo_commit);
    if (etag && strlen(etag) == 64) { /* LFS object: repeat the linked metadata */
        char *e = hx_asprintf("\"%s\"", etag);
        char sz[32];
        snprintf(sz, sizeof sz, "%" PRIu64, size);
        MHD_add_response_header(resp, "X-Linked-Etag", e);
        MHD_add_response_header(resp, "X-Linked-Size", sz);
        free(e);
    }
    if (filename) {
        const char *base = strrchr(filename, '/');
        base = base ? base + 1 : filename;
        if (!strpbrk(base, "\"\\\r\n")) {
            char *cd = hx_asprintf("inline; filename=\"%s\";", base);
            MHD_add_response_header(resp, "Content-Disposition", cd);
            free(cd);
        }
    }
    return srv_send(r, status, resp);
}

int srv_load_rev(srv_req *r, const char *type, const char *repo, const char *rev, st_commit *c,
                 enum MHD_Result *ret)
{
    char id[41];
    if (store_resolve(r->srv->st, type, repo, rev, id) != HX_OK) {
        *ret = srv_err(r, 404, "RevisionNotFound", "Invalid rev id: %s", rev);
        return 0;
    }
    if (store_commit_load(r->srv->st, type, repo, id, c) != HX_OK) {
        *ret = srv_err(r, 500, NULL, "commit %s is unreadable", id);
        return 0;
    }
    return 1;
}

int srv_open_rev(srv_req *r, const char *type, const char *repo, const char *rev, int write, st_commit *c,
                 enum MHD_Result *ret)
{
    return srv_check_repo(r, type, repo, write, ret) && srv_load_rev(r, type, repo, rev, c, ret);
}

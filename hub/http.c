/* http.c - the client's HTTP layer over libcurl: one request with TLS
 * verification always on, manual redirect following that sends the token
 * only to the endpoint's origin (never to a redirect target elsewhere),
 * header capture (ETag, X-Linked-*, X-Repo-Commit, X-Error-*, Link,
 * Retry-After, RateLimit), bounded in-memory bodies or a streaming sink
 * (file bytes asked for with Accept-Encoding: identity), retries with
 * backoff on 408/429/5xx and dropped connections (never on other 4xx),
 * redirects that turn a POST into a GET without its body (303, and
 * 301/302 after a POST, like browsers and httpx), and the mapping of Hub
 * errors to hx_status with a clear message. */
#include "hub/client_internal.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *hub_curl_version(void);

CURL *hub_curl_new(hub_client *c)
{
    (void)c;
    CURL *h = curl_easy_init();
    if (!h)
        abort();
    return h;
}

void hub_http_resp_free(hub_http_resp *rs)
{
    free(rs->body);
    free(rs->etag);
    free(rs->linked_etag);
    free(rs->repo_commit);
    free(rs->location);
    free(rs->error_code);
    free(rs->error_msg);
    free(rs->link_next);
    free(rs->content_range);
    memset(rs, 0, sizeof *rs);
}

typedef struct io_ctx {
    hub_client *c;
    const hub_http_req *rq;
    hub_http_resp *rs;
    CURL *h;
    hx_buf body; /* a non-streamed or error body; rs->body/len show it */
    size_t max;
    int is_redirect_hop;
    /* file body */
    uint64_t sent;
} io_ctx;

static char *trim_dup(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return hx_asprintf("%.*s", (int)n, s);
}

static size_t on_header(char *buf, size_t sz, size_t nm, void *ud)
{
    io_ctx *x = ud;
    size_t n = sz * nm;
    hub_http_header(x->rs, buf, n);
    return n;
}

void hub_http_header(hub_http_resp *rs, const char *buf, size_t n)
{
    const char *colon = memchr(buf, ':', n);
    if (!colon)
        return;
    size_t kl = (size_t)(colon - buf);
    const char *v = colon + 1;
    size_t vl = n - kl - 1;
#define HDR(name, field)                                                                                             \
    if (kl == strlen(name) && !strncasecmp(buf, name, kl)) {                                                         \
        free(rs->field);                                                                                             \
        rs->field = trim_dup(v, vl);                                                                                 \
        return;                                                                                                      \
    }
    HDR("ETag", etag)
    HDR("X-Linked-Etag", linked_etag)
    HDR("X-Repo-Commit", repo_commit)
    HDR("Location", location)
    HDR("X-Error-Code", error_code)
    HDR("X-Error-Message", error_msg)
    HDR("Content-Range", content_range)
#undef HDR
    char *val = trim_dup(v, vl);
    if (kl == 13 && !strncasecmp(buf, "X-Linked-Size", 13)) {
        rs->linked_size = strtoll(val, NULL, 10);
    } else if (kl == 14 && !strncasecmp(buf, "Content-Length", 14)) {
        rs->content_length = strtoll(val, NULL, 10);
    } else if (kl == 11 && !strncasecmp(buf, "Retry-After", 11)) {
        char *end;
        double s = strtod(val, &end);
        if (end != val && s >= 0)
            rs->retry_after = s;
    } else if (kl == 9 && !strncasecmp(buf, "RateLimit", 9)) {
        /* "api";r=0;t=12 */
        const char *r = strstr(val, "r=");
        const char *t = strstr(val, "t=");
        if (r && t && strtol(r + 2, NULL, 10) == 0)
            rs->retry_after = (double)strtol(t + 2, NULL, 10);
    } else if (kl == 4 && !strncasecmp(buf, "Link", 4)) {
        /* <url>; rel="next" */
        char *lt = strchr(val, '<'), *gt = lt ? strchr(lt, '>') : NULL;
        if (lt && gt && strstr(gt, "rel=\"next\"")) {
            free(rs->link_next);
            rs->link_next = hx_asprintf("%.*s", (int)(gt - lt - 1), lt + 1);
        }
    }
    free(val);
}

static size_t on_body(char *buf, size_t sz, size_t nm, void *ud)
{
    io_ctx *x = ud;
    size_t n = sz * nm;
    long code = 0;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 300 && code < 400)
        return n; /* redirect notice: ignore */
    if (x->rq->sink && code >= 200 && code < 300) {
        if (x->rq->sink(x->rq->sink_ctx, buf, n)) {
            x->rs->sink_aborted = 1;
            return 0;
        }
        return n;
    }
    size_t max = x->rq->sink ? 65536 : x->max;
    if (x->rs->len + n > max) {
        if (x->rq->sink) /* error body: keep the head */
            return n;
        x->rs->sink_aborted = 2; /* too big */
        return 0;
    }
    hx_buf_put(&x->body, buf, n);
    x->rs->body = x->body.data;
    x->rs->len = x->body.len;
    return n;
}

static size_t on_read(char *buf, size_t sz, size_t nm, void *ud)
{
    io_ctx *x = ud;
    const hub_http_req *rq = x->rq;
    size_t want = sz * nm;
    if (want > rq->body_flen - x->sent)
        want = (size_t)(rq->body_flen - x->sent);
    if (!want)
        return 0;
    ssize_t r = hx_pread_some(rq->body_fd, buf, want, rq->body_off + x->sent);
    if (r <= 0)
        return CURL_READFUNC_ABORT;
    x->sent += (uint64_t)r;
    if (rq->prog_sent && x->sent > *rq->prog_sent) { /* count a replay once */
        hx_progress_file_add(&x->c->prog, rq->prog_slot, x->sent - *rq->prog_sent);
        *rq->prog_sent = x->sent;
    }
    return (size_t)r;
}

/* scheme://host:port of a URL, lowercased, default ports filled in. */
static char *origin_of(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *o = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        for (char *p = host; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        o = hx_asprintf("%s://%s:%s", scheme, host, port);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return o;
}

/* A redirect's Location (absolute or relative) joined to the URL it
 * answered: the URL to follow. */
static char *join_location(const char *base, const char *loc)
{
    CURLU *u = curl_url();
    char *out = NULL, *res = NULL;
    if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, loc, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK) {
        res = hx_strdup(out);
    }
    curl_free(out);
    curl_url_cleanup(u);
    if (res && strncmp(res, "http://", 7) && strncmp(res, "https://", 8)) {
        free(res);
        res = NULL;
    }
    return res;
}

static hx_status once(hub_client *c, CURL *h, const hub_http_req *rq, const char *url, int with_auth,
                      hub_http_resp *rs)
{
    curl_easy_reset(h);
    io_ctx x = {.c = c, .rq = rq, .rs = rs, .h = h, .max = rq->max_resp ? rq->max_resp : ((size_t)64 << 20)};
    struct curl_slist *hdrs = NULL;
    char *auth = NULL, *ua = hx_asprintf("hxzoo/0.1.0; libcurl/%s", hub_curl_version());
    if (with_auth && c->token) {
        auth = hx_asprintf("Authorization: Bearer %s", c->token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    char *ct = NULL, *ac = NULL;
    if (rq->content_type) {
        ct = hx_asprintf("Content-Type: %s", rq->content_type);
        hdrs = curl_slist_append(hdrs, ct);
    }
    if (rq->accept) {
        ac = hx_asprintf("Accept: %s", rq->accept);
        hdrs = curl_slist_append(hdrs, ac);
    }
    /* file bytes (ranges above all) must arrive as stored: offsets, sizes
     * and hashes are of the identity encoding */
    if (rq->range || rq->sink)
        hdrs = curl_slist_append(hdrs, "Accept-Encoding: identity");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, ua);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->stall_timeout);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    /* 2 MiB receive buffer: fewer recv/pwrite calls and callbacks per byte */
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 2L * 1024 * 1024);
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (rq->range)
        curl_easy_setopt(h, CURLOPT_RANGE, rq->range + (strncmp(rq->range, "bytes=", 6) ? 0 : 6));
    const char *m = rq->method ? rq->method : "GET";
    if (!strcmp(m, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (rq->body_file) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &x);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_flen);
        if (strcmp(m, "PUT"))
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    } else if (rq->body || !strcmp(m, "POST")) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        if (strcmp(m, "POST"))
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    } else if (strcmp(m, "GET")) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    }
    CURLcode cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
    curl_slist_free_all(hdrs);
    if (auth) {
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    free(ua);
    free(ct);
    free(ac);
    if (cc != CURLE_OK) {
        if (rs->sink_aborted == 2)
            return HX_FAIL(HX_EFORMAT, "answer from %s is larger than %zu bytes", url, x.max);
        if (rs->sink_aborted == 1)
            return HX_EIO; /* the sink set the error */
        rs->transport_error = 1;
        snprintf(rs->curl_msg, sizeof rs->curl_msg, "%s", curl_easy_strerror(cc));
        return HX_FAIL(HX_ENET, "%s %s: %s", m, url, rs->curl_msg);
    }
    return HX_OK;
}

/* Only what may succeed when asked again: a 4xx other than 408/429 (403
 * storage limit, 401, 404, 413, 422 ...) is the same answer next time. */
int hub_http_retryable(const hub_http_resp *rs)
{
    if (rs->transport_error)
        return 1;
    long s = rs->status;
    return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

void hub_http_backoff(hub_client *c, int attempt, const hub_http_resp *rs)
{
    double w = c->retry_base * (double)(1 << (attempt < 3 ? attempt : 3));
    if (rs && rs->retry_after >= 0 && rs->status == 429)
        w = rs->retry_after > 0 ? rs->retry_after : w;
    else if (rs && rs->retry_after > 0)
        w = rs->retry_after;
    if (w > 60)
        w = 60;
    struct timespec ts = {(time_t)w, (long)((w - (double)(time_t)w) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The request to send to a redirect's target: GET without the body after
 * a 303 (any method but HEAD), or after a 301/302 answering a POST (what
 * browsers, curl and httpx do); other redirects repeat the request. */
static void redirect_method(hub_http_req *rq, long status)
{
    const char *m = rq->method ? rq->method : "GET";
    if ((status == 303 && strcmp(m, "HEAD") && strcmp(m, "GET")) ||
        ((status == 301 || status == 302) && !strcmp(m, "POST"))) {
        rq->method = "GET";
        rq->body = NULL;
        rq->body_len = 0;
        rq->body_file = 0;
        rq->content_type = NULL;
    }
}

hx_status hub_http(hub_client *c, CURL *h, const hub_http_req *rq0, hub_http_resp *rs)
{
    if (c->offline)
        return HX_FAIL(HX_ENET, "offline mode (HF_HUB_OFFLINE) forbids %s %s", rq0->method ? rq0->method : "GET",
                       rq0->url);
    char *ep_origin = origin_of(c->endpoint);
    hx_status st = HX_OK;
    for (int attempt = 0;; attempt++) {
        hub_http_req rq = *rq0; /* a retry starts over with the original request */
        char *url = hx_strdup(rq.url);
        int hops = 0;
        for (;;) {
            hub_http_resp_free(rs);
            rs->retry_after = -1;
            char *o = origin_of(url);
            int with_auth = o && ep_origin && !strcmp(o, ep_origin);
            free(o);
            st = once(c, h, &rq, url, with_auth, rs);
            if (st || !rq.follow || rs->status < 300 || rs->status >= 400 || rs->status == 304 || !rs->location)
                break;
            if (++hops > 10) {
                st = HX_FAIL(HX_ENET, "too many redirects from %s", rq.url);
                break;
            }
            char *next = join_location(url, rs->location);
            if (!next) {
                st = HX_FAIL(HX_ENET, "bad redirect from %s", url);
                break;
            }
            free(url);
            url = next;
            redirect_method(&rq, rs->status);
        }
        free(url);
        if (!rq.retry || attempt >= c->max_retries || rs->sink_aborted)
            break;
        if (st == HX_OK && !hub_http_retryable(rs))
            break;
        if (st != HX_OK && !rs->transport_error)
            break;
        hx_debug("retrying %s (attempt %d): %s", rq.url, attempt + 1,
                 rs->transport_error ? rs->curl_msg : "server busy");
        hub_http_backoff(c, attempt, rs);
    }
    free(ep_origin);
    return st;
}

hx_status hub_http_error(const hub_http_resp *rs, const char *what)
{
    char detail[320] = "";
    if (rs->error_msg)
        snprintf(detail, sizeof detail, "%.300s", rs->error_msg);
    else if (rs->body && rs->len) {
        cJSON *j = cJSON_ParseWithLength(rs->body, rs->len);
        const char *e = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "error")) : NULL;
        if (e)
            snprintf(detail, sizeof detail, "%.300s", e);
        cJSON_Delete(j);
    }
    for (char *p = detail; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    const char *code = rs->error_code ? rs->error_code : "";
    long s = rs->status;
    if (!strcmp(code, "RepoNotFound"))
        return HX_FAIL(HX_ENOTFOUND, "%s: repository not found (or private and not visible with this token)%s%s",
                       what, s == 401 ? "; no or invalid token" : "", "");
    if (!strcmp(code, "RevisionNotFound"))
        return HX_FAIL(HX_ENOTFOUND, "%s: revision not found (%s)", what, detail);
    if (!strcmp(code, "EntryNotFound"))
        return HX_FAIL(HX_ENOTFOUND, "%s: file not found in this revision", what);
    if (!strcmp(code, "GatedRepo"))
        return HX_FAIL(HX_EAUTH, "%s: gated repository: %s", what,
                       s == 401 ? "log in (HF_TOKEN) and request access" : "this token has not been granted access");
    if (s == 401)
        return HX_FAIL(HX_EAUTH, "%s: unauthorized (HTTP 401)%s%s", what, *detail ? ": " : "", detail);
    if (s == 403)
        return HX_FAIL(HX_EAUTH, "%s: forbidden (HTTP 403)%s%s", what, *detail ? ": " : "", detail);
    if (s == 404)
        return HX_FAIL(HX_ENOTFOUND, "%s: not found (HTTP 404)%s%s", what, *detail ? ": " : "", detail);
    if (s == 0)
        return HX_FAIL(HX_ENET, "%s: no answer%s%s", what, rs->curl_msg[0] ? ": " : "", rs->curl_msg);
    return HX_FAIL(HX_ENET, "%s: HTTP %ld%s%s", what, s, *detail ? ": " : "", detail);
}

char *hub_repo_api(hub_client *c, const char *repo) { return hx_asprintf("%s/api/models/%s", c->endpoint, repo); }

hx_status hub_api_json(hub_client *c, CURL *h, const char *method, const char *url, const char *ctype,
                       const char *body, size_t blen, int retry, long *status, cJSON **out, const char *what)
{
    hub_http_req rq = {.method = method, .url = url, .content_type = ctype, .body = body, .body_len = blen,
                       .retry = retry, .follow = 1, .max_resp = (size_t)64 << 20};
    hub_http_resp rs = {0};
    *out = NULL;
    hx_status st = hub_http(c, h, &rq, &rs);
    if (status)
        *status = rs.status;
    if (st) {
        hx_preerr("%s", what);
        hub_http_resp_free(&rs);
        return st;
    }
    if (rs.status < 200 || rs.status >= 300) {
        if (status && (rs.status == 409 || rs.status == 412)) {
            *out = rs.body ? cJSON_ParseWithLength(rs.body, rs.len) : NULL;
            hub_http_resp_free(&rs);
            return HX_OK; /* caller inspects the status */
        }
        st = hub_http_error(&rs, what);
        hub_http_resp_free(&rs);
        return st;
    }
    *out = rs.body ? cJSON_ParseWithLength(rs.body, rs.len) : cJSON_CreateObject();
    if (!*out) {
        hub_http_resp_free(&rs);
        return HX_FAIL(HX_EFORMAT, "%s: the server's answer is not valid JSON", what);
    }
    hub_http_resp_free(&rs);
    return HX_OK;
}

/* lfs.c - the server's LFS side: the batch endpoint (basic or
 * multipart actions with self-authenticating URLs signed by HMAC, since
 * clients send no Authorization on PUT/parts/completion), streamed PUT of
 * whole objects and of parts (written in place into one file, in aligned
 * pieces; parts are hashed in order by multipart.c), multipart completion,
 * verify. Objects enter the store only after their SHA-256 and
 * size check out. */
#include "hub/server/server_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* uploads are written in pieces of this size aligned to object offsets
 * (hx_gather; see WRITE_BLOCK in download.c for why this size) */
#define UP_BLOCK ((uint64_t)256 << 10)

/* The signed message: every field on its own line, so that no two
 * different field lists give the same text (a repo id, an oid and the
 * numbers cannot contain a newline). */
static char *sig_message(const char *op, const char *repo, const char *oid, uint64_t size, uint64_t chunk,
                         uint64_t exp)
{
    return hx_asprintf("hxzoo-lfs-v2\n%s\n%s\n%s\n%" PRIu64 "\n%" PRIu64 "\n%" PRIu64, op, repo, oid, size, chunk,
                       exp);
}

static uint64_t sig_expiry(void) { return (uint64_t)time(NULL) + SRV_URL_TTL; }

char *srv_sign_query(hub_server *s, const char *op, const char *type, const char *repo, const char *oid,
                     uint64_t size, uint64_t chunk)
{
    uint64_t exp = sig_expiry();
    char *rp = hx_asprintf("%s/%s", type, repo);
    char *msg = sig_message(op, rp, oid, size, chunk, exp);
    char sig[65];
    hub_hmac_hex(store_secret(s->st), msg, sig);
    char *enc = hub_urlencode(rp, 0);
    char *q = hx_asprintf("repo=%s&size=%" PRIu64 "&chunk=%" PRIu64 "&exp=%" PRIu64 "&sig=%s", enc, size, chunk, exp,
                          sig);
    free(enc);
    free(msg);
    free(rp);
    return q;
}

const char *srv_sig_verify(srv_req *r, const char *op, const char *oid, uint64_t *size, uint64_t *chunk)
{
    char *sig = srv_query(r, "sig"), *ss = srv_query(r, "size"), *cs = srv_query(r, "chunk");
    char *es = srv_query(r, "exp"), *rp = srv_query(r, "repo");
    uint64_t sz = 0, ch = 0, exp = 0, now = (uint64_t)time(NULL);
    const char *why = NULL;
    if (!sig || !es)
        why = "missing signature (sig and exp)";
    else if (strlen(sig) != 64 || (ss && !srv_parse_u64(ss, SRV_LFS_MAX_SIZE, &sz)) ||
             (cs && !srv_parse_u64(cs, SRV_LFS_MAX_SIZE, &ch)) || !srv_parse_u64(es, UINT64_MAX / 2, &exp) ||
             (rp && (strlen(rp) > 255 || strpbrk(rp, "\r\n"))))
        why = "malformed signature parameters";
    else if (!rp)
        why = "signature names no repo";
    if (!why) {
        char *msg = sig_message(op, rp ? rp : "", oid, sz, ch, exp);
        char want[65];
        hub_hmac_hex(store_secret(r->srv->st), msg, want);
        free(msg);
        if (CRYPTO_memcmp(want, sig, 64) != 0)
            why = "signature does not match (another repo, object, size or operation?)";
        else if (now >= exp)
            why = "signature expired";
        else if (exp - now > SRV_URL_TTL)
            why = "signature expires too late"; /* later than any URL we issue */
    }
    if (!why) {
        if (size)
            *size = sz;
        if (chunk)
            *chunk = ch;
    }
    free(sig);
    free(ss);
    free(cs);
    free(es);
    free(rp);
    return why;
}

uint64_t srv_mp_chunk_for(const hub_server *s, uint64_t size)
{
    uint64_t chunk = s->mp_chunk;
    if (chunk && (size + chunk - 1) / chunk > SRV_MP_MAX_PARTS)
        chunk = (size + SRV_MP_MAX_PARTS - 1) / SRV_MP_MAX_PARTS;
    return chunk;
}

/* One signed href: BASE/_lfs/ROUTE/OID[/PART]?QUERY. */
static char *lfs_href(srv_req *r, const char *route, const char *op, const char *type, const char *repo,
                      const char *oid, uint64_t part, uint64_t size, uint64_t chunk)
{
    char *q = srv_sign_query(r->srv, op, type, repo, oid, size, chunk);
    char pp[32] = "";
    if (part)
        snprintf(pp, sizeof pp, "/%" PRIu64, part);
    char *h = hx_asprintf("%s/_lfs/%s/%s%s?%s", r->base, route, oid, pp, q);
    free(q);
    return h;
}

enum MHD_Result srv_h_lfs_batch(srv_req *r, const char *type, const char *repo_id)
{
    if (strcmp(r->method, "POST"))
        return srv_err(r, 405, NULL, "method not allowed");
    cJSON *j = srv_body_json(r);
    const char *op = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "operation")) : NULL;
    cJSON *objs = j ? cJSON_GetObjectItem(j, "objects") : NULL;
    if (!op || (strcmp(op, "upload") && strcmp(op, "download")) || !cJSON_IsArray(objs) ||
        cJSON_GetArraySize(objs) > 1000) {
        cJSON_Delete(j);
        return srv_err(r, 422, NULL, "LFS batch needs operation upload|download and at most 1000 objects");
    }
    /* sizes are range-checked before anything uses them */
    int idx = 0;
    cJSON *o;
    cJSON_ArrayForEach(o, objs)
    {
        cJSON *szj = cJSON_GetObjectItem(o, "size");
        if (cJSON_IsNumber(szj) && !srv_json_uint(szj, 0, SRV_LFS_MAX_SIZE, NULL)) {
            cJSON_Delete(j);
            return srv_err(r, 400, NULL,
                           "objects[%d].size must be an integer from 0 to %" PRIu64 " (the largest LFS object)", idx,
                           SRV_LFS_MAX_SIZE);
        }
        idx++;
    }
    int upload = !strcmp(op, "upload");
    st_repo repo;
    enum MHD_Result ret;
    if (!srv_open_repo(r, type, repo_id, &repo, upload, &ret)) {
        cJSON_Delete(j);
        return ret;
    }
    st_repo_free(&repo);
    int multipart_ok = 0;
    cJSON *tr = cJSON_GetObjectItem(j, "transfers"), *t;
    cJSON_ArrayForEach(t, tr) if (cJSON_IsString(t) && !strcmp(t->valuestring, "multipart")) multipart_ok = 1;
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "transfer", "basic");
    cJSON *oarr = cJSON_AddArrayToObject(out, "objects");
    cJSON_ArrayForEach(o, objs)
    {
        const char *oid = cJSON_GetStringValue(cJSON_GetObjectItem(o, "oid"));
        cJSON *szj = cJSON_GetObjectItem(o, "size");
        uint64_t size = 0, have = 0;
        int size_ok = srv_json_uint(szj, 0, SRV_LFS_MAX_SIZE, &size);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "oid", oid ? oid : "");
        cJSON_AddNumberToObject(e, "size", (double)size);
        cJSON_AddItemToArray(oarr, e);
        if (!oid || !hx_is_hex(oid, 64) || !size_ok) {
            cJSON *er = cJSON_AddObjectToObject(e, "error");
            cJSON_AddNumberToObject(er, "code", 422);
            cJSON_AddStringToObject(er, "message", "invalid oid or size");
            continue;
        }
        int stored = store_lfs_has(r->srv->st, oid, &have);
        if (!upload) {
            if (!stored) {
                cJSON *er = cJSON_AddObjectToObject(e, "error");
                cJSON_AddNumberToObject(er, "code", 404);
                cJSON_AddStringToObject(er, "message", "Object does not exist");
                continue;
            }
            char *href = lfs_href(r, "objects", "get", type, repo_id, oid, 0, 0, 0);
            cJSON *dl = cJSON_AddObjectToObject(cJSON_AddObjectToObject(e, "actions"), "download");
            cJSON_AddStringToObject(dl, "href", href);
            cJSON_AddNumberToObject(dl, "expires_in", SRV_URL_TTL);
            free(href);
            continue;
        }
        if (stored && have == size)
            continue; /* already there: no actions */
        cJSON_AddBoolToObject(e, "authenticated", 1);
        cJSON *act = cJSON_AddObjectToObject(e, "actions");
        cJSON *up = cJSON_AddObjectToObject(act, "upload");
        uint64_t chunk = srv_mp_chunk_for(r->srv, size);
        if (multipart_ok && size > chunk) {
            char *href = lfs_href(r, "complete", "mp", type, repo_id, oid, 0, size, chunk);
            cJSON_AddStringToObject(up, "href", href);
            free(href);
            cJSON *hd = cJSON_AddObjectToObject(up, "header");
            char cs[32];
            snprintf(cs, sizeof cs, "%" PRIu64, chunk);
            cJSON_AddStringToObject(hd, "chunk_size", cs);
            uint64_t parts = (size + chunk - 1) / chunk; /* <= SRV_MP_MAX_PARTS */
            for (uint64_t i = 1; i <= parts; i++) {
                char key[16];
                snprintf(key, sizeof key, "%05" PRIu64, i);
                char *ph = lfs_href(r, "part", "mp", type, repo_id, oid, i, size, chunk);
                cJSON_AddStringToObject(hd, key, ph);
                free(ph);
            }
        } else {
            char *href = lfs_href(r, "upload", "up", type, repo_id, oid, 0, size, 0);
            cJSON_AddStringToObject(up, "href", href);
            free(href);
        }
        cJSON_AddNumberToObject(up, "expires_in", SRV_URL_TTL);
        char *vh = lfs_href(r, "verify", "verify", type, repo_id, oid, 0, size, 0);
        cJSON *vf = cJSON_AddObjectToObject(act, "verify");
        cJSON_AddStringToObject(vf, "href", vh);
        cJSON_AddNumberToObject(vf, "expires_in", SRV_URL_TTL);
        free(vh);
    }
    cJSON_Delete(j);
    char *txt = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(txt), txt, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/vnd.git-lfs+json");
    return srv_send(r, 200, resp);
}

static void up_fail(srv_conn *cx, int status, const char *msg)
{
    if (!cx->upload_err) {
        cx->upload_err = status;
        snprintf(cx->upload_msg, sizeof cx->upload_msg, "%s", msg);
    }
}

static char *mp_data_path(hub_server *s, const char *oid)
{
    return hx_asprintf("%s/tmp/mp-%s.data", store_root(s->st), oid);
}

static char *mp_part_path(hub_server *s, const char *oid, int part)
{
    return hx_asprintf("%s/tmp/mp-%s.part%d", store_root(s->st), oid, part);
}

/* The body must be exactly the object's or part's bytes. A Content-Length
 * over that is refused with 413 at the headers, before any byte is read
 * (returns 0); one under it is answered 400 at the end of the body, which
 * is read but not written anywhere (returns -1: a client that cannot read
 * an answer before it has sent its body still gets it); 1 when it fits. */
static int length_ok(srv_req *r, srv_conn *cx)
{
    const char *cl = srv_header(r, "Content-Length");
    uint64_t n;
    if (!cl || (srv_parse_u64(cl, UINT64_MAX / 2, &n) && n == cx->expect))
        return 1;
    int over = !srv_parse_u64(cl, UINT64_MAX / 2, &n) || n > cx->expect;
    char m[160];
    snprintf(m, sizeof m, "Content-Length %.24s, but the signed %s has %" PRIu64 " bytes", cl,
             cx->kind == BODY_LFS_PART ? "part" : "object", cx->expect);
    up_fail(cx, over ? 413 : 400, m);
    return over ? 0 : -1;
}

int srv_lfs_upload_begin(srv_req *r, const char *what, const char *oid, int part)
{
    srv_conn *cx = r->cx;
    if (!hx_is_hex(oid, 64)) {
        up_fail(cx, 400, "bad object id");
        return 0;
    }
    memcpy(cx->oid, oid, 65);
    uint64_t size = 0, chunk = 0;
    int is_part = !strcmp(what, "part");
    const char *why = srv_sig_verify(r, is_part ? "mp" : "up", oid, &size, &chunk);
    if (why) {
        char m[200];
        snprintf(m, sizeof m, "LFS %s of %.64s refused: %s", is_part ? "part upload" : "upload", oid, why);
        up_fail(cx, 403, m);
        return 0;
    }
    if (strcmp(r->method, "PUT")) {
        up_fail(cx, 405, "method not allowed");
        return 0;
    }
    if (!is_part) {
        cx->expect = size;
        int lk = length_ok(r, cx);
        if (lk <= 0)
            return lk == 0 ? 0 : 1; /* -1: the body is discarded, answered at its end */
        uint64_t have;
        if (store_lfs_has(r->srv->st, oid, &have) && have == size)
            return 1; /* consume and discard */
        cx->fd = store_tmp_create(r->srv->st, "put", &cx->tmp);
        if (cx->fd < 0) {
            up_fail(cx, 500, "cannot create upload file");
            return 0;
        }
        hx_hasher_init(&cx->h, size, 0);
        cx->hashing = 1;
        return 1;
    }
    uint64_t nparts = chunk ? (size + chunk - 1) / chunk : 0;
    if (nparts > SRV_MP_MAX_PARTS) {
        up_fail(cx, 400, "too many parts");
        return 0;
    }
    if (!chunk || part < 1 || (uint64_t)part > nparts) {
        up_fail(cx, 400, "bad part number");
        return 0;
    }
    cx->part = part;
    cx->offset = (uint64_t)(part - 1) * chunk;
    cx->expect = size - cx->offset < chunk ? size - cx->offset : chunk;
    int lk = length_ok(r, cx);
    if (lk <= 0)
        return lk == 0 ? 0 : 1;
    char *dp = mp_data_path(r->srv, oid);
    cx->fd = open(dp, O_RDWR | O_CREAT | O_CLOEXEC, 0644); /* read back by its hasher (multipart.c) */
    free(dp);
    if (cx->fd < 0) {
        up_fail(cx, 500, "cannot open multipart file");
        return 0;
    }
    cx->srv = r->srv;
    srv_mp_part_begin(cx, size, chunk);
    return 1;
}

/* Write the gathered bytes at their offset (parts: not too far ahead of
 * the object's in-order hash, multipart.c). Returns 0 on a write error. */
static int up_flush(srv_conn *cx)
{
    if (!cx->g.n)
        return 1;
    if (cx->kind == BODY_LFS_PART)
        srv_mp_wait_room(cx, cx->g.off);
    if (hx_pwrite_all(cx->fd, cx->g.buf, cx->g.n, cx->g.off) < cx->g.n) {
        up_fail(cx, 500, "cannot write upload");
        return 0;
    }
    cx->g.n = 0;
    return 1;
}

void srv_lfs_upload_data(srv_req *r, const char *data, size_t n)
{
    srv_conn *cx = r->cx;
    if (cx->upload_err)
        return;
    if (cx->got + n > cx->expect) {
        up_fail(cx, 400, "body larger than the object size");
        return;
    }
    if (cx->fd >= 0) {
        if (cx->hashing)
            hx_hasher_update(&cx->h, data, n);
        if (!cx->g.buf)
            cx->g.buf = hx_malloc(UP_BLOCK);
        for (size_t left = n; left;) {
            int full;
            left -= hx_gather_put(&cx->g, UP_BLOCK, cx->offset + cx->got + (n - left), data + (n - left), left, &full);
            if (full && !up_flush(cx))
                return;
        }
    }
    cx->got += n;
}

enum MHD_Result srv_lfs_upload_end(srv_req *r)
{
    srv_conn *cx = r->cx;
    if (cx->kind != BODY_LFS_PUT && cx->kind != BODY_LFS_PART)
        return srv_err(r, 405, NULL, "method not allowed");
    if (cx->fd >= 0 && !cx->upload_err)
        up_flush(cx);
    if (cx->upload_err)
        return srv_err(r, cx->upload_err, NULL, "%s", cx->upload_msg);
    if (cx->got != cx->expect)
        return srv_err(r, 400, NULL, "received %" PRIu64 " bytes, expected %" PRIu64, cx->got, cx->expect);
    if (cx->fd < 0) /* object was already stored */
        return srv_text(r, 200, "application/json", "{}");
    char sha[65];
    if (cx->kind == BODY_LFS_PUT) {
        hx_hasher_final(&cx->h, sha, NULL);
        cx->hashing = 0;
        if (strcmp(sha, cx->oid) != 0)
            return srv_err(r, 400, NULL, "uploaded content has SHA-256 %s, not %s", sha, cx->oid);
        close(cx->fd);
        cx->fd = -1;
        hx_status st = store_lfs_ingest(r->srv->st, cx->tmp, cx->oid, cx->expect, 1);
        free(cx->tmp);
        cx->tmp = NULL;
        if (st)
            return srv_err(r, 500, NULL, "%s", hx_lasterr());
        return srv_text(r, 200, "application/json", "{}");
    }
    /* part: record a fresh random etag (the part's content is checked as
     * part of the object's SHA-256 at completion, so no per-part digest
     * and no per-part flush: the object is synced once when it enters the
     * store) */
    hub_rand_hex(sha, 32);
    sha[32] = 0;
    char *pp = mp_part_path(r->srv, cx->oid, cx->part);
    /* a name of its own per upload: two uploads of one part at once each
     * write their own temp file, the last rename wins (like S3) */
    hx_status st = hx_write_file_atomic_sync(pp, sha, 32, 0);
    free(pp);
    srv_mp_part_end(cx, st == HX_OK);
    if (st)
        return srv_err(r, 500, NULL, "cannot record part");
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    char *et = hx_asprintf("\"%s\"", sha);
    MHD_add_response_header(resp, "ETag", et);
    free(et);
    return srv_send(r, 200, resp);
}

enum MHD_Result srv_h_lfs_complete(srv_req *r, const char *oid)
{
    if (strcmp(r->method, "POST"))
        return srv_err(r, 405, NULL, "method not allowed");
    uint64_t size = 0, chunk = 0;
    const char *why = srv_sig_verify(r, "mp", oid, &size, &chunk);
    if (!why && !chunk)
        why = "no chunk size";
    if (why)
        return srv_err(r, 403, NULL, "multipart completion of %s refused: %s", oid, why);
    uint64_t nparts = (size + chunk - 1) / chunk;
    if (nparts > SRV_MP_MAX_PARTS)
        return srv_err(r, 400, NULL, "a multipart upload has at most %d parts", SRV_MP_MAX_PARTS);
    uint64_t have;
    if (store_lfs_has(r->srv->st, oid, &have) && have == size)
        return srv_text(r, 200, "application/json", "{}");
    cJSON *j = srv_body_json(r);
    cJSON *parts = j ? cJSON_GetObjectItem(j, "parts") : NULL;
    if (!cJSON_IsArray(parts) || (uint64_t)cJSON_GetArraySize(parts) != nparts) {
        cJSON_Delete(j);
        return srv_err(r, 400, NULL, "completion must list all %" PRIu64 " parts", nparts);
    }
    cJSON *p;
    enum MHD_Result ret = MHD_YES;
    int bad = 0, idx = 0;
    cJSON_ArrayForEach(p, parts)
    {
        cJSON *pn = cJSON_GetObjectItem(p, "partNumber");
        const char *et = cJSON_GetStringValue(cJSON_GetObjectItem(p, "etag"));
        uint64_t num = 0;
        if (!srv_json_uint(pn, 1, nparts, &num)) {
            bad = 1;
            ret = srv_err(r, 400, NULL, "parts[%d].partNumber must be an integer from 1 to %" PRIu64, idx, nparts);
            break;
        }
        if (!et) {
            bad = 1;
            ret = srv_err(r, 400, NULL, "parts[%d].etag must be a string", idx);
            break;
        }
        idx++;
        char *pp = mp_part_path(r->srv, oid, (int)num);
        char *rec = NULL;
        hx_read_file(pp, 64, &rec, NULL);
        free(pp);
        char want[40];
        snprintf(want, sizeof want, "%s", et[0] == '"' ? et + 1 : et);
        char *q = strchr(want, '"');
        if (q)
            *q = 0;
        if (!rec || strcmp(rec, want) != 0) {
            bad = 1;
            ret = srv_err(r, 400, NULL, "part %" PRIu64 " is missing or its etag does not match", num);
            free(rec);
            break;
        }
        free(rec);
    }
    cJSON_Delete(j);
    if (bad)
        return ret;
    char *dp = mp_data_path(r->srv, oid);
    char *tmp = store_tmp_path(r->srv->st, "mpdone");
    if (rename(dp, tmp) != 0) {
        free(dp);
        free(tmp);
        return srv_err(r, 409, NULL, "multipart upload of %s is not in progress", oid);
    }
    free(dp);
    char sha[65];
    int known = srv_mp_take_hash(r->srv, oid, size, sha);
    hx_status st = HX_OK;
    if (known && strcmp(sha, oid) != 0) {
        unlink(tmp);
        st = HX_FAIL(HX_EINTEGRITY, "uploaded content has SHA-256 %s, not %s", sha, oid);
    } else {
        hx_debug("multipart %s: %s", oid, known ? "hashed in order while receiving" : "hashing the assembled file");
        st = store_lfs_ingest(r->srv->st, tmp, oid, size, known);
    }
    free(tmp);
    for (uint64_t i = 1; i <= nparts; i++) {
        char *pp = mp_part_path(r->srv, oid, (int)i);
        unlink(pp);
        free(pp);
    }
    if (st)
        return srv_err(r, st == HX_EINTEGRITY ? 400 : 500, NULL, "%s", hx_lasterr());
    return srv_text(r, 200, "application/json", "{}");
}

enum MHD_Result srv_h_lfs_verify(srv_req *r, const char *oid)
{
    if (strcmp(r->method, "POST"))
        return srv_err(r, 405, NULL, "method not allowed");
    /* signed like the upload: without a valid signature this would tell
     * anyone whether an object (of a private repo, say) is stored */
    uint64_t signed_size = 0, have, size;
    const char *why = srv_sig_verify(r, "verify", oid, &signed_size, NULL);
    if (why)
        return srv_err(r, 403, NULL, "LFS verify of %s refused: %s", oid, why);
    cJSON *j = srv_body_json(r);
    cJSON *sz = j ? cJSON_GetObjectItem(j, "size") : NULL;
    int sz_ok = srv_json_uint(sz, 0, SRV_LFS_MAX_SIZE, &size);
    cJSON_Delete(j);
    if (sz && !sz_ok)
        return srv_err(r, 400, NULL, "size must be an integer from 0 to %" PRIu64, SRV_LFS_MAX_SIZE);
    if (!sz)
        size = signed_size;
    if (!store_lfs_has(r->srv->st, oid, &have))
        return srv_err(r, 404, NULL, "object %s was not uploaded", oid);
    if (have != size)
        return srv_err(r, 422, NULL, "object %s has %" PRIu64 " bytes, not %" PRIu64, oid, have, size);
    return srv_text(r, 200, "application/json", "{}");
}

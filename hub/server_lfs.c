/* server_lfs.c - the server's LFS side: the batch endpoint (basic or
 * multipart actions with self-authenticating URLs signed by HMAC, since
 * clients send no Authorization on PUT/parts/completion), streamed PUT of
 * whole objects and of parts (written in place into one file, in aligned
 * pieces; parts are hashed in order by server_mp.c), multipart completion,
 * verify. Objects enter the store only after their SHA-256 and
 * size check out. */
#include "hub/server_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* uploads are written in pieces of this size aligned to object offsets
 * (hub_gather; see WRITE_BLOCK in download.c for why this size) */
#define UP_BLOCK ((uint64_t)256 << 10)

char *srv_sign(hub_server *s, const char *what, const char *oid, uint64_t size, uint64_t chunk)
{
    char *msg = hx_asprintf("%s:%s:%" PRIu64 ":%" PRIu64, what, oid, size, chunk);
    char *sig = hx_malloc(65);
    hub_hmac_hex(store_secret(s->st), msg, sig);
    free(msg);
    return sig;
}

int srv_check_sig(srv_req *r, const char *what, const char *oid, uint64_t *size, uint64_t *chunk)
{
    char *sig = srv_query(r, "sig"), *ss = srv_query(r, "size"), *cs = srv_query(r, "chunk");
    uint64_t sz = ss ? strtoull(ss, NULL, 10) : 0, ch = cs ? strtoull(cs, NULL, 10) : 0;
    int ok = 0;
    if (sig) {
        char *want = srv_sign(r->srv, what, oid, sz, ch);
        ok = strlen(sig) == 64 && CRYPTO_memcmp(want, sig, 64) == 0;
        free(want);
    }
    free(sig);
    free(ss);
    free(cs);
    if (size)
        *size = sz;
    if (chunk)
        *chunk = ch;
    return ok;
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
    cJSON *o;
    uint64_t chunk = r->srv->mp_chunk;
    cJSON_ArrayForEach(o, objs)
    {
        const char *oid = cJSON_GetStringValue(cJSON_GetObjectItem(o, "oid"));
        cJSON *szj = cJSON_GetObjectItem(o, "size");
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "oid", oid ? oid : "");
        cJSON_AddNumberToObject(e, "size", cJSON_IsNumber(szj) ? szj->valuedouble : 0);
        cJSON_AddItemToArray(oarr, e);
        if (!oid || !hub_is_hex(oid, 64) || !cJSON_IsNumber(szj) || szj->valuedouble < 0 ||
            szj->valuedouble > 5e12) {
            cJSON *er = cJSON_AddObjectToObject(e, "error");
            cJSON_AddNumberToObject(er, "code", 422);
            cJSON_AddStringToObject(er, "message", "invalid oid or size");
            continue;
        }
        uint64_t size = (uint64_t)szj->valuedouble, have = 0;
        int stored = store_lfs_has(r->srv->st, oid, &have);
        if (!upload) {
            if (!stored) {
                cJSON *er = cJSON_AddObjectToObject(e, "error");
                cJSON_AddNumberToObject(er, "code", 404);
                cJSON_AddStringToObject(er, "message", "Object does not exist");
                continue;
            }
            char *sig = srv_sign(r->srv, "get", oid, 0, 0);
            char *href = hx_asprintf("%s/_lfs/objects/%s?sig=%s", r->base, oid, sig);
            cJSON *dl = cJSON_AddObjectToObject(cJSON_AddObjectToObject(e, "actions"), "download");
            cJSON_AddStringToObject(dl, "href", href);
            free(sig);
            free(href);
            continue;
        }
        if (stored && have == size)
            continue; /* already there: no actions */
        cJSON_AddBoolToObject(e, "authenticated", 1);
        cJSON *act = cJSON_AddObjectToObject(e, "actions");
        cJSON *up = cJSON_AddObjectToObject(act, "upload");
        if (multipart_ok && size > chunk) {
            char *sig = srv_sign(r->srv, "mp", oid, size, chunk);
            char *href = hx_asprintf("%s/_lfs/complete/%s?size=%" PRIu64 "&chunk=%" PRIu64 "&sig=%s", r->base, oid,
                                     size, chunk, sig);
            cJSON_AddStringToObject(up, "href", href);
            free(href);
            cJSON *hd = cJSON_AddObjectToObject(up, "header");
            char cs[32];
            snprintf(cs, sizeof cs, "%" PRIu64, chunk);
            cJSON_AddStringToObject(hd, "chunk_size", cs);
            uint64_t parts = (size + chunk - 1) / chunk;
            for (uint64_t i = 1; i <= parts; i++) {
                char key[16];
                snprintf(key, sizeof key, "%05" PRIu64, i);
                char *ph = hx_asprintf("%s/_lfs/part/%s/%" PRIu64 "?size=%" PRIu64 "&chunk=%" PRIu64 "&sig=%s",
                                       r->base, oid, i, size, chunk, sig);
                cJSON_AddStringToObject(hd, key, ph);
                free(ph);
            }
            free(sig);
        } else {
            char *sig = srv_sign(r->srv, "up", oid, size, 0);
            char *href = hx_asprintf("%s/_lfs/upload/%s?size=%" PRIu64 "&sig=%s", r->base, oid, size, sig);
            cJSON_AddStringToObject(up, "href", href);
            free(href);
            free(sig);
        }
        char *vs = srv_sign(r->srv, "verify", oid, size, 0);
        char *vh = hx_asprintf("%s/_lfs/verify/%s?size=%" PRIu64 "&sig=%s", r->base, oid, size, vs);
        cJSON *vf = cJSON_AddObjectToObject(act, "verify");
        cJSON_AddStringToObject(vf, "href", vh);
        free(vs);
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

int srv_lfs_upload_begin(srv_req *r, const char *what, const char *oid, int part)
{
    srv_conn *cx = r->cx;
    if (!hub_is_hex(oid, 64)) {
        up_fail(cx, 400, "bad object id");
        return 0;
    }
    memcpy(cx->oid, oid, 65);
    uint64_t size, chunk;
    int is_part = !strcmp(what, "part");
    if (!srv_check_sig(r, is_part ? "mp" : "up", oid, &size, &chunk)) {
        up_fail(cx, 403, "bad or missing upload signature");
        return 0;
    }
    if (strcmp(r->method, "PUT")) {
        up_fail(cx, 405, "method not allowed");
        return 0;
    }
    if (!is_part) {
        uint64_t have;
        if (store_lfs_has(r->srv->st, oid, &have) && have == size) {
            cx->expect = size; /* consume and discard */
            return 1;
        }
        cx->tmp = store_tmp_path(r->srv->st, "put");
        cx->fd = open(cx->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (cx->fd < 0) {
            up_fail(cx, 500, "cannot create upload file");
            return 0;
        }
        hub_hasher_init(&cx->h, size, 0);
        cx->hashing = 1;
        cx->expect = size;
        return 1;
    }
    uint64_t nparts = chunk ? (size + chunk - 1) / chunk : 0;
    if (!chunk || part < 1 || (uint64_t)part > nparts) {
        up_fail(cx, 400, "bad part number");
        return 0;
    }
    cx->part = part;
    cx->offset = (uint64_t)(part - 1) * chunk;
    cx->expect = size - cx->offset < chunk ? size - cx->offset : chunk;
    char *dp = mp_data_path(r->srv, oid);
    cx->fd = open(dp, O_RDWR | O_CREAT | O_CLOEXEC, 0644); /* read back by its hasher (server_mp.c) */
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
 * the object's in-order hash, server_mp.c). Returns 0 on a write error. */
static int up_flush(srv_conn *cx)
{
    if (!cx->g.n)
        return 1;
    if (cx->kind == BODY_LFS_PART)
        srv_mp_wait_room(cx, cx->g.off);
    size_t done = 0;
    while (done < cx->g.n) {
        ssize_t w = pwrite(cx->fd, cx->g.buf + done, cx->g.n - done, (off_t)(cx->g.off + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            up_fail(cx, 500, "cannot write upload");
            return 0;
        }
        done += (size_t)w;
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
            hub_hasher_update(&cx->h, data, n);
        if (!cx->g.buf)
            cx->g.buf = hx_malloc(UP_BLOCK);
        for (size_t left = n; left;) {
            int full;
            left -= hub_gather_put(&cx->g, UP_BLOCK, cx->offset + cx->got + (n - left), data + (n - left), left, &full);
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
        hub_hasher_final(&cx->h, sha, NULL);
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
    hx_status st = hx_write_file_atomic(pp, sha, 32);
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
    uint64_t size, chunk;
    if (!srv_check_sig(r, "mp", oid, &size, &chunk) || !chunk)
        return srv_err(r, 403, NULL, "bad or missing completion signature");
    uint64_t have;
    if (store_lfs_has(r->srv->st, oid, &have) && have == size)
        return srv_text(r, 200, "application/json", "{}");
    cJSON *j = srv_body_json(r);
    cJSON *parts = j ? cJSON_GetObjectItem(j, "parts") : NULL;
    uint64_t nparts = (size + chunk - 1) / chunk;
    if (!cJSON_IsArray(parts) || (uint64_t)cJSON_GetArraySize(parts) != nparts) {
        cJSON_Delete(j);
        return srv_err(r, 400, NULL, "completion must list all %" PRIu64 " parts", nparts);
    }
    cJSON *p;
    enum MHD_Result ret = MHD_YES;
    int bad = 0;
    cJSON_ArrayForEach(p, parts)
    {
        cJSON *pn = cJSON_GetObjectItem(p, "partNumber");
        const char *et = cJSON_GetStringValue(cJSON_GetObjectItem(p, "etag"));
        if (!cJSON_IsNumber(pn) || !et || pn->valuedouble < 1 || pn->valuedouble > (double)nparts) {
            bad = 1;
            ret = srv_err(r, 400, NULL, "malformed part entry");
            break;
        }
        char *pp = mp_part_path(r->srv, oid, (int)pn->valuedouble);
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
            ret = srv_err(r, 400, NULL, "part %d is missing or its etag does not match", (int)pn->valuedouble);
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
    uint64_t have, size = 0;
    cJSON *j = srv_body_json(r);
    cJSON *sz = j ? cJSON_GetObjectItem(j, "size") : NULL;
    if (cJSON_IsNumber(sz))
        size = (uint64_t)sz->valuedouble;
    cJSON_Delete(j);
    if (!store_lfs_has(r->srv->st, oid, &have))
        return srv_err(r, 404, NULL, "object %s was not uploaded", oid);
    if (sz && have != size)
        return srv_err(r, 422, NULL, "object %s has %" PRIu64 " bytes, not %" PRIu64, oid, have, size);
    return srv_text(r, 200, "application/json", "{}");
}

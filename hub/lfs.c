/* lfs.c - LFS uploads for the client: the batch negotiation (≤ 256 objects
 * per call, transfers basic + multipart), then all transfers in parallel
 * (whole-object PUTs and multipart parts read straight from the file with
 * pread, so retries replay them), multipart completion with the parts'
 * ETags, and verify. Objects the server already has are skipped. */
#include "hub/client_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct lfs_job {
    const hub_lfs_obj *o;
    int fd;
    char *href, *verify;   /* upload or completion href; verify href */
    uint64_t chunk, nparts;
    char **part_href, **part_etag;
    atomic_ullong parts_left;
    int slot, slot_set; /* progress line (under mu) */
    atomic_int failed;
    hx_status st;
    char err[600];
    pthread_mutex_t mu;
} lfs_job;

typedef struct lfs_task {
    lfs_job *j;
    uint64_t part; /* 0 = basic PUT, else part number */
} lfs_task;

typedef struct lfs_ctx {
    hub_client *c;
    lfs_task *tasks;
    atomic_ullong sent;
} lfs_ctx;

static void job_fail(lfs_job *j, hx_status st, const char *msg)
{
    pthread_mutex_lock(&j->mu);
    if (!atomic_load(&j->failed)) {
        j->st = st;
        snprintf(j->err, sizeof j->err, "%s: %s", j->o->path, msg);
        atomic_store(&j->failed, 1);
    }
    pthread_mutex_unlock(&j->mu);
}

/* One request with the client's retry policy; 2xx or an error. */
static hx_status send_req(hub_client *c, CURL *h, hub_http_req *rq, hub_http_resp *rs, const char *what)
{
    rq->retry = 1;
    hx_status st = hub_http(c, h, rq, rs);
    if (st) {
        hx_preerr("%s", what);
        return st;
    }
    if (rs->status < 200 || rs->status >= 300)
        return hub_http_error(rs, what);
    return HX_OK;
}

/* POST an LFS JSON body (taken over and freed) with the retry policy. */
static hx_status lfs_post(hub_client *c, CURL *h, const char *url, char *body, const char *what)
{
    hub_http_req rq = {.method = "POST", .url = url, .content_type = "application/vnd.git-lfs+json",
                       .accept = "application/vnd.git-lfs+json", .body = body, .body_len = strlen(body)};
    hub_http_resp rs = {0};
    hx_status st = send_req(c, h, &rq, &rs, what);
    hub_http_resp_free(&rs);
    free(body);
    return st;
}

static hx_status do_verify(hub_client *c, CURL *h, lfs_job *j)
{
    if (!j->verify)
        return HX_OK;
    char *body = hx_asprintf("{\"oid\":\"%s\",\"size\":%" PRIu64 "}", j->o->sha256, j->o->size);
    return lfs_post(c, h, j->verify, body, "LFS verify");
}

static hx_status complete(hub_client *c, CURL *h, lfs_job *j)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "oid", j->o->sha256);
    cJSON *parts = cJSON_AddArrayToObject(b, "parts");
    for (uint64_t i = 0; i < j->nparts; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "partNumber", (double)(i + 1));
        cJSON_AddStringToObject(p, "etag", j->part_etag[i] ? j->part_etag[i] : "");
        cJSON_AddItemToArray(parts, p);
    }
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    return lfs_post(c, h, j->href, body, "LFS multipart completion");
}

static void run_task(void *ud, size_t i, CURL *h)
{
    lfs_ctx *x = ud;
    lfs_task *t = &x->tasks[i];
    lfs_job *j = t->j;
    hub_client *c = x->c;
    if (atomic_load(&j->failed))
        goto end;
    uint64_t off = 0, len = j->o->size;
    const char *url = j->href;
    if (t->part) {
        off = (t->part - 1) * j->chunk;
        len = j->o->size - off < j->chunk ? j->o->size - off : j->chunk;
        url = j->part_href[t->part - 1];
    }
    pthread_mutex_lock(&j->mu);
    if (!j->slot_set) {
        j->slot_set = 1;
        j->slot = hx_progress_file_begin(&c->prog, j->o->path, j->o->size, 0);
    }
    pthread_mutex_unlock(&j->mu);
    uint64_t shown = 0; /* bytes of this part already counted in the progress */
    hub_http_req rq = {.method = "PUT", .url = url, .body_file = 1, .body_fd = j->fd, .body_off = off,
                       .body_flen = len, .content_type = t->part ? NULL : "application/octet-stream",
                       .prog_sent = &shown, .prog_slot = j->slot};
    hub_http_resp rs = {0};
    hx_status st = send_req(c, h, &rq, &rs, t->part ? "LFS part upload" : "LFS upload");
    if (!st && t->part) {
        if (!rs.etag) {
            st = HX_FAIL(HX_ENET, "part %" PRIu64 " answer has no ETag", t->part);
        } else {
            j->part_etag[t->part - 1] = hx_strdup(rs.etag);
        }
    }
    hub_http_resp_free(&rs);
    if (st) {
        job_fail(j, st, hx_lasterr());
    } else {
        if (len > shown)
            hx_progress_file_add(&c->prog, j->slot, len - shown);
        atomic_fetch_add(&x->sent, len);
    }
end:
    if (atomic_fetch_sub(&j->parts_left, 1) == 1) {
        if (!atomic_load(&j->failed)) {
            st = j->nparts ? complete(c, h, j) : HX_OK;
            if (!st)
                st = do_verify(c, h, j);
            if (st)
                job_fail(j, st, hx_lasterr());
            else
                hx_progress_file_done(&c->prog, "uploaded", j->o->path, j->o->size, 1, j->slot);
        }
        if (atomic_load(&j->failed) && j->slot_set)
            hx_progress_file_release(&c->prog, j->slot);
    }
}

static hx_status parse_actions(cJSON *obj, lfs_job *j)
{
    cJSON *err = cJSON_GetObjectItem(obj, "error");
    if (err) {
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(err, "message"));
        cJSON *code = cJSON_GetObjectItem(err, "code");
        return HX_FAIL(HX_ENET, "%s: the server refused the LFS object (%d: %s)", j->o->path,
                       cJSON_IsNumber(code) ? code->valueint : 0, m ? m : "no message");
    }
    cJSON *act = cJSON_GetObjectItem(obj, "actions");
    cJSON *up = act ? cJSON_GetObjectItem(act, "upload") : NULL;
    if (!up)
        return HX_OK; /* already stored */
    const char *href = cJSON_GetStringValue(cJSON_GetObjectItem(up, "href"));
    if (!href || (strncmp(href, "http://", 7) && strncmp(href, "https://", 8)))
        return HX_FAIL(HX_EFORMAT, "%s: LFS upload action without an http(s) href", j->o->path);
    j->href = hx_strdup(href);
    cJSON *ver = cJSON_GetObjectItem(act, "verify");
    const char *vh = ver ? cJSON_GetStringValue(cJSON_GetObjectItem(ver, "href")) : NULL;
    if (vh && (!strncmp(vh, "http://", 7) || !strncmp(vh, "https://", 8)))
        j->verify = hx_strdup(vh);
    cJSON *hd = cJSON_GetObjectItem(up, "header");
    cJSON *cs = hd ? cJSON_GetObjectItem(hd, "chunk_size") : NULL;
    if (!cs)
        return HX_OK; /* basic */
    double chunk = cJSON_IsNumber(cs) ? cs->valuedouble : cJSON_IsString(cs) ? atof(cs->valuestring) : 0;
    if (!(chunk >= 1 && chunk <= 5e12)) /* also NaN ("nan" as a string) */
        return HX_FAIL(HX_EFORMAT, "%s: bad multipart chunk_size", j->o->path);
    j->chunk = (uint64_t)chunk;
    j->nparts = (j->o->size + j->chunk - 1) / j->chunk;
    if (j->nparts > 100000)
        return HX_FAIL(HX_EFORMAT, "%s: too many multipart parts", j->o->path);
    j->part_href = hx_calloc(j->nparts, sizeof *j->part_href);
    j->part_etag = hx_calloc(j->nparts, sizeof *j->part_etag);
    for (uint64_t i = 0; i < j->nparts; i++) {
        char key[24];
        snprintf(key, sizeof key, "%05" PRIu64, i + 1);
        const char *ph = cJSON_GetStringValue(cJSON_GetObjectItem(hd, key));
        if (!ph || (strncmp(ph, "http://", 7) && strncmp(ph, "https://", 8)))
            return HX_FAIL(HX_EFORMAT, "%s: multipart part %s has no URL", j->o->path, key);
        j->part_href[i] = hx_strdup(ph);
    }
    return HX_OK;
}

/* The batch answer for jobs[0, n): each object's actions (none: the
 * server has it). An object answered twice is an error (it used to end the
 * reading of the answer silently, leaving later objects unsent). */
static hx_status batch_answer(const char *body, size_t len, lfs_job *jobs, size_t n, const char *repo)
{
    cJSON *j = cJSON_ParseWithLength(body ? body : "", body ? len : 0);
    cJSON *ro = j ? cJSON_GetObjectItem(j, "objects") : NULL;
    hx_status st = HX_OK;
    if (!cJSON_IsArray(ro))
        st = HX_FAIL(HX_EFORMAT, "LFS batch answer for %s has no objects array", repo);
    char *seen = hx_calloc(n + 1, 1);
    cJSON *o;
    if (!st)
        cJSON_ArrayForEach(o, ro)
        {
            const char *oid = cJSON_GetStringValue(cJSON_GetObjectItem(o, "oid"));
            size_t k = 0;
            while (k < n && (!oid || strcmp(jobs[k].o->sha256, oid) != 0))
                k++;
            if (k == n) {
                st = HX_FAIL(HX_EFORMAT, "LFS batch answered an object we did not ask for");
                break;
            }
            if (seen[k]) {
                st = HX_FAIL(HX_EFORMAT, "LFS batch answer for %s lists object %s twice", repo, oid);
                break;
            }
            seen[k] = 1;
            if ((st = parse_actions(o, &jobs[k])))
                break;
        }
    free(seen);
    cJSON_Delete(j);
    return st;
}

static void jobs_free(lfs_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lfs_job *j = &jobs[i];
        if (j->fd >= 0)
            close(j->fd);
        free(j->href);
        free(j->verify);
        for (uint64_t p = 0; p < j->nparts; p++) {
            if (j->part_href)
                free(j->part_href[p]);
            if (j->part_etag)
                free(j->part_etag[p]);
        }
        free(j->part_href);
        free(j->part_etag);
        pthread_mutex_destroy(&j->mu);
    }
    free(jobs);
}

static lfs_job *jobs_new(const hub_lfs_obj *objs, size_t n)
{
    lfs_job *jobs = hx_calloc(n + 1, sizeof *jobs);
    for (size_t i = 0; i < n; i++) {
        jobs[i].o = &objs[i];
        jobs[i].fd = -1;
        pthread_mutex_init(&jobs[i].mu, NULL);
    }
    return jobs;
}

hx_status hub_lfs_batch_answer_check(const char *body, size_t len, const hub_lfs_obj *objs, size_t n)
{
    lfs_job *jobs = jobs_new(objs, n);
    hx_status st = batch_answer(body, len, jobs, n, "the repo");
    jobs_free(jobs, n);
    return st;
}

hx_status hub_lfs_upload(hub_client *c, const char *repo, const char *rev, const hub_lfs_obj *objs, size_t n,
                         uint64_t *bytes_sent, size_t *uploaded)
{
    *bytes_sent = 0;
    *uploaded = 0;
    if (!n)
        return HX_OK;
    lfs_job *jobs = jobs_new(objs, n);
    hx_status st = HX_OK;
    char *url = hx_asprintf("%s/%s.git/info/lfs/objects/batch", c->endpoint, repo);
    CURL *h = hub_curl_new(c);
    for (size_t b = 0; b < n && !st; b += 256) {
        size_t e = b + 256 < n ? b + 256 : n;
        cJSON *body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "operation", "upload");
        cJSON *tr = cJSON_AddArrayToObject(body, "transfers");
        cJSON_AddItemToArray(tr, cJSON_CreateString("basic"));
        cJSON_AddItemToArray(tr, cJSON_CreateString("multipart"));
        cJSON_AddStringToObject(body, "hash_algo", "sha256");
        cJSON *ref = cJSON_AddObjectToObject(body, "ref");
        cJSON_AddStringToObject(ref, "name", rev);
        cJSON *arr = cJSON_AddArrayToObject(body, "objects");
        for (size_t i = b; i < e; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "oid", objs[i].sha256);
            cJSON_AddNumberToObject(o, "size", (double)objs[i].size);
            cJSON_AddItemToArray(arr, o);
        }
        char *txt = cJSON_PrintUnformatted(body);
        cJSON_Delete(body);
        hub_http_req rq = {.method = "POST", .url = url, .content_type = "application/vnd.git-lfs+json",
                           .accept = "application/vnd.git-lfs+json", .body = txt, .body_len = strlen(txt),
                           .follow = 1};
        hub_http_resp rs = {0};
        st = send_req(c, h, &rq, &rs, "LFS batch");
        free(txt);
        if (!st)
            st = batch_answer(rs.body, rs.len, jobs + b, e - b, repo);
        hub_http_resp_free(&rs);
    }
    curl_easy_cleanup(h);
    free(url);
    /* plan the transfers */
    size_t ntasks = 0;
    for (size_t i = 0; i < n && !st; i++)
        if (jobs[i].href)
            ntasks += jobs[i].nparts ? jobs[i].nparts : 1;
    lfs_task *tasks = hx_calloc(ntasks + 1, sizeof *tasks);
    size_t nt = 0;
    uint64_t total = 0;
    int nfiles = 0;
    for (size_t i = 0; i < n && !st; i++) {
        lfs_job *j = &jobs[i];
        if (!j->href)
            continue;
        j->fd = open(j->o->full, O_RDONLY | O_CLOEXEC);
        if (j->fd < 0) {
            st = HX_FAIL(HX_EIO, "cannot open %s: %s", j->o->full, strerror(errno));
            break;
        }
        atomic_init(&j->parts_left, j->nparts ? j->nparts : 1);
        total += j->o->size;
        nfiles++;
        if (!j->nparts)
            tasks[nt++] = (lfs_task){j, 0};
        for (uint64_t p = 1; p <= j->nparts; p++)
            tasks[nt++] = (lfs_task){j, p};
    }
    if (!st) {
        lfs_ctx x = {.c = c, .tasks = tasks};
        atomic_init(&x.sent, 0);
        hx_progress_files_start(&c->prog, "upload", c->progress, c->json, nfiles, total);
        hub_transfers_run(c, c->jobs, nt, run_task, &x);
        hx_progress_end(&c->prog);
        *bytes_sent = atomic_load(&x.sent);
        for (size_t i = 0; i < n; i++) {
            if (atomic_load(&jobs[i].failed) && !st) {
                hx_seterr("%s", jobs[i].err);
                st = jobs[i].st ? jobs[i].st : HX_ENET;
            }
            if (jobs[i].href && !atomic_load(&jobs[i].failed))
                (*uploaded)++;
        }
    }
    jobs_free(jobs, n);
    free(tasks);
    return st;
}

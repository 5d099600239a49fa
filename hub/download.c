/* download.c - snapshot download into the Hugging Face cache: resolve the
 * revision once (pinned commit), list and filter files, then transfer the
 * missing blobs in parallel (several files at once; large files as
 * parallel Range chunks, written in aligned pieces and hashed in order by
 * one thread per file while they arrive), resuming partial
 * blobs/<etag>.incomplete files left by an interrupted run, verifying every
 * blob (SHA-256 for LFS, git blob SHA-1 otherwise) before the atomic
 * rename, and linking snapshots/<commit>/<path>. Also hub_fetch_range for
 * remote reads. */
#include "hub/client_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK ((uint64_t)32 << 20)
#define PARALLEL_MIN ((uint64_t)64 << 20)
/* Received bytes are written in pieces of this size at offsets aligned
 * to it: whole page-cache folios, never a partial one that the file
 * system would first zero (4% of the client's CPU on ext4 with curl's
 * unaligned pieces). Not larger: 1-4 MiB pieces get large folios, which on
 * a VM that returns free memory to its host are the pages most often
 * reclaimed, and a 2 GiB download then took 2.8-6.3 s instead of
 * 1.4-1.6 s (64-256 KiB measured alike). */
#define WRITE_BLOCK ((uint64_t)256 << 10)
#define HASH_WINDOW ((uint64_t)16 << 20) /* bytes hashed between updates of the prefix */
/* A chunk stream waits while it would write more than this far ahead of
 * the hashed prefix: when SHA-256 is the slowest stage (few cores), the
 * receiving threads yield the CPU to it instead of piling up unhashed data
 * that would be hashed after the transfer (measured on 2 cores, tmpfs,
 * 2 GiB: 2.0-2.1 s without the limit, 1.8 s with it). A write that starts at or before the hashed frontier
 * never waits, so the chunk holding the frontier always progresses. */
#define HASH_LAG_MAX ((uint64_t)128 << 20)
typedef struct dl_file {
    hub_entry *e;
    char blob[65];
    char *incomplete, *journal;
    int fd, jfd, lockfd;
    uint64_t nchunks;
    atomic_ullong chunks_left;
    atomic_int failed;
    atomic_int norange; /* a chunk's Range request was answered 200 (whole file) */
    hx_status st;
    char err[600];
    pthread_mutex_t mu; /* guards st/err and the in-order hashing state */
    pthread_mutex_t wmu; /* one write into the file at a time (sink) */
    /* Chunked files are hashed in order while the chunks arrive, by their
     * own thread (hasher_main): hs holds [0, hashed); written[k] = bytes of
     * chunk k written contiguously from its start; cv wakes the hasher. */
    hx_hasher hs;
    pthread_cond_t cv, room; /* room: the hashed prefix advanced */
    pthread_t hasher;
    int hs_live, hasher_on, hasher_done, hash_stop, hash_broken;
    uint64_t hashed;
    uint64_t *written;
    int slot;         /* progress line; -2 until the first task starts */
    uint64_t resumed; /* bytes found on disk (journal) */
} dl_file;

/* a selected path whose blob is already planned as files[file] */
typedef struct dl_dup {
    const hub_entry *e;
    size_t file;
} dl_dup;

typedef struct dl_task {
    dl_file *f;
    uint64_t chunk; /* UINT64_MAX: whole file, single stream */
} dl_task;

typedef struct dl_ctx {
    hub_client *c;
    const char *repo;
    const char *commit;
    dl_task *tasks;
    atomic_ullong fetched;
} dl_ctx;

static void file_fail(dl_file *f, hx_status st, const char *msg)
{
    pthread_mutex_lock(&f->mu);
    if (!atomic_load(&f->failed)) {
        f->st = st;
        snprintf(f->err, sizeof f->err, "%s", msg);
        atomic_store(&f->failed, 1);
    }
    f->hash_stop = 1; /* nothing more will be written: the hasher may end */
    pthread_cond_signal(&f->cv);
    pthread_cond_broadcast(&f->room);
    pthread_mutex_unlock(&f->mu);
}

/* <endpoint>/<repo>/resolve/<rev>/<path>: the download URL of one file. */
static char *file_resolve_url(hub_client *c, const char *repo, const char *rev, const char *path)
{
    char *r = hub_urlencode(rev, 0), *p = hub_urlencode(path, 1);
    char *u = hx_asprintf("%s/%s/resolve/%s/%s", c->endpoint, repo, r, p);
    free(r);
    free(p);
    return u;
}

/* ---- streaming sink: writes at an offset, hashes when asked ---- */
typedef struct sink_ctx {
    hub_client *c;
    CURL *h;
    hub_http_resp *rs;
    int fd;
    uint64_t start;   /* file offset of the first byte asked for */
    uint64_t got;     /* bytes written in this attempt */
    uint64_t limit;   /* max bytes expected in this attempt */
    hx_hasher *hash; /* NULL for chunks */
    dl_file *f;       /* chunks: advance the file's in-order hash */
    int slot;         /* progress line */
    int checked;
    int ranged;       /* a Range was asked for */
    int restart;      /* server ignored Range: caller restarts from 0 */
    hx_gather g;     /* received, not yet written */
    char err[300];
} sink_ctx;


static uint64_t chunk_len(const dl_file *f, uint64_t k)
{
    return f->e->size - k * CHUNK < CHUNK ? f->e->size - k * CHUNK : CHUNK;
}

/* End of the contiguous written prefix that starts at f->hashed (mu held). */
static uint64_t written_end(const dl_file *f)
{
    uint64_t k = f->hashed / CHUNK;
    if (k >= f->nchunks)
        return f->hashed;
    while (k + 1 < f->nchunks && f->written[k] == chunk_len(f, k))
        k++;
    return k * CHUNK + f->written[k];
}

/* The hashing thread of a chunked file: follows the contiguous written
 * prefix and hashes it in order while the chunks still arrive, so the
 * receiving threads never wait for SHA-256 and no pass over the whole
 * file is left at the end. Ends when the file is hashed, when reading
 * fails (finalize then hashes the file itself) or when told to stop. */
static void *hasher_main(void *ud)
{
    dl_file *f = ud;
    pthread_mutex_lock(&f->mu);
    while (f->hashed < f->e->size && !f->hash_broken) {
        uint64_t from = f->hashed, to = written_end(f);
        if (to <= from) {
            if (f->hash_stop)
                break;
            pthread_cond_wait(&f->cv, &f->mu);
            continue;
        }
        if (to - from > HASH_WINDOW)
            to = from + HASH_WINDOW;
        pthread_mutex_unlock(&f->mu);
        int ok = hx_hasher_feed_fd(&f->hs, f->fd, from, to, NULL); /* from the page cache */
        pthread_mutex_lock(&f->mu);
        if (ok)
            f->hashed = to;
        else
            f->hash_broken = 1;
        pthread_cond_broadcast(&f->room);
    }
    f->hasher_done = 1;
    pthread_cond_broadcast(&f->room);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* Stop the hashing thread once it has hashed what is written; wait for it. */
static void hasher_join(dl_file *f)
{
    if (!f->hasher_on)
        return;
    pthread_mutex_lock(&f->mu);
    f->hash_stop = 1;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->hasher, NULL);
    f->hasher_on = 0;
}

static void chunk_written(dl_file *f, uint64_t off, size_t n)
{
    uint64_t k = off / CHUNK;
    pthread_mutex_lock(&f->mu);
    if (k < f->nchunks && off + n - k * CHUNK > f->written[k])
        f->written[k] = off + n - k * CHUNK;
    if (f->hashed < off + n && written_end(f) >= off + n) /* the prefix grew */
        pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* Write the gathered bytes at their offset. Chunks of one file are
 * written one at a time (the kernel serializes writes into one inode
 * anyway; a thread blocked here sleeps instead of spinning on the inode
 * lock), and not too far ahead of the hashed prefix (HASH_LAG_MAX). */
static int sink_flush(sink_ctx *s)
{
    if (!s->g.n)
        return 0;
    dl_file *f = s->f;
    if (f) {
        pthread_mutex_lock(&f->mu);
        while (f->hasher_on && !f->hasher_done && s->g.off > f->hashed + HASH_LAG_MAX && !atomic_load(&f->failed))
            pthread_cond_wait(&f->room, &f->mu);
        pthread_mutex_unlock(&f->mu);
        pthread_mutex_lock(&f->wmu);
    }
    size_t done = hx_pwrite_all(s->fd, s->g.buf, s->g.n, s->g.off);
    if (f)
        pthread_mutex_unlock(&f->wmu);
    if (done < s->g.n) {
        snprintf(s->err, sizeof s->err, "cannot write: %s", strerror(errno));
        return 1;
    }
    if (f)
        chunk_written(f, s->g.off, s->g.n);
    s->g.n = 0;
    return 0;
}

static int sink(void *ud, const void *buf, size_t n)
{
    sink_ctx *s = ud;
    if (!s->checked) {
        s->checked = 1;
        long code = 0;
        curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
        if (s->ranged) {
            /* 200 to a Range request is the whole file from byte 0 (also
             * for a range that starts at 0): never written at an offset */
            if (code == 200) {
                s->restart = 1;
                snprintf(s->err, sizeof s->err, "server ignored Range");
                return 1;
            }
            unsigned long long a = 0;
            if (!s->rs->content_range || sscanf(s->rs->content_range, "bytes %llu-", &a) != 1 || a != s->start) {
                snprintf(s->err, sizeof s->err, "server answered a different range (%s) than asked (from %" PRIu64 ")",
                         s->rs->content_range ? s->rs->content_range : "none", s->start);
                return 1;
            }
        }
    }
    if (s->got + n > s->limit) {
        snprintf(s->err, sizeof s->err, "server sent more bytes than the listed size");
        return 1;
    }
    if (s->hash)
        hx_hasher_update(s->hash, buf, n);
    for (size_t left = n; left;) {
        int full;
        left -= hx_gather_put(&s->g, WRITE_BLOCK, s->start + s->got + (n - left), (const char *)buf + (n - left),
                               left, &full);
        if (full && sink_flush(s) != 0)
            return 1;
    }
    s->got += n;
    hx_progress_file_add(&s->c->prog, s->slot, n);
    return 0;
}

/* Fetch [start, start+len) of the file into fd at the same offsets, with
 * retries that resume where the previous attempt stopped. */
static hx_status fetch_span(dl_ctx *x, CURL *h, dl_file *f, uint64_t start, uint64_t len, hx_hasher *hash,
                            int *restart)
{
    hub_client *c = x->c;
    char *url = file_resolve_url(c, x->repo, x->commit, f->e->path);
    uint64_t done = 0;
    int fails = 0;
    hx_status st = HX_OK;
    *restart = 0;
    char *wb = hx_malloc((size_t)(len < WRITE_BLOCK ? len : WRITE_BLOCK));
    while (done < len) {
        if (atomic_load(&f->failed)) {
            st = f->st;
            break;
        }
        char range[80];
        uint64_t a = start + done;
        int whole = a == 0 && done == 0 && len == f->e->size;
        snprintf(range, sizeof range, "bytes=%" PRIu64 "-%" PRIu64, a, start + len - 1);
        hub_http_resp rs = {0};
        sink_ctx s = {.c = c, .h = h, .rs = &rs, .fd = f->fd, .start = a, .limit = len - done, .hash = hash,
                      .f = f->written ? f : NULL, .slot = f->slot, .ranged = !whole, .g = {.buf = wb}};
        hub_http_req rq = {.method = "GET", .url = url, .follow = 1, .range = whole ? NULL : range,
                           .sink = sink, .sink_ctx = &s};
        st = hub_http(c, h, &rq, &rs);
        if (!s.restart && !s.err[0])
            sink_flush(&s); /* what this attempt received, also when it broke off */
        done += s.got;
        if (s.restart) {
            *restart = 1;
            hub_http_resp_free(&rs);
            st = HX_OK;
            break;
        }
        if (s.err[0]) {
            st = HX_FAIL(HX_EINTEGRITY, "%s: %s", f->e->path, s.err);
            hub_http_resp_free(&rs);
            break;
        }
        if (st == HX_OK && (rs.status == 416 || (rs.status < 300 && done < len))) {
            /* A complete answer (curl checks Content-Length) with fewer bytes
             * than listed, or a range past its end: the listing lied. */
            st = HX_FAIL(HX_EINTEGRITY, "%s: the server delivered %" PRIu64 " bytes but listed %" PRIu64, f->e->path,
                         start + done, start + len);
            hub_http_resp_free(&rs);
            break;
        }
        if (st == HX_OK && rs.status >= 300) {
            if (hub_http_retryable(&rs) && fails < c->max_retries) {
                hub_http_backoff(c, fails++, &rs);
                hub_http_resp_free(&rs);
                continue;
            }
            char what[400];
            snprintf(what, sizeof what, "%s@%.12s: %s", x->repo, x->commit, f->e->path);
            st = hub_http_error(&rs, what);
            hub_http_resp_free(&rs);
            break;
        }
        if (st != HX_OK || rs.transport_error) {
            if (s.got > 0)
                fails = 0; /* progress: keep going */
            if (fails >= c->max_retries) {
                st = HX_FAIL(HX_ENET, "%s: transfer failed %d times in a row (%s)", f->e->path, fails,
                             rs.curl_msg[0] ? rs.curl_msg : "connection closed early");
                hub_http_resp_free(&rs);
                break;
            }
            hub_http_backoff(c, fails++, &rs);
            st = HX_OK;
        }
        hub_http_resp_free(&rs);
    }
    free(wb);
    free(url);
    return st;
}

/* Verify the complete .incomplete file, then publish it as the blob. */
static hx_status finalize(dl_ctx *x, dl_file *f, const char *sha256_hex, const char *sha1_hex)
{
    hub_client *c = x->c;
    const hub_entry *e = f->e;
    char s256[65], s1[41];
    if (!sha256_hex && f->written) {
        hasher_join(f);
        if (f->hs_live && !f->hash_broken && f->hashed == e->size) {
            hx_debug("%s: hashed in order while transferring", e->path);
            hx_hasher_final(&f->hs, s256, e->sha256[0] ? NULL : s1);
            f->hs_live = 0;
            sha256_hex = s256;
            sha1_hex = e->sha256[0] ? NULL : s1;
        }
    }
    if (!sha256_hex) {
        if (f->written)
            hx_debug("%s: hashing the whole file after the transfer", e->path);
        hx_status st = hx_hash_fd(f->fd, e->size, s256, e->sha256[0] ? NULL : s1, f->incomplete);
        if (st)
            return st;
        sha256_hex = s256;
        sha1_hex = e->sha256[0] ? NULL : s1;
    }
    struct stat sb;
    if (fstat(f->fd, &sb) != 0 || (uint64_t)sb.st_size != e->size)
        return HX_FAIL(HX_EINTEGRITY, "%s: downloaded %lld bytes, the listing says %" PRIu64, e->path,
                       (long long)sb.st_size, e->size);
    if (e->sha256[0] ? strcmp(sha256_hex, e->sha256) != 0 : strcmp(sha1_hex, e->oid) != 0) {
        unlink(f->incomplete);
        if (f->journal)
            unlink(f->journal);
        return HX_FAIL(HX_EINTEGRITY, "%s: content hash %s does not match the listed %s %s; partial file removed",
                       e->path, e->sha256[0] ? sha256_hex : sha1_hex, e->sha256[0] ? "sha256" : "git oid",
                       e->sha256[0] ? e->sha256 : e->oid);
    }
    char *d = hub_cache_repo_dir(c, x->repo);
    char *blob = hx_asprintf("%s/blobs/%s", d, f->blob);
    free(d);
    hx_status st = HX_OK;
    if (rename(f->incomplete, blob) != 0)
        st = HX_FAIL(HX_EIO, "cannot rename %s to %s: %s", f->incomplete, blob, strerror(errno));
    free(blob);
    if (f->journal)
        unlink(f->journal);
    if (!st)
        st = hub_cache_link(c, x->repo, x->commit, e->path, f->blob);
    return st;
}

static void file_done(dl_ctx *x, dl_file *f)
{
    hasher_join(f);
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->jfd >= 0)
        close(f->jfd);
    f->jfd = -1;
    if (f->lockfd >= 0)
        close(f->lockfd); /* releases the flock */
    f->lockfd = -1;
    if (!atomic_load(&f->failed)) {
        atomic_fetch_add(&x->fetched, f->e->size);
        hx_progress_file_done(&x->c->prog, "downloaded", f->e->path, f->e->size, 1, f->slot);
    } else {
        hx_progress_file_release(&x->c->prog, f->slot);
    }
}

/* A file as one stream: resumes a prefix already in the .incomplete file
 * (re-hashed first), restarts from byte 0 when the server ignores Range,
 * and fetches it once more after a hash mismatch. Failures go to f. */
static void fetch_whole(dl_ctx *x, CURL *h, dl_file *f)
{
    for (int round = 0; round < 2; round++) {
        struct stat sb;
        fstat(f->fd, &sb);
        uint64_t have = (uint64_t)sb.st_size;
        if (have > f->e->size) {
            if (ftruncate(f->fd, 0) != 0) {
                file_fail(f, HX_EIO, "cannot truncate partial file");
                break;
            }
            have = 0;
        }
        hx_hasher hs;
        hx_hasher_init(&hs, f->e->size, f->e->sha256[0] == 0);
        if (have) {
            uint64_t at; /* a short or unreadable file: keep what was read */
            if (!hx_hasher_feed_fd(&hs, f->fd, 0, have, &at))
                have = at;
            hx_progress_resumed(&x->c->prog, f->slot, have);
        }
        int restart = 0;
        hx_status st = have < f->e->size ? fetch_span(x, h, f, have, f->e->size - have, &hs, &restart) : HX_OK;
        if (restart) {
            hx_hasher_abort(&hs);
            if (ftruncate(f->fd, 0) != 0) {
                file_fail(f, HX_EIO, "cannot truncate partial file");
                break;
            }
            continue;
        }
        if (st) {
            hx_hasher_abort(&hs);
            file_fail(f, st, hx_lasterr());
            break;
        }
        char s256[65], s1[41];
        hx_hasher_final(&hs, s256, s1);
        st = finalize(x, f, s256, s1);
        if (st == HX_EINTEGRITY && round == 0) {
            /* maybe a corrupted transfer: start over once */
            hx_warn("%s; downloading it again", hx_lasterr());
            close(f->fd);
            f->fd = open(f->incomplete, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
            if (f->fd < 0) {
                file_fail(f, HX_EIO, "cannot reopen partial file");
                break;
            }
            continue;
        }
        if (st)
            file_fail(f, st, hx_lasterr());
        break;
    }
}

/* The chunks of a file whose server ignores Range are all in: drop the
 * chunk state (hashing thread, journal) and fetch it as one stream from
 * byte 0. */
static void refetch_whole(dl_ctx *x, CURL *h, dl_file *f)
{
    hx_debug("%s: the server answers Range requests with the whole file; fetching it as one stream", f->e->path);
    hasher_join(f);
    if (f->hs_live)
        hx_hasher_abort(&f->hs);
    f->hs_live = 0;
    free(f->written);
    f->written = NULL;
    if (f->jfd >= 0)
        close(f->jfd);
    f->jfd = -1;
    if (f->journal)
        unlink(f->journal);
    if (ftruncate(f->fd, 0) != 0) {
        file_fail(f, HX_EIO, "cannot truncate partial file");
        return;
    }
    fetch_whole(x, h, f);
}

static void run_task(void *ud, size_t i, CURL *h)
{
    dl_ctx *x = ud;
    dl_task *t = &x->tasks[i];
    dl_file *f = t->f;
    pthread_mutex_lock(&f->mu);
    if (f->slot == -2)
        f->slot = hx_progress_file_begin(&x->c->prog, f->e->path, f->e->size, f->resumed);
    pthread_mutex_unlock(&f->mu);
    if (atomic_load(&f->failed))
        goto chunk_end;
    if (t->chunk == UINT64_MAX) {
        fetch_whole(x, h, f);
        file_done(x, f);
        return;
    }
    if (t->chunk < f->nchunks && !atomic_load(&f->norange)) {
        uint64_t a = t->chunk * CHUNK;
        uint64_t len = f->e->size - a < CHUNK ? f->e->size - a : CHUNK;
        int restart = 0;
        hx_status st = fetch_span(x, h, f, a, len, NULL, &restart);
        if (restart)
            atomic_store(&f->norange, 1); /* the last chunk task fetches the whole file */
        else if (st)
            file_fail(f, st, hx_lasterr());
        else if (f->jfd >= 0 && pwrite(f->jfd, "1", 1, (off_t)t->chunk) != 1)
            file_fail(f, HX_EIO, "cannot update the chunk journal");
    }
chunk_end:
    if (t->chunk != UINT64_MAX && atomic_fetch_sub(&f->chunks_left, 1) == 1) {
        if (!atomic_load(&f->failed) && atomic_load(&f->norange)) {
            refetch_whole(x, h, f);
        } else if (!atomic_load(&f->failed)) {
            hx_status st = finalize(x, f, NULL, NULL);
            if (st)
                file_fail(f, st, hx_lasterr());
        }
        file_done(x, f);
    }
}

static int task_cmp(const void *a, const void *b)
{
    const dl_task *x = a, *y = b;
    int cx = x->chunk != UINT64_MAX, cy = y->chunk != UINT64_MAX;
    if (cx != cy)
        return cy - cx; /* chunks first */
    if (cx && x->chunk != y->chunk) /* round-robin over the large files */
        return x->chunk < y->chunk ? -1 : 1;
    if (x->f->e->size != y->f->e->size) /* then larger first */
        return x->f->e->size > y->f->e->size ? -1 : 1;
    return strcmp(x->f->e->path, y->f->e->path);
}

/* The order in which the pool takes the tasks: the chunks of all large
 * files round-robin (so that several files, each with its own hashing
 * thread, progress at once), larger files first, and the single-stream
 * files merged in by count, so that they are fetched alongside the chunks
 * instead of after the last one. */
static void order_tasks(dl_task *t, size_t n)
{
    qsort(t, n, sizeof *t, task_cmp);
    size_t nc = 0;
    while (nc < n && t[nc].chunk != UINT64_MAX)
        nc++;
    if (!nc || nc == n)
        return;
    dl_task *m = hx_malloc(n * sizeof *m);
    size_t i = 0, j = nc, k = 0;
    while (i < nc || j < n) /* take from the list that is less far through */
        m[k++] = j >= n || (i < nc && i * (n - nc) <= (j - nc) * nc) ? t[i++] : t[j++];
    memcpy(t, m, n * sizeof *m);
    free(m);
}

static int selected(const hub_download_opts *o, const char *path)
{
    if (!o || !o->n_include)
        return 1;
    for (size_t i = 0; i < o->n_include; i++)
        if (hub_glob_match(o->include[i], path))
            return 1;
    return 0;
}

static const char *blob_of(const hub_entry *e) { return e->sha256[0] ? e->sha256 : e->oid; }

static int by_blob(const void *a, const void *b, void *ctx)
{
    const hub_listing *l = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(blob_of(&l->files[x]), blob_of(&l->files[y]));
    return c ? c : (x > y) - (x < y);
}

/* first[i]: the lowest index of a selected entry with entry i's blob (i
 * itself for the first one), by sorting the selected indices by blob:
 * O(n log n) for listings of up to a million files. Unselected entries
 * get first[i] = i. */
static size_t *same_blob_first(const hub_download_opts *o, const hub_listing *l)
{
    size_t *first = hx_malloc((l->n + 1) * sizeof *first), *ord = hx_malloc((l->n + 1) * sizeof *ord);
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        first[i] = i;
        if (selected(o, l->files[i].path))
            ord[n++] = i;
    }
    qsort_r(ord, n, sizeof *ord, by_blob, (void *)l);
    for (size_t k = 1; k < n; k++)
        if (!strcmp(blob_of(&l->files[ord[k]]), blob_of(&l->files[ord[k - 1]])))
            first[ord[k]] = first[ord[k - 1]];
    free(ord);
    return first;
}

static hx_status copy_to_local_dir(hub_client *c, const char *repo, const char *commit, const hub_entry *e,
                                   const char *local_dir)
{
    if (!hub_path_safe(e->path))
        return HX_EFORMAT;
    char *d = hub_cache_repo_dir(c, repo);
    char *src = hx_asprintf("%s/snapshots/%s/%s", d, commit, e->path);
    free(d);
    char *dst = hx_path_join(local_dir, e->path);
    char *meta = hx_asprintf("%s/.cache/huggingface/download/%s.metadata", local_dir, e->path);
    const char *etag = e->sha256[0] ? e->sha256 : e->oid;
    hx_status st = HX_OK;
    /* up to date? (metadata names this commit+etag and the size matches) */
    char *txt = NULL;
    struct stat sb;
    int fresh = hx_read_file(meta, 4096, &txt, NULL) == HX_OK && stat(dst, &sb) == 0 &&
                (uint64_t)sb.st_size == e->size && strstr(txt, etag) != NULL;
    free(txt);
    hx_clearerr();
    if (!fresh) {
        char *dd = hx_strdup(dst), *md = hx_strdup(meta);
        *strrchr(dd, '/') = 0;
        *strrchr(md, '/') = 0;
        st = hx_mkdirs(dd);
        if (!st)
            st = hx_mkdirs(md);
        if (!st)
            st = hx_copy_file_atomic(src, dst);
        if (!st) {
            char *m = hx_asprintf("%s\n%s\n%.6f\n", commit, etag, (double)time(NULL) + 1.0);
            st = hx_write_file_atomic(meta, m, strlen(m));
            free(m);
        }
        free(dd);
        free(md);
    }
    free(src);
    free(dst);
    free(meta);
    return st;
}

static hx_status prepare_local_dir(const char *local_dir)
{
    char *p = hx_asprintf("%s/.cache/huggingface", local_dir);
    hx_status st = hx_mkdirs(p);
    if (!st) {
        char *gi = hx_path_join(p, ".gitignore");
        if (!hx_file_exists(gi))
            st = hx_write_file_atomic(gi, "*", 1);
        free(gi);
    }
    free(p);
    return st;
}

hx_status hub_download(hub_client *c, const char *repo, const hub_download_opts *o, hub_download_result *res)
{
    memset(res, 0, sizeof *res);
    double t0 = hx_now();
    const char *rev = o && o->revision ? o->revision : "main";
    char commit[41];
    hx_status st = hub_resolve_revision(c, repo, rev, commit);
    if (st)
        return st;
    memcpy(res->commit, commit, 41);
    hub_listing l;
    if ((st = hub_list_files(c, repo, commit, &l))) {
        if (c->offline) {
            /* no cached listing: accept the snapshot folder as it is */
            hx_clearerr();
            char *d = hub_cache_repo_dir(c, repo);
            char *snap = hx_asprintf("%s/snapshots/%s", d, commit);
            free(d);
            if (hx_dir_exists(snap) && !(o && o->local_dir)) {
                res->dir = snap;
                return HX_OK;
            }
            free(snap);
            return HX_FAIL(HX_ENOTFOUND, "%s@%s: offline and the snapshot is not fully cached", repo, rev);
        }
        return st;
    }
    if ((st = hub_cache_prepare(c, repo)))
        goto out_list;
    if (!c->offline) {
        if ((st = hub_cache_write_ref(c, repo, rev, commit)))
            goto out_list;
        if ((st = hub_cache_write_tree(c, repo, &l)))
            goto out_list;
    }
    char *rdir = hub_cache_repo_dir(c, repo);
    char *snap = hx_asprintf("%s/snapshots/%s", rdir, commit);
    if ((st = hx_mkdirs(snap))) {
        free(rdir);
        free(snap);
        goto out_list;
    }
    /* plan: which blobs are missing */
    dl_file *files = hx_calloc(l.n + 1, sizeof *files);
    dl_dup *dups = hx_calloc(l.n + 1, sizeof *dups);
    size_t nf = 0, ntasks = 0, ndups = 0;
    size_t *first = same_blob_first(o, &l), *slot_of = hx_malloc((l.n + 1) * sizeof *slot_of);
    for (size_t i = 0; i < l.n; i++)
        slot_of[i] = SIZE_MAX; /* not planned (present, or not selected) */
    uint64_t total_bytes = 0;
    for (size_t i = 0; i < l.n; i++) {
        hub_entry *e = &l.files[i];
        if (!selected(o, e->path))
            continue;
        res->files++;
        res->bytes_total += e->size;
        const char *blob = blob_of(e);
        char *bp = hx_asprintf("%s/blobs/%s", rdir, blob);
        struct stat sb;
        int have = stat(bp, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == e->size;
        free(bp);
        if (have) {
            if ((st = hub_cache_link(c, repo, commit, e->path, blob)))
                break;
            continue;
        }
        if (c->offline) {
            st = HX_FAIL(HX_ENOTFOUND, "%s@%s: offline and %s is not in the cache", repo, rev, e->path);
            break;
        }
        /* the same content under another path (two empty __init__.py): one
         * transfer of the blob, the other paths linked once it is there.
         * Locking the blob twice from this process would wait forever
         * (flock locks per open file description). */
        if (first[i] != i && slot_of[first[i]] != SIZE_MAX) { /* planned for an earlier path */
            dups[ndups++] = (dl_dup){e, slot_of[first[i]]};
            continue;
        }
        slot_of[i] = nf;
        dl_file *f = &files[nf++];
        f->e = e;
        snprintf(f->blob, sizeof f->blob, "%s", blob);
        f->fd = f->jfd = f->lockfd = -1;
        f->slot = -2;
        pthread_mutex_init(&f->mu, NULL);
        pthread_mutex_init(&f->wmu, NULL);
        pthread_cond_init(&f->cv, NULL);
        pthread_cond_init(&f->room, NULL);
        total_bytes += e->size;
        ntasks += e->size >= PARALLEL_MIN ? (e->size + CHUNK - 1) / CHUNK : 1;
    }
    hx_progress_files_start(&c->prog, "download", c->progress, c->json, (int)nf, total_bytes);
    dl_task *tasks = hx_calloc(ntasks + 1, sizeof *tasks);
    size_t nt = 0;
    /* open (and lock) the partial files */
    for (size_t k = 0; !st && k < nf; k++) {
        dl_file *f = &files[k];
        f->lockfd = hub_cache_lock(c, repo, f->blob);
        char *bp = hx_asprintf("%s/blobs/%s", rdir, f->blob);
        struct stat sb;
        int appeared = stat(bp, &sb) == 0 && (uint64_t)sb.st_size == f->e->size;
        free(bp);
        if (appeared) { /* another process finished it while we waited */
            if (f->lockfd >= 0)
                close(f->lockfd);
            f->lockfd = -1;
            st = hub_cache_link(c, repo, commit, f->e->path, f->blob);
            f->e = NULL;
            continue;
        }
        f->incomplete = hx_asprintf("%s/blobs/%s.incomplete", rdir, f->blob);
        f->fd = open(f->incomplete, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (f->fd < 0) {
            st = HX_FAIL(HX_EIO, "cannot open %s: %s", f->incomplete, strerror(errno));
            break;
        }
        if (f->e->size < PARALLEL_MIN) {
            tasks[nt++] = (dl_task){f, UINT64_MAX};
            continue;
        }
        f->nchunks = (f->e->size + CHUNK - 1) / CHUNK;
        const char *sl = strrchr(rdir, '/');
        f->journal = hx_asprintf("%s/.locks/%s/%s.chunks", c->cache_dir, sl + 1, f->blob);
        f->jfd = open(f->journal, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        char *jb = hx_calloc(f->nchunks + 1, 1);
        struct stat ib;
        fstat(f->fd, &ib);
        int valid = f->jfd >= 0 && (uint64_t)ib.st_size == f->e->size &&
                    pread(f->jfd, jb, f->nchunks, 0) == (ssize_t)f->nchunks;
        if (!valid) {
            memset(jb, '0', f->nchunks);
            if (f->jfd < 0 || ftruncate(f->fd, (off_t)f->e->size) != 0 ||
                pwrite(f->jfd, jb, f->nchunks, 0) != (ssize_t)f->nchunks) {
                st = HX_FAIL(HX_EIO, "cannot prepare %s", f->incomplete);
                free(jb);
                break;
            }
        }
        uint64_t todo = 0;
        f->written = hx_calloc(f->nchunks, sizeof *f->written);
        hx_hasher_init(&f->hs, f->e->size, f->e->sha256[0] == 0);
        f->hs_live = 1;
        for (uint64_t ch = 0; ch < f->nchunks; ch++) {
            if (jb[ch] != '1') {
                todo++;
                tasks[nt++] = (dl_task){f, ch};
            } else {
                f->written[ch] = chunk_len(f, ch);
                hx_progress_resumed(&c->prog, -1, chunk_len(f, ch));
                f->resumed += chunk_len(f, ch);
            }
        }
        free(jb);
        atomic_init(&f->chunks_left, todo ? todo : 1);
        if (pthread_create(&f->hasher, NULL, hasher_main, f) == 0)
            f->hasher_on = 1;
        else
            f->hash_broken = 1; /* finalize hashes the file after the transfer */
        if (!todo) /* every chunk is there: only verify (no-op chunk index) */
            tasks[nt++] = (dl_task){f, f->nchunks};
    }
    if (!st) {
        dl_ctx x = {.c = c, .repo = repo, .commit = commit, .tasks = tasks};
        atomic_init(&x.fetched, 0);
        order_tasks(tasks, nt);
        hub_transfers_run(c, c->jobs, nt, run_task, &x);
        hx_progress_end(&c->prog);
        res->bytes_fetched = atomic_load(&x.fetched);
        for (size_t k = 0; k < nf; k++) {
            if (files[k].e && atomic_load(&files[k].failed) && !st) {
                hx_seterr("%s@%.12s: %s", repo, commit, files[k].err);
                st = files[k].st ? files[k].st : HX_ENET;
            }
            if (files[k].e && !atomic_load(&files[k].failed))
                res->files_fetched++;
        }
        /* the other paths of a blob fetched (or found) above */
        for (size_t d = 0; !st && d < ndups; d++)
            st = hub_cache_link(c, repo, commit, dups[d].e->path, files[dups[d].file].blob);
    }
    for (size_t k = 0; k < nf; k++) {
        hasher_join(&files[k]);
        if (files[k].fd >= 0)
            close(files[k].fd);
        if (files[k].jfd >= 0)
            close(files[k].jfd);
        if (files[k].lockfd >= 0)
            close(files[k].lockfd);
        if (files[k].hs_live)
            hx_hasher_abort(&files[k].hs);
        free(files[k].written);
        free(files[k].incomplete);
        free(files[k].journal);
        pthread_mutex_destroy(&files[k].mu);
        pthread_mutex_destroy(&files[k].wmu);
        pthread_cond_destroy(&files[k].cv);
        pthread_cond_destroy(&files[k].room);
    }
    free(files);
    free(dups);
    free(first);
    free(slot_of);
    free(tasks);
    if (!st && o && o->local_dir) {
        st = prepare_local_dir(o->local_dir);
        for (size_t i = 0; !st && i < l.n; i++)
            if (selected(o, l.files[i].path))
                st = copy_to_local_dir(c, repo, commit, &l.files[i], o->local_dir);
    }
    free(rdir);
    if (!st)
        res->dir = o && o->local_dir ? hx_strdup(o->local_dir) : hx_strdup(snap);
    free(snap);
    res->seconds = hx_now() - t0;
out_list:
    hub_listing_free(&l);
    return st;
}

typedef struct mem_sink {
    char *buf;
    size_t cap, got;
    uint64_t skip; /* bytes to drop first (server ignored Range) */
} mem_sink;

static int mem_write(void *ud, const void *b, size_t n)
{
    mem_sink *m = ud;
    const char *p = b;
    if (m->skip) {
        size_t s = n < m->skip ? n : (size_t)m->skip;
        m->skip -= s;
        p += s;
        n -= s;
    }
    size_t take = n < m->cap - m->got ? n : m->cap - m->got;
    memcpy(m->buf + m->got, p, take);
    m->got += take;
    return m->got == m->cap && n > take ? 1 : 0;
}

hx_status hub_fetch_range(hub_client *c, const char *repo, const char *rev, const char *path, uint64_t off,
                          size_t len, void *buf, size_t *got)
{
    *got = 0;
    if (!hub_repo_id_valid(repo) || !hub_path_safe(path))
        return HX_FAIL(HX_EINVAL, "bad repo id or path '%s' / '%s'", repo, path);
    if (!len)
        return HX_OK;
    char *url = file_resolve_url(c, repo, rev ? rev : "main", path);
    char range[80];
    snprintf(range, sizeof range, "bytes=%" PRIu64 "-%" PRIu64, off, off + len - 1);
    CURL *h = hub_curl_new(c);
    hx_status st = HX_OK;
    for (int attempt = 0;; attempt++) {
        mem_sink m = {.buf = buf, .cap = len};
        hub_http_resp rs = {0};
        hub_http_req rq = {.method = "GET", .url = url, .follow = 1, .range = range, .sink = mem_write, .sink_ctx = &m};
        st = hub_http(c, h, &rq, &rs);
        if (rs.status == 200 && off > 0) { /* Range ignored: read it again skipping */
            m = (mem_sink){.buf = buf, .cap = len, .skip = off};
            hub_http_resp_free(&rs);
            rq.range = NULL;
            st = hub_http(c, h, &rq, &rs);
        }
        char what[400];
        snprintf(what, sizeof what, "%s@%s: %s", repo, rev ? rev : "main", path);
        if (rs.status == 416) {
            st = HX_OK;
        } else if ((st || hub_http_retryable(&rs)) && !rs.sink_aborted && attempt < c->max_retries &&
                   (st == HX_OK || rs.transport_error)) {
            hub_http_backoff(c, attempt, &rs);
            hub_http_resp_free(&rs);
            continue;
        } else if (rs.sink_aborted == 1) {
            st = HX_OK; /* we had all we wanted */
        } else if (!st && rs.status >= 300) {
            if (rs.status == 404 && rs.error_code && !strcmp(rs.error_code, "EntryNotFound") && rs.repo_commit &&
                hub_is_commit_id(rs.repo_commit) && hub_cache_prepare(c, repo) == HX_OK)
                hub_cache_no_exist(c, repo, rs.repo_commit, path); /* like hf_hub_download */
            st = hub_http_error(&rs, what);
        }
        if (!st)
            *got = m.got;
        hub_http_resp_free(&rs);
        break;
    }
    curl_easy_cleanup(h);
    free(url);
    return st;
}

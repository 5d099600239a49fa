/* multipart.c - the SHA-256 of a multipart LFS upload, computed once, in
 * part order, while the parts still arrive.
 *
 * SHA-256 does not compose, so per-part digests cannot give the object's.
 * Each multipart object in progress has one hashing thread that follows
 * the parts in order: when part `next` has arrived completely (and nobody
 * is writing it), it reads it back from the page cache and feeds it to the
 * object's hasher. The connections that receive parts never hash, and a
 * connection waits (backpressure) while it would write more than
 * MP_LAG_MAX beyond the hashed prefix, so that on a machine with few cores
 * the hash keeps pace instead of being left for completion. Completion
 * then has at most the last part to hash.
 *
 * Anything unusual (a part uploaded again after it arrived or was hashed,
 * two uploads of one part at once, a read error, a server restart that
 * lost the state) marks the state "dirty" or loses it; completion then
 * falls back to hashing the assembled file, and the object still enters
 * the store only if its SHA-256 and size match.
 *
 * Locking: everything below is guarded by the server's mp_mu; mp_cv is
 * broadcast whenever a part starts or ends and whenever the hasher moves,
 * and every waiter looks its state up again by oid after waking (a state
 * may be removed meanwhile). */
#include "hub/server/server_internal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* how far past the hashed prefix a part may be written before its
 * connection waits (never less than two parts, so the part being hashed
 * and the next one always proceed) */
#define MP_LAG_MAX ((uint64_t)256 << 20)

typedef struct srv_mp {
    struct srv_mp *next_mp;
    hub_server *srv;
    char oid[65];
    uint64_t size, chunk, nparts;
    int *writers;            /* uploads in flight per part */
    unsigned char *received; /* part complete (its etag recorded) */
    uint64_t next;           /* parts [0, next) are in hs (0-based) */
    hx_hasher hs;
    int fd;                  /* the data file, read back by the hasher */
    int dirty, stop, done;   /* done: the hasher thread has ended */
} srv_mp;

static srv_mp *mp_find(hub_server *s, const char *oid) /* mp_mu held */
{
    for (srv_mp *m = s->mps; m; m = m->next_mp)
        if (!strcmp(m->oid, oid))
            return m;
    return NULL;
}

static void mp_destroy(srv_mp *m)
{
    hx_hasher_abort(&m->hs);
    if (m->fd >= 0)
        close(m->fd);
    free(m->writers);
    free(m->received);
    free(m);
}

/* Stop m's hasher, wait until it has ended, unlink and free m. mp_mu held;
 * m must be in the list. */
static void mp_remove(hub_server *s, srv_mp *m)
{
    m->stop = 1;
    pthread_cond_broadcast(&s->mp_cv);
    while (!m->done)
        pthread_cond_wait(&s->mp_cv, &s->mp_mu);
    for (srv_mp **pp = &s->mps; *pp; pp = &(*pp)->next_mp)
        if (*pp == m) {
            *pp = m->next_mp;
            break;
        }
    mp_destroy(m);
}

void srv_mp_free_all(hub_server *s)
{
    pthread_mutex_lock(&s->mp_mu);
    while (s->mps)
        mp_remove(s, s->mps);
    pthread_mutex_unlock(&s->mp_mu);
}

static int hash_part(srv_mp *m, uint64_t k)
{
    uint64_t from = k * m->chunk, to = from + m->chunk < m->size ? from + m->chunk : m->size;
    if (!hx_hasher_feed_fd(&m->hs, m->fd, from, to, NULL)) /* from the page cache */
        return 0;
    /* start writing the part to disk now, so that the fsync when the
     * object enters the store has little left to wait for */
    sync_file_range(m->fd, (off_t)from, (off_t)(to - from), SYNC_FILE_RANGE_WRITE);
    return 1;
}

/* The hashing thread of one multipart object (detached; m stays alive
 * until it has set done, see mp_remove). */
static void *mp_hasher(void *ud)
{
    srv_mp *m = ud;
    hub_server *s = m->srv;
    pthread_mutex_lock(&s->mp_mu);
    while (!m->stop && !m->dirty && m->next < m->nparts) {
        uint64_t k = m->next;
        if (!m->received[k] || m->writers[k]) {
            pthread_cond_wait(&s->mp_cv, &s->mp_mu);
            continue;
        }
        m->writers[k]++; /* reading it: a new upload of k now counts as "twice at once" */
        pthread_mutex_unlock(&s->mp_mu);
        int ok = hash_part(m, k);
        pthread_mutex_lock(&s->mp_mu);
        m->writers[k]--;
        if (!ok)
            m->dirty = 1;
        else if (!m->dirty)
            m->next = k + 1;
        pthread_cond_broadcast(&s->mp_cv);
    }
    m->done = 1;
    pthread_cond_broadcast(&s->mp_cv);
    pthread_mutex_unlock(&s->mp_mu);
    return NULL;
}

void srv_mp_part_begin(srv_conn *cx, uint64_t size, uint64_t chunk)
{
    hub_server *s = cx->srv;
    uint64_t k = (uint64_t)cx->part - 1;
    pthread_mutex_lock(&s->mp_mu);
    srv_mp *m = mp_find(s, cx->oid);
    if (m && (m->size != size || m->chunk != chunk)) {
        m->dirty = 1; /* cannot happen with signed URLs; be safe */
    } else if (!m) {
        m = hx_calloc(1, sizeof *m);
        m->srv = s;
        memcpy(m->oid, cx->oid, 65);
        m->size = size;
        m->chunk = chunk;
        m->nparts = (size + chunk - 1) / chunk;
        m->writers = hx_calloc(m->nparts, sizeof *m->writers);
        m->received = hx_calloc(m->nparts, 1);
        hx_hasher_init(&m->hs, size, 0);
        m->fd = dup(cx->fd);
        pthread_t t;
        if (m->fd < 0 || pthread_create(&t, NULL, mp_hasher, m) != 0) {
            m->dirty = 1;
            m->done = 1;
        } else {
            pthread_detach(t);
        }
        m->next_mp = s->mps;
        s->mps = m;
    }
    if (k < m->nparts) {
        if (k < m->next || m->received[k] || m->writers[k])
            m->dirty = 1; /* rewritten after it was received or hashed, or twice at once */
        m->received[k] = 0;
        m->writers[k]++;
        cx->mp_writer = 1;
    }
    pthread_cond_broadcast(&s->mp_cv);
    pthread_mutex_unlock(&s->mp_mu);
}

void srv_mp_part_end(srv_conn *cx, int ok)
{
    hub_server *s = cx->srv;
    uint64_t k = (uint64_t)cx->part - 1;
    pthread_mutex_lock(&s->mp_mu);
    srv_mp *m = mp_find(s, cx->oid);
    cx->mp_writer = 0;
    if (m && k < m->nparts) {
        m->writers[k]--;
        if (ok)
            m->received[k] = 1;
    }
    pthread_cond_broadcast(&s->mp_cv);
    pthread_mutex_unlock(&s->mp_mu);
}

void srv_mp_abandon(srv_conn *cx) { srv_mp_part_end(cx, 0); }

void srv_mp_wait_room(srv_conn *cx, uint64_t off)
{
    hub_server *s = cx->srv;
    pthread_mutex_lock(&s->mp_mu);
    for (;;) {
        srv_mp *m = mp_find(s, cx->oid);
        if (!m || m->dirty || m->done || m->next >= m->nparts)
            break;
        uint64_t lag = MP_LAG_MAX > 2 * m->chunk ? MP_LAG_MAX : 2 * m->chunk;
        /* wait only while the part at the hashed frontier is on its way
         * (being written, or received and being hashed): then the hasher
         * is sure to move. A client that sends parts in another order
         * never waits. */
        uint64_t k = m->next;
        if (off <= k * m->chunk + lag || (!m->writers[k] && !m->received[k]))
            break;
        pthread_cond_wait(&s->mp_cv, &s->mp_mu);
    }
    pthread_mutex_unlock(&s->mp_mu);
}

int srv_mp_take_hash(hub_server *s, const char *oid, uint64_t size, char sha[65])
{
    int have = 0;
    pthread_mutex_lock(&s->mp_mu);
    srv_mp *m = mp_find(s, oid);
    /* let the hasher finish the parts that have arrived, then stop it */
    while (m && !m->dirty && !m->done && m->next < m->nparts && m->received[m->next]) {
        pthread_cond_wait(&s->mp_cv, &s->mp_mu);
        m = mp_find(s, oid);
    }
    if (m) {
        m->stop = 1;
        pthread_cond_broadcast(&s->mp_cv);
        while (m && !m->done) {
            pthread_cond_wait(&s->mp_cv, &s->mp_mu);
            m = mp_find(s, oid);
        }
    }
    if (m) {
        int writing = 0;
        for (uint64_t i = 0; i < m->nparts; i++)
            writing |= m->writers[i];
        if (!m->dirty && !writing && m->next == m->nparts && m->size == size && m->hs.fed == size) {
            hx_hasher_final(&m->hs, sha, NULL);
            have = 1;
        }
        if (!writing)
            mp_remove(s, m);
        else
            m->dirty = 1; /* an upload of a part still runs: its end finds the state */
    }
    pthread_mutex_unlock(&s->mp_mu);
    return have;
}

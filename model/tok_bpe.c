/* tok_bpe.c - the BPE model of tokenizer.json: a piece is split into
 * characters (mapped to ids, with byte fallback or a fused unknown token),
 * then adjacent pairs are merged in order of merge rank, leftmost first,
 * with a binary heap (O(n log n), so that a whole unsplit text - SentencePiece
 * style BPE has no pre-tokenizer - stays fast). Results of short pieces are
 * cached per encode call. */
#include "model/tok_internal.h"

#include <stdlib.h>
#include <string.h>

void tok_ids_add(tok_ids *d, const int32_t *ids, size_t k)
{
    if (!k)
        return;
    if (d->n + k > d->cap) {
        size_t c = d->cap ? d->cap : 256;
        while (c < d->n + k)
            c *= 2;
        d->v = hx_realloc(d->v, c * sizeof *d->v);
        d->cap = c;
    }
    memcpy(d->v + d->n, ids, k * sizeof *ids);
    d->n += k;
}

typedef struct merge_ent {
    int32_t rank, pos, newid;
} merge_ent;

typedef struct heap {
    merge_ent *v;
    size_t n, cap;
} heap;

static int less(const merge_ent *a, const merge_ent *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(heap *h, merge_ent e)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->v = hx_realloc(h->v, h->cap * sizeof *h->v);
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!less(&e, &h->v[p]))
            break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = e;
}

static merge_ent heap_pop(heap *h)
{
    merge_ent top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const merge_ent *mv = &last;
        if (l < h->n && less(&h->v[l], mv)) {
            m = l;
            mv = &h->v[l];
        }
        if (r < h->n && less(&h->v[r], mv))
            m = r;
        if (m == i)
            break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

/* symbol arrays */
typedef struct syms {
    int32_t *id, *prev, *next;
    size_t n, cap;
} syms;

static void sym_push(syms *s, int32_t id)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->id = hx_realloc(s->id, s->cap * 4);
        s->prev = hx_realloc(s->prev, s->cap * 4);
        s->next = hx_realloc(s->next, s->cap * 4);
    }
    s->id[s->n] = id;
    s->prev[s->n] = (int32_t)s->n - 1;
    s->next[s->n] = (int32_t)s->n + 1;
    s->n++;
}

static void bpe(const hx_tok *t, const char *s, size_t n, tok_ids *out)
{
    if (t->ignore_merges) {
        int32_t id = tok_map_get(&t->vocab, s, n);
        if (id >= 0) {
            tok_ids_add(out, &id, 1);
            return;
        }
    }
    syms sy = {0};
    int last_unk = 0;
    for (size_t i = 0; i < n;) {
        size_t k = tok_utf8_len((unsigned char)s[i]);
        if (i + k > n)
            k = n - i;
        int32_t id = tok_map_get(&t->vocab, s + i, k);
        if (id >= 0) {
            sym_push(&sy, id);
            last_unk = 0;
        } else {
            int all = t->byte_fallback;
            for (size_t j = 0; all && j < k; j++)
                all = t->byte_id[(unsigned char)s[i + j]] >= 0;
            if (all) {
                for (size_t j = 0; j < k; j++)
                    sym_push(&sy, t->byte_id[(unsigned char)s[i + j]]);
                last_unk = 0;
            } else if (t->unk_id >= 0) {
                if (!(t->fuse_unk && last_unk))
                    sym_push(&sy, t->unk_id);
                last_unk = 1;
            }
        }
        i += k;
    }
    if (sy.n)
        sy.next[sy.n - 1] = -1;
    if (sy.n > 1) {
        heap h = {0};
        for (size_t i = 0; i + 1 < sy.n; i++) {
            int32_t nid, r = tok_pair_get(&t->merges, sy.id[i], sy.id[i + 1], &nid);
            if (r >= 0)
                heap_push(&h, (merge_ent){r, (int32_t)i, nid});
        }
        while (h.n) {
            merge_ent m = heap_pop(&h);
            int32_t p = m.pos;
            if (sy.id[p] < 0 || sy.next[p] < 0)
                continue;
            int32_t q = sy.next[p], nid;
            if (tok_pair_get(&t->merges, sy.id[p], sy.id[q], &nid) != m.rank || nid != m.newid)
                continue;
            sy.id[p] = m.newid;
            sy.next[p] = sy.next[q];
            if (sy.next[q] >= 0)
                sy.prev[sy.next[q]] = p;
            sy.id[q] = -1;
            int32_t a = sy.prev[p], b = sy.next[p], r;
            if (a >= 0 && (r = tok_pair_get(&t->merges, sy.id[a], sy.id[p], &nid)) >= 0)
                heap_push(&h, (merge_ent){r, a, nid});
            if (b >= 0 && (r = tok_pair_get(&t->merges, sy.id[p], sy.id[b], &nid)) >= 0)
                heap_push(&h, (merge_ent){r, p, nid});
        }
        free(h.v);
    }
    for (int32_t i = sy.n ? 0 : -1; i >= 0; i = sy.next[i])
        if (sy.id[i] >= 0)
            tok_ids_add(out, &sy.id[i], 1);
    free(sy.id);
    free(sy.prev);
    free(sy.next);
}

#define CACHE_MAX_PIECE 128

void tok_bpe_piece(const hx_tok *t, tok_cache *c, const char *s, size_t n, tok_ids *out)
{
    if (!n)
        return;
    if (!c || n > CACHE_MAX_PIECE) {
        bpe(t, s, n, out);
        return;
    }
    int32_t e = tok_map_get(&c->map, s, n);
    if (e >= 0) {
        if (c->cnt[e]) /* a piece BPE turned into no ids: nothing to add (pool may be empty) */
            tok_ids_add(out, c->pool.v + c->off[e], c->cnt[e]);
        return;
    }
    size_t before = c->pool.n;
    bpe(t, s, n, &c->pool);
    if (c->nent == c->capent) {
        c->capent = c->capent ? c->capent * 2 : 1024;
        c->off = hx_realloc(c->off, c->capent * sizeof *c->off);
        c->cnt = hx_realloc(c->cnt, c->capent * sizeof *c->cnt);
    }
    c->off[c->nent] = before;
    c->cnt[c->nent] = c->pool.n - before;
    tok_map_put(&c->map, s, n, (int32_t)c->nent++);
    if (c->pool.n > before)
        tok_ids_add(out, c->pool.v + before, c->pool.n - before);
}

void tok_cache_free(tok_cache *c)
{
    tok_map_free(&c->map);
    free(c->off);
    free(c->cnt);
    free(c->pool.v);
    memset(c, 0, sizeof *c);
}

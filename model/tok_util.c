/* tok_util.c - small containers and text helpers of the tokenizer: string
 * and pair hash maps, growable buffers and piece lists, UTF-8 encoding,
 * validation and lossy repair, the GPT-2 byte<->unicode table, and regex
 * compilation with PCRE2 (UTF + Unicode properties, JIT when available). */
#include "model/tok_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static void map_grow(tok_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    tok_map nm = {hx_calloc(ncap, sizeof(char *)), hx_calloc(ncap, sizeof(uint32_t)),
                  hx_calloc(ncap, sizeof(int32_t)), ncap, 0};
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = hash_bytes(m->keys[i], m->klen[i]) & (ncap - 1);
        while (nm.keys[j])
            j = (j + 1) & (ncap - 1);
        nm.keys[j] = m->keys[i];
        nm.klen[j] = m->klen[i];
        nm.vals[j] = m->vals[i];
        nm.n++;
    }
    free(m->keys);
    free(m->klen);
    free(m->vals);
    *m = nm;
}

void tok_map_put(tok_map *m, const char *k, size_t n, int32_t v)
{
    if ((m->n + 1) * 2 > m->cap)
        map_grow(m);
    size_t j = hash_bytes(k, n) & (m->cap - 1);
    while (m->keys[j]) {
        if (m->klen[j] == n && !memcmp(m->keys[j], k, n)) {
            m->vals[j] = v;
            return;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->keys[j] = hx_malloc(n + 1);
    memcpy(m->keys[j], k, n);
    m->keys[j][n] = 0;
    m->klen[j] = (uint32_t)n;
    m->vals[j] = v;
    m->n++;
}

int32_t tok_map_get(const tok_map *m, const char *k, size_t n)
{
    if (!m->cap)
        return -1;
    size_t j = hash_bytes(k, n) & (m->cap - 1);
    while (m->keys[j]) {
        if (m->klen[j] == n && !memcmp(m->keys[j], k, n))
            return m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
    return -1;
}

void tok_map_free(tok_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->klen);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static uint64_t hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

void tok_pair_put(tok_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t newid)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 1024;
        tok_pairmap nm = {hx_calloc(ncap, 8), hx_calloc(ncap, 4), hx_calloc(ncap, 4), ncap, 0};
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i])
                continue;
            size_t j = hash_u64(m->keys[i]) & (ncap - 1);
            while (nm.keys[j])
                j = (j + 1) & (ncap - 1);
            nm.keys[j] = m->keys[i];
            nm.rank[j] = m->rank[i];
            nm.newid[j] = m->newid[i];
            nm.n++;
        }
        tok_pair_free(m);
        *m = nm;
    }
    uint64_t k = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    size_t j = hash_u64(k) & (m->cap - 1);
    while (m->keys[j]) {
        if (m->keys[j] == k)
            return; /* first (lowest rank) merge wins */
        j = (j + 1) & (m->cap - 1);
    }
    m->keys[j] = k;
    m->rank[j] = rank;
    m->newid[j] = newid;
    m->n++;
}

int32_t tok_pair_get(const tok_pairmap *m, int32_t a, int32_t b, int32_t *newid)
{
    if (!m->cap)
        return -1;
    uint64_t k = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    size_t j = hash_u64(k) & (m->cap - 1);
    while (m->keys[j]) {
        if (m->keys[j] == k) {
            *newid = m->newid[j];
            return m->rank[j];
        }
        j = (j + 1) & (m->cap - 1);
    }
    return -1;
}

void tok_pair_free(tok_pairmap *m)
{
    free(m->keys);
    free(m->rank);
    free(m->newid);
    memset(m, 0, sizeof *m);
}

void tok_list_add(tok_list *l, const char *s, size_t n)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = hx_realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n].off = l->buf.len;
    l->v[l->n].len = n;
    l->n++;
    hx_buf_put(&l->buf, s, n);
}

void tok_list_free(tok_list *l)
{
    hx_buf_free(&l->buf);
    free(l->v);
    memset(l, 0, sizeof *l);
}

size_t tok_utf8_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0)
        return 2;
    if ((c & 0xf0) == 0xe0)
        return 3;
    if ((c & 0xf8) == 0xf0)
        return 4;
    return 1;
}

/* Length of the valid UTF-8 sequence at s, 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t k;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf) {
        k = 2; cp = c & 0x1f; min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        k = 3; cp = c & 0x0f; min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4; cp = c & 0x07; min = 0x10000;
    } else
        return 0;
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k;
}

int tok_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(u + i, n - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

uint32_t tok_utf8_decode(const char *s, size_t n, size_t *adv)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t k = utf8_seq(u, n);
    if (!k) {
        *adv = 1;
        return 0xfffd;
    }
    *adv = k;
    if (k == 1)
        return u[0];
    uint32_t cp = u[0] & (k == 2 ? 0x1f : k == 3 ? 0x0f : 0x07);
    for (size_t i = 1; i < k; i++)
        cp = (cp << 6) | (u[i] & 0x3f);
    return cp;
}

size_t tok_utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

void tok_utf8_lossy(hx_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(u + i, n - i);
        if (k) {
            hx_buf_put(b, s + i, k);
            i += k;
            continue;
        }
        hx_buf_put(b, "\xef\xbf\xbd", 3);
        /* skip the maximal prefix of a well-formed sequence */
        size_t want = tok_utf8_len(u[i]);
        size_t j = 1;
        if (want > 1 && u[i] >= 0xc2 && u[i] <= 0xf4)
            while (j < want && i + j < n && (u[i + j] & 0xc0) == 0x80)
                j++;
        i += j;
    }
}

char tok_bl_enc[256][4];
static int bl_dec_tab[324];
static pthread_once_t bl_once = PTHREAD_ONCE_INIT;

static void bl_build(void)
{
    int n = 0;
    for (int i = 0; i < 324; i++)
        bl_dec_tab[i] = -1;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        uint32_t cp = printable ? (uint32_t)b : (uint32_t)(256 + n++);
        size_t k = tok_utf8_encode(cp, tok_bl_enc[b]);
        tok_bl_enc[b][k] = 0;
        bl_dec_tab[cp] = b;
    }
}

void tok_bl_init(void)
{
    pthread_once(&bl_once, bl_build);
}

int tok_bl_dec(uint32_t cp)
{
    return cp < 324 ? bl_dec_tab[cp] : -1;
}

pcre2_code *tok_regex(const char *pattern)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                                   &err, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        hx_seterr("regex /%s/ at %zu: %s", pattern, (size_t)off, (char *)msg);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* best effort */
    return re;
}

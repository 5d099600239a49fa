/* tok_encode.c - text -> ids: added/special tokens are split out of the raw
 * text (leftmost-longest, with lstrip/rstrip/single_word), every other
 * segment is normalized (ICU for Unicode normal forms and case), split by
 * the pre-tokenizers (PCRE2 regexes), run through BPE, and the
 * post-processor's ids are put around the result. */
#include "model/tok_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

/* ---------------------------------------------------------- normalize */
static hx_status icu_apply(int kind, const char *s, size_t n, hx_buf *out)
{
    int ascii = 1;
    for (size_t i = 0; i < n && ascii; i++)
        ascii = !((unsigned char)s[i] & 0x80);
    if (ascii && kind != NS_LOWER) {
        hx_buf_put(out, s, n);
        return HX_OK;
    }
    UErrorCode e = U_ZERO_ERROR;
    int32_t ulen = 0;
    u_strFromUTF8(NULL, 0, &ulen, s, (int32_t)n, &e);
    e = U_ZERO_ERROR;
    UChar *u = hx_malloc(((size_t)ulen + 1) * sizeof(UChar));
    u_strFromUTF8(u, ulen + 1, NULL, s, (int32_t)n, &e);
    int32_t cap = ulen * 4 + 16, rlen;
    UChar *r = hx_malloc((size_t)cap * sizeof(UChar));
    if (U_FAILURE(e))
        goto fail;
    const UNormalizer2 *nz = NULL;
    if (kind != NS_LOWER) {
        nz = kind == NS_NFC    ? unorm2_getNFCInstance(&e)
             : kind == NS_NFKC ? unorm2_getNFKCInstance(&e)
             : kind == NS_NFD  ? unorm2_getNFDInstance(&e)
                               : unorm2_getNFKDInstance(&e);
        if (U_FAILURE(e))
            goto fail;
    }
    for (int tries = 0;; tries++) { /* retry once with the size ICU asks for */
        rlen = nz ? unorm2_normalize(nz, u, ulen, r, cap, &e) : u_strToLower(r, cap, u, ulen, "", &e);
        if (e != U_BUFFER_OVERFLOW_ERROR || tries)
            break;
        e = U_ZERO_ERROR;
        cap = rlen + 1;
        r = hx_realloc(r, (size_t)cap * sizeof(UChar));
    }
    if (U_FAILURE(e))
        goto fail;
    int32_t blen = 0;
    u_strToUTF8(NULL, 0, &blen, r, rlen, &e);
    e = U_ZERO_ERROR;
    char *tmp = hx_malloc((size_t)blen + 1);
    u_strToUTF8(tmp, blen + 1, NULL, r, rlen, &e);
    hx_buf_put(out, tmp, (size_t)blen);
    free(tmp);
    free(u);
    free(r);
    return U_FAILURE(e) ? HX_FAIL(HX_EINTERNAL, "ICU: %s", u_errorName(e)) : HX_OK;
fail:
    free(u);
    free(r);
    return HX_FAIL(HX_EINTERNAL, "ICU: %s", u_errorName(e));
}

static void replace_lit(const char *s, size_t n, const char *pat, const char *rep, hx_buf *out)
{
    size_t pl = strlen(pat), rl = strlen(rep);
    if (!pl) {
        hx_buf_put(out, s, n);
        return;
    }
    size_t i = 0;
    while (i < n) {
        const char *hit = memmem(s + i, n - i, pat, pl);
        if (!hit) {
            hx_buf_put(out, s + i, n - i);
            break;
        }
        hx_buf_put(out, s + i, (size_t)(hit - (s + i)));
        hx_buf_put(out, rep, rl);
        i = (size_t)(hit - s) + pl;
    }
}

/* Calls fn for every match of re in s (non-overlapping, left to right). */
typedef void (*match_fn)(void *ctx, size_t a, size_t b);
static void for_matches(const pcre2_code *re, const char *s, size_t n, match_fn fn, void *ctx)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    size_t off = 0;
    while (off <= n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, n, off, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc < 0)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t a = ov[0], b = ov[1];
        if (b == a) { /* empty match: skip one character */
            if (a >= n)
                break;
            off = a + tok_utf8_len((unsigned char)s[a]);
            continue;
        }
        fn(ctx, a, b);
        off = b;
    }
    pcre2_match_data_free(md);
}

struct repl_ctx {
    const char *s, *rep;
    size_t last;
    hx_buf *out;
};
static void repl_cb(void *c, size_t a, size_t b)
{
    struct repl_ctx *r = c;
    hx_buf_put(r->out, r->s + r->last, a - r->last);
    hx_buf_put(r->out, r->rep, strlen(r->rep));
    r->last = b;
}

static hx_status norm_step(const tok_step *st, const char *s, size_t n, hx_buf *out)
{
    switch (st->kind) {
    case NS_NFC: case NS_NFKC: case NS_NFD: case NS_NFKD: case NS_LOWER:
        return icu_apply(st->kind, s, n, out);
    case NS_PREPEND:
        if (n)
            hx_buf_put(out, st->a, strlen(st->a));
        hx_buf_put(out, s, n);
        return HX_OK;
    case NS_REPLACE:
        if (st->a)
            replace_lit(s, n, st->a, st->b, out);
        else {
            struct repl_ctx r = {s, st->b, 0, out};
            for_matches(st->re, s, n, repl_cb, &r);
            hx_buf_put(out, s + r.last, n - r.last);
        }
        return HX_OK;
    case NS_STRIP: {
        size_t a = 0, b = n, adv;
        while (st->left && a < b) {
            uint32_t cp = tok_utf8_decode(s + a, b - a, &adv);
            if (!u_isUWhiteSpace((UChar32)cp))
                break;
            a += adv;
        }
        while (st->right && b > a) {
            size_t k = b - 1;
            while (k > a && ((unsigned char)s[k] & 0xc0) == 0x80)
                k--;
            uint32_t cp = tok_utf8_decode(s + k, b - k, &adv);
            if (!u_isUWhiteSpace((UChar32)cp))
                break;
            b = k;
        }
        hx_buf_put(out, s + a, b - a);
        return HX_OK;
    }
    }
    return HX_FAIL(HX_EINTERNAL, "bad normalizer step");
}

hx_status tok_normalize(const hx_tok *t, const char *s, size_t n, hx_buf *out)
{
    hx_buf cur = {0}, nxt = {0};
    hx_buf_put(&cur, s, n);
    for (size_t i = 0; i < t->nnorm; i++) {
        hx_buf_clear(&nxt);
        hx_buf_put(&nxt, NULL, 0);
        hx_status st = norm_step(&t->norm[i], cur.data, cur.len, &nxt);
        if (st) {
            hx_buf_free(&cur);
            hx_buf_free(&nxt);
            return st;
        }
        hx_buf tmp = cur;
        cur = nxt;
        nxt = tmp;
    }
    hx_buf_put(out, cur.data, cur.len);
    hx_buf_free(&cur);
    hx_buf_free(&nxt);
    return HX_OK;
}

/* ------------------------------------------------------- pre-tokenize */
struct seg_ctx {
    size_t *a, *b;
    size_t n, cap;
};
static void seg_cb(void *c, size_t a, size_t b)
{
    struct seg_ctx *g = c;
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 64;
        g->a = hx_realloc(g->a, g->cap * sizeof(size_t));
        g->b = hx_realloc(g->b, g->cap * sizeof(size_t));
    }
    g->a[g->n] = a;
    g->b[g->n] = b;
    g->n++;
}

/* Split s by the matches of re with HF's SplitDelimiterBehavior; the
 * matches are the delimiters (the gaps when invert). */
static void split_regex(const pcre2_code *re, int behavior, int invert, const char *s, size_t n,
                        tok_list *out)
{
    struct seg_ctx g = {0};
    for_matches(re, s, n, seg_cb, &g);
    /* pieces: alternating gap / match, as (start, end, is_delim) */
    size_t np = 0, cap = 2 * g.n + 2;
    size_t *pa = hx_malloc(cap * sizeof(size_t)), *pb = hx_malloc(cap * sizeof(size_t));
    int *pd = hx_malloc(cap * sizeof(int));
    size_t last = 0;
    for (size_t i = 0; i < g.n; i++) {
        if (g.a[i] > last) {
            pa[np] = last; pb[np] = g.a[i]; pd[np++] = invert;
        }
        pa[np] = g.a[i]; pb[np] = g.b[i]; pd[np++] = !invert;
        last = g.b[i];
    }
    if (last < n) {
        pa[np] = last; pb[np] = n; pd[np++] = invert;
    }
    switch (behavior) {
    case SB_ISOLATED:
        for (size_t i = 0; i < np; i++)
            tok_list_add(out, s + pa[i], pb[i] - pa[i]);
        break;
    case SB_REMOVED:
        for (size_t i = 0; i < np; i++)
            if (!pd[i])
                tok_list_add(out, s + pa[i], pb[i] - pa[i]);
        break;
    case SB_MERGED_PREV: {
        size_t start = 0, have = 0;
        for (size_t i = 0; i < np; i++) {
            if (pd[i]) {
                tok_list_add(out, s + (have ? start : pa[i]), pb[i] - (have ? start : pa[i]));
                have = 0;
            } else {
                if (have)
                    tok_list_add(out, s + start, pa[i] - start);
                start = pa[i];
                have = 1;
            }
        }
        if (have)
            tok_list_add(out, s + start, n - start);
        break;
    }
    case SB_MERGED_NEXT: {
        size_t start = 0;
        int open = 0;
        for (size_t i = 0; i < np; i++) {
            if (pd[i]) {
                if (open)
                    tok_list_add(out, s + start, pa[i] - start);
                start = pa[i];
                open = 1;
            } else {
                tok_list_add(out, s + (open ? start : pa[i]), pb[i] - (open ? start : pa[i]));
                open = 0;
            }
        }
        if (open)
            tok_list_add(out, s + start, n - start);
        break;
    }
    default: /* SB_CONTIGUOUS */
        for (size_t i = 0; i < np;) {
            size_t j = i + 1;
            while (pd[i] && j < np && pd[j])
                j++;
            tok_list_add(out, s + pa[i], pb[j - 1] - pa[i]);
            i = j;
        }
    }
    free(pa);
    free(pb);
    free(pd);
    free(g.a);
    free(g.b);
}

static void pre_step(const tok_step *st, const char *s, size_t n, int first, tok_list *out)
{
    switch (st->kind) {
    case PS_SPLIT:
        split_regex(st->re, st->behavior, st->invert, s, n, out);
        return;
    case PS_DIGITS:
        split_regex(st->re, SB_ISOLATED, 0, s, n, out);
        return;
    case PS_BYTELEVEL: {
        hx_buf src = {0};
        if (st->add_prefix_space && !(n && s[0] == ' '))
            hx_buf_put(&src, " ", 1);
        hx_buf_put(&src, s, n);
        tok_list parts = {0};
        if (st->use_regex)
            split_regex(st->re, SB_ISOLATED, 0, src.data, src.len, &parts);
        else
            tok_list_add(&parts, src.data, src.len);
        hx_buf m = {0};
        for (size_t i = 0; i < parts.n; i++) {
            hx_buf_clear(&m);
            const unsigned char *p = (const unsigned char *)parts.buf.data + parts.v[i].off;
            for (size_t j = 0; j < parts.v[i].len; j++)
                hx_buf_put(&m, tok_bl_enc[p[j]], strlen(tok_bl_enc[p[j]]));
            tok_list_add(out, m.data, m.len);
        }
        hx_buf_free(&m);
        hx_buf_free(&src);
        tok_list_free(&parts);
        return;
    }
    case PS_METASPACE: {
        hx_buf m = {0};
        size_t rl = strlen(st->a);
        int pre = st->prepend == PP_ALWAYS || (st->prepend == PP_FIRST && first);
        hx_buf_put(&m, NULL, 0);
        replace_lit(s, n, " ", st->a, &m);
        if (pre && !(m.len >= rl && !memcmp(m.data, st->a, rl))) {
            hx_buf p2 = {0};
            hx_buf_put(&p2, st->a, rl);
            hx_buf_put(&p2, m.data, m.len);
            hx_buf_free(&m);
            m = p2;
        }
        if (!st->split)
            tok_list_add(out, m.data, m.len);
        else {
            /* split on the replacement, merged with the next piece */
            size_t start = 0;
            for (size_t i = rl; i + rl <= m.len; i++) {
                if (!memcmp(m.data + i, st->a, rl)) {
                    tok_list_add(out, m.data + start, i - start);
                    start = i;
                    i += rl - 1;
                }
            }
            tok_list_add(out, m.data + start, m.len - start);
        }
        hx_buf_free(&m);
        return;
    }
    }
}

hx_status tok_pretokenize(const hx_tok *t, const char *s, size_t n, int first, tok_list *out)
{
    tok_list cur = {0};
    tok_list_add(&cur, s, n);
    for (size_t i = 0; i < t->npre; i++) {
        tok_list nxt = {0};
        for (size_t j = 0; j < cur.n; j++)
            if (cur.v[j].len)
                pre_step(&t->pre[i], cur.buf.data + cur.v[j].off, cur.v[j].len, first && j == 0, &nxt);
        tok_list_free(&cur);
        cur = nxt;
    }
    for (size_t j = 0; j < cur.n; j++)
        if (cur.v[j].len)
            tok_list_add(out, cur.buf.data + cur.v[j].off, cur.v[j].len);
    tok_list_free(&cur);
    return HX_OK;
}

/* ------------------------------------------------------------ encode */
static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_word(const char *s, size_t n, size_t at, int before)
{
    size_t adv;
    if (before) {
        if (at == 0)
            return 0;
        size_t k = at - 1;
        while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
            k--;
        uint32_t cp = tok_utf8_decode(s + k, n - k, &adv);
        return u_isalnum((UChar32)cp) || cp == '_';
    }
    if (at >= n)
        return 0;
    uint32_t cp = tok_utf8_decode(s + at, n - at, &adv);
    return u_isalnum((UChar32)cp) || cp == '_';
}

/* The longest added token at s[pos], or NULL. */
static const tok_added *added_at(const hx_tok *t, const char *s, size_t n, size_t pos)
{
    for (size_t i = 0; i < t->nadded; i++) {
        const tok_added *a = &t->added[i];
        if (a->content[0] != s[pos] || a->len > n - pos || memcmp(a->content, s + pos, a->len))
            continue;
        if (a->single_word && (is_word(s, n, pos, 1) || is_word(s, n, pos + a->len, 0)))
            continue;
        return a;
    }
    return NULL;
}

/* Words of a SentencePiece-style text (t->spm_words): split before every
 * "\xe2\x96\x81" that follows another character ("\xe2" is a lead byte, so
 * a match is always on a character boundary). */
static void spm_split(const char *p, size_t n, tok_list *out)
{
    size_t start = 0;
    for (size_t i = 1; i + 3 <= n; i++)
        if (!memcmp(p + i, "\xe2\x96\x81", 3) && !(i >= 3 && !memcmp(p + i - 3, "\xe2\x96\x81", 3))) {
            tok_list_add(out, p + start, i - start);
            start = i;
        }
    tok_list_add(out, p + start, n - start);
}

/* The BPE pieces of one normalized segment: the pre-tokenizers' pieces,
 * cut into words when BPE can run word by word (a Metaspace pre-tokenizer
 * without split leaves one piece; no pre-tokenizer, the whole segment). */
static hx_status segment_pieces(const hx_tok *t, const char *p, size_t n, int first, tok_list *out)
{
    if (!t->spm_words)
        return tok_pretokenize(t, p, n, first, out);
    tok_list whole = {0};
    hx_status st = HX_OK;
    if (t->npre)
        st = tok_pretokenize(t, p, n, first, &whole);
    else
        tok_list_add(&whole, p, n);
    for (size_t i = 0; !st && i < whole.n; i++)
        spm_split(whole.buf.data + whole.v[i].off, whole.v[i].len, out);
    tok_list_free(&whole);
    return st;
}

static hx_status encode_segment(const hx_tok *t, tok_cache *c, const char *s, size_t n, int first,
                                tok_ids *out)
{
    if (!n)
        return HX_OK;
    hx_buf nb = {0};
    hx_status st = tok_normalize(t, s, n, &nb);
    if (st)
        return st;
    tok_list pieces = {0};
    st = segment_pieces(t, nb.data ? nb.data : "", nb.len, first, &pieces);
    for (size_t i = 0; !st && i < pieces.n; i++)
        tok_bpe_piece(t, c, pieces.buf.data + pieces.v[i].off, pieces.v[i].len, out);
    tok_list_free(&pieces);
    hx_buf_free(&nb);
    return st;
}

hx_status hx_tok_encode(const hx_tok *t, const char *text, size_t len, int add_special,
                        int32_t **ids, size_t *n)
{
    if (!tok_utf8_valid(text, len))
        return HX_FAIL(HX_EINVAL, "text is not valid UTF-8");
    uint8_t first_byte[256] = {0};
    for (size_t i = 0; i < t->nadded; i++)
        first_byte[(unsigned char)t->added[i].content[0]] = 1;
    tok_ids out = {0};
    tok_cache cache = {0};
    if (add_special)
        tok_ids_add(&out, t->prefix, t->nprefix);
    size_t seg = 0, pos = 0;
    hx_status st = HX_OK;
    while (pos < len && !st) {
        const tok_added *a = first_byte[(unsigned char)text[pos]] ? added_at(t, text, len, pos) : NULL;
        if (!a) {
            pos++;
            continue;
        }
        size_t ms = pos, me = pos + a->len;
        if (a->lstrip)
            while (ms > seg && is_ws((unsigned char)text[ms - 1]))
                ms--;
        if (a->rstrip)
            while (me < len && is_ws((unsigned char)text[me]))
                me++;
        st = encode_segment(t, &cache, text + seg, ms - seg, seg == 0, &out);
        tok_ids_add(&out, &a->id, 1);
        seg = pos = me;
    }
    if (!st)
        st = encode_segment(t, &cache, text + seg, len - seg, seg == 0, &out);
    tok_cache_free(&cache);
    if (st) {
        free(out.v);
        return st;
    }
    if (add_special)
        tok_ids_add(&out, t->suffix, t->nsuffix);
    if (!out.v)
        out.v = hx_malloc(sizeof(int32_t));
    *ids = out.v;
    *n = out.n;
    return HX_OK;
}

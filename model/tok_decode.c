/* tok_decode.c - ids -> text: token strings (special tokens optionally
 * skipped) run through the tokenizer.json decoder chain (ByteLevel,
 * Metaspace, Replace, ByteFallback, Fuse, Strip), then joined (with spaces
 * when there is no decoder, as the Python `tokenizers` package does). */
#include "model/tok_internal.h"

#include <stdlib.h>
#include <string.h>

static int parse_byte_token(const char *s, size_t n)
{
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>')
        return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* ByteLevel decoding of one token, appended to raw: the byte of each
 * character; a token with a character outside the byte table (an added
 * token such as a run of spaces) is kept as it is, whole, as the Python
 * `tokenizers` decoder does. */
static void bytelevel_token(const char *s, size_t n, hx_buf *raw)
{
    size_t start = raw->len, adv;
    for (size_t j = 0; j < n; j += adv) {
        int by = tok_bl_dec(tok_utf8_decode(s + j, n - j, &adv));
        if (by < 0) {
            raw->len = start;
            hx_buf_put(raw, s, n);
            return;
        }
        char c = (char)by;
        hx_buf_put(raw, &c, 1);
    }
}

static void dec_step(const tok_step *st, tok_list *cur, tok_list *nl)
{
    hx_buf b = {0};
    switch (st->kind) {
    case DS_BYTELEVEL: {
        hx_buf raw = {0};
        for (size_t i = 0; i < cur->n; i++)
            bytelevel_token(cur->buf.data + cur->v[i].off, cur->v[i].len, &raw);
        tok_utf8_lossy(&b, raw.data ? raw.data : "", raw.len);
        tok_list_add(nl, b.data ? b.data : "", b.len);
        hx_buf_free(&raw);
        break;
    }
    case DS_REPLACE:
    case DS_METASPACE: {
        const char *pat = st->a; /* Metaspace: the replacement character */
        const char *rep = st->kind == DS_REPLACE ? st->b : " ";
        size_t pl = strlen(pat);
        for (size_t i = 0; i < cur->n; i++) {
            const char *s = cur->buf.data + cur->v[i].off;
            size_t n = cur->v[i].len;
            hx_buf_clear(&b);
            hx_buf_put(&b, NULL, 0);
            for (size_t j = 0; j < n;) {
                if (pl && j + pl <= n && !memcmp(s + j, pat, pl)) {
                    hx_buf_put(&b, rep, strlen(rep));
                    j += pl;
                } else
                    hx_buf_put(&b, s + j++, 1);
            }
            size_t skip = 0;
            if (st->kind == DS_METASPACE && i == 0 && st->prepend != PP_NEVER && b.len && b.data[0] == ' ')
                skip = 1;
            tok_list_add(nl, b.data + skip, b.len - skip);
        }
        break;
    }
    case DS_BYTEFALLBACK: {
        hx_buf bytes = {0};
        for (size_t i = 0; i <= cur->n; i++) {
            int v = i < cur->n ? parse_byte_token(cur->buf.data + cur->v[i].off, cur->v[i].len) : -1;
            if (v >= 0) {
                char c = (char)v;
                hx_buf_put(&bytes, &c, 1);
                continue;
            }
            if (bytes.len) {
                if (tok_utf8_valid(bytes.data, bytes.len))
                    tok_list_add(nl, bytes.data, bytes.len);
                else
                    for (size_t k = 0; k < bytes.len; k++)
                        tok_list_add(nl, "\xef\xbf\xbd", 3);
                hx_buf_clear(&bytes);
            }
            if (i < cur->n)
                tok_list_add(nl, cur->buf.data + cur->v[i].off, cur->v[i].len);
        }
        hx_buf_free(&bytes);
        break;
    }
    case DS_FUSE:
        for (size_t i = 0; i < cur->n; i++)
            hx_buf_put(&b, cur->buf.data + cur->v[i].off, cur->v[i].len);
        tok_list_add(nl, b.data ? b.data : "", b.len);
        break;
    case DS_STRIP: {
        size_t cl = strlen(st->a);
        for (size_t i = 0; i < cur->n; i++) {
            const char *s = cur->buf.data + cur->v[i].off;
            size_t a = 0, e = cur->v[i].len;
            for (int k = 0; k < st->left && cl && a + cl <= e && !memcmp(s + a, st->a, cl); k++)
                a += cl;
            for (int k = 0; k < st->right && cl && e >= a + cl && !memcmp(s + e - cl, st->a, cl); k++)
                e -= cl;
            tok_list_add(nl, s + a, e - a);
        }
        break;
    }
    }
    hx_buf_free(&b);
}

char *hx_tok_decode(const hx_tok *t, const int32_t *ids, size_t n, int skip_special)
{
    tok_list cur = {0};
    for (size_t i = 0; i < n; i++) {
        const char *p = hx_tok_piece(t, ids[i]);
        if (!p || (skip_special && t->is_special[ids[i]]))
            continue;
        tok_list_add(&cur, p, strlen(p));
    }
    for (size_t s = 0; s < t->ndec; s++) {
        tok_list nl = {0};
        dec_step(&t->dec[s], &cur, &nl);
        tok_list_free(&cur);
        cur = nl;
    }
    hx_buf out = {0};
    hx_buf_put(&out, NULL, 0);
    for (size_t i = 0; i < cur.n; i++) {
        if (i && !t->ndec) /* no decoder: the tokens joined by spaces */
            hx_buf_put(&out, " ", 1);
        hx_buf_put(&out, cur.buf.data + cur.v[i].off, cur.v[i].len);
    }
    tok_list_free(&cur);
    return out.data;
}

/* plan.c - the text and window layout of each evaluation protocol:
 * WikiText lines as the HF dataset gives them, the protocol's joined text,
 * its tokenization (BOS by the tokenizer's own rule, truncation for helix)
 * and the forward windows with the targets each one scores; trimming a
 * plan to its first windows for quick runs. */
#include "eval/eval.h"
#include "common/buf.h"
#include "common/hash.h"

#include <stdlib.h>
#include <string.h>

void hx_eval_opts_default(hx_eval_opts *o, hx_protocol p)
{
    memset(o, 0, sizeof *o);
    o->proto = p;
    o->seq_len = 2048;
    o->stride = 512;
    o->n_tokens = 8192;
}

static const char *const names[] = {"helix", "gptq", "sliding", NULL};

int hx_protocol_parse(const char *name, hx_protocol *p)
{
    int i = hx_name_index(names, name);
    if (i >= 0)
        *p = (hx_protocol)i;
    return i >= 0 ? 0 : -1;
}

const char *hx_protocol_name(hx_protocol p) { return names[p]; }

/* Python's str.isspace() for the characters that occur in practice. */
static int blank_line(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
            (c >= 0x1c && c <= 0x1f)) {
            i++;
            continue;
        }
        if (c == 0xc2 && i + 1 < n && ((unsigned char)s[i + 1] == 0x85 || (unsigned char)s[i + 1] == 0xa0)) {
            i += 2;
            continue;
        }
        if (c == 0xe3 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 && (unsigned char)s[i + 2] == 0x80) {
            i += 3; /* U+3000 */
            continue;
        }
        if (c == 0xe2 && i + 2 < n) {
            unsigned b = (unsigned char)s[i + 1], d = (unsigned char)s[i + 2];
            if ((b == 0x80 && ((d >= 0x80 && d <= 0x8a) || d == 0xa8 || d == 0xa9 || d == 0xaf)) ||
                (b == 0x81 && d == 0x9f)) {
                i += 3;
                continue;
            }
        }
        return 0;
    }
    return 1;
}

hx_status hx_eval_text(const char *raw, size_t len, hx_protocol p, char **text, size_t *tlen)
{
    /* lines as Python's text-mode iteration gives them (universal newlines:
     * "\r\n" and "\r" become "\n"), each keeping its newline */
    hx_buf out = HX_BUF_INIT;
    hx_buf_put(&out, "", 0);
    size_t i = 0;
    int first = 1;
    hx_buf line = HX_BUF_INIT;
    while (i < len) {
        hx_buf_clear(&line);
        size_t j = i;
        while (j < len && raw[j] != '\n' && raw[j] != '\r')
            j++;
        hx_buf_put(&line, raw + i, j - i);
        if (j < len) {
            hx_buf_put(&line, "\n", 1);
            j += (raw[j] == '\r' && j + 1 < len && raw[j + 1] == '\n') ? 2 : 1;
        }
        i = j;
        int blank = blank_line(line.data, line.len);
        if (p == HX_PROTO_HELIX && blank)
            continue; /* dropped */
        if (!first)
            hx_buf_put(&out, "\n\n", 2);
        first = 0;
        if (!blank)
            hx_buf_put(&out, line.data, line.len);
    }
    hx_buf_free(&line);
    *text = hx_buf_steal(&out, tlen);
    return HX_OK;
}

static void add_window(hx_eval_plan *p, long *cap, long begin, int n, int s0, int s1, double w)
{
    if (p->n_windows == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        p->w = hx_realloc(p->w, (size_t)*cap * sizeof *p->w);
    }
    p->w[p->n_windows++] = (hx_window){begin, n, s0, s1, w};
    p->n_scored += s1 - s0;
    p->n_forward += n;
    if (n > p->max_len)
        p->max_len = n;
}

hx_status hx_eval_plan_build(const hx_tok *tok, const char *raw, size_t len, const hx_eval_opts *o,
                             hx_eval_plan *p)
{
    memset(p, 0, sizeof *p);
    p->proto = o->proto;
    if (o->seq_len < 2 || (o->proto == HX_PROTO_SLIDING && (o->stride < 1 || o->stride >= o->seq_len)))
        return HX_FAIL(HX_EINVAL, "bad window sizes (seq_len %d, stride %d)", o->seq_len, o->stride);
    char *text;
    size_t tlen;
    hx_status st = hx_eval_text(raw, len, o->proto, &text, &tlen);
    if (st)
        return st;
    hx_sha256_hex(text, tlen, p->text_sha256);
    p->text_bytes = (long)tlen;
    int32_t *ids;
    size_t n;
    st = hx_tok_encode(tok, text, tlen, 1, &ids, &n);
    free(text);
    if (st)
        return st;
    long L = (long)n, cap = 0, seq = o->seq_len;
    if (o->proto == HX_PROTO_HELIX) {
        /* truncation=True, max_length=n_tokens+1: the post-processor's
         * suffix (if any) is kept at the end */
        long maxlen = o->n_tokens + 1;
        if (L > maxlen) {
            const int32_t *suf;
            size_t ns = hx_tok_suffix(tok, &suf);
            memmove(ids + maxlen - (long)ns, ids + L - (long)ns, ns * sizeof *ids);
            L = maxlen;
        }
        for (long i = 0; i < L - 1 && p->n_scored < o->n_tokens; i += seq) {
            int w = (int)(L - 1 - i < seq ? L - 1 - i : seq);
            add_window(p, &cap, i, w, 0, w, w);
        }
    } else if (o->proto == HX_PROTO_GPTQ) {
        for (long k = 0; k < L / seq; k++)
            add_window(p, &cap, k * seq, (int)seq, 0, (int)seq - 1, (double)seq);
    } else {
        long prev_end = 0;
        for (long b = 0; b < L; b += o->stride) {
            long e = b + seq < L ? b + seq : L;
            long trg = e - prev_end;
            int w = (int)(e - b);
            int s0 = (int)(w - trg - 1 > 0 ? w - trg - 1 : 0);
            add_window(p, &cap, b, w, s0, w - 1, (double)trg);
            prev_end = e;
            if (e == L)
                break;
        }
    }
    p->ids = ids;
    p->n_ids = L;
    if (!p->n_windows) {
        hx_eval_plan_free(p);
        return HX_FAIL(HX_EINVAL, "the text is too short for one window");
    }
    return HX_OK;
}

void hx_eval_plan_free(hx_eval_plan *p)
{
    free(p->ids);
    free(p->w);
    memset(p, 0, sizeof *p);
}

void hx_eval_plan_trim(hx_eval_plan *p, long max_windows)
{
    if (max_windows <= 0 || p->n_windows <= max_windows)
        return;
    p->n_windows = max_windows;
    p->n_scored = p->n_forward = 0;
    p->max_len = 0;
    for (long w = 0; w < p->n_windows; w++) {
        p->n_scored += p->w[w].s1 - p->w[w].s0;
        p->n_forward += p->w[w].n;
        if (p->w[w].n > p->max_len)
            p->max_len = p->w[w].n;
    }
}

/* buf.c - the growable byte buffer of buf.h. */
#include "common/buf.h"
#include "common/hx.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hx_buf_reserve(hx_buf *b, size_t n)
{
    if (n > SIZE_MAX / 2 - 1 - b->len)
        abort(); /* size overflow */
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return;
    size_t cap = 2 * need;
    if (b->limit && cap > b->limit)
        cap = need > b->limit ? need : b->limit;
    b->data = hx_realloc(b->data, cap);
    b->cap = cap;
}

void hx_buf_put(hx_buf *b, const void *p, size_t n)
{
    hx_buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void hx_buf_puts(hx_buf *b, const char *s) { hx_buf_put(b, s, strlen(s)); }

void hx_buf_printf(hx_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0)
        abort(); /* a bad format */
    hx_buf_reserve(b, (size_t)k);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)k;
}

void hx_buf_clear(hx_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

char *hx_buf_steal(hx_buf *b, size_t *len)
{
    char *d = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void hx_buf_free(hx_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

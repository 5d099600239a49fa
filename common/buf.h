/* buf.h - the one growable byte buffer (buf.c): append bytes or printf
 * text, reserve room with an overflow check, take the bytes or free them.
 * The bytes are always followed by a NUL (not counted in len), so a buffer
 * of text is a C string. */
#ifndef HX_BUF_H
#define HX_BUF_H

#include <stddef.h>

typedef struct hx_buf {
    char *data;   /* NULL until the first byte */
    size_t len;   /* bytes held (a NUL follows them) */
    size_t cap;   /* bytes allocated */
    size_t limit; /* 0, or the most bytes ever allocated (len + 1 beyond it is a bug) */
} hx_buf;
#define HX_BUF_INIT {0}

/* Room for n more bytes and the NUL: grows to twice what is needed (never
 * past limit when set). Aborts when the size overflows (as hx_malloc does
 * when memory runs out). */
void hx_buf_reserve(hx_buf *b, size_t n);
void hx_buf_put(hx_buf *b, const void *p, size_t n);
void hx_buf_puts(hx_buf *b, const char *s);
void hx_buf_printf(hx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empty it, keeping the allocation. */
void hx_buf_clear(hx_buf *b);
/* The bytes (caller frees; NULL when nothing was ever added), *len (may be
 * NULL) their count; the buffer is empty again. */
char *hx_buf_steal(hx_buf *b, size_t *len);
void hx_buf_free(hx_buf *b);

#endif

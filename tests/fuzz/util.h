/* util.h - helpers shared by the fuzz targets (tests/fuzz/fuzz_*.c): a
 * private scratch directory for the APIs that take paths, a NUL-terminated
 * copy of an input, and the "several files in one input" container.
 *
 * Container: an input is split into files at marker lines
 *     --8<-- NAME
 * (at the start of the input or right after a '\n', which then belongs to
 * the marker). The bytes before the first marker form a file under the
 * target's default name; NAME must be 1-100 of [A-Za-z0-9._-] and not "."
 * or "..", else that part is dropped. */
#ifndef HX_FUZZ_UTIL_H
#define HX_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define FZ_MARK "--8<-- "

/* Quiet logging, once per process. */
void fz_init(void);
/* This process's scratch directory (created on first use in /dev/shm, else
 * $TMPDIR or /tmp, removed at exit; those of dead processes, which a crash
 * leaves behind, are removed when a new one is made). */
const char *fz_dir(void);
/* Remove every file in fz_dir(). */
void fz_clear(void);
/* Write n bytes to fz_dir()/name; returns the path (malloc'd) or NULL. */
char *fz_write(const char *name, const void *data, size_t n);
/* A malloc'd copy of data with a NUL after it. */
char *fz_cstr(const uint8_t *data, size_t n);

typedef struct fz_part {
    char name[101];
    const uint8_t *data;
    size_t n;
} fz_part;
/* Split data into at most max parts (see above); returns the count. */
size_t fz_split(const uint8_t *data, size_t n, const char *first_name, fz_part *parts, size_t max);
/* fz_clear, then write every part of data into fz_dir(); returns the
 * number of files written. */
size_t fz_write_parts(const uint8_t *data, size_t n, const char *first_name);

#endif

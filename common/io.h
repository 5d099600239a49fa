/* io.h - the only loops around read/write/pread/pwrite (io.c): whole-buffer
 * writes and reads that retry short transfers and EINTR, single calls
 * retried on EINTR, and aligned write gathering (gather.c). */
#ifndef HX_IO_H
#define HX_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- write-all / read-full loops (io.c) ---- */
/* Write all of buf[0, n) (at file offset off for pwrite), retrying short
 * writes and EINTR. Returns the bytes written: n, or fewer after an error
 * (errno set by the failing call; a call that wrote 0 bytes stops too). */
size_t hx_write_all(int fd, const void *buf, size_t n);
size_t hx_pwrite_all(int fd, const void *buf, size_t n, uint64_t off);
/* Read until buf[0, n) is full or end of file, retrying short reads and
 * EINTR. Returns the bytes read (< n: end of file), or -1 on an error
 * (errno). */
ssize_t hx_read_full(int fd, void *buf, size_t n);
ssize_t hx_pread_full(int fd, void *buf, size_t n, uint64_t off);
/* One read / pread, retried while EINTR: what read(2) returns. */
ssize_t hx_read_some(int fd, void *buf, size_t n);
ssize_t hx_pread_some(int fd, void *buf, size_t n, uint64_t off);

/* ---- aligned write gathering (gather.c) ---- */
/* Collects a stream's bytes into pieces that end at multiples of `block`
 * file offsets, so that page-cache folios are written whole (the Hub
 * client's downloads, the Hub server's uploads). */
typedef struct hx_gather {
    char *buf;    /* block bytes */
    size_t n;     /* bytes held */
    uint64_t off; /* file offset of buf[0] */
} hx_gather;
/* Take up to n bytes that belong at file offset `at` (right after what the
 * gather holds). Returns how many were taken; *full = 1 when the held piece
 * reached an aligned end: write buf[0, n) at off, then set n = 0. */
size_t hx_gather_put(hx_gather *g, uint64_t block, uint64_t at, const void *p, size_t n, int *full);

#endif

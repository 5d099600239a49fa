/* io.c - the write-all / pwrite-all / read-full / pread-full loops (io.h):
 * every short transfer and EINTR is retried here, nowhere else. */
#include "common/io.h"

#include <errno.h>
#include <unistd.h>

/* The one loop: move n bytes between buf and fd, at the file position
 * (off < 0) or at off, retrying short transfers and EINTR. Returns the
 * bytes moved; *err = 1 when a call failed (errno set). A write that moves
 * 0 bytes and a read at end of file stop the loop without an error. */
static size_t loop(int fd, char *buf, size_t n, int64_t off, int write_, int *err)
{
    size_t done = 0;
    *err = 0;
    while (done < n) {
        char *p = buf + done;
        size_t k = n - done;
        off_t at = (off_t)off + (off_t)done;
        ssize_t r;
        if (write_)
            r = off < 0 ? write(fd, p, k) : pwrite(fd, p, k, at);
        else
            r = off < 0 ? read(fd, p, k) : pread(fd, p, k, at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            *err = 1;
        if (r <= 0)
            break;
        done += (size_t)r;
    }
    return done;
}

size_t hx_write_all(int fd, const void *buf, size_t n)
{
    int err;
    return loop(fd, (char *)buf, n, -1, 1, &err);
}

size_t hx_pwrite_all(int fd, const void *buf, size_t n, uint64_t off)
{
    int err;
    return loop(fd, (char *)buf, n, (int64_t)off, 1, &err);
}

ssize_t hx_read_full(int fd, void *buf, size_t n)
{
    int err;
    size_t got = loop(fd, buf, n, -1, 0, &err);
    return err ? -1 : (ssize_t)got;
}

ssize_t hx_pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    int err;
    size_t got = loop(fd, buf, n, (int64_t)off, 0, &err);
    return err ? -1 : (ssize_t)got;
}

ssize_t hx_read_some(int fd, void *buf, size_t n)
{
    ssize_t r;
    do
        r = read(fd, buf, n);
    while (r < 0 && errno == EINTR);
    return r;
}

ssize_t hx_pread_some(int fd, void *buf, size_t n, uint64_t off)
{
    ssize_t r;
    do
        r = pread(fd, buf, n, (off_t)off);
    while (r < 0 && errno == EINTR);
    return r;
}

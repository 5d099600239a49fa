/* fs.c - small file-system helpers: mkdir -p, whole-file reads, path
 * joining, and the atomic writer (temp file, fsync, rename, fsync dir) that
 * every module uses so that an interrupted run never leaves a half-written
 * file under its final name. */
#include "common/hx.h"
#include "common/io.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

hx_status hx_mkdirs(const char *path)
{
    char *p = hx_strdup(path);
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] == '/' || p[i] == 0) {
            char c = p[i];
            p[i] = 0;
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                hx_seterr("cannot create directory %s: %s", p, strerror(errno));
                free(p);
                return HX_EIO;
            }
            p[i] = c;
        }
    }
    free(p);
    if (!hx_dir_exists(path))
        return HX_FAIL(HX_EIO, "%s exists and is not a directory", path);
    return HX_OK;
}

int hx_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int hx_dir_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *hx_path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    if (la && a[la - 1] == '/')
        return hx_asprintf("%s%s", a, b);
    return hx_asprintf("%s/%s", a, b);
}

hx_status hx_read_file(const char *path, size_t max_len, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return HX_FAIL(errno == ENOENT ? HX_ENOTFOUND : HX_EIO, "cannot open %s: %s",
                       path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return HX_FAIL(HX_EIO, "cannot stat %s: %s", path, strerror(errno));
    }
    if ((uint64_t)st.st_size > max_len) {
        close(fd);
        return HX_FAIL(HX_EFORMAT, "%s is %lld bytes, more than the %zu allowed", path,
                       (long long)st.st_size, max_len);
    }
    size_t n = (size_t)st.st_size;
    char *buf = hx_malloc(n + 1);
    ssize_t r = hx_read_full(fd, buf, n);
    if (r < 0 || (size_t)r < n) {
        free(buf);
        close(fd);
        return HX_FAIL(HX_EIO, "cannot read %s: %s", path, r < 0 ? strerror(errno) : "short read");
    }
    close(fd);
    buf[n] = 0;
    *out = buf;
    if (len)
        *len = n;
    return HX_OK;
}

static void fsync_dir_of(const char *path)
{
    char *d = hx_strdup(path);
    int fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(d);
}

int hx_create_unique(const char *prefix, char **path)
{
    static unsigned seq;
    for (int tries = 0; tries < 1000; tries++) {
        char *p = hx_asprintf("%s%ld.%u", prefix, (long)getpid(), __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
        int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            *path = p;
            return fd;
        }
        int e = errno;
        free(p);
        if (e != EEXIST) {
            errno = e;
            return -1;
        }
    }
    errno = EEXIST;
    return -1;
}

hx_status hx_afile_open(hx_afile *af, const char *path)
{
    memset(af, 0, sizeof *af);
    af->path = hx_strdup(path);
    /* a name of its own: two writers of one path (threads of one process
     * too) must not truncate each other's temp file */
    char *prefix = hx_asprintf("%s.tmp.", path);
    af->fd = hx_create_unique(prefix, &af->tmp);
    free(prefix);
    if (af->fd < 0) {
        hx_seterr("cannot create a temp file %s.tmp.*: %s", path, strerror(errno));
        free(af->path);
        af->path = NULL;
        return HX_EIO;
    }
    return HX_OK;
}

hx_status hx_afile_pwrite(hx_afile *af, const void *buf, size_t n, uint64_t off)
{
    if (hx_pwrite_all(af->fd, buf, n, off) < n) {
        af->failed = 1;
        return HX_FAIL(HX_EIO, "cannot write %s: %s", af->tmp, strerror(errno));
    }
    return HX_OK;
}

hx_status hx_afile_write(hx_afile *af, const void *buf, size_t n)
{
    if (hx_write_all(af->fd, buf, n) < n) {
        af->failed = 1;
        return HX_FAIL(HX_EIO, "cannot write %s: %s", af->tmp, strerror(errno));
    }
    return HX_OK;
}

void hx_afile_abort(hx_afile *af)
{
    if (af->fd >= 0)
        close(af->fd);
    if (af->tmp)
        unlink(af->tmp);
    free(af->tmp);
    free(af->path);
    memset(af, 0, sizeof *af);
    af->fd = -1;
}

hx_status hx_afile_commit(hx_afile *af)
{
    if (af->failed) {
        hx_afile_abort(af);
        return HX_EIO;
    }
    if ((!af->nosync && fsync(af->fd) != 0) || close(af->fd) != 0) {
        hx_seterr("cannot flush %s: %s", af->tmp, strerror(errno));
        af->fd = -1;
        hx_afile_abort(af);
        return HX_EIO;
    }
    af->fd = -1;
    if (rename(af->tmp, af->path) != 0) {
        hx_seterr("cannot rename %s to %s: %s", af->tmp, af->path, strerror(errno));
        hx_afile_abort(af);
        return HX_EIO;
    }
    if (!af->nosync)
        fsync_dir_of(af->path);
    free(af->tmp);
    free(af->path);
    memset(af, 0, sizeof *af);
    af->fd = -1;
    return HX_OK;
}

hx_status hx_write_file_atomic(const char *path, const void *buf, size_t n)
{
    return hx_write_file_atomic_sync(path, buf, n, 1);
}

hx_status hx_write_file_atomic_sync(const char *path, const void *buf, size_t n, int sync)
{
    hx_afile af;
    hx_status st = hx_afile_open(&af, path);
    if (st)
        return st;
    af.nosync = !sync;
    st = hx_afile_write(&af, buf, n);
    if (st) {
        hx_afile_abort(&af);
        return st;
    }
    return hx_afile_commit(&af);
}

hx_status hx_copy_file_atomic(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return HX_FAIL(HX_EIO, "cannot open %s: %s", src, strerror(errno));
    hx_afile af;
    hx_status st = hx_afile_open(&af, dst);
    if (st) {
        close(in);
        return st;
    }
    char *buf = hx_malloc(1 << 20);
    for (;;) {
        ssize_t r = hx_read_some(in, buf, 1 << 20);
        if (r < 0) {
            st = HX_FAIL(HX_EIO, "cannot read %s: %s", src, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        if ((st = hx_afile_write(&af, buf, (size_t)r)))
            break;
    }
    free(buf);
    close(in);
    if (st) {
        hx_afile_abort(&af);
        return st;
    }
    return hx_afile_commit(&af);
}

/* path and, for a folder, everything under it (lstat: links are removed,
 * not followed); missing is fine */
void hx_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                    continue;
                char *p = hx_path_join(path, e->d_name);
                hx_remove_tree(p);
                free(p);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

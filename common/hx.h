/* hx.h - shared foundation for every hxzoo module: status codes, error
 * detail, logging, small file utilities (atomic writes, mkdir -p, reading a
 * whole file). Hashing is in common/hash.h, the
 * I/O loops in common/io.h, the byte buffer in common/buf.h, progress in
 * common/progress.h.
 *
 * Error convention: functions return hx_status (HX_OK == 0). On failure they
 * also record a human-readable detail with hx_seterr(), readable through
 * hx_lasterr() in the same thread; the detail names the file/tensor/field at
 * fault. The CLI exits with the status value. */
#ifndef HX_H
#define HX_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    HX_OK = 0,
    HX_EUSAGE = 2,     /* bad command line */
    HX_EIO = 3,        /* read/write/open failure */
    HX_ENOMEM = 4,     /* allocation failure */
    HX_EFORMAT = 5,    /* malformed input file (header, JSON, dtype ...) */
    HX_EINVAL = 6,     /* bad argument / unsupported value */
    HX_ENET = 7,       /* network / protocol error */
    HX_EAUTH = 8,      /* unauthorized / forbidden */
    HX_ENOTFOUND = 9,  /* repo/revision/file/tensor not found */
    HX_EGATE = 10,     /* a quality gate failed */
    HX_EINTEGRITY = 11,/* hash/size mismatch, corrupt data */
    HX_EINTERNAL = 12  /* a bug */
} hx_status;

const char *hx_strerror(hx_status st);

/* Record the detail of the current error (printf-style). Returns nothing;
 * use HX_FAIL to set and return in one expression. */
void hx_seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prepend context to the current error: "ctx: previous detail". */
void hx_preerr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *hx_lasterr(void);
void hx_clearerr(void);
#define HX_FAIL(st, ...) (hx_seterr(__VA_ARGS__), (st))

/* Logging to stderr. Level: 0 quiet, 1 normal, 2 verbose. */
extern int hx_log_level;
void hx_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hx_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hx_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Allocation helpers that abort on out-of-memory (we never try to recover
 * from a failed small allocation). */
void *hx_malloc(size_t n);
void *hx_calloc(size_t n, size_t sz);
void *hx_realloc(void *p, size_t n);
char *hx_strdup(const char *s);
char *hx_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The index of name in a NULL-terminated list of names, -1 if absent (the
 * enum names of options and files: protocols, devices, dtypes). */
int hx_name_index(const char *const *names, const char *name);

/* Wall clock in seconds (monotonic). */
double hx_now(void);
/* Peak resident set size of this process in bytes (from getrusage). */
uint64_t hx_peak_rss(void);
/* MemAvailable of /proc/meminfo in bytes (0 if unknown). */
uint64_t hx_mem_available(void);

/* ---- files ---- */
/* mkdir -p; ok if it exists. */
hx_status hx_mkdirs(const char *path);
/* Read a whole file (NUL-terminated; *len excludes the NUL). Refuses files
 * larger than max_len with HX_EFORMAT. Caller frees. */
hx_status hx_read_file(const char *path, size_t max_len, char **out, size_t *len);
int hx_file_exists(const char *path);
int hx_dir_exists(const char *path);
char *hx_path_join(const char *a, const char *b);

/* Atomic file writer: data goes to "<path>.tmp.<pid>.<n>" (created
 * exclusively: concurrent writers of one path never share it), hx_afile_commit
 * fsyncs, renames onto path and fsyncs the directory. hx_afile_abort (or
 * committing after an error) removes the temp file. Nothing half-written is
 * ever visible under the final name. */
typedef struct hx_afile {
    char *path;
    char *tmp;
    int fd;
    int failed;
    int nosync; /* set after hx_afile_open: commit without the fsyncs */
} hx_afile;
hx_status hx_afile_open(hx_afile *af, const char *path);
/* Create "<prefix><pid>.<n>" exclusively (an existing name is never opened:
 * the next n is tried). Returns the fd (write-only, mode 0644) and *path
 * (caller frees), or -1 with errno. */
int hx_create_unique(const char *prefix, char **path);
hx_status hx_afile_write(hx_afile *af, const void *buf, size_t n);
hx_status hx_afile_pwrite(hx_afile *af, const void *buf, size_t n, uint64_t off);
hx_status hx_afile_commit(hx_afile *af);
void hx_afile_abort(hx_afile *af);
/* Convenience: atomically write a whole buffer to a file. */
hx_status hx_write_file_atomic(const char *path, const void *buf, size_t n);
/* The same; sync = 0 leaves out both fsyncs (the file and its folder): the
 * caller makes the data durable later (the Hub store syncs the file system
 * once before a commit that names its objects). */
hx_status hx_write_file_atomic_sync(const char *path, const void *buf, size_t n, int sync);
/* Copy a file atomically. */
hx_status hx_copy_file_atomic(const char *src, const char *dst);
/* Remove path and, for a folder, everything under it (links are not
 * followed); a missing path is fine. */
void hx_remove_tree(const char *path);

#endif

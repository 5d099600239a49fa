/* hx.c - status strings, per-thread error detail, logging, allocation and
 * timing helpers shared by every module (see hx.h). */
#include "common/hx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

int hx_log_level = 1;

static _Thread_local char g_err[2048];

const char *hx_strerror(hx_status st)
{
    switch (st) {
    case HX_OK: return "ok";
    case HX_EUSAGE: return "usage error";
    case HX_EIO: return "I/O error";
    case HX_ENOMEM: return "out of memory";
    case HX_EFORMAT: return "malformed input";
    case HX_EINVAL: return "invalid argument";
    case HX_ENET: return "network or protocol error";
    case HX_EAUTH: return "not authorized";
    case HX_ENOTFOUND: return "not found";
    case HX_EGATE: return "quality gate failed";
    case HX_EINTEGRITY: return "integrity check failed";
    case HX_EINTERNAL: return "internal error";
    }
    return "unknown error";
}

void hx_seterr(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err, sizeof g_err, fmt, ap);
    va_end(ap);
}

void hx_preerr(const char *fmt, ...)
{
    char prefix[1024], old[sizeof g_err];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_err, sizeof old);
    size_t pl = strnlen(prefix, sizeof prefix - 1);
    memcpy(g_err, prefix, pl);
    size_t o = pl;
    if (o + 2 < sizeof g_err) {
        g_err[o++] = ':';
        g_err[o++] = ' ';
    }
    size_t ol = strnlen(old, sizeof old);
    if (ol > sizeof g_err - 1 - o)
        ol = sizeof g_err - 1 - o;
    memcpy(g_err + o, old, ol);
    g_err[o + ol] = 0;
}

const char *hx_lasterr(void) { return g_err[0] ? g_err : "(no detail)"; }
void hx_clearerr(void) { g_err[0] = 0; }

static void vlog(int min_level, const char *tag, const char *fmt, va_list ap)
{
    if (hx_log_level < min_level)
        return;
    if (tag)
        fputs(tag, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void hx_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(1, NULL, fmt, ap);
    va_end(ap);
}

void hx_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(0, "warning: ", fmt, ap);
    va_end(ap);
}

void hx_debug(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(2, "debug: ", fmt, ap);
    va_end(ap);
}

static void oom(size_t n)
{
    fprintf(stderr, "hxzoo: out of memory allocating %zu bytes\n", n);
    abort();
}

void *hx_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *hx_calloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p)
        oom(n * sz);
    return p;
}

void *hx_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *hx_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = hx_malloc(n);
    memcpy(d, s, n);
    return d;
}

char *hx_asprintf(const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = hx_malloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}

double hx_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

uint64_t hx_mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return (uint64_t)kb * 1024;
}

/* VmHWM from /proc/self/status: getrusage's ru_maxrss would carry the
 * high-water mark of a large parent process across fork+exec. */
uint64_t hx_peak_rss(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t kb = 0;
    if (f) {
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "VmHWM:", 6)) {
                kb = strtoull(line + 6, NULL, 10);
                break;
            }
        fclose(f);
    }
    if (kb)
        return kb * 1024u;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)ru.ru_maxrss * 1024u;
}

int hx_name_index(const char *const *names, const char *name)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], name))
            return i;
    return -1;
}

/* util.c - helpers shared by the fuzz targets (see util.h). */
#include "tests/fuzz/util.h"

#include "common/hx.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[256];

void fz_init(void) { hx_log_level = 0; }

static void rm_dir(void)
{
    if (!g_dir[0])
        return;
    fz_clear();
    rmdir(g_dir);
    g_dir[0] = 0;
}

/* Remove the scratch directories of processes that are gone (a crash ends
 * a fuzzer without running atexit): hxzoo-fuzz.<pid>.XXXXXX */
static void rm_stale(const char *base)
{
    DIR *d = opendir(base);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid;
        char tail[16];
        if (sscanf(e->d_name, "hxzoo-fuzz.%ld.%15s", &pid, tail) != 2 || pid <= 0)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive, or not ours to judge */
        char dir[512], p[1024];
        snprintf(dir, sizeof dir, "%s/%s", base, e->d_name);
        DIR *sd = opendir(dir);
        struct dirent *f;
        while (sd && (f = readdir(sd)))
            if (strcmp(f->d_name, ".") && strcmp(f->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", dir, f->d_name);
                unlink(p);
            }
        if (sd)
            closedir(sd);
        rmdir(dir);
    }
    closedir(d);
}

const char *fz_dir(void)
{
    if (g_dir[0])
        return g_dir;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    base = base && *base ? base : "/tmp";
    rm_stale(base);
    snprintf(g_dir, sizeof g_dir, "%s/hxzoo-fuzz.%ld.XXXXXX", base, (long)getpid());
    if (!mkdtemp(g_dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(rm_dir);
    return g_dir;
}

void fz_clear(void)
{
    DIR *d = opendir(fz_dir());
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

char *fz_write(const char *name, const void *data, size_t n)
{
    char *p = hx_asprintf("%s/%s", fz_dir(), name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        free(p);
        return NULL;
    }
    const char *b = data;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w <= 0) {
            close(fd);
            free(p);
            return NULL;
        }
        b += w;
        n -= (size_t)w;
    }
    close(fd);
    return p;
}

char *fz_cstr(const uint8_t *data, size_t n)
{
    char *s = hx_malloc(n + 1);
    if (n)
        memcpy(s, data, n);
    s[n] = 0;
    return s;
}

static int name_ok(const uint8_t *s, size_t n)
{
    if (n < 1 || n > 100 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

/* The next marker at or after `from` (at the start or after a '\n'); its
 * start (the '\n' before it when that is at or after `from`) in *at, the
 * start of its name in *name. 0 if there is none. */
static int next_mark(const uint8_t *d, size_t n, size_t from, size_t *at, size_t *name)
{
    size_t ml = strlen(FZ_MARK);
    for (size_t i = from; i + ml <= n; i++) {
        if ((i == 0 || d[i - 1] == '\n') && !memcmp(d + i, FZ_MARK, ml)) {
            *at = i && d[i - 1] == '\n' && i - 1 >= from ? i - 1 : i;
            *name = i + ml;
            return 1;
        }
    }
    return 0;
}

size_t fz_split(const uint8_t *data, size_t n, const char *first_name, fz_part *parts, size_t max)
{
    size_t np = 0, pos = 0, at, name;
    const uint8_t *nm = (const uint8_t *)first_name;
    size_t nl = strlen(first_name);
    int first = 1;
    for (;;) {
        int more = next_mark(data, n, pos, &at, &name);
        size_t end = more ? at : n;
        /* the default part only when it has bytes; named parts always */
        if (np < max && name_ok(nm, nl) && (!first || end > pos)) {
            memcpy(parts[np].name, nm, nl);
            parts[np].name[nl] = 0;
            parts[np].data = data + pos;
            parts[np].n = end - pos;
            np++;
        }
        if (!more)
            break;
        first = 0;
        size_t e = name;
        while (e < n && data[e] != '\n')
            e++;
        nm = data + name;
        nl = e - name;
        pos = e < n ? e + 1 : n;
    }
    return np;
}

size_t fz_write_parts(const uint8_t *data, size_t n, const char *first_name)
{
    fz_part parts[16];
    size_t np = fz_split(data, n, first_name, parts, 16);
    fz_clear();
    size_t w = 0;
    for (size_t i = 0; i < np; i++) {
        char *p = fz_write(parts[i].name, parts[i].data, parts[i].n);
        w += p != NULL;
        free(p);
    }
    return w;
}

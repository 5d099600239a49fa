/* replay_main.c - the driver that replays saved inputs through a fuzz
 * target without libFuzzer: linked with one tests/fuzz/fuzz_*.c and the
 * ASan/UBSan build (build/asan/fuzz/<target>, made by `make test-asan`), it
 * calls LLVMFuzzerTestOneInput on every regular file of the directories (or
 * files) given, in name order, each in a buffer of exactly its size (so
 * that a read one past the end is an ASan report). A sanitizer report
 * aborts the run. Prints the count per argument and fails when the total
 * is zero or an argument cannot be read: a replay of nothing must not pass.
 *
 *   replay DIR|FILE...      (tests/integration/fuzz_replay.sh runs it) */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || sb.st_size < 0) {
        fclose(f);
        return -1;
    }
    size_t n = (size_t)sb.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf || fread(buf, 1, n, f) != n) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    /* an empty input as libFuzzer passes it: size 0 (the pointer is not
     * read) */
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Files replayed from arg, or -1 when it cannot be read. */
static long run_arg(const char *arg)
{
    struct stat sb;
    if (stat(arg, &sb) != 0) {
        fprintf(stderr, "replay: %s: %s\n", arg, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode))
        return run_file(arg) == 0 ? 1 : -1;
    DIR *d = opendir(arg);
    if (!d) {
        fprintf(stderr, "replay: cannot list %s: %s\n", arg, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof *names);
            if (!names)
                abort();
        }
        size_t l = strlen(arg) + strlen(e->d_name) + 2;
        names[n] = malloc(l);
        if (!names[n])
            abort();
        snprintf(names[n], l, "%s/%s", arg, e->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    long done = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat fs;
        if (stat(names[i], &fs) == 0 && S_ISREG(fs.st_mode)) {
            if (run_file(names[i]) == 0)
                done++;
            else
                bad = 1;
        }
        free(names[i]);
    }
    free(names);
    return bad ? -1 : done;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 2;
    }
    long total = 0;
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        long k = run_arg(argv[i]);
        if (k < 0) {
            bad = 1;
            continue;
        }
        printf("  %s: %ld inputs\n", argv[i], k);
        total += k;
    }
    printf("%s: %ld inputs replayed\n", argv[0], total);
    if (bad)
        return 2;
    if (total == 0) {
        fprintf(stderr, "%s: no input replayed (a replay of nothing proves nothing)\n", argv[0]);
        return 1;
    }
    return 0;
}

/* progress.c - the progress facility of progress.h: the shared state and
 * its throttled, in-place redraw, with two line formats (the bar for
 * counts, one line per file plus a total line for transfers) and the
 * transfers' JSON events. */
#include "common/progress.h"

#include "common/hx.h"

#include <cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHOWN_FILES 8     /* at most this many per-file lines */
#define REDRAW_S 0.1      /* at most 10 redraws a second */

/* ---- the bar ---- */
static void draw_bar(hx_progress *p, double t, int final)
{
    uint64_t done = atomic_load(&p->done), total = atomic_load(&p->total);
    double el = t - p->t0;
    double frac = total ? (double)done / (double)total : 0;
    if (frac > 1)
        frac = 1;
    int w = 30, fill = (int)(frac * w);
    char bar[32];
    for (int i = 0; i < w; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[w] = 0;
    double rate = el > 0 ? (double)done / el : 0;
    double eta = rate > 0 && total > done ? (double)(total - done) / rate : 0;
    fprintf(stderr, "\r%-12.12s [%s] %5.1f%% %8.2fs eta %6.1fs%s%s\033[K%s", p->label, bar, frac * 100, el, eta,
            p->note[0] ? "  " : "", p->note, final ? "\n" : "");
    fflush(stderr);
}

/* ---- the files display ---- */
static void human(double b, char *out, size_t n)
{
    const char *u[] = {"B", "kB", "MB", "GB", "TB"};
    int i = 0;
    while (b >= 1000 && i < 4)
        b /= 1000, i++;
    snprintf(out, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

static void eta_str(double s, char *out, size_t n)
{
    if (s <= 0 || s > 360000)
        snprintf(out, n, "--:--");
    else if (s < 3600)
        snprintf(out, n, "%02d:%02d", (int)s / 60, (int)s % 60);
    else
        snprintf(out, n, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
}

/* "  <name>  <done> / <size>  NN%  <rate>/s  ETA mm:ss" for one counter */
static void line(const char *name, uint64_t done, uint64_t size, uint64_t base, double t0, double now,
                 const char *extra)
{
    char d[32], t[32], r[32], e[32];
    human((double)done, d, sizeof d);
    human((double)size, t, sizeof t);
    double dt = now - t0;
    double rate = dt > 0.05 && done > base ? (double)(done - base) / dt : 0;
    human(rate, r, sizeof r);
    /* no ETA from the first half second's rate */
    eta_str(done >= size ? 0.0 : rate > 0 && dt >= 0.5 ? (double)(size - done) / rate : -1.0, e, sizeof e);
    double pct = size ? 100.0 * (double)done / (double)size : 100.0;
    if (pct > 100)
        pct = 100;
    fprintf(stderr, "\r\033[K%s  %s / %s  %3.0f%%  %s/s  ETA %s%s\n", name, d, t, pct, r, e, extra ? extra : "");
}

static void draw_files(hx_progress *p, double now, int final)
{
    if (p->lines > 0)
        fprintf(stderr, "\033[%dA", p->lines); /* back to the block's first line */
    int lines = 0, active = 0;
    for (int i = 0; i < HX_PROGRESS_SLOTS; i++) {
        hx_progress_slot *s = &p->slots[i];
        if (!s->used)
            continue;
        if (++active > SHOWN_FILES || final)
            continue;
        char name[64];
        size_t L = strlen(s->name);
        if (L > 40)
            snprintf(name, sizeof name, "  ...%s", s->name + L - 37);
        else
            snprintf(name, sizeof name, "  %-40s", s->name);
        line(name, atomic_load(&s->done), s->size, s->base, s->t0, now, NULL);
        lines++;
    }
    if (!final && active > SHOWN_FILES) {
        fprintf(stderr, "\r\033[K  ... and %d more files\n", active - SHOWN_FILES);
        lines++;
    }
    char head[96];
    snprintf(head, sizeof head, "%s total [%d/%d files]", p->label, atomic_load(&p->files_done), p->files_total);
    line(head, atomic_load(&p->done), atomic_load(&p->total), p->base, p->t0, now, final ? "  done" : NULL);
    lines++;
    fprintf(stderr, "\033[J"); /* clear what a taller previous block left */
    fflush(stderr);
    p->lines = final ? 0 : lines;
}

/* ---- shared ---- */
static void draw(hx_progress *p, int final) /* p->mu held */
{
    double now = hx_now();
    atomic_store(&p->last, now);
    if (p->files)
        draw_files(p, now, final);
    else
        draw_bar(p, now, final);
}

static void maybe_draw(hx_progress *p)
{
    if (!p->draw || hx_now() - atomic_load(&p->last) < p->interval)
        return;
    if (pthread_mutex_trylock(&p->mu) != 0)
        return; /* someone is drawing */
    if (hx_now() - atomic_load(&p->last) >= p->interval)
        draw(p, 0);
    pthread_mutex_unlock(&p->mu);
}

static void init(hx_progress *p, const char *label, int files, uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->mu = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    p->label = label;
    p->files = files;
    atomic_init(&p->done, 0);
    atomic_init(&p->total, total);
    atomic_init(&p->files_done, 0);
    atomic_init(&p->last, 0.0);
    p->t0 = hx_now();
    p->interval = REDRAW_S;
}

void hx_progress_start(hx_progress *p, const char *label, uint64_t total)
{
    init(p, label, 0, total);
    p->draw = hx_log_level >= 1 && isatty(2);
}

void hx_progress_files_start(hx_progress *p, const char *label, int draw_, int json, int files, uint64_t bytes)
{
    init(p, label, 1, bytes);
    p->json = json;
    p->draw = draw_ && !json;
    p->files_total = files;
    /* tests: HXZOO_PROGRESS_INTERVAL_MS (0 = redraw on every update) */
    const char *iv = getenv("HXZOO_PROGRESS_INTERVAL_MS");
    if (iv && *iv)
        p->interval = atof(iv) / 1000.0;
    if (json) {
        printf("{\"event\":\"start\",\"what\":\"%s\",\"files\":%d,\"bytes\":%" PRIu64 "}\n", label, files, bytes);
        fflush(stdout);
    }
}

void hx_progress_add(hx_progress *p, uint64_t n) { hx_progress_file_add(p, -1, n); }

void hx_progress_note(hx_progress *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&p->mu);
    vsnprintf(p->note, sizeof p->note, fmt, ap);
    pthread_mutex_unlock(&p->mu);
    va_end(ap);
}

int hx_progress_file_begin(hx_progress *p, const char *name, uint64_t size, uint64_t resumed)
{
    int slot = -1;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < HX_PROGRESS_SLOTS; i++)
        if (!p->slots[i].used) {
            hx_progress_slot *s = &p->slots[i];
            s->used = 1;
            s->name = name;
            s->size = size;
            s->base = resumed;
            atomic_store(&s->done, resumed);
            s->t0 = hx_now();
            slot = i;
            break;
        }
    pthread_mutex_unlock(&p->mu);
    return slot;
}

void hx_progress_file_add(hx_progress *p, int slot, uint64_t n)
{
    if (slot >= 0 && slot < HX_PROGRESS_SLOTS)
        atomic_fetch_add(&p->slots[slot].done, n);
    atomic_fetch_add(&p->done, n);
    maybe_draw(p);
}

void hx_progress_resumed(hx_progress *p, int slot, uint64_t n)
{
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->done, n);
    p->base += n;
    if (slot >= 0 && slot < HX_PROGRESS_SLOTS) {
        atomic_fetch_add(&p->slots[slot].done, n);
        p->slots[slot].base += n;
    }
    pthread_mutex_unlock(&p->mu);
}

void hx_progress_file_release(hx_progress *p, int slot)
{
    if (slot < 0 || slot >= HX_PROGRESS_SLOTS)
        return;
    pthread_mutex_lock(&p->mu);
    p->slots[slot].used = 0;
    pthread_mutex_unlock(&p->mu);
}

void hx_progress_file_done(hx_progress *p, const char *event, const char *path, uint64_t size, int transferred,
                           int slot)
{
    atomic_fetch_add(&p->files_done, 1);
    pthread_mutex_lock(&p->mu);
    if (slot >= 0 && slot < HX_PROGRESS_SLOTS)
        p->slots[slot].used = 0;
    if (p->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "event", event);
        cJSON_AddStringToObject(j, "path", path);
        cJSON_AddNumberToObject(j, "size", (double)size);
        cJSON_AddBoolToObject(j, "transferred", transferred);
        char *t = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        printf("%s\n", t);
        fflush(stdout);
        free(t);
    }
    pthread_mutex_unlock(&p->mu);
    maybe_draw(p);
}

void hx_progress_end(hx_progress *p)
{
    if (!p->draw)
        return;
    pthread_mutex_lock(&p->mu);
    draw(p, 1);
    pthread_mutex_unlock(&p->mu);
}

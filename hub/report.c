/* report.c - transfer progress for the client. On a terminal (stderr is a
 * TTY, or progress forced on): a block of lines redrawn in place at most
 * 10 times a second with ANSI cursor movement, one line per file being
 * transferred (bytes, percent, rate, ETA) and a total line (files, bytes,
 * rate, ETA). With --json: one JSON object per event on stdout, no bars.
 * Silent otherwise. Safe to call from transfer threads. */
#include "hub/client_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOWN_FILES 8     /* at most this many per-file lines */
#define REDRAW_S 0.1      /* at most 10 redraws a second */

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

/* Redraw the whole block (out_mu held). */
static void draw(hub_client *c, int final)
{
    double now = hx_now();
    c->prog_last = now;
    if (c->prog_lines > 0)
        fprintf(stderr, "\033[%dA", c->prog_lines); /* back to the block's first line */
    int lines = 0, active = 0;
    for (int i = 0; i < HUB_PROG_SLOTS; i++) {
        hub_prog_slot *s = &c->prog_slots[i];
        if (!s->used)
            continue;
        if (++active > SHOWN_FILES || final)
            continue;
        char name[64];
        size_t L = strlen(s->path);
        if (L > 40)
            snprintf(name, sizeof name, "  ...%s", s->path + L - 37);
        else
            snprintf(name, sizeof name, "  %-40s", s->path);
        line(name, atomic_load(&s->done), s->size, s->base, s->t0, now, NULL);
        lines++;
    }
    if (!final && active > SHOWN_FILES) {
        fprintf(stderr, "\r\033[K  ... and %d more files\n", active - SHOWN_FILES);
        lines++;
    }
    char head[96];
    snprintf(head, sizeof head, "%s total [%d/%d files]", c->prog_label, atomic_load(&c->prog_files_done),
             c->prog_files_total);
    line(head, atomic_load(&c->prog_done), atomic_load(&c->prog_total), c->prog_base, c->prog_t0, now,
         final ? "  done" : NULL);
    lines++;
    fprintf(stderr, "\033[J"); /* clear what a taller previous block left */
    fflush(stderr);
    c->prog_lines = final ? 0 : lines;
}

static int bars(const hub_client *c) { return c->progress && !c->json; }

static void maybe_draw(hub_client *c)
{
    if (!bars(c) || hx_now() - c->prog_last < c->prog_interval)
        return;
    if (pthread_mutex_trylock(&c->out_mu) != 0)
        return; /* someone is drawing */
    if (hx_now() - c->prog_last >= c->prog_interval)
        draw(c, 0);
    pthread_mutex_unlock(&c->out_mu);
}

void hub_progress_begin(hub_client *c, const char *label, int files, uint64_t bytes)
{
    pthread_mutex_lock(&c->out_mu);
    c->prog_label = label;
    c->prog_files_total = files;
    atomic_store(&c->prog_done, 0);
    atomic_store(&c->prog_total, bytes);
    atomic_store(&c->prog_files_done, 0);
    c->prog_base = 0;
    c->prog_t0 = hx_now();
    c->prog_last = 0;
    c->prog_lines = 0;
    /* tests: HXZOO_PROGRESS_INTERVAL_MS (0 = redraw on every update) */
    const char *iv = getenv("HXZOO_PROGRESS_INTERVAL_MS");
    c->prog_interval = iv && *iv ? atof(iv) / 1000.0 : REDRAW_S;
    memset(c->prog_slots, 0, sizeof c->prog_slots);
    if (c->json) {
        printf("{\"event\":\"start\",\"what\":\"%s\",\"files\":%d,\"bytes\":%" PRIu64 "}\n", label, files, bytes);
        fflush(stdout);
    }
    pthread_mutex_unlock(&c->out_mu);
}

int hub_progress_file_begin(hub_client *c, const char *path, uint64_t size, uint64_t resumed)
{
    int slot = -1;
    pthread_mutex_lock(&c->out_mu);
    for (int i = 0; i < HUB_PROG_SLOTS; i++)
        if (!c->prog_slots[i].used) {
            hub_prog_slot *s = &c->prog_slots[i];
            s->used = 1;
            s->path = path;
            s->size = size;
            s->base = resumed;
            atomic_store(&s->done, resumed);
            s->t0 = hx_now();
            slot = i;
            break;
        }
    pthread_mutex_unlock(&c->out_mu);
    return slot;
}

void hub_progress_file_add(hub_client *c, int slot, uint64_t n)
{
    if (slot >= 0 && slot < HUB_PROG_SLOTS)
        atomic_fetch_add(&c->prog_slots[slot].done, n);
    atomic_fetch_add(&c->prog_done, n);
    maybe_draw(c);
}

void hub_progress_add(hub_client *c, uint64_t n) { hub_progress_file_add(c, -1, n); }

void hub_progress_resumed(hub_client *c, int slot, uint64_t n)
{
    /* bytes already there from an earlier run: counted, not in the rate */
    pthread_mutex_lock(&c->out_mu);
    atomic_fetch_add(&c->prog_done, n);
    c->prog_base += n;
    if (slot >= 0 && slot < HUB_PROG_SLOTS) {
        atomic_fetch_add(&c->prog_slots[slot].done, n);
        c->prog_slots[slot].base += n;
    }
    pthread_mutex_unlock(&c->out_mu);
}

void hub_progress_file_release(hub_client *c, int slot)
{
    if (slot < 0 || slot >= HUB_PROG_SLOTS)
        return;
    pthread_mutex_lock(&c->out_mu);
    c->prog_slots[slot].used = 0;
    pthread_mutex_unlock(&c->out_mu);
}

void hub_progress_file_done(hub_client *c, const char *event, const char *path, uint64_t size, int transferred,
                            int slot)
{
    atomic_fetch_add(&c->prog_files_done, 1);
    pthread_mutex_lock(&c->out_mu);
    if (slot >= 0 && slot < HUB_PROG_SLOTS)
        c->prog_slots[slot].used = 0;
    if (c->json) {
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
    pthread_mutex_unlock(&c->out_mu);
    maybe_draw(c);
}

void hub_progress_end(hub_client *c)
{
    if (!bars(c))
        return;
    pthread_mutex_lock(&c->out_mu);
    draw(c, 1);
    pthread_mutex_unlock(&c->out_mu);
}

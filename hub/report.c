/* report.c - transfer progress for the client: a one-line bar on stderr
 * when it is a terminal (files, bytes, rate, ETA, last file), or one JSON
 * object per event on stdout with --json; silent otherwise. Safe to call
 * from transfer threads. */
#include "hub/client.h"

#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static void human(double b, char *out, size_t n)
{
    const char *u[] = {"B", "kB", "MB", "GB", "TB"};
    int i = 0;
    while (b >= 1000 && i < 4)
        b /= 1000, i++;
    snprintf(out, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

static void draw(hub_client *c, const char *last, int final)
{
    double dt = hx_now() - c->prog_t0;
    uint64_t done = atomic_load(&c->prog_done), total = atomic_load(&c->prog_total);
    char d[32], t[32], r[32];
    human((double)done, d, sizeof d);
    human((double)total, t, sizeof t);
    double rate = dt > 0 ? (double)done / dt : 0;
    human(rate, r, sizeof r);
    double eta = rate > 0 && total > done ? (double)(total - done) / rate : 0;
    fprintf(stderr, "\r\033[K%s [%d/%d files] %s / %s  %s/s  ETA %.0fs  %.40s%s", c->prog_label,
            atomic_load(&c->prog_files_done), c->prog_files_total, d, t, r, eta, last ? last : "",
            final ? "\n" : "");
    fflush(stderr);
}

static _Thread_local double g_last_draw;

void hub_progress_begin(hub_client *c, const char *label, int files, uint64_t bytes)
{
    c->prog_label = label;
    c->prog_files_total = files;
    atomic_store(&c->prog_done, 0);
    atomic_store(&c->prog_total, bytes);
    atomic_store(&c->prog_files_done, 0);
    c->prog_t0 = hx_now();
    if (c->json) {
        pthread_mutex_lock(&c->out_mu);
        printf("{\"event\":\"start\",\"what\":\"%s\",\"files\":%d,\"bytes\":%" PRIu64 "}\n", label, files, bytes);
        fflush(stdout);
        pthread_mutex_unlock(&c->out_mu);
    }
}

void hub_progress_add(hub_client *c, uint64_t n)
{
    atomic_fetch_add(&c->prog_done, n);
    if (c->progress && !c->json) {
        double now = hx_now();
        if (now - g_last_draw > 0.2) {
            g_last_draw = now;
            pthread_mutex_lock(&c->out_mu);
            draw(c, NULL, 0);
            pthread_mutex_unlock(&c->out_mu);
        }
    }
}

void hub_progress_file_done(hub_client *c, const char *event, const char *path, uint64_t size, int transferred)
{
    atomic_fetch_add(&c->prog_files_done, 1);
    pthread_mutex_lock(&c->out_mu);
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
    } else if (c->progress) {
        draw(c, path, 0);
    }
    pthread_mutex_unlock(&c->out_mu);
}

void hub_progress_end(hub_client *c)
{
    if (c->progress && !c->json) {
        pthread_mutex_lock(&c->out_mu);
        draw(c, "done", 1);
        pthread_mutex_unlock(&c->out_mu);
    }
}

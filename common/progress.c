/* progress.c - a one-line progress bar on stderr (count, rate, ETA). Drawn
 * only when stderr is a terminal and logging is not quiet, at most 10 times a
 * second. */
#include "common/hx.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static void draw(hx_progress *p, int final)
{
    double t = hx_now();
    if (!final && t - p->last_draw < 0.1)
        return;
    p->last_draw = t;
    double el = t - p->t0;
    double frac = p->total ? (double)p->done / (double)p->total : 0;
    if (frac > 1)
        frac = 1;
    int w = 30, fill = (int)(frac * w);
    char bar[32];
    for (int i = 0; i < w; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[w] = 0;
    double rate = el > 0 ? (double)p->done / el : 0;
    double eta = rate > 0 && p->total > p->done ? (double)(p->total - p->done) / rate : 0;
    fprintf(stderr, "\r%-12.12s [%s] %5.1f%% %8.2fs eta %6.1fs%s%s\033[K%s", p->label, bar,
            frac * 100, el, eta, p->note[0] ? "  " : "", p->note, final ? "\n" : "");
    fflush(stderr);
}

void hx_progress_start(hx_progress *p, const char *label, uint64_t total)
{
    p->label = label;
    p->total = total;
    p->done = 0;
    p->t0 = hx_now();
    p->last_draw = 0;
    p->note[0] = 0;
    p->enabled = hx_log_level >= 1 && isatty(2);
}

void hx_progress_add(hx_progress *p, uint64_t n)
{
    p->done += n;
    if (p->enabled)
        draw(p, 0);
}

void hx_progress_end(hx_progress *p)
{
    if (p->enabled)
        draw(p, 1);
}

void hx_progress_note(hx_progress *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->note, sizeof p->note, fmt, ap);
    va_end(ap);
}

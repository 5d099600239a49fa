/* progress.h - the one progress facility of hxzoo: a thread-safe counter
 * of work done against a total, drawn on stderr in place (at most every
 * `interval` seconds) and, for transfers, reported as JSON events on
 * stdout. Two displays of the same state:
 *   bar    one line "label [####......]  55.0%   12.30s eta   10.0s  note"
 *          for a count of units (compress: bytes of tensors, eval: layers);
 *          drawn when stderr is a terminal and logging is not quiet
 *   files  one line per file being transferred (bytes, percent, rate, ETA;
 *          at most 8, then "... and N more files") and a total line
 *          "label total [done/files files] ...", for the Hub client's
 *          downloads and uploads; drawn when the caller asks (--progress or
 *          a terminal), JSON events instead with --json
 * Every function may be called from any thread once the progress is begun. */
#ifndef HX_PROGRESS_H
#define HX_PROGRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define HX_PROGRESS_SLOTS 64

typedef struct hx_progress_slot { /* one file being transferred */
    const char *name;
    uint64_t size, base;  /* base: bytes already there (not in the rate) */
    atomic_ullong done;
    double t0;
    int used;
} hx_progress_slot;

typedef struct hx_progress {
    const char *label;
    int files;            /* 1: the files display, 0: the bar */
    int draw;             /* draw on stderr */
    int json;             /* files display: JSON events on stdout */
    atomic_ullong done, total;
    uint64_t base;        /* resumed bytes: counted, not in the rate */
    atomic_int files_done;
    int files_total;
    double t0, interval;
    _Atomic double last;  /* time of the last draw: read unlocked by maybe_draw */
    int lines;            /* height of the block drawn last */
    char note[96];        /* bar: shown after the ETA */
    hx_progress_slot slots[HX_PROGRESS_SLOTS];
    pthread_mutex_t mu;   /* drawing, slots, JSON output */
} hx_progress;

/* The bar: `total` units, drawn when stderr is a terminal and the log
 * level is not quiet. */
void hx_progress_start(hx_progress *p, const char *label, uint64_t total);
/* The files display: `files` files of `bytes` bytes in all; draw: bars on
 * stderr; json: events on stdout ({"event":"start",...} now, one per file
 * done). The redraw interval is 0.1 s, or HXZOO_PROGRESS_INTERVAL_MS
 * (tests: 0 redraws on every update). */
void hx_progress_files_start(hx_progress *p, const char *label, int draw, int json, int files, uint64_t bytes);
/* Add to the total done (either display). */
void hx_progress_add(hx_progress *p, uint64_t n);
/* Text shown after the bar's ETA from the next draw on. */
void hx_progress_note(hx_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A file starts: its line. Returns a slot (-1: none free; its bytes then
 * count in the total only). resumed = bytes already there. */
int hx_progress_file_begin(hx_progress *p, const char *name, uint64_t size, uint64_t resumed);
void hx_progress_file_add(hx_progress *p, int slot, uint64_t n); /* file and total */
/* n bytes already there from a previous run: counted, not in the rate */
void hx_progress_resumed(hx_progress *p, int slot, uint64_t n);
void hx_progress_file_release(hx_progress *p, int slot); /* failed: drop its line */
/* A file is done: its JSON event ({"event":event,"path","size",
 * "transferred"}); its line (slot, may be -1) goes away. */
void hx_progress_file_done(hx_progress *p, const char *event, const char *path, uint64_t size, int transferred,
                           int slot);
/* The last draw (final state), then the block is left on the screen.
 * Nothing to free: a progress holds no resources. */
void hx_progress_end(hx_progress *p);

#endif

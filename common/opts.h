/* opts.h - the table-driven option parser of the hxzoo subcommands. A
 * command describes its options in a table of hx_opt entries (long name,
 * short letter, kind, destination, range) ending with HX_OPT_END, and
 * hx_opts_parse stores each value as it comes, in command-line order,
 * collects the positional arguments in order and prints the same messages
 * the commands printed when each parsed by hand:
 *
 *  - HX_OPTS_GNU: getopt_long's rules (the parser builds its option array
 *    from the table): `--opt value`, `--opt=value`, unambiguous prefixes,
 *    short letters, positionals anywhere, getopt's own messages, then the
 *    usage on stderr.
 *  - HX_OPTS_EXACT: exact spellings only (`--opt value`, no `=`), up to
 *    max_pos positionals (not starting with '-'); anything else, an option
 *    without its value(s) included, is "PROG: unknown or incomplete option
 *    ARG" and the usage on stderr.
 *  - HX_OPTS_LEADING: EXACT for the options before the first argument that
 *    does not start with '-' (hxzoo's global flags); the rest is positional.
 *
 * Usage errors exit with HX_EUSAGE (2). */
#ifndef HX_OPTS_H
#define HX_OPTS_H

#include <stdint.h>
#include <stdio.h>

typedef enum {
    HX_OPT_END = 0,
    HX_OPT_FLAG,    /* no value: *(int *)dest = set */
    HX_OPT_STR,     /* *(const char **)dest = value */
    HX_OPT_STR2,    /* two values: ((const char **)dest)[0] and [1] (EXACT only) */
    HX_OPT_LIST,    /* repeatable: value appended to *(hx_opt_list *)dest */
    HX_OPT_INT,     /* int in [min, max] (hx_opts_long's check and message) */
    HX_OPT_LONG,    /* long in [min, max] */
    HX_OPT_UINT,    /* unsigned in [min, max] */
    HX_OPT_U64,     /* uint64_t in [min, max] */
    HX_OPT_DOUBLE,  /* double in [dmin, dmax] (hx_opts_double) */
    HX_OPT_SIZE,    /* uint64_t byte size: a number with K M G (x 1000) and B suffixes */
    HX_OPT_CHOICE,  /* *(int *)dest = the index of the value in choices (NULL-terminated);
                     * else "PROG: --NAME a, b or c, not VALUE" */
    HX_OPT_CALL,    /* value: fn(dest, value) */
    HX_OPT_CALL0,   /* no value: fn(dest, NULL) */
    HX_OPT_HELP,    /* the usage on stdout, exit status 0 */
    HX_OPT_INCLUDE, /* the entries of another table (dest: const hx_opt *) */
} hx_opt_kind;

/* fn of HX_OPT_CALL / HX_OPT_CALL0: HX_OPTS_GO to go on, else the exit
 * status of the command (fn printed why). */
#define HX_OPTS_GO (-1)
typedef int (*hx_opt_fn)(void *dest, const char *value);

typedef struct hx_opt {
    const char *name; /* long name without the "--" */
    char letter;      /* short option ("-h"), 0 for none */
    hx_opt_kind kind;
    void *dest;
    long min, max;    /* INT, LONG, UINT, U64 ranges; FLAG: min is the value set */
    double dmin, dmax;
    hx_opt_fn fn;
    const char *const *choices; /* CHOICE */
} hx_opt;

/* HX_OPT_LIST's destination (start it zeroed; free v) */
typedef struct hx_opt_list {
    const char **v;
    size_t n;
} hx_opt_list;

/* Table entries. The destination's type is checked at compile time. */
#define HX_OPT_DEST_(p, T) ((void *)(1 ? (p) : (T *)0))
#define HX_OPTE_FLAG(name, letter, p, value) {name, letter, HX_OPT_FLAG, HX_OPT_DEST_(p, int), value, 0, 0, 0, 0, 0}
#define HX_OPTE_STR(name, letter, p) {name, letter, HX_OPT_STR, HX_OPT_DEST_(p, const char *), 0, 0, 0, 0, 0, 0}
#define HX_OPTE_STR2(name, p) {name, 0, HX_OPT_STR2, HX_OPT_DEST_(p, const char *), 0, 0, 0, 0, 0, 0}
#define HX_OPTE_LIST(name, p) {name, 0, HX_OPT_LIST, HX_OPT_DEST_(p, hx_opt_list), 0, 0, 0, 0, 0, 0}
#define HX_OPTE_INT(name, p, lo, hi) {name, 0, HX_OPT_INT, HX_OPT_DEST_(p, int), lo, hi, 0, 0, 0, 0}
#define HX_OPTE_LONG(name, p, lo, hi) {name, 0, HX_OPT_LONG, HX_OPT_DEST_(p, long), lo, hi, 0, 0, 0, 0}
#define HX_OPTE_UINT(name, p, lo, hi) {name, 0, HX_OPT_UINT, HX_OPT_DEST_(p, unsigned), lo, hi, 0, 0, 0, 0}
#define HX_OPTE_U64(name, p, lo, hi) {name, 0, HX_OPT_U64, HX_OPT_DEST_(p, uint64_t), lo, hi, 0, 0, 0, 0}
#define HX_OPTE_DOUBLE(name, p, lo, hi) {name, 0, HX_OPT_DOUBLE, HX_OPT_DEST_(p, double), 0, 0, lo, hi, 0, 0}
#define HX_OPTE_SIZE(name, p) {name, 0, HX_OPT_SIZE, HX_OPT_DEST_(p, uint64_t), 0, 0, 0, 0, 0, 0}
#define HX_OPTE_CHOICE(name, p, names) {name, 0, HX_OPT_CHOICE, HX_OPT_DEST_(p, int), 0, 0, 0, 0, 0, names}
#define HX_OPTE_CALL(name, p, f) {name, 0, HX_OPT_CALL, p, 0, 0, 0, 0, f, 0}
#define HX_OPTE_CALL0(name, letter, p, f) {name, letter, HX_OPT_CALL0, p, 0, 0, 0, 0, f, 0}
#define HX_OPTE_HELP(letter) {"help", letter, HX_OPT_HELP, 0, 0, 0, 0, 0, 0, 0}
#define HX_OPTE_INCLUDE(table) {0, 0, HX_OPT_INCLUDE, (void *)HX_OPT_DEST_(table, const hx_opt), 0, 0, 0, 0, 0, 0}
#define HX_OPTE_END {0, 0, HX_OPT_END, 0, 0, 0, 0, 0, 0, 0}

typedef enum { HX_OPTS_GNU, HX_OPTS_EXACT, HX_OPTS_LEADING } hx_opts_style;

typedef struct hx_opts {
    const char *prog;       /* message prefix: "hxzoo build" */
    const hx_opt *opts;     /* the table */
    hx_opts_style style;
    int min_pos;            /* positionals needed: fewer is the usage on stderr, HX_EUSAGE */
    int max_pos;            /* EXACT: positionals accepted (at most HX_OPTS_MAX_POS); GNU: when
                             * > 0, more is the usage on stderr, HX_EUSAGE */
    void (*usage)(FILE *f); /* the command's usage text */
    const char *unknown;    /* EXACT/LEADING message; NULL: "unknown or incomplete option" */
    int bare_errors;        /* EXACT: on a bad argument only the usage, on stdout */
} hx_opts;

#define HX_OPTS_MAX_POS 8

/* The positional arguments, in command-line order. */
typedef struct hx_opts_args {
    int n;
    char **v;
    char *buf[HX_OPTS_MAX_POS];
} hx_opts_args;

/* Parse argv[1..argc) (argv[0] is the command's name; GNU style may
 * permute argv like getopt_long). HX_OPTS_GO when the command goes on with
 * *args, else its exit status: 0 after --help, HX_EUSAGE after a usage
 * error, or what an HX_OPT_CALL returned. */
int hx_opts_parse(const hx_opts *s, int argc, char **argv, hx_opts_args *args);

/* An integer / number option value in [min, max]; otherwise prints "hxzoo:
 * OPT wants an integer in [MIN, MAX], got 'VAL'" (or "a number") and exits
 * with HX_EUSAGE. */
long hx_opts_long(const char *opt, const char *val, long min, long max);
double hx_opts_double(const char *opt, const char *val, double min, double max);

#endif

/* opts.c - hx_opts_parse (opts.h): the option tables of the hxzoo
 * subcommands, parsed GNU style (through getopt_long) or exact style. */
#include "common/opts.h"
#include "common/hx.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

long hx_opts_long(const char *opt, const char *val, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno || end == val || *end || v < min || v > max) {
        fprintf(stderr, "hxzoo: %s wants an integer in [%ld, %ld], got '%s'\n", opt, min, max, val);
        exit(HX_EUSAGE);
    }
    return v;
}

double hx_opts_double(const char *opt, const char *val, double min, double max)
{
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (errno || end == val || *end || !(v >= min && v <= max)) {
        fprintf(stderr, "hxzoo: %s wants a number in [%g, %g], got '%s'\n", opt, min, max, val);
        exit(HX_EUSAGE);
    }
    return v;
}

static uint64_t parse_size(const hx_opts *s, const hx_opt *o, const char *v)
{
    char *end;
    double d = strtod(v, &end);
    double mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1e3, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1e6, end++;
    else if (*end == 'G' || *end == 'g')
        mul = 1e9, end++;
    if (*end == 'B')
        end++;
    if (end == v || *end || !(d >= 0) || !(d * mul < 18446744073709551616.0)) { /* < 2^64 */
        fprintf(stderr, "%s: --%s wants a size like 5G, got '%s'\n", s->prog, o->name, v);
        exit(HX_EUSAGE);
    }
    return (uint64_t)(d * mul);
}

/* HX_OPT_CHOICE: the value's index in o->choices, or the message */
static int choose(const hx_opts *s, const hx_opt *o, const char *v)
{
    int i = hx_name_index(o->choices, v);
    if (i >= 0) {
        *(int *)o->dest = i;
        return HX_OPTS_GO;
    }
    fprintf(stderr, "%s: --%s ", s->prog, o->name);
    for (int k = 0; o->choices[k]; k++)
        fprintf(stderr, "%s%s", k == 0 ? "" : o->choices[k + 1] ? ", " : " or ", o->choices[k]);
    fprintf(stderr, ", not %s\n", v);
    return HX_EUSAGE;
}

/* values an option takes */
static int n_values(hx_opt_kind k)
{
    switch (k) {
    case HX_OPT_FLAG:
    case HX_OPT_CALL0:
    case HX_OPT_HELP:
        return 0;
    case HX_OPT_STR2:
        return 2;
    default:
        return 1;
    }
}

/* Store an option's value(s); HX_OPTS_GO or the command's exit status. */
static int apply(const hx_opts *s, const hx_opt *o, char **val)
{
    char opt[128];
    snprintf(opt, sizeof opt, "--%s", o->name ? o->name : "");
    switch (o->kind) {
    case HX_OPT_FLAG: *(int *)o->dest = (int)o->min; break;
    case HX_OPT_STR: *(const char **)o->dest = val[0]; break;
    case HX_OPT_STR2:
        ((const char **)o->dest)[0] = val[0];
        ((const char **)o->dest)[1] = val[1];
        break;
    case HX_OPT_LIST: {
        hx_opt_list *l = o->dest;
        l->v = hx_realloc(l->v, (l->n + 1) * sizeof *l->v);
        l->v[l->n++] = val[0];
        break;
    }
    case HX_OPT_INT: *(int *)o->dest = (int)hx_opts_long(opt, val[0], o->min, o->max); break;
    case HX_OPT_LONG: *(long *)o->dest = hx_opts_long(opt, val[0], o->min, o->max); break;
    case HX_OPT_UINT: *(unsigned *)o->dest = (unsigned)hx_opts_long(opt, val[0], o->min, o->max); break;
    case HX_OPT_U64: *(uint64_t *)o->dest = (uint64_t)hx_opts_long(opt, val[0], o->min, o->max); break;
    case HX_OPT_DOUBLE: *(double *)o->dest = hx_opts_double(opt, val[0], o->dmin, o->dmax); break;
    case HX_OPT_SIZE: *(uint64_t *)o->dest = parse_size(s, o, val[0]); break;
    case HX_OPT_CHOICE: return choose(s, o, val[0]);
    case HX_OPT_CALL: return o->fn(o->dest, val[0]);
    case HX_OPT_CALL0: return o->fn(o->dest, NULL);
    case HX_OPT_HELP: s->usage(stdout); return 0;
    case HX_OPT_END:
    case HX_OPT_INCLUDE: break;
    }
    return HX_OPTS_GO;
}

/* the table with its included fragments flattened (caller frees) */
static const hx_opt **flatten(const hx_opt *t, const hx_opt **out, size_t *n)
{
    for (; t->kind != HX_OPT_END; t++) {
        if (t->kind == HX_OPT_INCLUDE) {
            out = flatten(t->dest, out, n);
        } else {
            out = hx_realloc(out, (*n + 1) * sizeof *out);
            out[(*n)++] = t;
        }
    }
    return out;
}

static int parse_gnu(const hx_opts *s, const hx_opt **f, size_t nf, int argc, char **argv, hx_opts_args *args)
{
    struct option *lo = hx_calloc(nf + 1, sizeof *lo);
    char *shortopts = hx_calloc(2 * nf + 1, 1);
    size_t nl = 0, ns = 0;
    for (size_t i = 0; i < nf; i++) {
        int has = n_values(f[i]->kind) ? required_argument : no_argument;
        if (f[i]->name)
            lo[nl++] = (struct option){f[i]->name, has, NULL, 256 + (int)i};
        if (f[i]->letter) {
            shortopts[ns++] = f[i]->letter;
            if (has == required_argument)
                shortopts[ns++] = ':';
        }
    }
    int c, rc = HX_OPTS_GO;
    optind = 1;
    while (rc == HX_OPTS_GO && (c = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
        const hx_opt *o = NULL;
        if (c >= 256 && (size_t)(c - 256) < nf)
            o = f[c - 256];
        for (size_t i = 0; !o && c > 0 && c < 256 && c != '?' && c != ':' && i < nf; i++)
            if (f[i]->letter == c)
                o = f[i];
        if (!o) {
            s->usage(stderr);
            rc = HX_EUSAGE;
            break;
        }
        rc = apply(s, o, &optarg);
    }
    free(lo);
    free(shortopts);
    if (rc == HX_OPTS_GO) {
        args->n = argc - optind;
        args->v = argv + optind;
    }
    return rc;
}

/* the entry spelled exactly a ("--name" or "-l") */
static const hx_opt *find_exact(const hx_opt **f, size_t nf, const char *a)
{
    for (size_t i = 0; i < nf; i++) {
        if (a[0] == '-' && a[1] == '-' && f[i]->name && !strcmp(a + 2, f[i]->name))
            return f[i];
        if (a[0] == '-' && f[i]->letter && a[1] == f[i]->letter && !a[2])
            return f[i];
    }
    return NULL;
}

static int parse_exact(const hx_opts *s, const hx_opt **f, size_t nf, int argc, char **argv, hx_opts_args *args)
{
    int leading = s->style == HX_OPTS_LEADING;
    args->n = 0;
    args->v = args->buf;
    int i = 1;
    for (; i < argc; i++) {
        char *a = argv[i];
        if (leading && a[0] != '-')
            break;
        const hx_opt *o = find_exact(f, nf, a);
        int nv = o ? n_values(o->kind) : 0;
        if (o && i + nv < argc) {
            int rc = apply(s, o, argv + i + 1);
            if (rc != HX_OPTS_GO)
                return rc;
            i += nv;
            continue;
        }
        if (!leading && a[0] != '-' && args->n < s->max_pos && args->n < HX_OPTS_MAX_POS) {
            args->buf[args->n++] = a;
            continue;
        }
        if (s->bare_errors) {
            s->usage(stdout);
        } else {
            fprintf(stderr, "%s: %s %s\n", s->prog, s->unknown ? s->unknown : "unknown or incomplete option", a);
            s->usage(stderr);
        }
        return HX_EUSAGE;
    }
    if (leading) {
        args->n = argc - i;
        args->v = argv + i;
    }
    return HX_OPTS_GO;
}

int hx_opts_parse(const hx_opts *s, int argc, char **argv, hx_opts_args *args)
{
    size_t nf = 0;
    const hx_opt **f = flatten(s->opts, NULL, &nf);
    int rc = s->style == HX_OPTS_GNU ? parse_gnu(s, f, nf, argc, argv, args)
                                     : parse_exact(s, f, nf, argc, argv, args);
    free(f);
    if (rc == HX_OPTS_GO &&
        (args->n < s->min_pos || (s->style == HX_OPTS_GNU && s->max_pos > 0 && args->n > s->max_pos))) {
        s->usage(stderr);
        return HX_EUSAGE;
    }
    return rc;
}

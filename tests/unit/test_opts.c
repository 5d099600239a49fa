/* test_opts.c - the table-driven option parser (common/opts.h): GNU style
 * (getopt_long's spellings), exact style (positional limits, the "unknown
 * or incomplete option" error), leading style (hxzoo's global flags), every
 * kind of entry, included fragments, and the exit of a bad number. */
#include "common/hx.h"
#include "common/opts.h"
#include "tests/unit/check_main.h"

#include <stdlib.h>
#include <string.h>

static int usage_calls;
static FILE *usage_to;
static void usage(FILE *f)
{
    usage_calls++;
    usage_to = f;
}

/* argv from a space-separated line (argv[0] = "cmd"); static storage */
static char *args_buf[32];
static char line_buf[512];
static int split(const char *line, char ***argv)
{
    snprintf(line_buf, sizeof line_buf, "cmd %s", line);
    int n = 0;
    for (char *t = strtok(line_buf, " "); t && n < 31; t = strtok(NULL, " "))
        args_buf[n++] = t;
    args_buf[n] = NULL;
    *argv = args_buf;
    return n;
}

typedef struct {
    int flag, num, called;
    long lng;
    unsigned u;
    uint64_t u64, size;
    double d;
    const char *str, *two[2];
    hx_opt_list list;
} dests;

static int call_fn(void *dest, const char *v)
{
    dests *d = dest;
    d->called++;
    return v && !strcmp(v, "stop") ? 7 : HX_OPTS_GO;
}

static int parse(hx_opts_style style, int max_pos, const char *line, dests *d, hx_opts_args *a)
{
    const hx_opt frag[] = {HX_OPTE_FLAG("frag", 0, &d->flag, 5), HX_OPTE_END};
    const hx_opt opts[] = {
        HX_OPTE_FLAG("flag", 'f', &d->flag, 1),
        HX_OPTE_INT("int", &d->num, 1, 10),
        HX_OPTE_LONG("long", &d->lng, -5, 1L << 40),
        HX_OPTE_UINT("uint", &d->u, 0, 70000),
        HX_OPTE_U64("u64", &d->u64, 1024, 1L << 40),
        HX_OPTE_DOUBLE("dbl", &d->d, 0, 0.5),
        HX_OPTE_SIZE("size", &d->size),
        HX_OPTE_STR("str", 's', &d->str),
        HX_OPTE_STR2("two", d->two),
        HX_OPTE_LIST("item", &d->list),
        HX_OPTE_CALL("call", d, call_fn),
        HX_OPTE_CALL0("call0", 0, d, call_fn),
        HX_OPTE_INCLUDE(frag),
        HX_OPTE_HELP('h'),
        HX_OPTE_END,
    };
    const hx_opts s = {.prog = "hxzoo test", .opts = opts, .style = style, .max_pos = max_pos, .usage = usage};
    char **argv;
    int argc = split(line, &argv);
    memset(d, 0, sizeof *d);
    usage_calls = 0;
    return hx_opts_parse(&s, argc, argv, a);
}

START_TEST(exact_style)
{
    dests d;
    hx_opts_args a;
    ck_assert_int_eq(parse(HX_OPTS_EXACT, 2, "p1 --flag --int 3 --long -5 --uint 65536 --u64 2048 --dbl 0.25 "
                                              "--size 5G --str x --two a b --item i1 p2 --item i2 --call c --call0",
                           &d, &a), HX_OPTS_GO);
    ck_assert_int_eq(d.flag, 1);
    ck_assert_int_eq(d.num, 3);
    ck_assert_int_eq(d.lng, -5);
    ck_assert_uint_eq(d.u, 65536);
    ck_assert_uint_eq(d.u64, 2048);
    ck_assert(d.d == 0.25);
    ck_assert_uint_eq(d.size, 5000000000ull);
    ck_assert_str_eq(d.str, "x");
    ck_assert_str_eq(d.two[0], "a");
    ck_assert_str_eq(d.two[1], "b");
    ck_assert_uint_eq(d.list.n, 2);
    ck_assert_str_eq(d.list.v[0], "i1");
    ck_assert_str_eq(d.list.v[1], "i2");
    free(d.list.v);
    ck_assert_int_eq(d.called, 2);
    ck_assert_int_eq(a.n, 2);
    ck_assert_str_eq(a.v[0], "p1");
    ck_assert_str_eq(a.v[1], "p2");
    /* a value that looks like an option is still the value */
    ck_assert_int_eq(parse(HX_OPTS_EXACT, 0, "--str --flag", &d, &a), HX_OPTS_GO);
    ck_assert_str_eq(d.str, "--flag");
    ck_assert_int_eq(d.flag, 0);
    ck_assert_int_eq(parse(HX_OPTS_EXACT, 0, "--frag", &d, &a), HX_OPTS_GO);
    ck_assert_int_eq(d.flag, 5);
    /* too many positionals, an unknown option, a missing value, `=`, a prefix */
    const char *bad[] = {"p1 p2 p3", "--nope", "--str", "--two a", "--str=x", "--fla", "-", "-x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(parse(HX_OPTS_EXACT, 2, bad[i], &d, &a), HX_EUSAGE);
        ck_assert_int_eq(usage_calls, 1);
        ck_assert_ptr_eq(usage_to, stderr);
    }
    ck_assert_int_eq(parse(HX_OPTS_EXACT, 0, "--flag -h --nope", &d, &a), 0);
    ck_assert_ptr_eq(usage_to, stdout);
    ck_assert_int_eq(parse(HX_OPTS_EXACT, 0, "--call stop --nope", &d, &a), 7);
    ck_assert_int_eq(parse(HX_OPTS_EXACT, 0, "", &d, &a), HX_OPTS_GO);
    ck_assert_int_eq(a.n, 0);
}
END_TEST

START_TEST(gnu_style)
{
    dests d;
    hx_opts_args a;
    ck_assert_int_eq(parse(HX_OPTS_GNU, 0, "p1 --int=4 -f --st y p2 -s z --item=a --item b -- --p3", &d, &a),
                     HX_OPTS_GO);
    ck_assert_int_eq(d.num, 4);
    ck_assert_int_eq(d.flag, 1);
    ck_assert_str_eq(d.str, "z");
    ck_assert_uint_eq(d.list.n, 2);
    free(d.list.v);
    ck_assert_int_eq(a.n, 3);
    ck_assert_str_eq(a.v[0], "p1");
    ck_assert_str_eq(a.v[1], "p2");
    ck_assert_str_eq(a.v[2], "--p3");
    ck_assert_int_eq(parse(HX_OPTS_GNU, 0, "--nope", &d, &a), HX_EUSAGE);
    ck_assert_int_eq(usage_calls, 1);
    ck_assert_ptr_eq(usage_to, stderr);
    ck_assert_int_eq(parse(HX_OPTS_GNU, 0, "--call", &d, &a), HX_EUSAGE); /* exact name, no value */
    ck_assert_int_eq(parse(HX_OPTS_GNU, 0, "--ca x", &d, &a), HX_EUSAGE);   /* ambiguous: call, call0 */
    ck_assert_int_eq(parse(HX_OPTS_GNU, 0, "--str", &d, &a), HX_EUSAGE);
    ck_assert_int_eq(parse(HX_OPTS_GNU, 0, "--hel", &d, &a), 0);
    ck_assert_ptr_eq(usage_to, stdout);
}
END_TEST

START_TEST(leading_style)
{
    dests d;
    hx_opts_args a;
    ck_assert_int_eq(parse(HX_OPTS_LEADING, 0, "-f cmd --nope x", &d, &a), HX_OPTS_GO);
    ck_assert_int_eq(d.flag, 1);
    ck_assert_int_eq(a.n, 3);
    ck_assert_str_eq(a.v[0], "cmd");
    ck_assert_str_eq(a.v[1], "--nope");
    ck_assert_int_eq(parse(HX_OPTS_LEADING, 0, "--nope cmd", &d, &a), HX_EUSAGE);
}
END_TEST

START_TEST(bad_integer_exits)
{
    dests d;
    hx_opts_args a;
    parse(HX_OPTS_EXACT, 0, "--int 11", &d, &a);
}
END_TEST

START_TEST(bad_size_exits)
{
    dests d;
    hx_opts_args a;
    parse(HX_OPTS_GNU, 0, "--size 5X", &d, &a);
}
END_TEST

/* min_pos / max_pos: the count of positionals, checked after the options
 * (GNU: anywhere on the line); a wrong count is the usage on stderr */
START_TEST(positional_counts)
{
    int flag = 0;
    const char *dev = NULL;
    static const char *const devs[] = {"auto", "cpu", "cuda", NULL};
    int di = -1;
    const hx_opt opts[] = {HX_OPTE_FLAG("flag", 0, &flag, 1), HX_OPTE_CHOICE("device", &di, devs),
                           HX_OPTE_STR("str", 0, &dev), HX_OPTE_END};
    const char *lines[] = {"", "a", "a --flag b", "a b c", "--flag a --device cuda"};
    const int want[] = {HX_EUSAGE, HX_EUSAGE, HX_OPTS_GO, HX_EUSAGE, HX_EUSAGE}; /* both styles */
    for (int style = 0; style < 2; style++)
        for (int i = 0; i < 5; i++) {
            hx_opts s = {.prog = "hxzoo test", .opts = opts, .style = style ? HX_OPTS_EXACT : HX_OPTS_GNU,
                         .min_pos = 2, .max_pos = 2, .usage = usage};
            char **argv;
            int argc = split(lines[i], &argv);
            hx_opts_args a2;
            usage_calls = 0;
            int rc = hx_opts_parse(&s, argc, argv, &a2);
            if (style == 0) {
                ck_assert_msg(rc == want[i], "GNU '%s': %d", lines[i], rc);
                ck_assert_int_eq(usage_calls, rc == HX_EUSAGE);
                if (rc == HX_EUSAGE)
                    ck_assert_ptr_eq(usage_to, stderr);
            } else { /* EXACT: too few is the usage; too many, an unknown option */
                ck_assert_msg(rc == want[i], "EXACT '%s': %d", lines[i], rc);
                ck_assert_int_eq(usage_calls, rc == HX_EUSAGE);
            }
        }
    /* a choice stores the index of its value, anything else is refused */
    char **argv;
    int argc = split("--device cuda a b", &argv);
    hx_opts s = {.prog = "hxzoo test", .opts = opts, .style = HX_OPTS_GNU, .min_pos = 2, .usage = usage};
    hx_opts_args a2;
    ck_assert_int_eq(hx_opts_parse(&s, argc, argv, &a2), HX_OPTS_GO);
    ck_assert_int_eq(di, 2);
    argc = split("--device tpu a b", &argv);
    ck_assert_int_eq(hx_opts_parse(&s, argc, argv, &a2), HX_EUSAGE);
}
END_TEST

/* a size beyond 2^64 is refused, not converted (undefined in C) */
START_TEST(huge_size_exits)
{
    dests d;
    hx_opts_args a;
    parse(HX_OPTS_GNU, 0, "--size 1e30G", &d, &a);
}
END_TEST

START_TEST(numbers)
{
    ck_assert_int_eq(hx_opts_long("--n", "-3", -3, 3), -3);
    ck_assert(hx_opts_double("--d", "1e-3", 0, 1) == 1e-3);
}
END_TEST

Suite *hx_test_suite(void)
{
    Suite *s = suite_create("opts");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, exact_style);
    tcase_add_test(tc, gnu_style);
    tcase_add_test(tc, leading_style);
    tcase_add_test(tc, positional_counts);
    tcase_add_test(tc, numbers);
    tcase_add_exit_test(tc, bad_integer_exits, HX_EUSAGE);
    tcase_add_exit_test(tc, bad_size_exits, HX_EUSAGE);
    tcase_add_exit_test(tc, huge_size_exits, HX_EUSAGE);
    suite_add_tcase(s, tc);
    return s;
}

/* main.c - the hxzoo binary: dispatches git-style subcommands listed in
 * commands.def. Each subcommand lives in cli/cmd_<name>.c, parses its own
 * options and calls module APIs only. */
#include "cli/cli.h"
#include "common/hx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/version.h"

struct command {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
};

static const struct command commands[] = {
#define HX_CMD(name, fn, summary) {#name, fn, summary},
#include "cli/commands.def"
#undef HX_CMD
};

static void usage(FILE *f)
{
    fprintf(f, "usage: hxzoo [--quiet|--verbose] <command> [args]\n\n"
               "HXQ model zoo toolkit, version " HXZOO_VERSION ".\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'hxzoo <command> --help' for the options of one command.\n");
}

long cli_parse_long(const char *opt, const char *val, long min, long max)
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

double cli_parse_double(const char *opt, const char *val, double min, double max)
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

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
            hx_log_level = 0;
        else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v"))
            hx_log_level = 2;
        else if (!strcmp(argv[i], "--version")) {
            printf("hxzoo %s\n", HXZOO_VERSION);
            return 0;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "hxzoo: unknown option %s\n", argv[i]);
            usage(stderr);
            return HX_EUSAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return HX_EUSAGE;
    }
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
        if (!strcmp(argv[i], commands[c].name))
            return commands[c].fn(argc - i, argv + i);
    fprintf(stderr, "hxzoo: '%s' is not a command\n", argv[i]);
    usage(stderr);
    return HX_EUSAGE;
}

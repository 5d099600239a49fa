/* main.c - the hxzoo binary: dispatches git-style subcommands listed in
 * commands.def. Each subcommand lives in cli/cmd_<name>.c, parses its own
 * options (a table for common/opts.h) and calls module APIs only. */
#include "cli/cli.h"
#include "common/hx.h"

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

static int print_version(void *dest, const char *value)
{
    (void)dest;
    (void)value;
    printf("hxzoo %s\n", HXZOO_VERSION);
    return 0;
}

int main(int argc, char **argv)
{
    const hx_opt opts[] = {
        HX_OPTE_FLAG("quiet", 'q', &hx_log_level, 0),
        HX_OPTE_FLAG("verbose", 'v', &hx_log_level, 2),
        HX_OPTE_CALL0("version", 0, NULL, print_version),
        HX_OPTE_HELP('h'),
        HX_OPTE_END,
    };
    const hx_opts spec = {.prog = "hxzoo", .opts = opts, .style = HX_OPTS_LEADING, .min_pos = 1, .usage = usage,
                          .unknown = "unknown option"};
    hx_opts_args args;
    int rc = hx_opts_parse(&spec, argc, argv, &args);
    if (rc != HX_OPTS_GO)
        return rc;
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
        if (!strcmp(args.v[0], commands[c].name))
            return commands[c].fn(args.n, args.v);
    fprintf(stderr, "hxzoo: '%s' is not a command\n", args.v[0]);
    usage(stderr);
    return HX_EUSAGE;
}

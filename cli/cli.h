/* cli.h - declarations shared by the hxzoo subcommands (one file each);
 * their options are tables for the parser of common/opts.h. */
#ifndef HX_CLI_H
#define HX_CLI_H

#include "common/opts.h"

#define HX_CMD(name, fn, summary) int fn(int argc, char **argv);
#include "cli/commands.def"
#undef HX_CMD

/* The Hub client flags shared by download and upload (cli/hub_flags.c),
 * a table fragment for HX_OPTE_INCLUDE: fills out[] (with its HX_OPTE_END)
 * with cfg's --endpoint, --token, --jobs, --json and --no-progress. */
struct hub_config;
#define CLI_HUB_NOPTS 6
void cli_hub_opts(struct hub_config *cfg, hx_opt out[CLI_HUB_NOPTS]);

#endif

/* cli.h - declarations shared by the hxzoo subcommands (one file each). */
#ifndef HX_CLI_H
#define HX_CLI_H

#define HX_CMD(name, fn, summary) int fn(int argc, char **argv);
#include "cli/commands.def"
#undef HX_CMD

/* Parse a non-negative integer / double option value; exits with a usage
 * error naming the option if it is not one. */
long cli_parse_long(const char *opt, const char *val, long min, long max);
double cli_parse_double(const char *opt, const char *val, double min, double max);

/* The Hub client flags shared by download and upload (cli/hub_flags.c):
 * returns how many argv entries argv[i] consumed, 0 if it is not one. */
struct hub_config;
int cli_hub_flag(struct hub_config *cfg, int argc, char **argv, int i);

#endif

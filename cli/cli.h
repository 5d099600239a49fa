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

#endif

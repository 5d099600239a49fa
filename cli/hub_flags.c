/* hub_flags.c - the Hub client flags shared by `hxzoo download` and
 * `hxzoo upload` (--endpoint, --token, --jobs, --json, --no-progress). */
#include "cli/cli.h"
#include "hub/hub.h"

#include <string.h>

int cli_hub_flag(hub_config *cfg, int argc, char **argv, int i)
{
    const char *a = argv[i];
    int more = i + 1 < argc;
    if (!strcmp(a, "--endpoint") && more) {
        cfg->endpoint = argv[i + 1];
        return 2;
    }
    if (!strcmp(a, "--token") && more) {
        cfg->token = argv[i + 1];
        return 2;
    }
    if (!strcmp(a, "--jobs") && more) {
        cfg->jobs = (int)cli_parse_long(a, argv[i + 1], 1, 64);
        return 2;
    }
    if (!strcmp(a, "--json")) {
        cfg->json = 1;
        return 1;
    }
    if (!strcmp(a, "--no-progress")) {
        cfg->progress = 0;
        return 1;
    }
    return 0;
}

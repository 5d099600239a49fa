/* hub_flags.c - the Hub client flags shared by `hxzoo download` and
 * `hxzoo upload` (--endpoint, --token, --jobs, --json, --no-progress): an
 * option table fragment (common/opts.h). */
#include "cli/cli.h"
#include "hub/hub.h"

void cli_hub_opts(hub_config *cfg, hx_opt out[CLI_HUB_NOPTS])
{
    const hx_opt t[CLI_HUB_NOPTS] = {
        HX_OPTE_STR("endpoint", 0, &cfg->endpoint),
        HX_OPTE_STR("token", 0, &cfg->token),
        HX_OPTE_INT("jobs", &cfg->jobs, 1, 64),
        HX_OPTE_FLAG("json", 0, &cfg->json, 1),
        HX_OPTE_FLAG("no-progress", 0, &cfg->progress, 0),
        HX_OPTE_END,
    };
    for (int i = 0; i < CLI_HUB_NOPTS; i++)
        out[i] = t[i];
}

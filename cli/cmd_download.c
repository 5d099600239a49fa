/* cmd_download.c - `hxzoo download REPO[@REV] [--include GLOB]... [--local-dir
 * DIR]`: fetch a snapshot into the Hugging Face cache and print its path. */
#include "cli/cli.h"
#include "common/hx.h"
#include "hub/hub.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: hxzoo download REPO[@REV] [--include GLOB]... [--local-dir DIR]\n"
               "                      [--endpoint URL] [--token TOKEN] [--cache-dir DIR] [--jobs N]\n"
               "                      [--json] [--no-progress] [--offline]\n"
               "Downloads a repo snapshot into the Hugging Face cache (HF_HUB_CACHE)\n"
               "and prints the snapshot folder.\n");
}

int cmd_download(int argc, char **argv)
{
    hub_config cfg = {.progress = -1};
    const char *local_dir = NULL;
    hx_opt_list incl = {0};
    hx_opt hub[CLI_HUB_NOPTS];
    cli_hub_opts(&cfg, hub);
    const hx_opt opts[] = {
        HX_OPTE_INCLUDE(hub),
        HX_OPTE_LIST("include", &incl),
        HX_OPTE_STR("local-dir", 0, &local_dir),
        HX_OPTE_STR("cache-dir", 0, &cfg.cache_dir),
        HX_OPTE_FLAG("offline", 0, &cfg.offline, 1),
        HX_OPTE_HELP('h'),
        HX_OPTE_END,
    };
    const hx_opts ospec = {.prog = "hxzoo download", .opts = opts, .style = HX_OPTS_EXACT, .min_pos = 1,
                           .max_pos = 1, .usage = usage};
    hx_opts_args args;
    int rc = hx_opts_parse(&ospec, argc, argv, &args);
    const char **inc = incl.v;
    size_t ninc = incl.n;
    if (rc != HX_OPTS_GO) {
        free(inc);
        return rc;
    }
    const char *spec = args.v[0];
    if (hx_log_level == 0)
        cfg.progress = 0;
    char *repo = strdup(spec);
    char *at = strchr(repo, '@');
    const char *rev = NULL;
    if (at) {
        *at = 0;
        rev = at + 1;
    }
    hub_client *c;
    hx_status st = hub_client_new(&cfg, &c);
    if (st) {
        fprintf(stderr, "hxzoo download: %s\n", hx_lasterr());
        free(repo);
        free(inc);
        return st;
    }
    hub_download_opts o = {.revision = rev, .include = inc, .n_include = ninc, .local_dir = local_dir};
    hub_download_result r;
    st = hub_download(c, repo, &o, &r);
    if (st) {
        if (cfg.json)
            printf("{\"event\":\"error\",\"status\":%d}\n", st);
        fprintf(stderr, "hxzoo download: %s\n", hx_lasterr());
    } else if (cfg.json) {
        printf("{\"event\":\"done\",\"repo\":\"%s\",\"commit\":\"%s\",\"dir\":\"%s\",\"files\":%zu,"
               "\"files_fetched\":%zu,\"bytes\":%" PRIu64 ",\"bytes_fetched\":%" PRIu64 ",\"seconds\":%.3f}\n",
               repo, r.commit, r.dir, r.files, r.files_fetched, r.bytes_total, r.bytes_fetched, r.seconds);
    } else {
        hx_info("%s@%s: %zu files (%zu fetched, %.1f MB) in %.2f s", repo, r.commit, r.files, r.files_fetched,
                (double)r.bytes_fetched / 1e6, r.seconds);
        printf("%s\n", r.dir);
    }
    if (!st)
        free(r.dir);
    hub_client_free(c);
    free(repo);
    free(inc);
    return st;
}

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
    const char *spec = NULL, *local_dir = NULL;
    const char **inc = calloc((size_t)argc, sizeof *inc);
    size_t ninc = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc, used = cli_hub_flag(&cfg, argc, argv, i);
        if (used) {
            i += used - 1;
            continue;
        }
        if (!strcmp(a, "--include") && more)
            inc[ninc++] = argv[++i];
        else if (!strcmp(a, "--local-dir") && more)
            local_dir = argv[++i];
        else if (!strcmp(a, "--cache-dir") && more)
            cfg.cache_dir = argv[++i];
        else if (!strcmp(a, "--offline"))
            cfg.offline = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            free(inc);
            return 0;
        } else if (a[0] != '-' && !spec)
            spec = a;
        else {
            fprintf(stderr, "hxzoo download: unknown or incomplete option %s\n", a);
            usage(stderr);
            free(inc);
            return HX_EUSAGE;
        }
    }
    if (!spec) {
        usage(stderr);
        free(inc);
        return HX_EUSAGE;
    }
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

/* cmd_upload.c - `hxzoo upload REPO LOCAL_DIR [--private] [--branch B]
 * [--message M]`: publish a folder as one commit and print the commit. */
#include "cli/cli.h"
#include "common/hx.h"
#include "hub/hub.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: hxzoo upload REPO LOCAL_DIR [--private] [--branch B] [--message M]\n"
               "                    [--endpoint URL] [--token TOKEN] [--jobs N] [--json] [--no-progress]\n"
               "Publishes every file of LOCAL_DIR to REPO as one commit; unchanged\n"
               "content is not uploaded again.\n");
}

int cmd_upload(int argc, char **argv)
{
    hub_config cfg = {.progress = -1};
    hub_upload_opts o = {0};
    hx_opt hub[CLI_HUB_NOPTS];
    cli_hub_opts(&cfg, hub);
    const hx_opt opts[] = {
        HX_OPTE_INCLUDE(hub),
        HX_OPTE_FLAG("private", 0, &o.private_, 1),
        HX_OPTE_STR("branch", 0, &o.branch),
        HX_OPTE_STR("message", 0, &o.message),
        HX_OPTE_HELP('h'),
        HX_OPTE_END,
    };
    const hx_opts spec = {.prog = "hxzoo upload", .opts = opts, .style = HX_OPTS_EXACT, .min_pos = 2, .max_pos = 2,
                          .usage = usage};
    hx_opts_args args;
    int rc = hx_opts_parse(&spec, argc, argv, &args);
    if (rc != HX_OPTS_GO)
        return rc;
    const char *repo = args.v[0], *dir = args.v[1];
    if (hx_log_level == 0)
        cfg.progress = 0;
    hub_client *c;
    hx_status st = hub_client_new(&cfg, &c);
    if (st) {
        fprintf(stderr, "hxzoo upload: %s\n", hx_lasterr());
        return st;
    }
    hub_upload_result r;
    st = hub_upload_folder(c, repo, dir, &o, &r);
    if (st) {
        if (cfg.json)
            printf("{\"event\":\"error\",\"status\":%d}\n", st);
        fprintf(stderr, "hxzoo upload: %s\n", hx_lasterr());
    } else if (cfg.json) {
        printf("{\"event\":\"done\",\"repo\":\"%s\",\"commit\":\"%s\",\"committed\":%s,\"files\":%zu,"
               "\"files_changed\":%zu,\"lfs_uploaded\":%zu,\"bytes_uploaded\":%" PRIu64 ",\"seconds\":%.3f}\n",
               repo, r.commit, r.committed ? "true" : "false", r.files, r.files_changed, r.lfs_uploaded,
               r.bytes_uploaded, r.seconds);
    } else {
        hx_info("%s: %s%zu of %zu files changed, %zu LFS objects (%.1f MB) sent in %.2f s", repo,
                r.committed ? "committed; " : "", r.files_changed, r.files, r.lfs_uploaded,
                (double)r.bytes_uploaded / 1e6, r.seconds);
        printf("%s\n", r.commit);
    }
    hub_client_free(c);
    return st;
}

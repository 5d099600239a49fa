/* cmd_verify.c - `hxzoo verify REPO[@REV] [--full] [--json]`: is a published
 * HXQ repo intact, and does its card tell the truth (verify/repo_verify.h)?
 * Exit 0 when sound, 11 when a check failed or a claim is contradicted. */
#include "cli/cli.h"
#include "eval/eval.h"
#include "verify/repo_verify.h"
#include "zoo/zoo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: hxzoo verify REPO[@REV] [--full] [--json] [--endpoint URL] [--text FILE]\n"
               "                    [--device auto|cpu|cuda]\n\n"
               "Quick (default): metadata and safetensors headers only (range requests).\n"
               "--full: download the repo and its base model, decode every module, recompute\n"
               "the cosines and re-measure perplexity/KLD/top-1 with the card's protocol\n"
               "(--text: the evaluation text; default: the card's file name looked up in the\n"
               "zoo's tests/fixtures/eval) on --device (auto: CUDA when usable, with the card's\n"
               "dtype; the CPU measures in float32, with wider tolerances for a bfloat16 card).\n"
               "Exit 0: sound; 11: a check failed or a claim is contradicted.\n");
}

int cmd_verify(int argc, char **argv)
{
    rv_opts o = {0};
    int json = 0;
    const hx_opt opts[] = {
        HX_OPTE_FLAG("full", 0, &o.full, 1),
        HX_OPTE_FLAG("json", 0, &json, 1),
        HX_OPTE_STR("endpoint", 0, &o.endpoint),
        HX_OPTE_STR("text", 0, &o.text),
        HX_OPTE_CHOICE("device", &o.device, hx_device_names),
        HX_OPTE_HELP('h'),
        HX_OPTE_END,
    };
    const hx_opts ospec = {.prog = "hxzoo verify", .opts = opts, .style = HX_OPTS_EXACT, .min_pos = 1, .max_pos = 1,
                           .usage = usage};
    hx_opts_args args;
    int rc = hx_opts_parse(&ospec, argc, argv, &args);
    if (rc != HX_OPTS_GO)
        return rc;
    const char *spec = args.v[0];
    char *repo = hx_strdup(spec), *rev = strchr(repo, '@');
    if (rev)
        *rev++ = 0;
    /* texts live in the zoo's tree, next to the manifest */
    char *tdir = NULL;
    zoo_manifest z;
    if (!zoo_manifest_load(NULL, &z)) {
        tdir = hx_path_join(z.root, "tests/fixtures/eval");
        zoo_manifest_free(&z);
    }
    hx_clearerr();
    o.text_dir = tdir;
    cJSON *rep = NULL;
    int sound = 0;
    hx_status st = repo_verify(repo, rev, &o, &rep, &sound);
    if (st) {
        fprintf(stderr, "hxzoo verify: %s\n", hx_lasterr());
    } else {
        if (json) {
            char *t = cJSON_Print(rep);
            printf("%s\n", t);
            free(t);
        } else {
            repo_verify_print(rep, stdout);
        }
        if (!sound)
            st = HX_EINTEGRITY;
    }
    cJSON_Delete(rep);
    free(repo);
    free(tdir);
    return st;
}

/* cmd_list.c - `hxzoo list [--json|--tsv] [--manifest FILE]`: the zoo's
 * models with their source, target and local build status. */
#include "cli/cli.h"
#include "codec/encoder/encoder.h"
#include "zoo/zoo.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *status_of(const zoo_model *m)
{
    char *dir = zoo_build_dir(m, NULL);
    int failed, done = zoo_build_progress(dir, &failed);
    free(dir);
    if (failed)
        return hx_strdup("gate failed");
    if (done == 0)
        return hx_strdup("not built");
    if (done == ZOO_ST_COUNT)
        return hx_strdup("published+verified");
    return hx_asprintf("%s done", zoo_stage_name((zoo_stage)(done - 1)));
}

static void usage(FILE *f)
{
    fprintf(f, "usage: hxzoo list [--json|--tsv] [--manifest FILE]\n"
               "Status is that of the local build directory (zoo-build/NAME or $HXZOO_BUILD_ROOT/NAME).\n");
}

int cmd_list(int argc, char **argv)
{
    int json = 0, tsv = 0;
    const char *manifest = NULL;
    const hx_opt opts[] = {
        HX_OPTE_FLAG("json", 0, &json, 1),
        HX_OPTE_FLAG("tsv", 0, &tsv, 1),
        HX_OPTE_STR("manifest", 0, &manifest),
        HX_OPTE_HELP(0),
        HX_OPTE_END,
    };
    /* anything else: the usage on stdout, exit 2 */
    const hx_opts spec = {.prog = "hxzoo list", .opts = opts, .style = HX_OPTS_EXACT, .usage = usage,
                          .bare_errors = 1};
    hx_opts_args args;
    int rc = hx_opts_parse(&spec, argc, argv, &args);
    if (rc != HX_OPTS_GO)
        return rc;
    zoo_manifest z;
    hx_status st = zoo_manifest_load(manifest, &z);
    if (st) {
        fprintf(stderr, "hxzoo list: %s\n", hx_lasterr());
        return st;
    }
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    if (!json && !tsv)
        printf("%-20s %-38s %-9s %-44s %-7s %-8s %s\n", "name", "source", "revision", "target", "arch", "protocol",
               "status");
    for (size_t i = 0; i < z.n; i++) {
        const zoo_model *m = &z.m[i];
        char *s = status_of(m);
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", m->name);
            cJSON_AddStringToObject(o, "source", m->source);
            cJSON_AddStringToObject(o, "revision", m->revision);
            cJSON_AddBoolToObject(o, "pinned", m->pinned);
            cJSON_AddStringToObject(o, "target", m->target);
            cJSON_AddStringToObject(o, "architecture", m->arch);
            cJSON_AddStringToObject(o, "license", m->license);
            cJSON_AddStringToObject(o, "protocol", m->eval.protocol);
            cJSON_AddBoolToObject(o, "test_model", m->test_model);
            cJSON_AddStringToObject(o, "manifest_digest", m->digest);
            cJSON_AddStringToObject(o, "status", s);
            cJSON_AddItemToArray(arr, o);
        } else if (tsv) {
            printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m->name, m->source, m->revision, m->target, m->digest,
                   HXQ_CODEC_VERSION, m->test_model ? "test" : "zoo");
        } else {
            printf("%-20s %-38s %-9.9s %-44s %-7s %-8s %s\n", m->name, m->source, m->revision, m->target, m->arch,
                   m->eval.protocol, s);
        }
        free(s);
    }
    if (json) {
        char *t = cJSON_Print(arr);
        printf("%s\n", t);
        free(t);
        cJSON_Delete(arr);
    }
    zoo_manifest_free(&z);
    return 0;
}

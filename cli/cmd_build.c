/* cmd_build.c - `hxzoo build NAME [--endpoint URL] [--org ORG] [--device
 * auto|cpu|cuda] [--no-upload] [--force]`: build, validate, publish and verify
 * one model of the zoo manifest (zoo/zoo.h, docs/ZOO.md). */
#include "cli/cli.h"
#include "common/pool.h"
#include "eval/eval.h"
#include "zoo/zoo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: hxzoo build NAME [--endpoint URL] [--org ORG] [--device auto|cpu|cuda]\n"
               "                   [--dtype auto|f32|bf16] [--no-upload] [--force] [--manifest FILE] [--build-dir DIR] [--threads N]\n"
               "                   [--stop-after STAGE]\n\n"
               "Stages: resolve, download, compress, validate (gates), card, upload, verify; each\n"
               "leaves a receipt in the build directory (default zoo-build/NAME, or\n"
               "$HXZOO_BUILD_ROOT/NAME) and a rerun resumes at the first unfinished stage.\n"
               "A failed gate stops before the upload (exit 10). A model whose published\n"
               "build already matches (source commit, codec, manifest entry) publishes nothing.\n"
               "--device: where the validation's evaluation runs (auto: CUDA when a usable device\n"
               "is there, else the CPU); its memory and time estimate is printed before it starts.\n"
               "--dtype: its arithmetic (auto: f32 on the CPU, bf16 on CUDA); the card states both.\n");
}

int cmd_build(int argc, char **argv)
{
    zoo_build_opts o = {0};
    const char *manifest = NULL;
    const hx_opt opts[] = {
        HX_OPTE_STR("endpoint", 0, &o.endpoint),
        HX_OPTE_STR("org", 0, &o.org),
        HX_OPTE_CHOICE("device", &o.device, hx_device_names),
        HX_OPTE_CHOICE("dtype", &o.dtype, hx_compute_dtype_names),
        HX_OPTE_FLAG("no-upload", 0, &o.no_upload, 1),
        HX_OPTE_FLAG("force", 0, &o.force, 1),
        HX_OPTE_STR("manifest", 0, &manifest),
        HX_OPTE_STR("build-dir", 0, &o.build_dir),
        HX_OPTE_INT("threads", &o.threads, 1, HX_POOL_MAX_THREADS),
        HX_OPTE_STR("stop-after", 0, &o.stop_after),
        HX_OPTE_HELP('h'),
        HX_OPTE_END,
    };
    const hx_opts spec = {.prog = "hxzoo build", .opts = opts, .style = HX_OPTS_EXACT, .min_pos = 1, .max_pos = 1,
                          .usage = usage};
    hx_opts_args args;
    int rc = hx_opts_parse(&spec, argc, argv, &args);
    if (rc != HX_OPTS_GO)
        return rc;
    const char *name = args.v[0];
    if (o.stop_after) {
        int ok = 0;
        for (int s = 0; s < ZOO_ST_COUNT; s++)
            ok |= !strcmp(o.stop_after, zoo_stage_name((zoo_stage)s));
        if (!ok) {
            fprintf(stderr, "hxzoo build: --stop-after: no stage %s\n", o.stop_after);
            return HX_EUSAGE;
        }
    }
    zoo_manifest z;
    hx_status st = zoo_manifest_load(manifest, &z);
    if (st) {
        fprintf(stderr, "hxzoo build: %s\n", hx_lasterr());
        return st;
    }
    const zoo_model *m = zoo_find(&z, name);
    if (!m) {
        fprintf(stderr, "hxzoo build: no model \"%s\" in %s (hxzoo list shows them)\n", name, z.path);
        zoo_manifest_free(&z);
        return HX_ENOTFOUND;
    }
    zoo_build_result r;
    st = zoo_build(&z, m, &o, &r);
    if (st) {
        fprintf(stderr, "hxzoo build: %s\n", hx_lasterr());
    } else if (r.up_to_date) {
        printf("%s: up to date (source %.12s), nothing published\n", name, r.source_commit);
    } else if (r.published_commit[0]) {
        printf("%s: published %s (%s)\n", name, r.published_commit, r.committed ? "new commit" : "unchanged");
    } else {
        printf("%s: built in %s/repo, not published\n", name, r.build_dir);
    }
    zoo_build_result_free(&r);
    zoo_manifest_free(&z);
    return st;
}

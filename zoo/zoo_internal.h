/* zoo_internal.h - private to zoo/: the shared state of the build stages
 * (zoo/build.c drives them and keeps the receipts, zoo/stage_*.c implement
 * them). */
#ifndef HX_ZOO_INTERNAL_H
#define HX_ZOO_INTERNAL_H

#include "hub/hub.h"
#include "zoo/zoo.h"

#include <cJSON.h>

typedef struct zoo_ctx {
    const zoo_manifest *z;
    const zoo_model *m;
    const zoo_build_opts *o;
    zoo_build_result *r;
    hub_client *hub;
    char *dir;      /* build directory */
    char *repo_dir; /* dir/repo: the folder published */
    char *target;   /* repo published to */
    char commit[41];
    char *src_dir;  /* source snapshot */
    double stage_t0; /* start of the running stage (its receipt records wall_s
                      * and the stage's peak RSS) */
} zoo_ctx;

/* ---- build.c: receipts and files ---- */

/* receipts: dir/receipts/N-stage.json */
char *zoo_receipt_path(const zoo_ctx *c, zoo_stage s, const char *suffix);
/* Load a stage's receipt (NULL when absent or unreadable). */
cJSON *zoo_receipt_load(const zoo_ctx *c, zoo_stage s);
/* Add "stage" and write atomically; takes ownership of j. */
hx_status zoo_receipt_write(const zoo_ctx *c, zoo_stage s, cJSON *j, const char *suffix);
/* rm -rf */
hx_status zoo_rmtree(const char *path);
cJSON *zoo_json_file(const char *path);

/* ---- stage_fetch.c: resolve and download the source ---- */
hx_status zoo_stage_resolve(zoo_ctx *c);
hx_status zoo_stage_download(zoo_ctx *c);
/* 1 when the target repo's published build receipt matches this build
 * (source commit, codec version, manifest entry). */
int zoo_published_up_to_date(zoo_ctx *c);

/* ---- stage_check.c: compress and the validation gates ---- */
hx_status zoo_stage_compress(zoo_ctx *c);
hx_status zoo_stage_validate(zoo_ctx *c);

/* ---- stage_publish.c: card, upload, verify ---- */
hx_status zoo_stage_card(zoo_ctx *c);
hx_status zoo_stage_upload(zoo_ctx *c);
hx_status zoo_stage_verify(zoo_ctx *c);

#endif

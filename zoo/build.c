/* build.c - `hxzoo build NAME`: run the stages of one zoo model in order,
 * each leaving a receipt in BUILD_DIR/receipts; a rerun resumes at the
 * first stage without a receipt (later receipts are discarded), a moved
 * upstream commit starts over, and a build whose published receipt already
 * matches (source commit, codec, manifest entry) publishes nothing. */
#define _XOPEN_SOURCE 700
#include "zoo/zoo_internal.h"
#include "common/pyjson.h"
#include "codec/encoder/encoder.h"

#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const stage_names[ZOO_ST_COUNT] = {"resolve", "download", "compress", "validate",
                                                      "card",    "upload",   "verify"};

const char *zoo_stage_name(zoo_stage s) { return s < ZOO_ST_COUNT ? stage_names[s] : "?"; }

char *zoo_build_dir(const zoo_model *m, const char *explicit_dir)
{
    if (explicit_dir && *explicit_dir)
        return hx_strdup(explicit_dir);
    const char *root = getenv("HXZOO_BUILD_ROOT");
    return hx_asprintf("%s/%s", root && *root ? root : "zoo-build", m->name);
}

char *zoo_receipt_path(const zoo_ctx *c, zoo_stage s, const char *suffix)
{
    return hx_asprintf("%s/receipts/%d-%s%s.json", c->dir, (int)s + 1, stage_names[s], suffix ? suffix : "");
}

cJSON *zoo_json_file(const char *path)
{
    cJSON *j;
    return hx_pyjson_load(path, 64u << 20, &j) == HX_OK ? j : NULL;
}

cJSON *zoo_receipt_load(const zoo_ctx *c, zoo_stage s)
{
    char *p = zoo_receipt_path(c, s, NULL);
    cJSON *j = zoo_json_file(p);
    free(p);
    return j;
}

hx_status zoo_receipt_write(const zoo_ctx *c, zoo_stage s, cJSON *j, const char *suffix)
{
    cJSON_AddStringToObject(j, "stage", stage_names[s]);
    cJSON_AddStringToObject(j, "model", c->m->name);
    if (c->stage_t0 > 0) {
        cJSON_AddNumberToObject(j, "wall_s", hx_now() - c->stage_t0);
        cJSON_AddNumberToObject(j, "peak_rss_bytes", (double)hx_peak_rss());
    }
    char *txt = cJSON_Print(j);
    cJSON_Delete(j);
    char *p = zoo_receipt_path(c, s, suffix);
    hx_status st = hx_write_file_atomic(p, txt, strlen(txt));
    free(p);
    free(txt);
    return st;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    return remove(p);
}

hx_status zoo_rmtree(const char *path)
{
    if (!hx_file_exists(path) && !hx_dir_exists(path))
        return HX_OK;
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS))
        return HX_FAIL(HX_EIO, "cannot remove %s", path);
    return HX_OK;
}

int zoo_build_progress(const char *build_dir, int *failed)
{
    int done = 0;
    *failed = 0;
    for (int s = 0; s < ZOO_ST_COUNT; s++) {
        char *p = hx_asprintf("%s/receipts/%d-%s.json", build_dir, s + 1, stage_names[s]);
        int ok = hx_file_exists(p);
        free(p);
        if (!ok)
            break;
        done = s + 1;
    }
    char *f = hx_asprintf("%s/receipts/%d-%s.failed.json", build_dir, ZOO_ST_VALIDATE + 1,
                          stage_names[ZOO_ST_VALIDATE]);
    *failed = done <= ZOO_ST_VALIDATE && hx_file_exists(f);
    free(f);
    return done;
}

/* Reset the process's peak RSS (VmHWM) so that each stage's receipt
 * records its own peak: writing 5 to clear_refs does that (Linux >= 4.0;
 * where it fails the figure is the process's peak so far). */
static void stage_start(zoo_ctx *c)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
    c->stage_t0 = hx_now();
}

typedef hx_status (*stage_fn)(zoo_ctx *);
static const stage_fn stage_fns[ZOO_ST_COUNT] = {zoo_stage_resolve, zoo_stage_download, zoo_stage_compress,
                                                 zoo_stage_validate, zoo_stage_card, zoo_stage_upload,
                                                 zoo_stage_verify};

/* Discard the receipts of stage s and after. */
static void drop_from(zoo_ctx *c, int s)
{
    for (int k = s; k < ZOO_ST_COUNT; k++) {
        char *p = zoo_receipt_path(c, (zoo_stage)k, NULL);
        if (hx_file_exists(p)) {
            hx_info("  discarding the receipt of stage %s (an earlier stage is redone)", stage_names[k]);
            unlink(p);
        }
        free(p);
    }
}

hx_status zoo_build(const zoo_manifest *z, const zoo_model *m, const zoo_build_opts *o, zoo_build_result *r)
{
    memset(r, 0, sizeof *r);
    r->resumed_at = -1;
    zoo_ctx c = {.z = z, .m = m, .o = o, .r = r};
    c.dir = zoo_build_dir(m, o->build_dir);
    c.repo_dir = hx_path_join(c.dir, "repo");
    c.target = zoo_target(m, o->org);
    r->build_dir = hx_strdup(c.dir);
    char *rdir = hx_path_join(c.dir, "receipts");
    hx_status st = HX_OK;
    if (o->force) {
        hx_info("--force: discarding %s/receipts and %s", c.dir, c.repo_dir);
        if ((st = zoo_rmtree(rdir)) || (st = zoo_rmtree(c.repo_dir)))
            goto out;
    }
    if ((st = hx_mkdirs(rdir)))
        goto out;
    hub_config cfg = {.endpoint = o->endpoint, .progress = -1};
    if (hx_log_level == 0)
        cfg.progress = 0;
    if ((st = hub_client_new(&cfg, &c.hub)))
        goto out;
    hx_info("build %s: %s@%s -> %s (build dir %s)", m->name, m->source, m->revision, c.target, c.dir);

    hx_info("[1/7] resolve");
    stage_start(&c);
    if ((st = zoo_stage_resolve(&c)))
        goto out;
    memcpy(r->source_commit, c.commit, 41);
    if (!o->force && !o->no_upload && zoo_published_up_to_date(&c)) {
        r->up_to_date = 1;
        hx_info("%s is up to date (source commit %.12s, %s, same manifest entry): nothing to publish",
                c.target, c.commit, HXQ_CODEC_VERSION);
        goto out;
    }
    int first = -1;
    for (int s = ZOO_ST_DOWNLOAD; s < ZOO_ST_COUNT; s++) {
        if (o->no_upload && s >= ZOO_ST_UPLOAD) {
            hx_info("--no-upload: stopping before the upload; the repo folder is %s", c.repo_dir);
            break;
        }
        cJSON *rc = first < 0 ? zoo_receipt_load(&c, (zoo_stage)s) : NULL;
        if (rc && s == ZOO_ST_DOWNLOAD) {
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(rc, "dir");
            if (cJSON_IsString(d) && hx_dir_exists(d->valuestring))
                c.src_dir = hx_strdup(d->valuestring);
            else
                cJSON_Delete(rc), rc = NULL;
        }
        if (rc && s == ZOO_ST_UPLOAD) {
            const cJSON *cm = cJSON_GetObjectItemCaseSensitive(rc, "commit");
            if (cJSON_IsString(cm) && strlen(cm->valuestring) == 40)
                memcpy(r->published_commit, cm->valuestring, 41);
        }
        if (rc) {
            hx_info("[%d/7] %s: done earlier (receipt kept)", s + 1, stage_names[s]);
            cJSON_Delete(rc);
            continue;
        }
        if (first < 0) {
            first = s;
            r->resumed_at = s;
            drop_from(&c, s + 1);
        }
        hx_info("[%d/7] %s", s + 1, stage_names[s]);
        stage_start(&c);
        if ((st = stage_fns[s](&c)))
            goto out;
        if (o->stop_after && !strcmp(o->stop_after, stage_names[s])) {
            hx_info("--stop-after %s: stopping here (rerun to resume)", stage_names[s]);
            break;
        }
    }
out:
    if (st)
        hx_preerr("build %s", m->name);
    hub_client_free(c.hub);
    free(rdir), free(c.dir), free(c.repo_dir), free(c.target), free(c.src_dir);
    return st;
}

void zoo_build_result_free(zoo_build_result *r)
{
    free(r->build_dir);
    r->build_dir = NULL;
}

/* stage_fetch.c - build stages 1-2: resolve the source revision to a commit
 * (a moved upstream discards the earlier build) and download the snapshot
 * into the shared Hugging Face cache; and the "already published" check. */
#include "codec/hxq.h"
#include "zoo/build_int.h"

#include <stdlib.h>
#include <string.h>

hx_status zoo_stage_resolve(zoo_ctx *c)
{
    hx_status st = hub_resolve_revision(c->hub, c->m->source, c->m->revision, c->commit);
    if (st)
        return hx_preerr("resolve %s@%s", c->m->source, c->m->revision), st;
    cJSON *old = zoo_receipt_load(c, ZOO_ST_RESOLVE);
    const cJSON *oc = cJSON_GetObjectItemCaseSensitive(old, "commit");
    if (cJSON_IsString(oc) && strcmp(oc->valuestring, c->commit)) {
        hx_info("  upstream moved from %.12s to %.12s: starting the build over", oc->valuestring, c->commit);
        for (int s = ZOO_ST_DOWNLOAD; s < ZOO_ST_COUNT; s++) {
            char *p = zoo_receipt_path(c, (zoo_stage)s, NULL);
            remove(p);
            free(p);
        }
        if ((st = zoo_rmtree(c->repo_dir))) {
            cJSON_Delete(old);
            return st;
        }
    }
    cJSON_Delete(old);
    hx_info("  %s@%s = %s%s", c->m->source, c->m->revision, c->commit, c->m->pinned ? " (pinned)" : "");
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "source", c->m->source);
    cJSON_AddStringToObject(j, "revision", c->m->revision);
    cJSON_AddBoolToObject(j, "pinned", c->m->pinned);
    cJSON_AddStringToObject(j, "commit", c->commit);
    cJSON_AddStringToObject(j, "endpoint", hub_client_endpoint(c->hub));
    return zoo_receipt_write(c, ZOO_ST_RESOLVE, j, NULL);
}

hx_status zoo_stage_download(zoo_ctx *c)
{
    hub_download_opts o = {.revision = c->commit};
    hub_download_result d;
    hx_status st = hub_download(c->hub, c->m->source, &o, &d);
    if (st)
        return hx_preerr("download %s@%.12s", c->m->source, c->commit), st;
    hx_info("  %zu files, %.1f MB (%zu fetched) in %s", d.files, (double)d.bytes_total / 1e6, d.files_fetched,
            d.dir);
    free(c->src_dir);
    c->src_dir = hx_strdup(d.dir);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "source", c->m->source);
    cJSON_AddStringToObject(j, "commit", d.commit);
    cJSON_AddStringToObject(j, "dir", d.dir);
    cJSON_AddNumberToObject(j, "files", (double)d.files);
    cJSON_AddNumberToObject(j, "bytes", (double)d.bytes_total);
    cJSON_AddNumberToObject(j, "files_fetched", (double)d.files_fetched);
    free(d.dir);
    return zoo_receipt_write(c, ZOO_ST_DOWNLOAD, j, NULL);
}

int zoo_published_up_to_date(zoo_ctx *c)
{
    size_t cap = 1u << 20, got = 0;
    char *buf = hx_malloc(cap + 1);
    hx_status st = hub_fetch_range(c->hub, c->target, "main", ZOO_BUILD_RECEIPT, 0, cap, buf, &got);
    int same = 0;
    if (!st) {
        buf[got] = 0;
        cJSON *j = cJSON_ParseWithLength(buf, got);
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(j, "source");
        const cJSON *cm = cJSON_GetObjectItemCaseSensitive(src, "commit");
        const cJSON *cd = cJSON_GetObjectItemCaseSensitive(j, "codec");
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(j, "manifest_digest");
        same = cJSON_IsString(cm) && !strcmp(cm->valuestring, c->commit) && cJSON_IsString(cd) &&
               !strcmp(cd->valuestring, HXQ_CODEC_VERSION) && cJSON_IsString(md) &&
               !strcmp(md->valuestring, c->m->digest);
        if (!same)
            hx_info("  %s is published from %.12s (%s): rebuilding", c->target,
                    cJSON_IsString(cm) ? cm->valuestring : "?", cJSON_IsString(cd) ? cd->valuestring : "?");
        cJSON_Delete(j);
    } else {
        hx_info("  %s has no %s yet", c->target, ZOO_BUILD_RECEIPT);
    }
    hx_clearerr();
    free(buf);
    return same;
}

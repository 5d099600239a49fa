/* stage_fetch.c - build stages 1-2: resolve the source revision to a commit
 * (a moved upstream discards the earlier build) and download the snapshot
 * into the shared Hugging Face cache; and the "already published" check. */
#include "codec/encoder/encoder.h"
#include "codec/layout.h"
#include "zoo/zoo_internal.h"

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

/* A source in mamba_ssm's layout: only its config, safetensors and card are
 * downloaded (never pytorch_model.bin), the tokenizer from the manifest's
 * tokenizer repo, and the two become a transformers directory in
 * BUILD_DIR/source (codec/layout.h), which the later stages read. */
static hx_status convert_layout(zoo_ctx *c, const hub_download_result *d, cJSON *j)
{
    static const char *const tok_files[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"};
    hub_download_opts o = {.revision = c->m->tok_revision, .include = tok_files, .n_include = 3};
    hub_download_result t;
    hx_status st = hub_download(c->hub, c->m->tok_repo, &o, &t);
    if (st)
        return hx_preerr("download the tokenizer %s@%s", c->m->tok_repo, c->m->tok_revision), st;
    hx_info("  tokenizer: %s@%s = %s (%zu files)", c->m->tok_repo, c->m->tok_revision, t.commit, t.files);
    char *out = hx_path_join(c->dir, "source");
    int renamed = 0;
    if (!(st = zoo_rmtree(out)))
        st = hx_layout_mamba_ssm(d->dir, t.dir, out, &renamed);
    if (!st) {
        hx_info("  mamba_ssm layout converted into %s: transformers Mamba2 config.json, %d tensor renamed "
                "(backbone.embedding -> backbone.embeddings), data bytes unchanged",
                out, renamed);
        cJSON_AddStringToObject(j, "layout", c->m->layout);
        cJSON_AddStringToObject(j, "snapshot", d->dir);
        cJSON *tk = cJSON_AddObjectToObject(j, "tokenizer");
        cJSON_AddStringToObject(tk, "repo", c->m->tok_repo);
        cJSON_AddStringToObject(tk, "revision", c->m->tok_revision);
        cJSON_AddStringToObject(tk, "commit", t.commit);
        free(c->src_dir);
        c->src_dir = out;
        out = NULL;
    }
    free(out);
    free(t.dir);
    return st;
}

hx_status zoo_stage_download(zoo_ctx *c)
{
    /* mamba_ssm repos also hold a pickle (pytorch_model.bin): not fetched */
    static const char *const ssm_files[] = {"config.json", "*.safetensors", "model.safetensors.index.json",
                                            "README.md"};
    hub_download_opts o = {.revision = c->commit};
    if (c->m->layout)
        o.include = ssm_files, o.n_include = 4;
    hub_download_result d;
    hx_status st = hub_download(c->hub, c->m->source, &o, &d);
    if (st)
        return hx_preerr("download %s@%.12s", c->m->source, c->commit), st;
    hx_info("  %zu files, %.1f MB (%zu fetched) in %s", d.files, (double)d.bytes_total / 1e6, d.files_fetched,
            d.dir);
    free(c->src_dir);
    c->src_dir = hx_strdup(d.dir);
    cJSON *j = cJSON_CreateObject();
    if (c->m->layout && (st = convert_layout(c, &d, j))) {
        cJSON_Delete(j);
        free(d.dir);
        return st;
    }
    cJSON_AddStringToObject(j, "source", c->m->source);
    cJSON_AddStringToObject(j, "commit", d.commit);
    cJSON_AddStringToObject(j, "dir", c->src_dir);
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

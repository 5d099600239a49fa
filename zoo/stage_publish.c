/* stage_publish.c - build stages 5-7: assemble the build summary from the
 * receipts (hxzoo_build.json) and render the card (README.md) from it;
 * have the Hub check the card (validate-yaml), upload the folder as one
 * commit; verify the published repo (quick). */
#include "cards/card.h"
#include "codec/encoder/encoder.h"
#include "common/hash.h"
#include "common/version.h"
#include "hub/hub.h"
#include "verify/repo_verify.h"
#include "zoo/zoo_internal.h"

#include <stdlib.h>
#include <string.h>

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* The source card's license, if it states one (caller frees). */
static char *source_license(const char *src_dir)
{
    char *p = hx_path_join(src_dir, "README.md"), *t, *lic = NULL;
    size_t n;
    if (!hx_read_file(p, 8u << 20, &t, &n)) {
        card_doc d;
        card_parse(t, n, &d);
        const char *l = card_fm(&d, "license");
        if (l && *l && strcmp(l, "(structure)"))
            lic = hx_strdup(l);
        card_doc_free(&d);
        free(t);
    }
    hx_clearerr();
    free(p);
    return lic;
}

/* A tensor's kind: its name after the first all-digit component (the layer
 * index), later all-digit components as N ("mixer.conv1d.weight",
 * "shared_transformer.self_attn.linear_q_adapter_list.N.N.weight"); names
 * outside the layers whole. Caller frees. */
static char *tensor_kind(const char *nm)
{
    char *out = NULL;
    for (const char *p = nm; *p;) {
        const char *e = strchr(p, '.');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        int digits = n && strspn(p, "0123456789") == n;
        if (out) {
            char *o2 = hx_asprintf("%s%s%.*s", out, *out ? "." : "", digits ? 1 : (int)n, digits ? "N" : p);
            free(out);
            out = o2;
        } else if (digits && e) {
            out = hx_strdup("");
        }
        p = e ? e + 1 : p + n;
    }
    return out && *out ? out : (free(out), hx_strdup(nm));
}

/* What stays dense, from the receipt: every tensor not compressed, by kind
 * (tensor_kind), in receipt order, with counts. The card lists these
 * instead of assuming a transformer's embeddings/norms/biases (SSMs keep
 * their conv kernels, A_log, D and dt_bias dense too). */
static cJSON *dense_kinds(const cJSON *hr)
{
    cJSON *arr = cJSON_CreateArray();
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(hr, "tensors"))
    {
        const char *nm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "name"));
        const char *rt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "route"));
        if (!nm || !rt || !strcmp(rt, "compress") || !strcmp(rt, "drop"))
            continue;
        char *kind = tensor_kind(nm);
        cJSON *k;
        int found = 0;
        cJSON_ArrayForEach(k, arr)
        {
            if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "kind")), kind)) {
                cJSON *c = cJSON_GetObjectItemCaseSensitive(k, "tensors");
                cJSON_SetNumberValue(c, c->valuedouble + 1);
                found = 1;
                break;
            }
        }
        if (!found) {
            k = cJSON_CreateObject();
            cJSON_AddStringToObject(k, "kind", kind);
            cJSON_AddNumberToObject(k, "tensors", 1);
            cJSON_AddItemToArray(arr, k);
        }
        free(kind);
    }
    return arr;
}

static cJSON *summary(zoo_ctx *c, hx_status *st)
{
    cJSON *val = zoo_receipt_load(c, ZOO_ST_VALIDATE);
    char *hp = hx_path_join(c->repo_dir, "hxq_receipt.json");
    cJSON *hr = zoo_json_file(hp);
    free(hp);
    if (!val || !hr) {
        *st = HX_FAIL(HX_EFORMAT, "card: the validate receipt or hxq_receipt.json is missing");
        cJSON_Delete(val), cJSON_Delete(hr);
        return NULL;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", c->m->name);
    cJSON_AddStringToObject(j, "target", c->target);
    cJSON_AddStringToObject(j, "architecture", c->m->arch);
    char *lic = source_license(c->src_dir);
    cJSON_AddStringToObject(j, "license", lic ? lic : c->m->license);
    cJSON_AddStringToObject(j, "license_from", lic ? "source model card" : "zoo manifest");
    free(lic);
    cJSON_AddStringToObject(j, "pipeline_tag", c->m->pipeline_tag);
    cJSON_AddStringToObject(j, "library_name", "transformers");
    cJSON_AddStringToObject(j, "hxzoo_version", HXZOO_VERSION);
    cJSON_AddStringToObject(j, "codec", HXQ_CODEC_VERSION);
    char *cmd = hx_asprintf("hxzoo build %s%s%s", c->m->name, c->o->org ? " --org " : "", c->o->org ? c->o->org : "");
    cJSON_AddStringToObject(j, "command", cmd);
    free(cmd);
    cJSON_AddStringToObject(j, "manifest_digest", c->m->digest);
    cJSON *src = cJSON_AddObjectToObject(j, "source");
    cJSON_AddStringToObject(src, "repo", c->m->source);
    cJSON_AddStringToObject(src, "revision", c->m->revision);
    cJSON_AddStringToObject(src, "commit", c->commit);
    /* a converted layout: how, and the tokenizer added (stage 2's receipt) */
    if (c->m->layout) {
        cJSON *dl = zoo_receipt_load(c, ZOO_ST_DOWNLOAD);
        cJSON *tk = cJSON_DetachItemFromObjectCaseSensitive(dl, "tokenizer");
        cJSON_Delete(dl);
        if (!cJSON_IsObject(tk)) {
            cJSON_Delete(tk), cJSON_Delete(j), cJSON_Delete(val), cJSON_Delete(hr);
            *st = HX_FAIL(HX_EFORMAT, "card: the download receipt does not record the tokenizer of the %s layout",
                          c->m->layout);
            return NULL;
        }
        cJSON_AddStringToObject(src, "layout", c->m->layout);
        cJSON_AddItemToObject(src, "tokenizer", tk);
    }
    const char *ep = hub_client_endpoint(c->hub);
    cJSON_AddStringToObject(src, "endpoint", strstr(ep, "127.0.0.1") || strstr(ep, "localhost") ? "https://huggingface.co" : ep);
    /* sizes */
    const cJSON *tot = cJSON_GetObjectItemCaseSensitive(hr, "totals"), *t;
    double cbytes = 0, cparams = 0;
    long ntc = 0;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(hr, "tensors"))
    {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(t, "route");
        if (cJSON_IsString(r) && !strcmp(r->valuestring, "compress")) {
            const cJSON *sh = cJSON_GetObjectItemCaseSensitive(t, "shape");
            cbytes += jnum(t, "out_bytes");
            cparams += cJSON_GetArrayItem(sh, 0)->valuedouble * cJSON_GetArrayItem(sh, 1)->valuedouble;
            ntc++;
        }
    }
    const cJSON *vc = cJSON_GetObjectItemCaseSensitive(val, "compress");
    cJSON *cp = cJSON_AddObjectToObject(j, "compress");
    const cJSON *opt = cJSON_GetObjectItemCaseSensitive(hr, "options");
    cJSON_AddNumberToObject(cp, "k", jnum(opt, "k"));
    cJSON_AddNumberToObject(cp, "sidecar_fraction", jnum(opt, "sidecar_fraction"));
    cJSON_AddNumberToObject(cp, "tensors", jnum(tot, "tensors"));
    cJSON_AddNumberToObject(cp, "compressed_tensors", (double)ntc);
    cJSON_AddNumberToObject(cp, "compressed_params", jnum(tot, "compressed_params"));
    cJSON_AddNumberToObject(cp, "exact_params", jnum(tot, "exact_params"));
    cJSON_AddNumberToObject(cp, "src_bytes", jnum(tot, "src_bytes"));
    cJSON_AddNumberToObject(cp, "out_bytes", jnum(tot, "out_bytes"));
    cJSON_AddNumberToObject(cp, "ratio", jnum(tot, "ratio"));
    cJSON_AddNumberToObject(cp, "bpw_compressed", cparams > 0 ? cbytes * 8 / cparams : 0);
    double allp = jnum(tot, "compressed_params") + jnum(tot, "exact_params");
    cJSON_AddNumberToObject(cp, "bpw_overall", allp > 0 ? jnum(tot, "out_bytes") * 8 / allp : 0);
    cJSON_AddNumberToObject(cp, "min_cosine", jnum(vc, "min_cosine"));
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(vc, "min_cosine_tensor");
    cJSON_AddStringToObject(cp, "min_cosine_tensor", cJSON_IsString(mt) ? mt->valuestring : "");
    cJSON_AddNumberToObject(cp, "mean_cosine", jnum(vc, "mean_cosine"));
    cJSON_AddItemToObject(cp, "dense", dense_kinds(hr));
    cJSON *ev = cJSON_DetachItemFromObjectCaseSensitive(val, "eval");
    cJSON_DeleteItemFromObjectCaseSensitive(ev, "seconds");
    cJSON_AddItemToObject(j, "eval", ev);
    cJSON_AddItemToObject(j, "gates", cJSON_DetachItemFromObjectCaseSensitive(val, "gates"));
    cJSON_Delete(val);
    cJSON_Delete(hr);
    return j;
}

hx_status zoo_stage_card(zoo_ctx *c)
{
    hx_status st = HX_OK;
    cJSON *j = summary(c, &st);
    if (!j)
        return st;
    char *txt = cJSON_Print(j);
    char *bp = hx_path_join(c->repo_dir, ZOO_BUILD_RECEIPT);
    st = hx_write_file_atomic(bp, txt, strlen(txt));
    free(bp), free(txt);
    card_file *files = NULL;
    size_t n = 0;
    if (!st)
        st = card_list_files(c->repo_dir, &files, &n);
    if (st) {
        cJSON_Delete(j);
        return hx_preerr("card"), st;
    }
    char *card = card_render(j, files, n);
    cJSON_Delete(j);
    card_files_free(files, n);
    char *rp = hx_path_join(c->repo_dir, "README.md");
    st = hx_write_file_atomic(rp, card, strlen(card));
    char hex[65];
    hx_sha256_hex(card, strlen(card), hex);
    free(card);
    if (st) {
        free(rp);
        return st;
    }
    hx_info("  wrote %s (%zu files listed, sha256 %.16s)", rp, n, hex);
    free(rp);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "readme_sha256", hex);
    cJSON_AddNumberToObject(r, "files", (double)n);
    return zoo_receipt_write(c, ZOO_ST_CARD, r, NULL);
}

/* The Hub checks a README.md's metadata when it is pushed (POST
 * /api/validate-yaml, as huggingface_hub does before committing one):
 * ask it before publishing anything, and stop with its message. */
static hx_status check_card(zoo_ctx *c)
{
    char *p = hx_path_join(c->repo_dir, "README.md"), *txt = NULL, *warn = NULL;
    hx_status st = hx_read_file(p, 8u << 20, &txt, NULL);
    if (!st)
        st = hub_validate_card(c->hub, txt, &warn);
    if (st)
        hx_preerr("%s", p);
    else if (warn)
        hx_warn("%s: the Hub warns about the card's metadata: %s", p, warn);
    free(warn);
    free(txt);
    free(p);
    return st;
}

hx_status zoo_stage_upload(zoo_ctx *c)
{
    hx_status st = check_card(c);
    if (st)
        return hx_preerr("upload"), st;
    st = hub_create_repo(c->hub, c->target, 0, 1);
    if (st)
        return hx_preerr("upload"), st;
    char *msg = hx_asprintf("hxzoo build %s: %s@%.12s, %s", c->m->name, c->m->source, c->commit, HXQ_CODEC_VERSION);
    hub_upload_opts o = {.message = msg};
    hub_upload_result u;
    st = hub_upload_folder(c->hub, c->target, c->repo_dir, &o, &u);
    free(msg);
    if (st)
        return hx_preerr("upload"), st;
    memcpy(c->r->published_commit, u.commit, 41);
    c->r->committed = u.committed;
    hx_info("  %s: %s %s (%zu of %zu files changed, %.1f MB sent)", c->target,
            u.committed ? "committed" : "unchanged at", u.commit, u.files_changed, u.files,
            (double)u.bytes_uploaded / 1e6);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "repo", c->target);
    cJSON_AddStringToObject(j, "commit", u.commit);
    cJSON_AddBoolToObject(j, "committed", u.committed);
    cJSON_AddNumberToObject(j, "files", (double)u.files);
    cJSON_AddNumberToObject(j, "files_changed", (double)u.files_changed);
    cJSON_AddNumberToObject(j, "bytes_uploaded", (double)u.bytes_uploaded);
    return zoo_receipt_write(c, ZOO_ST_UPLOAD, j, NULL);
}

hx_status zoo_stage_verify(zoo_ctx *c)
{
    rv_opts o = {.endpoint = c->o->endpoint};
    cJSON *rep = NULL;
    int sound = 0;
    hx_status st = repo_verify(c->target, c->r->published_commit[0] ? c->r->published_commit : "main", &o, &rep, &sound);
    if (st)
        return hx_preerr("verify"), st;
    if (!sound) {
        repo_verify_print(rep, stderr);
        cJSON_Delete(rep);
        return HX_FAIL(HX_EINTEGRITY, "verify: the published repo %s is not sound (report above)", c->target);
    }
    hx_info("  %s@%.12s verified (quick: metadata, headers, card, file hashes)", c->target, c->r->published_commit);
    return zoo_receipt_write(c, ZOO_ST_VERIFY, rep, NULL);
}

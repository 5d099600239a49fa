/* stage_check.c - build stages 3-4: compress the snapshot (resumable) and
 * validate it: the per-tensor cosine gate from the codec's receipt, then
 * perplexity/KLD/top-1 against the base with the manifest's protocol and
 * the dPPL / KLD gates, through the evaluation engine (eval/eval.h) on the
 * device asked for (auto: CUDA when usable, else the CPU). When even the
 * engine's estimate does not fit in memory, or the device is missing, the
 * build is refused rather than published unchecked.
 * A failed gate writes N-validate.failed.json and returns HX_EGATE. */
#include "common/pyjson.h"
#include "compress/compress.h"
#include "eval/eval.h"
#include "verify/repo_verify.h"
#include "zoo/zoo_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The manifest's architecture is the card's tag and decides the evaluation
 * device (the state-space families run on the CPU only): it must be the
 * source's config.json model_type, or the card would mislabel the model and
 * the device decision would be made for the wrong family. */
static hx_status check_architecture(const zoo_ctx *c)
{
    char *p = hx_path_join(c->src_dir, "config.json");
    cJSON *j;
    hx_status st = hx_pyjson_load(p, 16u << 20, &j);
    free(p);
    if (st)
        return hx_preerr("compress: source config.json"), st;
    const char *mt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "model_type"));
    if (!mt)
        st = HX_FAIL(HX_EFORMAT, "compress: %s/config.json has no model_type", c->src_dir);
    else if (strcmp(mt, c->m->arch))
        st = HX_FAIL(HX_EINVAL, "compress: the manifest says %s is a %s model, its config.json says model_type "
                                "%s: correct the manifest's \"architecture\"",
                     c->m->name, c->m->arch, mt);
    cJSON_Delete(j);
    return st;
}

hx_status zoo_stage_compress(zoo_ctx *c)
{
    hx_status ast = check_architecture(c);
    if (ast)
        return ast;
    hxq_options o;
    hxq_options_default(&o);
    o.params.k = c->m->k;
    o.params.sidecar_fraction = c->m->sidecar_fraction;
    o.params.compat_033 = c->m->compat_033;
    if (c->o->threads > 0)
        o.params.threads = c->o->threads;
    char *cmd = hx_asprintf("hxzoo build %s (compress %s@%.12s)", c->m->name, c->m->source, c->commit);
    o.command_line = cmd;
    hxq_report rep = {0};
    hx_status st = hxq_compress(c->src_dir, c->repo_dir, &o, &rep);
    free(cmd);
    if (st)
        return hx_preerr("compress"), st;
    hx_info("  %zu tensors, %.1f MB -> %.1f MB (%.2fx), min cosine %.6f, %.1f s", rep.n, (double)rep.src_bytes / 1e6,
            (double)rep.out_bytes / 1e6, (double)rep.src_bytes / (double)(rep.out_bytes ? rep.out_bytes : 1),
            rep.min_cosine, rep.seconds);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "codec", HXQ_CODEC_VERSION);
    cJSON_AddStringToObject(j, "receipt", "repo/hxq_receipt.json");
    cJSON_AddNumberToObject(j, "tensors", (double)rep.n);
    cJSON_AddNumberToObject(j, "src_bytes", (double)rep.src_bytes);
    cJSON_AddNumberToObject(j, "out_bytes", (double)rep.out_bytes);
    cJSON_AddNumberToObject(j, "min_cosine", rep.min_cosine);
    cJSON_AddNumberToObject(j, "seconds", rep.seconds);
    hxq_report_free(&rep);
    return zoo_receipt_write(c, ZOO_ST_COMPRESS, j, NULL);
}

static void gate(cJSON *arr, const char *name, double limit, double value, int pass, const char *what)
{
    cJSON *g = cJSON_CreateObject();
    cJSON_AddStringToObject(g, "gate", name);
    cJSON_AddNumberToObject(g, "limit", limit);
    cJSON_AddNumberToObject(g, "value", value);
    cJSON_AddBoolToObject(g, "pass", pass);
    if (what)
        cJSON_AddStringToObject(g, "where", what);
    cJSON_AddItemToArray(arr, g);
}

/* Can the evaluation run here? HX_OK, or a refusal naming the reason. The
 * memory check is the engine's own estimate (hx_eval_models). */
static hx_status eval_device(const zoo_ctx *c, hx_engine_opts *eo)
{
    hx_arch arch;
    if (hx_arch_of(c->m->arch, &arch))
        return HX_FAIL(HX_EINVAL, "no forward pass for architecture %s (the evaluator covers llama, "
                                  "qwen2, mistral, mamba, mamba2 and zamba2): refusing to publish %s "
                                  "without evaluating it",
                       c->m->arch, c->m->name);
    hx_engine_opts_default(eo);
    hx_device want = (hx_device)c->o->device;
    hx_status st = hx_device_for(want, arch, c->m->arch, &eo->device);
    if (st)
        return hx_preerr("%s", c->m->name), st;
    eo->dtype = (hx_compute_dtype)c->o->dtype;
    return HX_OK;
}

hx_status zoo_stage_validate(zoo_ctx *c)
{
    char *rp = hx_path_join(c->repo_dir, "hxq_receipt.json");
    cJSON *hr = zoo_json_file(rp);
    free(rp);
    if (!hr)
        return HX_FAIL(HX_EFORMAT, "validate: %s/hxq_receipt.json missing or malformed", c->repo_dir);
    const zoo_gates *g = &c->m->gates;
    cJSON *out = cJSON_CreateObject(), *gates = cJSON_AddArrayToObject(out, "gates");
    char *fail = hx_strdup("");
    /* 1. per-tensor cosine */
    const cJSON *t;
    double minc = 2, sumc = 0;
    long nc = 0, nbad = 0;
    const char *minname = "";
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(hr, "tensors"))
    {
        const cJSON *cs = cJSON_GetObjectItemCaseSensitive(t, "cosine");
        const char *nm = cJSON_GetObjectItemCaseSensitive(t, "name")->valuestring;
        if (!cJSON_IsNumber(cs))
            continue;
        nc++;
        sumc += cs->valuedouble;
        if (cs->valuedouble < minc)
            minc = cs->valuedouble, minname = nm;
        if (cs->valuedouble < g->min_cosine) {
            if (nbad++ < 5) {
                char *f2 = hx_asprintf("%s\n  gate min_cosine: tensor %s cosine %.8g < %.8g (short by %.3g)", fail,
                                       nm, cs->valuedouble, g->min_cosine, g->min_cosine - cs->valuedouble);
                free(fail);
                fail = f2;
            }
        }
    }
    gate(gates, "min_cosine", g->min_cosine, nc ? minc : 0, nbad == 0, minname);
    cJSON *cp = cJSON_AddObjectToObject(out, "compress");
    cJSON_AddNumberToObject(cp, "min_cosine", nc ? minc : 0);
    cJSON_AddStringToObject(cp, "min_cosine_tensor", minname);
    cJSON_AddNumberToObject(cp, "mean_cosine", nc ? sumc / (double)nc : 0);
    cJSON_AddNumberToObject(cp, "bad_tensors", (double)nbad);
    hx_status st = HX_OK;
    if (nbad) {
        hx_info("  %ld of %ld tensors below the cosine gate %.8g", nbad, nc, g->min_cosine);
    } else {
        hx_info("  cosine gate: all %ld compressed tensors >= %.6f (min %.6f, %s)", nc, g->min_cosine, minc, minname);
        /* 2. perplexity / KLD */
        hx_engine_opts eo;
        st = eval_device(c, &eo);
        hx_pair_eval e = {0};
        char *text = zoo_text_path(c->z, c->m);
        if (!st) {
            snprintf(e.protocol, sizeof e.protocol, "%s", c->m->eval.protocol);
            e.seq_len = c->m->eval.seq_len;
            e.stride = c->m->eval.stride;
            e.n_tokens = c->m->eval.n_tokens;
            hx_info("  evaluating on the %s: protocol %s, %s", eo.device == HX_DEV_CUDA ? "GPU" : "CPU",
                    e.protocol, text);
            st = hx_eval_pair(c->repo_dir, c->src_dir, text, &eo, &e);
        }
        if (!st) {
            hx_info("  base PPL %.4f, HXQ PPL %.4f (%+.3f%%), KLD %.6f, top-1 %.4f (%ld tokens, %.1f s)", e.base_ppl,
                    e.ppl, e.delta_pct, e.kld_mean, e.top1, e.scored, e.seconds);
            cJSON *ev = cJSON_AddObjectToObject(out, "eval");
            cJSON_AddStringToObject(ev, "protocol", e.protocol);
            const char *base = strrchr(text, '/');
            cJSON_AddStringToObject(ev, "text", base ? base + 1 : text);
            cJSON_AddStringToObject(ev, "text_sha256", e.file_sha256);
            cJSON_AddStringToObject(ev, "constructed_text_sha256", e.text_sha256);
            cJSON_AddStringToObject(ev, "dataset_type", c->m->eval.dataset_type);
            cJSON_AddStringToObject(ev, "dataset_name", c->m->eval.dataset_name);
            cJSON_AddNumberToObject(ev, "seq_len", e.seq_len);
            if (e.stride)
                cJSON_AddNumberToObject(ev, "stride", e.stride);
            if (e.n_tokens)
                cJSON_AddNumberToObject(ev, "n_tokens", (double)e.n_tokens);
            cJSON_AddNumberToObject(ev, "windows", (double)e.windows);
            cJSON_AddNumberToObject(ev, "scored", (double)e.scored);
            cJSON_AddStringToObject(ev, "device", e.device);
            cJSON_AddNumberToObject(ev, "groups", e.est.groups);
            cJSON_AddNumberToObject(ev, "estimated_peak_bytes", (double)e.est.peak);
            cJSON_AddStringToObject(ev, "dtype", e.dtype ? e.dtype : "float32");
            if (e.device_name[0])
                cJSON_AddStringToObject(ev, "device_name", e.device_name);
            cJSON_AddNumberToObject(ev, "base_ppl", e.base_ppl);
            cJSON_AddNumberToObject(ev, "ppl", e.ppl);
            cJSON_AddNumberToObject(ev, "delta_ppl", e.delta_ppl);
            cJSON_AddNumberToObject(ev, "delta_pct", e.delta_pct);
            cJSON_AddNumberToObject(ev, "kld_mean", e.kld_mean);
            cJSON_AddNumberToObject(ev, "top1", e.top1);
            cJSON_AddNumberToObject(ev, "seconds", e.seconds);
            int okp = e.delta_pct <= g->max_dppl_pct, okk = e.kld_mean <= g->max_kld;
            gate(gates, "max_dppl_pct", g->max_dppl_pct, e.delta_pct, okp, NULL);
            gate(gates, "max_kld", g->max_kld, e.kld_mean, okk, NULL);
            char *f2 = NULL;
            if (!okp)
                f2 = hx_asprintf("%s\n  gate max_dppl_pct: dPPL %+.4f%% > %.4f%% (over by %.4g points)", fail,
                                 e.delta_pct, g->max_dppl_pct, e.delta_pct - g->max_dppl_pct);
            if (f2)
                free(fail), fail = f2, f2 = NULL;
            if (!okk)
                f2 = hx_asprintf("%s\n  gate max_kld: KLD %.6f > %.6f (over by %.3g)", fail, e.kld_mean,
                                 g->max_kld, e.kld_mean - g->max_kld);
            if (f2)
                free(fail), fail = f2;
        }
        free(text);
    }
    cJSON_Delete(hr);
    if (st) {
        cJSON_Delete(out);
        free(fail);
        return hx_preerr("validate"), st;
    }
    if (fail[0]) {
        cJSON_AddStringToObject(out, "failed", fail + 1);
        zoo_receipt_write(c, ZOO_ST_VALIDATE, out, ".failed");
        st = HX_FAIL(HX_EGATE, "a quality gate failed; nothing was uploaded:%s", fail);
        free(fail);
        return st;
    }
    free(fail);
    char *fp = zoo_receipt_path(c, ZOO_ST_VALIDATE, ".failed");
    remove(fp);
    free(fp);
    return zoo_receipt_write(c, ZOO_ST_VALIDATE, out, NULL);
}

/* pair.c - hx_eval_pair: one lockstep evaluation of an HXQ model against
 * its base with a named protocol on a text file, reduced to the numbers a
 * card states (what `hxzoo build` gates on, `hxzoo verify --full`
 * re-measures). */
#include "eval/eval.h"
#include "common/hash.h"

#include <stdlib.h>
#include <string.h>

hx_status hx_eval_pair(const char *model_dir, const char *base_dir, const char *text_path,
                       const hx_engine_opts *eo, hx_pair_eval *e)
{
    hx_protocol p;
    if (hx_protocol_parse(e->protocol, &p))
        return HX_FAIL(HX_EINVAL, "unknown evaluation protocol \"%s\"", e->protocol);
    hx_eval_opts o;
    hx_eval_opts_default(&o, p);
    if (e->seq_len > 0)
        o.seq_len = e->seq_len;
    if (e->stride > 0)
        o.stride = e->stride;
    if (e->n_tokens > 0)
        o.n_tokens = e->n_tokens;
    char *raw = NULL;
    size_t len;
    hx_tok *tok = NULL;
    hx_eval_plan plan = {0};
    hx_eval_result r;
    double t0 = hx_now();
    hx_status st = hx_read_file(text_path, 1u << 30, &raw, &len);
    if (st)
        return hx_preerr("evaluation text"), st;
    hx_sha256_hex(raw, len, e->file_sha256);
    if (!(st = hx_tok_load(model_dir, &tok)) && !(st = hx_eval_plan_build(tok, raw, len, &o, &plan)) &&
        !(st = hx_eval_estimate_pair(model_dir, base_dir, &plan, eo, &e->est)))
        st = hx_eval_models(model_dir, base_dir, &plan, eo, &r);
    if (!st) {
        e->seq_len = o.seq_len;
        e->stride = p == HX_PROTO_SLIDING ? o.stride : 0;
        e->n_tokens = p == HX_PROTO_HELIX ? o.n_tokens : 0;
        e->ppl = r.model.ppl;
        e->base_ppl = r.base.ppl;
        e->delta_ppl = r.model.ppl - r.base.ppl;
        e->delta_pct = e->delta_ppl / r.base.ppl * 100;
        e->kld_mean = r.kld_mean;
        e->top1 = r.top1;
        e->windows = plan.n_windows;
        e->scored = plan.n_scored;
        e->device = r.device;
        e->dtype = r.dtype;
        memcpy(e->device_name, r.device_name, sizeof e->device_name);
        memcpy(e->text_sha256, plan.text_sha256, 65);
        e->seconds = hx_now() - t0;
    }
    free(raw);
    hx_eval_plan_free(&plan);
    hx_tok_free(tok);
    return st;
}

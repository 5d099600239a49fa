/* receipt.c - the JSON receipt of an evaluation: protocol and its
 * settings, the text digest, token and window counts, PPL of the model (and
 * base: dPPL, KLD, top-1), wall time and throughput. */
#include "eval/eval.h"
#include "common/hash.h"

#include <cJSON.h>
#include <time.h>

char *hx_eval_receipt(const hx_eval_plan *p, const hx_eval_opts *o, const hx_eval_result *r,
                      const char *model_dir, const char *base_dir, const char *text_path)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "tool", "hxzoo eval");
    cJSON_AddStringToObject(j, "protocol", hx_protocol_name(p->proto));
    cJSON *s = cJSON_AddObjectToObject(j, "settings");
    cJSON_AddNumberToObject(s, p->proto == HX_PROTO_SLIDING ? "context" : "seq_len", o->seq_len);
    if (p->proto == HX_PROTO_SLIDING)
        cJSON_AddNumberToObject(s, "stride", o->stride);
    if (p->proto == HX_PROTO_HELIX)
        cJSON_AddNumberToObject(s, "n_tokens", (double)o->n_tokens);
    if (o->max_windows)
        cJSON_AddNumberToObject(s, "max_windows", o->max_windows);
    cJSON_AddStringToObject(s, "device", r->device ? r->device : "cpu");
    cJSON_AddStringToObject(s, "dtype", r->dtype ? r->dtype : "float32");
    if (r->device_name[0])
        cJSON_AddStringToObject(s, "device_name", r->device_name);
    cJSON *t = cJSON_AddObjectToObject(j, "text");
    cJSON_AddStringToObject(t, "path", text_path);
    cJSON_AddNumberToObject(t, "bytes", (double)p->text_bytes);
    cJSON_AddStringToObject(t, "sha256", p->text_sha256);
    cJSON *k = cJSON_AddObjectToObject(j, "tokens");
    char hex[65];
    hx_sha256_hex(p->ids, (size_t)p->n_ids * sizeof *p->ids, hex);
    cJSON_AddNumberToObject(k, "ids", (double)p->n_ids);
    cJSON_AddStringToObject(k, "ids_sha256", hex);
    cJSON_AddNumberToObject(k, "windows", (double)p->n_windows);
    cJSON_AddNumberToObject(k, "scored", (double)p->n_scored);
    cJSON_AddNumberToObject(k, "forward", (double)p->n_forward);
    cJSON_AddNumberToObject(k, "windows_done", (double)r->n_windows_done);
    cJSON_AddNumberToObject(k, "scored_done", (double)r->n_scored_done);
    cJSON *m = cJSON_AddObjectToObject(j, "model");
    cJSON_AddStringToObject(m, "dir", model_dir);
    cJSON_AddNumberToObject(m, "ppl", r->model.ppl);
    cJSON_AddNumberToObject(m, "nll", r->model.nll);
    cJSON_AddNumberToObject(m, "seconds", r->model.seconds);
    if (r->have_base) {
        cJSON *b = cJSON_AddObjectToObject(j, "base");
        cJSON_AddStringToObject(b, "dir", base_dir);
        cJSON_AddNumberToObject(b, "ppl", r->base.ppl);
        cJSON_AddNumberToObject(b, "nll", r->base.nll);
        cJSON_AddNumberToObject(b, "seconds", r->base.seconds);
        cJSON_AddNumberToObject(j, "delta_ppl", r->model.ppl - r->base.ppl);
        cJSON_AddNumberToObject(j, "delta_pct", (r->model.ppl - r->base.ppl) / r->base.ppl * 100);
        cJSON_AddNumberToObject(j, "kld_mean", r->kld_mean);
        cJSON_AddNumberToObject(j, "top1_agreement", r->top1);
    }
    cJSON_AddNumberToObject(j, "wall_time_s", r->seconds);
    cJSON_AddNumberToObject(j, "tokens_per_s", r->tokens_per_s);
    cJSON_AddNumberToObject(j, "groups", r->groups);
    cJSON_AddNumberToObject(j, "peak_rss_bytes", (double)r->peak_rss);
    char ts[32];
    time_t now = time(NULL);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    cJSON_AddStringToObject(j, "timestamp", ts);
    char *out = cJSON_Print(j);
    cJSON_Delete(j);
    return out;
}

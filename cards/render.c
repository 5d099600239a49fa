/* render.c - README.md of a zoo model from its build summary: YAML front
 * matter (base_model, base_model_relation, library_name, pipeline_tag,
 * license, tags, model-index), then loading snippet, quality, size, gates,
 * provenance and file tables. Every value comes from the summary. */
#include "cards/card.h"
#include "common/buf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A YAML double-quoted scalar. */
static void yq(hx_buf *b, const char *s)
{
    hx_buf_put(b, "\"", 1);
    while (*s) {
        size_t run = strcspn(s, "\"\\\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12"
                                "\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f");
        hx_buf_put(b, s, run); /* plain characters, as they are */
        s += run;
        if (!*s)
            break;
        if (*s == '"' || *s == '\\')
            hx_buf_printf(b, "\\%c", *s);
        else
            hx_buf_printf(b, "\\x%02x", (unsigned char)*s);
        s++;
    }
    hx_buf_put(b, "\"", 1);
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const cJSON *obj(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

static void metric_name(hx_buf *b, const char *who, const cJSON *ev)
{
    char *t = hx_asprintf("%s perplexity (%s protocol, %ld tokens, context %ld, %s %s)", who,
                          str(ev, "protocol"), (long)num(ev, "scored"), (long)num(ev, "seq_len"),
                          str(ev, "device"), str(ev, "dtype"));
    yq(b, t);
    free(t);
}

static void front_matter(hx_buf *b, const cJSON *j)
{
    const cJSON *src = obj(j, "source"), *ev = obj(j, "eval");
    const char *target = str(j, "target");
    hx_buf_printf(b, "---\nbase_model: ");
    yq(b, str(src, "repo"));
    hx_buf_printf(b, "\nbase_model_relation: quantized\nlibrary_name: ");
    yq(b, str(j, "library_name"));
    hx_buf_printf(b, "\npipeline_tag: ");
    yq(b, str(j, "pipeline_tag"));
    hx_buf_printf(b, "\nlicense: ");
    yq(b, str(j, "license"));
    hx_buf_printf(b, "\ntags:\n- hxq\n- helix-substrate\n- quantized\n- ");
    yq(b, str(j, "architecture"));
    hx_buf_printf(b, "\nmodel-index:\n- name: ");
    yq(b, strchr(target, '/') ? strchr(target, '/') + 1 : target);
    hx_buf_printf(b, "\n  results:\n  - task:\n      type: text-generation\n      name: Text Generation\n"
                     "    dataset:\n      type: ");
    yq(b, str(ev, "dataset_type"));
    hx_buf_printf(b, "\n      name: ");
    yq(b, str(ev, "dataset_name"));
    hx_buf_printf(b, "\n    metrics:\n    - type: perplexity\n      value: %.4f\n      name: ", num(ev, "ppl"));
    metric_name(b, "HXQ", ev);
    hx_buf_printf(b, "\n    - type: perplexity\n      value: %.4f\n      name: ", num(ev, "base_ppl"));
    metric_name(b, "Base model", ev);
    hx_buf_printf(b, "\n---\n\n");
}

static void sep(hx_buf *b) { hx_buf_printf(b, "| --- | --- |\n"); }

/* "; kept dense: `A` (2), `B` (24), ..." from the summary's compress.dense
 * (what the receipt routed exact/copy, by kind); older summaries without
 * it get the transformer families' rule as before */
static void dense_list(hx_buf *b, const cJSON *dense)
{
    if (!cJSON_IsArray(dense)) {
        hx_buf_printf(b, "; embeddings, lm_head, norms and biases stay dense.\n\n");
        return;
    }
    if (!cJSON_GetArraySize(dense)) {
        hx_buf_printf(b, "; every tensor is compressed.\n\n");
        return;
    }
    hx_buf_printf(b, "; kept dense (tensors by name, with their count):");
    const cJSON *k;
    int first = 1;
    cJSON_ArrayForEach(k, dense)
    {
        hx_buf_printf(b, "%s `%s` (%.0f)", first ? "" : ",", str(k, "kind"), num(k, "tensors"));
        first = 0;
    }
    hx_buf_printf(b, ".\n\n");
}

char *card_render(const cJSON *j, const card_file *files, size_t n)
{
    hx_buf b = HX_BUF_INIT;
    const cJSON *src = obj(j, "source"), *ev = obj(j, "eval"), *cp = obj(j, "compress");
    const char *target = str(j, "target"), *base = str(src, "repo"), *ep = str(src, "endpoint");
    front_matter(&b, j);
    hx_buf_printf(&b, "# %s\n\n", strchr(target, '/') ? strchr(target, '/') + 1 : target);
    hx_buf_printf(&b, "HXQ (helix-substrate format) compression of [%s](%s/%s) at commit `%s`, built, "
                      "evaluated and published by `hxzoo build %s`. Every figure below is copied from the "
                      "build's receipts (`hxq_receipt.json`, `hxzoo_build.json`); `hxzoo verify %s --full` "
                      "re-measures them.\n\n",
                  base, ep, base, str(src, "commit"), str(j, "name"), target);
    hx_buf_printf(&b, "## How to load\n\n```python\n"
                      "import helix_substrate  # registers the HXQ quantizer with transformers\n"
                      "from transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
                      "model = AutoModelForCausalLM.from_pretrained(\"%s\")\n"
                      "tokenizer = AutoTokenizer.from_pretrained(\"%s\")\n```\n\n"
                      "Requires `pip install helix-substrate transformers torch`.\n\n",
                  target, target);

    hx_buf_printf(&b, "## Quality\n\n| claim | value |\n");
    sep(&b);
    hx_buf_printf(&b, "| protocol | %s |\n", str(ev, "protocol"));
    hx_buf_printf(&b, "| evaluation text | %s (%s) |\n", str(ev, "text"), str(ev, "dataset_name"));
    hx_buf_printf(&b, "| text sha256 | %s |\n", str(ev, "text_sha256"));
    hx_buf_printf(&b, "| context length | %ld |\n", (long)num(ev, "seq_len"));
    if (num(ev, "stride") > 0) /* sliding: verify --full needs it to re-measure */
        hx_buf_printf(&b, "| stride | %ld |\n", (long)num(ev, "stride"));
    hx_buf_printf(&b, "| scored tokens | %ld |\n", (long)num(ev, "scored"));
    if (cJSON_IsString(obj(ev, "device_name")))
        hx_buf_printf(&b, "| device | %s %s (%s) |\n", str(ev, "device"), str(ev, "dtype"), str(ev, "device_name"));
    else
        hx_buf_printf(&b, "| device | %s %s |\n", str(ev, "device"), str(ev, "dtype"));
    hx_buf_printf(&b, "| base perplexity | %.4f |\n", num(ev, "base_ppl"));
    hx_buf_printf(&b, "| HXQ perplexity | %.4f |\n", num(ev, "ppl"));
    hx_buf_printf(&b, "| PPL delta | %+.4f (%+.3f%%) |\n", num(ev, "delta_ppl"), num(ev, "delta_pct"));
    hx_buf_printf(&b, "| KLD mean | %.6f |\n", num(ev, "kld_mean"));
    hx_buf_printf(&b, "| top-1 agreement | %.4f |\n", num(ev, "top1"));
    hx_buf_printf(&b, "| min cosine | %.6f (%s) |\n", num(cp, "min_cosine"), str(cp, "min_cosine_tensor"));
    hx_buf_printf(&b, "| mean cosine | %.6f |\n\n", num(cp, "mean_cosine"));
    hx_buf_printf(&b, "KLD is the mean KL(base ‖ HXQ) of the next-token distributions over the scored "
                      "positions; top-1 agreement the fraction of positions where both models' most likely "
                      "token is the same; cosines are per compressed weight against the source weight.\n\n");

    hx_buf_printf(&b, "## Size\n\n| claim | value |\n");
    sep(&b);
    hx_buf_printf(&b, "| source bytes | %.0f |\n", num(cp, "src_bytes"));
    hx_buf_printf(&b, "| HXQ bytes | %.0f |\n", num(cp, "out_bytes"));
    hx_buf_printf(&b, "| compression ratio | %.3fx |\n", num(cp, "ratio"));
    hx_buf_printf(&b, "| compressed tensors | %.0f of %.0f |\n", num(cp, "compressed_tensors"), num(cp, "tensors"));
    hx_buf_printf(&b, "| compressed parameters | %.0f |\n", num(cp, "compressed_params"));
    hx_buf_printf(&b, "| dense parameters | %.0f |\n", num(cp, "exact_params"));
    hx_buf_printf(&b, "| bits per weight (compressed tensors) | %.4f |\n", num(cp, "bpw_compressed"));
    hx_buf_printf(&b, "| bits per weight (overall) | %.4f |\n\n", num(cp, "bpw_overall"));
    hx_buf_printf(&b, "Bytes are those of the safetensors weights; the ratio is source weight bytes over "
                      "HXQ weight bytes. Codec: %d-entry codebook per tensor, sidecar fraction %g",
                  (int)num(cp, "k"), num(cp, "sidecar_fraction"));
    dense_list(&b, obj(cp, "dense"));

    hx_buf_printf(&b, "## Gates\n\n| gate | limit | measured | result |\n| --- | --- | --- | --- |\n");
    const cJSON *g;
    cJSON_ArrayForEach(g, obj(j, "gates"))
    hx_buf_printf(&b, "| %s | %.6g | %.6g | %s |\n", str(g, "gate"), num(g, "limit"), num(g, "value"),
                  cJSON_IsTrue(obj(g, "pass")) ? "pass" : "FAIL");

    hx_buf_printf(&b, "\n## Provenance\n\n| claim | value |\n");
    sep(&b);
    hx_buf_printf(&b, "| source repo | %s |\n", base);
    hx_buf_printf(&b, "| source revision | %s |\n", str(src, "revision"));
    hx_buf_printf(&b, "| source commit | %s |\n", str(src, "commit"));
    if (*str(src, "layout")) { /* converted here: what, and from where the tokenizer came */
        const cJSON *tk = obj(src, "tokenizer");
        hx_buf_printf(&b, "| source layout | %s (its config.json and safetensors converted to a transformers directory "
                          "by hxzoo; no pickle read) |\n",
                      str(src, "layout"));
        hx_buf_printf(&b, "| tokenizer | %s at commit %s |\n", str(tk, "repo"), str(tk, "commit"));
    }
    hx_buf_printf(&b, "| license | %s (from the %s) |\n", str(j, "license"), str(j, "license_from"));
    hx_buf_printf(&b, "| hxzoo version | %s |\n", str(j, "hxzoo_version"));
    hx_buf_printf(&b, "| codec | %s |\n", str(j, "codec"));
    hx_buf_printf(&b, "| command | `%s` |\n\n", str(j, "command"));

    hx_buf_printf(&b, "## Files\n\n| file | bytes | sha256 |\n| --- | --- | --- |\n");
    for (size_t i = 0; i < n; i++)
        hx_buf_printf(&b, "| %s | %" PRIu64 " | %s |\n", files[i].path, files[i].size, files[i].sha256);
    return hx_buf_steal(&b, NULL);
}

/* route.c - which tensors are compressed, kept exact, copied or dropped.
 *
 * One table, evaluated top to bottom, reproducing helix-substrate 0.3.3's
 * tools/compress.py:should_compress (see docs/HXQ-FORMAT.md, "Routing").
 * One deliberate deviation: 0.3.3 VQ-compresses 2-D tensors whose name does
 * not end in ".weight" (Mamba A_log) and 3-D/4-D tensors other than conv1d,
 * but its loader can only rebuild nn.Linear/nn.Embedding weights, so those
 * tensors end up re-initialised (defect D11). We copy them unchanged and
 * flag the row (deviates_033). The classes are 0.3.3's tensor_policy
 * classes; they only matter for --compat-0.3.3 (percentile and cap). */
#include "codec/hxq.h"

#include <string.h>

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static int contains_any(const char *s, const char *const *subs)
{
    for (; *subs; subs++)
        if (strstr(s, *subs))
            return 1;
    return 0;
}

static const char *const EMBED_SUBSTR[] = {"embed_tokens", "embed_positions", "wte", "wpe",
                                           "backbone.embedding", NULL};

typedef enum { C_ANY, C_BIAS, C_NOT_WEIGHT, C_1D, C_EMBED, C_LM_HEAD, C_TINY_2D, C_2D,
               C_CONV1D_3D, C_ND } cond;

static const struct rule {
    cond when;
    int ndim_min, ndim_max; /* -1: any */
    hxq_route route;
    int deviates;
    const char *text;
} RULES[] = {
    {C_BIAS, 0, 1, HXQ_ROUTE_EXACT, 0, "bias, 1-D: exact"},
    {C_BIAS, 2, -1, HXQ_ROUTE_COPY, 0, "bias, >=2-D: copied"},
    {C_NOT_WEIGHT, 0, 1, HXQ_ROUTE_COPY, 0, "not a .weight, 1-D: copied"},
    {C_NOT_WEIGHT, 2, 2, HXQ_ROUTE_COPY, 1, "not a .weight, 2-D: copied (0.3.3 compresses it, unloadable)"},
    {C_NOT_WEIGHT, 3, -1, HXQ_ROUTE_COPY, 0, "not a .weight, >=3-D: copied"},
    {C_1D, 0, 1, HXQ_ROUTE_EXACT, 0, "1-D weight (norm): exact"},
    {C_EMBED, -1, -1, HXQ_ROUTE_EXACT, 0, "embedding: exact"},
    {C_LM_HEAD, -1, -1, HXQ_ROUTE_EXACT, 0, "lm_head: exact"},
    {C_TINY_2D, 2, 2, HXQ_ROUTE_EXACT, 0, "2-D with fewer than 256 elements: exact"},
    {C_2D, 2, 2, HXQ_ROUTE_COMPRESS, 0, "2-D weight: compressed"},
    {C_CONV1D_3D, 3, 3, HXQ_ROUTE_EXACT, 0, "conv1d 3-D: exact"},
    {C_ND, 3, -1, HXQ_ROUTE_COPY, 1, ">=3-D weight: copied (0.3.3 compresses it, unloadable)"},
};

static int matches(const struct rule *r, const char *name, int ndim, const int64_t *shape)
{
    if (r->ndim_min >= 0 && ndim < r->ndim_min)
        return 0;
    if (r->ndim_max >= 0 && ndim > r->ndim_max)
        return 0;
    switch (r->when) {
    case C_ANY: return 1;
    case C_BIAS: return ends_with(name, ".bias");
    case C_NOT_WEIGHT: return !ends_with(name, ".weight") && !ends_with(name, "_weight");
    case C_1D: return 1;
    case C_EMBED: return contains_any(name, EMBED_SUBSTR);
    case C_LM_HEAD: return strstr(name, "lm_head") != NULL;
    case C_TINY_2D: return shape[0] * shape[1] < 256;
    case C_2D: return 1;
    case C_CONV1D_3D: return strstr(name, "conv1d") != NULL;
    case C_ND: return 1;
    }
    return 0;
}

hxq_route_info hxq_route_tensor(const char *name, int ndim, const int64_t *shape, int tied,
                                int compat_033)
{
    (void)compat_033;
    hxq_route_info ri = {HXQ_ROUTE_COPY, hxq_classify(name, ndim), "no rule: copied", 0};
    if (tied && strstr(name, "lm_head") && ends_with(name, ".weight")) {
        ri.route = HXQ_ROUTE_DROP;
        ri.rule = "lm_head tied to the embeddings: not written";
        return ri;
    }
    for (size_t i = 0; i < sizeof RULES / sizeof RULES[0]; i++)
        if (matches(&RULES[i], name, ndim, shape)) {
            ri.route = RULES[i].route;
            ri.rule = RULES[i].text;
            ri.deviates_033 = RULES[i].deviates;
            return ri;
        }
    return ri;
}

/* p points at "layers.": the character after "layers.<digits>.", or NULL */
static const char *past_layer_n(const char *p)
{
    const char *q = p + 7;
    if (*q < '0' || *q > '9')
        return NULL;
    while (*q >= '0' && *q <= '9')
        q++;
    return *q == '.' ? q + 1 : NULL;
}

/* Does `name` contain "layers.<digits>." immediately followed by `rest`
 * (a prefix match, or the whole remainder when `at_end`)? The shape of
 * 0.3.3's re.search(r"layers\.(\d+)\.rest") patterns. */
static int after_layer(const char *name, const char *rest, int at_end)
{
    for (const char *p = strstr(name, "layers."); p; p = strstr(p + 1, "layers.")) {
        const char *q = past_layer_n(p);
        if (q && (at_end ? !strcmp(q, rest) : !strncmp(q, rest, strlen(rest))))
            return 1;
    }
    return 0;
}

static int is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* r"layers\.(\d+)\.\w*norm\w*\.weight": one word segment holding "norm" */
static int layer_norm_weight(const char *name)
{
    for (const char *p = strstr(name, "layers."); p; p = strstr(p + 1, "layers.")) {
        const char *w = past_layer_n(p), *q = w;
        if (!w)
            continue;
        while (is_word(*q))
            q++;
        if (strncmp(q, ".weight", 7))
            continue;
        for (const char *n = w; n + 4 <= q; n++)
            if (!strncmp(n, "norm", 4))
                return 1;
    }
    return 0;
}

/* helix-substrate 0.3.3 tensor_policy.classify_tensor: any 1-D shape is a
 * norm; then its Hugging Face patterns, first match wins, in its order.
 * They are anchored on "layers.N." directly before the module name, so
 * Zamba2's "layers.N.shared_transformer.self_attn.q_proj" and
 * "layers.N.mamba.in_proj" are UNKNOWN (cap 256, percentile 99.9) there
 * too. (Its GGUF patterns, "blk.N.attn_q.weight" etc., never match a
 * safetensors checkpoint's names.) */
hxq_class hxq_classify(const char *name, int ndim)
{
    typedef struct {
        const char *rest;
        int at_end;
        hxq_class cls;
    } pat;
    static const pat PAT[] = {
        {"self_attn.q_proj.weight", 0, HXQ_CLASS_ATTN_QK},
        {"self_attn.k_proj.weight", 0, HXQ_CLASS_ATTN_QK},
        {"self_attn.v_proj.weight", 0, HXQ_CLASS_ATTN_VO},
        {"self_attn.o_proj.weight", 0, HXQ_CLASS_ATTN_VO},
        {"mlp.gate_proj.weight", 0, HXQ_CLASS_FFN},
        {"mlp.up_proj.weight", 0, HXQ_CLASS_FFN},
        {"mlp.down_proj.weight", 0, HXQ_CLASS_FFN},
    };
    static const pat MIXER[] = {
        {"mixer.in_proj.weight", 0, HXQ_CLASS_FFN},
        {"mixer.out_proj.weight", 0, HXQ_CLASS_FFN},
        {"mixer.x_proj.weight", 0, HXQ_CLASS_UNKNOWN},
        {"mixer.dt_proj.weight", 0, HXQ_CLASS_UNKNOWN},
        {"mixer.B_proj.weight", 0, HXQ_CLASS_FFN},
        {"mixer.C_proj.weight", 0, HXQ_CLASS_FFN},
        {"mixer.A_log", 0, HXQ_CLASS_UNKNOWN},
        {"mixer.D", 1, HXQ_CLASS_UNKNOWN},
        {"mixer.norm.weight", 0, HXQ_CLASS_NORM},
    };
    if (ndim <= 1)
        return HXQ_CLASS_NORM;
    for (size_t i = 0; i < sizeof PAT / sizeof PAT[0]; i++)
        if (after_layer(name, PAT[i].rest, PAT[i].at_end))
            return PAT[i].cls;
    if (layer_norm_weight(name))
        return HXQ_CLASS_NORM;
    if (ends_with(name, "embed_tokens.weight"))
        return HXQ_CLASS_EMBEDDING;
    if (ends_with(name, "lm_head.weight"))
        return HXQ_CLASS_LM_HEAD;
    for (size_t i = 0; i < sizeof MIXER / sizeof MIXER[0]; i++)
        if (after_layer(name, MIXER[i].rest, MIXER[i].at_end))
            return MIXER[i].cls;
    if (ends_with(name, "backbone.embedding.weight") || ends_with(name, "backbone.embeddings.weight"))
        return HXQ_CLASS_EMBEDDING;
    return HXQ_CLASS_UNKNOWN;
}

const char *const hxq_class_names[] = {"norm", "embedding", "attention_qk", "attention_vo",
                                       "ffn", "lm_head", "unknown", NULL};
const char *const hxq_route_names[] = {"compress", "exact", "copy", "drop", NULL};

const char *hxq_class_name(hxq_class c) { return (unsigned)c <= HXQ_CLASS_UNKNOWN ? hxq_class_names[c] : "?"; }
const char *hxq_route_name(hxq_route r) { return (unsigned)r <= HXQ_ROUTE_DROP ? hxq_route_names[r] : "?"; }

/* layout.c - a mamba_ssm checkpoint (state-spaces/mamba2-*) as a
 * transformers Mamba2 directory: the config translated, one tensor renamed
 * in the safetensors headers (data bytes copied as they are), a tokenizer
 * added. No pickle is ever opened: only *.safetensors are read. */
#include "codec/layout.h"

#include "codec/safetensors.h"
#include "common/pyjson.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EMBED_SSM "backbone.embedding.weight"
#define EMBED_HF "backbone.embeddings.weight"

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

/* integer field: *out = default when absent; -1 when present but not a
 * non-negative integer */
static int int_of(const cJSON *o, const char *k, int def, int *out)
{
    const cJSON *v = get(o, k);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > (1 << 24) || v->valuedouble != (int)v->valuedouble)
        return -1;
    *out = (int)v->valuedouble;
    return 0;
}

static int bool_of(const cJSON *o, const char *k, int def)
{
    const cJSON *v = get(o, k);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

cJSON *hx_layout_mamba_ssm_config(const cJSON *ssm, hx_status *why)
{
#define FAILN(code, ...) (hx_seterr(__VA_ARGS__), *why = (code), (cJSON *)NULL)
    const cJSON *sc = get(ssm, "ssm_cfg");
    if (!cJSON_IsObject(ssm) || !cJSON_IsNumber(get(ssm, "d_model")) || !cJSON_IsNumber(get(ssm, "n_layer")) ||
        !cJSON_IsNumber(get(ssm, "vocab_size")))
        return FAILN(HX_EFORMAT, "mamba_ssm config.json: d_model, n_layer and vocab_size are required");
    if (get(ssm, "model_type"))
        return FAILN(HX_EFORMAT, "config.json has a model_type: a transformers config, not mamba_ssm's");
    const char *layer = cJSON_GetStringValue(get(sc, "layer"));
    if (!layer || strcmp(layer, "Mamba2"))
        return FAILN(HX_EINVAL, "mamba_ssm config.json: ssm_cfg.layer is %s; only Mamba2 checkpoints are converted",
                       layer ? layer : "missing (Mamba1)");
    const cJSON *ai = get(ssm, "attn_layer_idx");
    int dint = 0;
    if ((cJSON_IsArray(ai) && cJSON_GetArraySize(ai) > 0) || int_of(ssm, "d_intermediate", 0, &dint) || dint)
        return FAILN(HX_EINVAL, "mamba_ssm config.json: attention layers (attn_layer_idx) or MLPs (d_intermediate) "
                                  "have no transformers Mamba2 equivalent");
    if (!bool_of(ssm, "rms_norm", 1) || !bool_of(sc, "rmsnorm", 1) || bool_of(sc, "norm_before_gate", 0) ||
        bool_of(sc, "D_has_hdim", 0))
        return FAILN(HX_EINVAL, "mamba_ssm config.json: rms_norm/rmsnorm false, norm_before_gate or D_has_hdim "
                                  "differ from transformers' Mamba2 (RMSNorm, gate before the norm, D per head)");
    int d_model = 0, n_layer = 0, vocab = 0, pad = 0, d_state = 0, d_conv = 0, expand = 0, headdim = 0, ngroups = 0,
        chunk = 0, d_ssm = 0;
    if (int_of(ssm, "d_model", 0, &d_model) || int_of(ssm, "n_layer", 0, &n_layer) ||
        int_of(ssm, "vocab_size", 0, &vocab) || int_of(ssm, "pad_vocab_size_multiple", 8, &pad) ||
        int_of(sc, "d_state", 128, &d_state) || int_of(sc, "d_conv", 4, &d_conv) || int_of(sc, "expand", 2, &expand) ||
        int_of(sc, "headdim", 64, &headdim) || int_of(sc, "ngroups", 1, &ngroups) ||
        int_of(sc, "chunk_size", 256, &chunk) || int_of(sc, "d_ssm", 0, &d_ssm))
        return FAILN(HX_EFORMAT, "mamba_ssm config.json: a size is not a non-negative integer");
    long d_inner = (long)expand * d_model;
    if (!d_model || !n_layer || !vocab || !d_state || !d_conv || !expand || !headdim || !ngroups || !chunk ||
        d_inner % headdim || (d_inner / headdim) % ngroups || (d_ssm && d_ssm != d_inner))
        return FAILN(HX_EINVAL, "mamba_ssm config.json: sizes transformers' Mamba2 cannot express (d_model %d, "
                                  "expand %d, headdim %d, ngroups %d, d_ssm %d)",
                       d_model, expand, headdim, ngroups, d_ssm);
    if (pad > 1 && vocab % pad)
        vocab += pad - vocab % pad; /* the embedding rows mamba_ssm allocates */
    cJSON *c = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(c, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("Mamba2ForCausalLM"));
    cJSON_AddStringToObject(c, "model_type", "mamba2");
    cJSON_AddNumberToObject(c, "hidden_size", d_model);
    cJSON_AddNumberToObject(c, "num_hidden_layers", n_layer);
    cJSON_AddNumberToObject(c, "vocab_size", vocab);
    cJSON_AddNumberToObject(c, "state_size", d_state);
    cJSON_AddNumberToObject(c, "conv_kernel", d_conv);
    cJSON_AddNumberToObject(c, "expand", expand);
    cJSON_AddNumberToObject(c, "head_dim", headdim);
    cJSON_AddNumberToObject(c, "num_heads", (double)(d_inner / headdim));
    cJSON_AddNumberToObject(c, "n_groups", ngroups);
    cJSON_AddNumberToObject(c, "chunk_size", chunk);
    cJSON_AddBoolToObject(c, "use_bias", bool_of(sc, "bias", 0));
    cJSON_AddBoolToObject(c, "use_conv_bias", bool_of(sc, "conv_bias", 1));
    cJSON_AddBoolToObject(c, "rms_norm", 1);
    cJSON_AddBoolToObject(c, "norm_before_gate", 0);
    cJSON_AddBoolToObject(c, "residual_in_fp32", bool_of(ssm, "residual_in_fp32", 1));
    cJSON_AddBoolToObject(c, "tie_word_embeddings", bool_of(ssm, "tie_embeddings", 1));
    cJSON_AddNumberToObject(c, "layer_norm_epsilon", 1e-5);
    cJSON_AddStringToObject(c, "hidden_act", "silu");
    /* dt_limit (default (0, inf), transformers' default too): only when set */
    const cJSON *dl = get(sc, "dt_limit");
    if (cJSON_IsArray(dl) && cJSON_GetArraySize(dl) == 2) {
        const cJSON *lo = cJSON_GetArrayItem(dl, 0), *hi = cJSON_GetArrayItem(dl, 1);
        if (!cJSON_IsNumber(lo) || !(cJSON_IsNumber(hi) || cJSON_IsNull(hi))) {
            cJSON_Delete(c);
            return FAILN(HX_EFORMAT, "mamba_ssm config.json: ssm_cfg.dt_limit must be two numbers");
        }
        cJSON *tl = cJSON_AddArrayToObject(c, "time_step_limit");
        cJSON_AddItemToArray(tl, cJSON_CreateNumber(lo->valuedouble));
        /* Python writes inf as Infinity (read by common/pyjson and by Python) */
        cJSON_AddItemToArray(tl, cJSON_IsNumber(hi) && isfinite(hi->valuedouble) ? cJSON_CreateNumber(hi->valuedouble)
                                                                                 : cJSON_CreateRaw("Infinity"));
    }
    /* the GPT-NeoX tokenizer's <|endoftext|>, as transformers' converter sets */
    cJSON_AddNumberToObject(c, "bos_token_id", 0);
    cJSON_AddNumberToObject(c, "eos_token_id", 0);
    cJSON_AddNumberToObject(c, "pad_token_id", 0);
    *why = HX_OK;
    return c;
#undef FAILN
}

/* One safetensors file with the mamba_ssm embedding renamed: new header,
 * the data section copied byte for byte. */
static hx_status rename_file(const char *src, const char *dst, int *renamed)
{
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return HX_FAIL(HX_EIO, "%s: cannot open", src);
    struct stat sb;
    unsigned char len8[8];
    hx_status st = HX_OK;
    char *hdr = NULL, *out = NULL, *buf = NULL;
    cJSON *j = NULL;
    hx_afile af = {0};
    int opened = 0;
    if (fstat(fd, &sb) || pread(fd, len8, 8, 0) != 8) {
        st = HX_FAIL(HX_EIO, "%s: cannot read the header length", src);
        goto out;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | len8[i];
    if (n > (100u << 20) || 8 + n > (uint64_t)sb.st_size) {
        st = HX_FAIL(HX_EFORMAT, "%s: header length %llu out of range", src, (unsigned long long)n);
        goto out;
    }
    hdr = hx_malloc(n + 1);
    if (pread(fd, hdr, n, 8) != (ssize_t)n) {
        st = HX_FAIL(HX_EIO, "%s: short read of the header", src);
        goto out;
    }
    j = cJSON_ParseWithLength(hdr, n);
    if (!cJSON_IsObject(j)) {
        st = HX_FAIL(HX_EFORMAT, "%s: header is not a JSON object", src);
        goto out;
    }
    cJSON *e = cJSON_DetachItemFromObjectCaseSensitive(j, EMBED_SSM);
    if (e) {
        if (get(j, EMBED_HF)) {
            cJSON_Delete(e);
            st = HX_FAIL(HX_EFORMAT, "%s: has both %s and %s", src, EMBED_SSM, EMBED_HF);
            goto out;
        }
        cJSON_AddItemToObject(j, EMBED_HF, e);
        if (renamed)
            (*renamed)++;
    }
    out = cJSON_PrintUnformatted(j);
    size_t m = strlen(out), padded = (m + 7) / 8 * 8;
    unsigned char m8[8];
    for (int i = 0; i < 8; i++)
        m8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    if ((st = hx_afile_open(&af, dst)))
        goto out;
    opened = 1;
    static const char spaces[8] = "        ";
    if ((st = hx_afile_write(&af, m8, 8)) || (st = hx_afile_write(&af, out, m)) ||
        (st = hx_afile_write(&af, spaces, padded - m)))
        goto out;
    buf = hx_malloc(8u << 20);
    for (uint64_t off = 8 + n; off < (uint64_t)sb.st_size;) {
        ssize_t r = pread(fd, buf, 8u << 20, (off_t)off);
        if (r <= 0) {
            st = HX_FAIL(HX_EIO, "%s: read error at %llu", src, (unsigned long long)off);
            goto out;
        }
        if ((st = hx_afile_write(&af, buf, (size_t)r)))
            goto out;
        off += (uint64_t)r;
    }
    st = hx_afile_commit(&af);
    opened = 0;
out:
    if (opened)
        hx_afile_abort(&af);
    close(fd);
    free(hdr), free(buf);
    cJSON_free(out);
    cJSON_Delete(j);
    return st;
}

static hx_status write_json(const char *dir, const char *name, const cJSON *j)
{
    char *p = hx_path_join(dir, name), *t = cJSON_Print(j);
    size_t n = strlen(t);
    t = hx_realloc(t, n + 2);
    t[n] = '\n', t[n + 1] = 0;
    hx_status st = hx_write_file_atomic(p, t, n + 1);
    free(p), free(t);
    return st;
}

static hx_status copy_into(const char *from_dir, const char *name, const char *to_dir, int required)
{
    char *s = hx_path_join(from_dir, name), *d = hx_path_join(to_dir, name);
    hx_status st = HX_OK;
    if (hx_file_exists(s))
        st = hx_copy_file_atomic(s, d);
    else if (required)
        st = HX_FAIL(HX_ENOTFOUND, "%s: no %s", from_dir, name);
    free(s), free(d);
    return st;
}

/* the tensors must be mamba_ssm's Mamba2 LM: embedding, layers, final norm,
 * lm_head (absent when tied) */
static hx_status check_tensors(const char *src_dir, int tied)
{
    hx_st_model *st;
    hx_status s = hx_st_model_open(src_dir, &st);
    if (s)
        return hx_preerr("only *.safetensors are read, never pytorch_model.bin"), s;
    int emb = 0, head = 0;
    for (size_t i = 0; i < hx_st_model_count(st) && !s; i++) {
        const char *nm = hx_st_model_at(st, i)->name;
        if (!strcmp(nm, EMBED_SSM) || !strcmp(nm, EMBED_HF))
            emb++;
        else if (!strcmp(nm, "lm_head.weight"))
            head++;
        else if (strncmp(nm, "backbone.layers.", 16) && strcmp(nm, "backbone.norm_f.weight"))
            s = HX_FAIL(HX_EFORMAT, "%s: tensor %s is not part of a mamba_ssm Mamba2 language model", src_dir, nm);
    }
    hx_st_model_close(st);
    if (!s && emb != 1)
        s = HX_FAIL(HX_EFORMAT, "%s: no %s", src_dir, EMBED_SSM);
    if (!s && !tied && !head)
        s = HX_FAIL(HX_EFORMAT, "%s: tie_embeddings is false but there is no lm_head.weight", src_dir);
    return s;
}

hx_status hx_layout_mamba_ssm(const char *src_dir, const char *tok_dir, const char *out_dir, int *renamed)
{
    if (renamed)
        *renamed = 0;
    char *p = hx_path_join(src_dir, "config.json");
    cJSON *ssm;
    hx_status st = hx_pyjson_load(p, 1u << 20, &ssm);
    free(p);
    if (st)
        return hx_preerr("mamba_ssm layout"), st;
    cJSON *cfg = hx_layout_mamba_ssm_config(ssm, &st);
    if (!st)
        st = check_tensors(src_dir, cJSON_IsTrue(get(cfg, "tie_word_embeddings")));
    if (!st)
        st = hx_mkdirs(out_dir);
    if (!st)
        st = write_json(out_dir, "config.json", cfg);
    /* the weights: an index and its shards, or one file */
    char *ip = hx_path_join(src_dir, "model.safetensors.index.json");
    if (!st && hx_file_exists(ip)) {
        cJSON *idx = NULL;
        st = hx_pyjson_load(ip, 64u << 20, &idx);
        cJSON *wm = cJSON_GetObjectItemCaseSensitive(idx, "weight_map");
        if (!st && !cJSON_IsObject(wm))
            st = HX_FAIL(HX_EFORMAT, "%s: no weight_map", ip);
        cJSON *e = st ? NULL : cJSON_DetachItemFromObjectCaseSensitive(wm, EMBED_SSM);
        if (e)
            cJSON_AddItemToObject(wm, EMBED_HF, e);
        const cJSON *v;
        char *done = hx_strdup("\n");
        cJSON *shards = st ? NULL : wm;
        cJSON_ArrayForEach(v, shards)
        {
            const char *f = cJSON_GetStringValue(v);
            char key[512];
            snprintf(key, sizeof key, "\n%s\n", f ? f : "");
            if (!f || strchr(f, '/') || strstr(done, key))
                continue; /* the reader rejects such shard names; each shard once */
            char *s = hx_path_join(src_dir, f), *d = hx_path_join(out_dir, f);
            st = rename_file(s, d, renamed);
            free(s), free(d);
            char *nd = hx_asprintf("%s%s\n", done, f);
            free(done);
            done = nd;
            if (st)
                break;
        }
        free(done);
        if (!st)
            st = write_json(out_dir, "model.safetensors.index.json", idx);
        cJSON_Delete(idx);
    } else if (!st) {
        char *s = hx_path_join(src_dir, "model.safetensors"), *d = hx_path_join(out_dir, "model.safetensors");
        st = rename_file(s, d, renamed);
        free(s), free(d);
    }
    free(ip);
    if (!st && !(st = copy_into(tok_dir, "tokenizer.json", out_dir, 1)) &&
        !(st = copy_into(tok_dir, "tokenizer_config.json", out_dir, 0)) &&
        !(st = copy_into(tok_dir, "special_tokens_map.json", out_dir, 0)))
        st = copy_into(src_dir, "README.md", out_dir, 0);
    cJSON_Delete(ssm);
    cJSON_Delete(cfg);
    if (st)
        hx_preerr("mamba_ssm layout of %s", src_dir);
    return st;
}

void hx_layout_remove(const char *out_dir) { hx_remove_tree(out_dir); }

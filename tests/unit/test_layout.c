/* test_layout.c - codec/layout.h: a mamba_ssm config.json as transformers'
 * Mamba2Config (state-spaces/mamba2-1.3b's own config, a config with every
 * ssm_cfg size set, dt_limit with Python's Infinity) and the configurations
 * that have no transformers Mamba2 equivalent, refused with the reason. The
 * whole conversion (safetensors, tokenizer) runs in
 * tests/integration/zoo_ssm.sh against tiny-mamba2's golden logits. */
#include "codec/layout.h"
#include "common/pyjson.h"

#include "tests/unit/check_main.h"
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static cJSON *convert(const char *ssm_text, hx_status *st)
{
    cJSON *ssm = hx_pyjson_parse(ssm_text, strlen(ssm_text));
    ck_assert_ptr_nonnull(ssm);
    cJSON *c = hx_layout_mamba_ssm_config(ssm, st);
    cJSON_Delete(ssm);
    return c;
}

static double num(const cJSON *c, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, k);
    ck_assert_msg(cJSON_IsNumber(v), "%s missing", k);
    return v->valuedouble;
}

/* state-spaces/mamba2-1.3b's config.json (mamba_ssm MambaConfig) */
START_TEST(mamba2_1_3b)
{
    hx_status st;
    cJSON *c = convert("{\"d_model\": 2048, \"d_intermediate\": 0, \"n_layer\": 48, \"vocab_size\": 50277, "
                       "\"ssm_cfg\": {\"layer\": \"Mamba2\"}, \"attn_layer_idx\": [], \"attn_cfg\": {}, "
                       "\"rms_norm\": true, \"residual_in_fp32\": true, \"fused_add_norm\": true, "
                       "\"pad_vocab_size_multiple\": 16, \"tie_embeddings\": true}",
                       &st);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(st, HX_OK);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(c, "model_type")), "mamba2");
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "architectures"), 0)->valuestring, "Mamba2ForCausalLM");
    ck_assert(num(c, "hidden_size") == 2048 && num(c, "num_hidden_layers") == 48);
    ck_assert(num(c, "vocab_size") == 50288); /* padded to a multiple of 16, as mamba_ssm allocates */
    /* mamba_ssm's Mamba2 defaults: d_state 128, d_conv 4, expand 2, headdim 64, ngroups 1, chunk 256 */
    ck_assert(num(c, "state_size") == 128 && num(c, "conv_kernel") == 4 && num(c, "expand") == 2);
    ck_assert(num(c, "head_dim") == 64 && num(c, "num_heads") == 64 && num(c, "n_groups") == 1);
    ck_assert(num(c, "chunk_size") == 256 && num(c, "layer_norm_epsilon") == 1e-5);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(c, "tie_word_embeddings")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(c, "use_bias")) && cJSON_IsTrue(cJSON_GetObjectItem(c, "use_conv_bias")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(c, "norm_before_gate")));
    ck_assert_ptr_null(cJSON_GetObjectItem(c, "time_step_limit")); /* (0, inf): transformers' default */
    ck_assert(num(c, "bos_token_id") == 0 && num(c, "eos_token_id") == 0 && num(c, "pad_token_id") == 0);
    cJSON_Delete(c);
}
END_TEST

START_TEST(every_size_and_infinity)
{
    hx_status st;
    cJSON *c = convert("{\"d_model\": 64, \"n_layer\": 3, \"vocab_size\": 384, \"pad_vocab_size_multiple\": 16, "
                       "\"tie_embeddings\": false, \"ssm_cfg\": {\"layer\": \"Mamba2\", \"d_state\": 16, \"d_conv\": 3, "
                       "\"expand\": 2, \"headdim\": 16, \"ngroups\": 2, \"chunk_size\": 16, \"bias\": true, "
                       "\"conv_bias\": false, \"dt_limit\": [0.001, Infinity]}}",
                       &st);
    ck_assert_ptr_nonnull(c);
    ck_assert(num(c, "vocab_size") == 384 && num(c, "num_heads") == 8 && num(c, "n_groups") == 2);
    ck_assert(num(c, "state_size") == 16 && num(c, "conv_kernel") == 3 && num(c, "chunk_size") == 16);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(c, "use_bias")) && cJSON_IsFalse(cJSON_GetObjectItem(c, "use_conv_bias")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(c, "tie_word_embeddings")));
    char *t = cJSON_PrintUnformatted(c);
    ck_assert_ptr_nonnull(strstr(t, "\"time_step_limit\":[0.001,Infinity]"));
    /* what we write, our own reader (and Python) read back */
    cJSON *back = hx_pyjson_parse(t, strlen(t));
    ck_assert_ptr_nonnull(back);
    ck_assert(isinf(cJSON_GetArrayItem(cJSON_GetObjectItem(back, "time_step_limit"), 1)->valuedouble));
    cJSON_Delete(back);
    free(t);
    cJSON_Delete(c);
}
END_TEST

START_TEST(refused)
{
    static const char *const bad[][2] = {
        {"{\"d_model\": 768, \"n_layer\": 24, \"vocab_size\": 50277, \"ssm_cfg\": {}}", "only Mamba2"},
        {"{\"d_model\": 64, \"n_layer\": 2, \"vocab_size\": 9, \"ssm_cfg\": {\"layer\": \"Mamba2\"}, "
         "\"attn_layer_idx\": [1]}",
         "attention layers"},
        {"{\"d_model\": 64, \"n_layer\": 2, \"vocab_size\": 9, \"ssm_cfg\": {\"layer\": \"Mamba2\"}, "
         "\"d_intermediate\": 256}",
         "MLPs"},
        {"{\"d_model\": 64, \"n_layer\": 2, \"vocab_size\": 9, \"ssm_cfg\": {\"layer\": \"Mamba2\"}, \"rms_norm\": false}",
         "rms_norm"},
        {"{\"d_model\": 64, \"n_layer\": 2, \"vocab_size\": 9, \"ssm_cfg\": {\"layer\": \"Mamba2\", "
         "\"norm_before_gate\": true}}",
         "norm_before_gate"},
        {"{\"d_model\": 64, \"n_layer\": 2, \"vocab_size\": 9, \"ssm_cfg\": {\"layer\": \"Mamba2\", \"headdim\": 48}}",
         "cannot express"},
        {"{\"d_model\": 64, \"n_layer\": 2, \"vocab_size\": 9, \"ssm_cfg\": {\"layer\": \"Mamba2\", \"d_ssm\": 64}}",
         "cannot express"},
        {"{\"d_model\": 64, \"n_layer\": 2, \"vocab_size\": 9.5, \"ssm_cfg\": {\"layer\": \"Mamba2\"}}", "integer"},
        {"{\"model_type\": \"mamba2\", \"d_model\": 64, \"n_layer\": 2, \"vocab_size\": 9}", "transformers config"},
        {"{\"n_layer\": 2, \"vocab_size\": 9, \"ssm_cfg\": {\"layer\": \"Mamba2\"}}", "required"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hx_status st = HX_OK;
        cJSON *c = convert(bad[i][0], &st);
        ck_assert_msg(!c, "case %zu converted", i);
        ck_assert_msg(st != HX_OK, "case %zu: no status", i);
        ck_assert_msg(strstr(hx_lasterr(), bad[i][1]), "case %zu: '%s' lacks '%s'", i, hx_lasterr(), bad[i][1]);
        hx_clearerr();
    }
}
END_TEST

Suite *hx_test_suite(void)
{
    Suite *s = suite_create("layout");
    TCase *tc = tcase_create("layout");
    tcase_add_test(tc, mamba2_1_3b);
    tcase_add_test(tc, every_size_and_infinity);
    tcase_add_test(tc, refused);
    suite_add_tcase(s, tc);
    return s;
}

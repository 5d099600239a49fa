/* test_card.c - model cards: render from a build summary, parse back
 * (front matter keys, claim rows, file hashes); parsing of a card in the
 * original helix-substrate style; and the zoo manifest loader. */
#include "cards/card.h"
#include "zoo/zoo.h"

#include "tests/unit/check_main.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *summary_json =
    "{\"name\":\"m\",\"target\":\"Org/m-hxq\",\"architecture\":\"llama\",\"license\":\"apache-2.0\","
    "\"license_from\":\"zoo manifest\",\"pipeline_tag\":\"text-generation\",\"library_name\":\"transformers\","
    "\"hxzoo_version\":\"0.1.0\",\"codec\":\"hxzoo-codec 1\",\"command\":\"hxzoo build m\","
    "\"source\":{\"repo\":\"Up/m\",\"revision\":\"main\",\"commit\":\"0123456789abcdef0123456789abcdef01234567\","
    "\"endpoint\":\"https://huggingface.co\"},"
    "\"compress\":{\"k\":256,\"sidecar_fraction\":0.001,\"tensors\":10,\"compressed_tensors\":7,\"min_cosine\":0.99991,"
    "\"min_cosine_tensor\":\"a \\\"q\\\"\",\"mean_cosine\":0.99995,\"ratio\":2.5},"
    "\"eval\":{\"protocol\":\"helix\",\"text\":\"wiki.test.raw\",\"dataset_type\":\"wikitext\",\"dataset_name\":\"Wiki: \\\"2\\\"\","
    "\"seq_len\":512,\"scored\":1024,\"device\":\"cpu\",\"dtype\":\"float32\",\"base_ppl\":10.5,\"ppl\":10.75,"
    "\"delta_ppl\":0.25,\"delta_pct\":2.380952,\"kld_mean\":0.0123,\"top1\":0.95},"
    "\"gates\":[{\"gate\":\"min_cosine\",\"limit\":0.99,\"value\":0.99991,\"pass\":true}]}";

START_TEST(render_parse_roundtrip)
{
    cJSON *j = cJSON_Parse(summary_json);
    ck_assert_ptr_nonnull(j);
    card_file f[1] = {{.path = "model.safetensors", .size = 42}};
    memset(f[0].sha256, 'a', 64);
    f[0].sha256[64] = 0;
    char *t = card_render(j, f, 1);
    cJSON_Delete(j);
    ck_assert(!strncmp(t, "---\nbase_model: \"Up/m\"\n", 23));
    ck_assert_ptr_nonnull(strstr(t, "name: \"Wiki: \\\"2\\\"\"")); /* quoted YAML */
    card_doc d;
    ck_assert_int_eq(card_parse(t, strlen(t), &d), HX_OK);
    ck_assert(d.front_matter);
    ck_assert_ptr_null(d.fm_error);
    ck_assert_str_eq(card_fm(&d, "base_model"), "Up/m");
    ck_assert_str_eq(card_fm(&d, "base_model_relation"), "quantized");
    ck_assert_str_eq(card_fm(&d, "tags"), "hxq,helix-substrate,quantized,llama");
    ck_assert_str_eq(card_fm(&d, "model-index"), "(structure)");
    double v;
    ck_assert_int_eq(card_row_num(&d, "hxq perplexity", &v), 0);
    ck_assert(v == 10.75);
    ck_assert_int_eq(card_row_num(&d, "PPL delta", &v), 0);
    ck_assert(v == 0.25);
    ck_assert_int_eq(card_row_num(&d, "kld mean", &v), 0);
    ck_assert(v == 0.0123);
    ck_assert_str_eq(card_row(&d, "source commit"), "0123456789abcdef0123456789abcdef01234567");
    ck_assert_uint_eq(d.n_files, 1);
    ck_assert_str_eq(d.files[0].path, "model.safetensors");
    ck_assert_uint_eq(d.files[0].size, 42);
    ck_assert_int_eq(card_row_num(&d, "no such row", &v), -1);
    card_doc_free(&d);
    free(t);
}
END_TEST

/* a sliding-window card states its stride (verify --full re-measures with
 * it); what stays dense is listed from the summary, by kind with counts;
 * summaries from before the list keep the transformer families' sentence */
START_TEST(sliding_stride_and_dense_list)
{
    cJSON *j = cJSON_Parse(summary_json);
    cJSON *ev = cJSON_GetObjectItem(j, "eval"), *cp = cJSON_GetObjectItem(j, "compress");
    cJSON_ReplaceItemInObject(ev, "protocol", cJSON_CreateString("sliding"));
    cJSON_AddNumberToObject(ev, "stride", 128);
    char *legacy = card_render(j, NULL, 0);
    ck_assert_ptr_nonnull(strstr(legacy, "embeddings, lm_head, norms and biases stay dense."));
    cJSON *dense = cJSON_Parse("[{\"kind\":\"backbone.embeddings.weight\",\"tensors\":1},"
                               "{\"kind\":\"mixer.conv1d.weight\",\"tensors\":24}]");
    cJSON_AddItemToObject(cp, "dense", dense);
    char *t = card_render(j, NULL, 0);
    ck_assert_ptr_nonnull(strstr(t, "sidecar fraction 0.001; kept dense (tensors by name, with their count): "
                                    "`backbone.embeddings.weight` (1), `mixer.conv1d.weight` (24).\n"));
    ck_assert_ptr_null(strstr(t, "stay dense"));
    card_doc d;
    ck_assert_int_eq(card_parse(t, strlen(t), &d), HX_OK);
    double v;
    ck_assert_int_eq(card_row_num(&d, "stride", &v), 0);
    ck_assert(v == 128);
    ck_assert_str_eq(card_row(&d, "protocol"), "sliding");
    card_doc_free(&d);
    cJSON_ReplaceItemInObject(cp, "dense", cJSON_CreateArray());
    char *none = card_render(j, NULL, 0);
    ck_assert_ptr_nonnull(strstr(none, "; every tensor is compressed.\n"));
    cJSON_DeleteItemFromObject(ev, "stride");
    char *helix = card_render(j, NULL, 0);
    ck_assert_ptr_null(strstr(helix, "| stride |"));
    cJSON_Delete(j);
    free(legacy), free(t), free(none), free(helix);
}
END_TEST

START_TEST(original_style_card)
{
    const char *t = "---\nlibrary_name: transformers\ntags:\n  - hxq\n  - helixcode\nlicense: apache-2.0\n"
                    "base_model: Qwen/Qwen2.5-3B-Instruct\n---\n# x\n\n| Metric | Value |\n|---|---|\n"
                    "| **Baseline PPL (WikiText-2)** | 8.1234 |\n| PPL delta | +0.69% |\n"
                    "```python\n| not | a row |\n```\n";
    card_doc d;
    card_parse(t, strlen(t), &d);
    ck_assert(d.front_matter);
    ck_assert_str_eq(card_fm(&d, "tags"), "hxq,helixcode");
    ck_assert_ptr_null(card_fm(&d, "base_model_relation"));
    double v;
    ck_assert_int_eq(card_row_num(&d, "baseline ppl (wikitext-2)", &v), 0);
    ck_assert(v == 8.1234);
    ck_assert_int_eq(card_row_num(&d, "ppl delta", &v), 0);
    ck_assert(v == 0.69);
    ck_assert_ptr_null(card_row(&d, "not"));
    card_doc_free(&d);
    const char *bad = "---\nbase_model: x\nno closing\n";
    card_parse(bad, strlen(bad), &d);
    ck_assert_ptr_nonnull(d.fm_error);
    card_doc_free(&d);
}
END_TEST

START_TEST(manifest)
{
    char path[] = "/tmp/hxzoo-manifest-XXXXXX";
    int fd = mkstemp(path);
    const char *good = "{\"root\":\"/data\",\"models\":[{\"name\":\"a\",\"source\":\"U/a\",\"revision\":"
                       "\"0123456789abcdef0123456789abcdef01234567\",\"target\":\"O/a-hxq\",\"architecture\":\"llama\","
                       "\"license\":\"mit\",\"eval\":{\"protocol\":\"helix\",\"text\":\"t.txt\",\"dataset_type\":\"x\","
                       "\"dataset_name\":\"y\"},\"gates\":{\"min_cosine\":0.9}}]}";
    ck_assert_int_eq(write(fd, good, strlen(good)), (int)strlen(good));
    close(fd);
    zoo_manifest z;
    ck_assert_int_eq(zoo_manifest_load(path, &z), HX_OK);
    ck_assert_uint_eq(z.n, 1);
    const zoo_model *m = zoo_find(&z, "a");
    ck_assert(m && m->pinned && m->k == 256 && m->gates.min_cosine == 0.9 && m->gates.max_dppl_pct == 10);
    char *tp = zoo_text_path(&z, m), *tg = zoo_target(m, "Me");
    ck_assert_str_eq(tp, "/data/t.txt");
    ck_assert_str_eq(tg, "Me/a-hxq");
    free(tp), free(tg);
    zoo_manifest_free(&z);
    const char *bad = "{\"models\":[{\"name\":\"a\",\"source\":\"nope\"}]}";
    FILE *f = fopen(path, "w");
    fputs(bad, f);
    fclose(f);
    ck_assert_int_eq(zoo_manifest_load(path, &z), HX_EFORMAT);
    unlink(path);
}
END_TEST

Suite *hx_test_suite(void)
{
    Suite *s = suite_create("card");
    TCase *tc = tcase_create("card");
    tcase_add_test(tc, render_parse_roundtrip);
    tcase_add_test(tc, sliding_stride_and_dense_list);
    tcase_add_test(tc, original_style_card);
    tcase_add_test(tc, manifest);
    suite_add_tcase(s, tc);
    return s;
}

/* test_compress.c - whole-model compression on a small synthetic Llama-like
 * model: the output layout the 0.3.3 loader expects (keys, dtypes, config
 * block), tied lm_head, copied files, sharding, resume after an interrupted
 * run, byte-identical output across thread counts, and refusals. */
#include "codec/hxq.h"
#include "compress/compress.h"

#include <cJSON.h>
#include "tests/unit/check_main.h"
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256], src[300], out[300];

static uint16_t *bf16_rand(uint64_t n, uint64_t seed)
{
    uint16_t *b = malloc(n * 2);
    uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
    for (uint64_t i = 0; i < n; i++) {
        double acc = 0;
        for (int k = 0; k < 4; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            acc += (double)(s >> 11) / 9007199254740992.0 - 0.5;
        }
        b[i] = hx_f32_to_bf16((float)(acc * 0.05));
    }
    return b;
}

static void add(hx_st_writer *w, const char *name, int nd, int64_t a, int64_t b, uint64_t seed)
{
    int64_t sh[2] = {a, b};
    uint64_t n = (uint64_t)a * (uint64_t)(nd == 2 ? b : 1);
    uint16_t *d = bf16_rand(n, seed);
    ck_assert_int_eq(hx_st_writer_add(w, name, HX_DT_BF16, nd, sh, d), HX_OK);
    free(d);
}

static void make_model(void)
{
    hx_mkdirs(src);
    char *p = hx_path_join(src, "model.safetensors");
    hx_st_writer *w;
    ck_assert_int_eq(hx_st_writer_open(p, 8192, &w), HX_OK);
    add(w, "model.embed_tokens.weight", 2, 64, 32, 1);
    add(w, "lm_head.weight", 2, 64, 32, 2);
    add(w, "model.norm.weight", 1, 32, 0, 3);
    for (int l = 0; l < 2; l++) {
        char n[128];
        snprintf(n, sizeof n, "model.layers.%d.self_attn.q_proj.weight", l);
        add(w, n, 2, 32, 32, 10 + (uint64_t)l);
        snprintf(n, sizeof n, "model.layers.%d.self_attn.q_proj.bias", l);
        add(w, n, 1, 32, 0, 20 + (uint64_t)l);
        snprintf(n, sizeof n, "model.layers.%d.mlp.down_proj.weight", l);
        add(w, n, 2, 32, 96, 30 + (uint64_t)l);
        snprintf(n, sizeof n, "model.layers.%d.input_layernorm.weight", l);
        add(w, n, 1, 32, 0, 40 + (uint64_t)l);
    }
    ck_assert_int_eq(hx_st_writer_finish(w), HX_OK);
    free(p);
    const char *cfg = "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\","
                      "\"tie_word_embeddings\":true,\"torch_dtype\":\"bfloat16\"}";
    p = hx_path_join(src, "config.json");
    ck_assert_int_eq(hx_write_file_atomic(p, cfg, strlen(cfg)), HX_OK);
    free(p);
    p = hx_path_join(src, "tokenizer.json");
    ck_assert_int_eq(hx_write_file_atomic(p, "{}", 2), HX_OK);
    free(p);
}

static void setup(void)
{
    strcpy(root, "/tmp/hxcomp-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(src, sizeof src, "%s/src", root);
    snprintf(out, sizeof out, "%s/out", root);
    make_model();
    hx_log_level = 0;
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    ck_assert_int_eq(system(cmd), 0);
    unsetenv("HXZOO_TEST_STOP_AFTER_SHARDS");
}

static cJSON *read_json(const char *dir, const char *name)
{
    char *p = hx_path_join(dir, name), *txt;
    size_t len;
    ck_assert_int_eq(hx_read_file(p, 1 << 24, &txt, &len), HX_OK);
    cJSON *j = cJSON_Parse(txt);
    free(txt);
    free(p);
    ck_assert_ptr_nonnull(j);
    return j;
}

START_TEST(layout_for_the_original_loader)
{
    hxq_options o;
    hxq_options_default(&o);
    o.params.threads = 2;
    hxq_report r;
    ck_assert_int_eq(hxq_compress(src, out, &o, &r), HX_OK);
    cJSON *cfg = read_json(out, "config.json");
    cJSON *q = cJSON_GetObjectItem(cfg, "quantization_config");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(q, "quant_method")), "hxq");
    ck_assert_int_eq((int)cJSON_GetNumberValue(cJSON_GetObjectItem(q, "codebook_size")), 256);
    cJSON *cm = cJSON_GetObjectItem(q, "compressed_modules");
    ck_assert_int_eq(cJSON_GetArraySize(cm), 4);
    ck_assert_str_eq(cJSON_GetArrayItem(cm, 0)->valuestring, "model.layers.0.mlp.down_proj");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cfg, "torch_dtype")), "bfloat16");
    cJSON_Delete(cfg);

    hx_st_model *m, *s;
    ck_assert_int_eq(hx_st_model_open(out, &m), HX_OK);
    ck_assert_int_eq(hx_st_model_open(src, &s), HX_OK);
    ck_assert_ptr_null(hx_st_model_find(m, "lm_head.weight")); /* tied */
    ck_assert_ptr_null(hx_st_model_find(m, "model.layers.0.self_attn.q_proj.weight"));
    const hx_st_tensor *cb = hx_st_model_find(m, "model.layers.0.self_attn.q_proj.codebook");
    const hx_st_tensor *ix = hx_st_model_find(m, "model.layers.0.self_attn.q_proj.indices");
    const hx_st_tensor *sp = hx_st_model_find(m, "model.layers.0.self_attn.q_proj.sidecar_positions");
    const hx_st_tensor *sv = hx_st_model_find(m, "model.layers.0.self_attn.q_proj.sidecar_values");
    ck_assert(cb && cb->dtype == HX_DT_F32 && cb->ndim == 1 && cb->shape[0] == 256);
    ck_assert(ix && ix->dtype == HX_DT_U8 && ix->ndim == 2 && ix->shape[0] == 32 && ix->shape[1] == 32);
    /* 1024 weights x 0.1% = 1 sidecar entry */
    ck_assert(sp && sp->dtype == HX_DT_I64 && sv && sv->dtype == HX_DT_F32 && sp->nelem == 1);
    /* exact tensors keep their source dtype and bytes */
    const char *exact[] = {"model.embed_tokens.weight", "model.norm.weight",
                           "model.layers.1.self_attn.q_proj.bias", "model.layers.1.input_layernorm.weight"};
    for (int i = 0; i < 4; i++) {
        const hx_st_tensor *a = hx_st_model_find(m, exact[i]), *b = hx_st_model_find(s, exact[i]);
        ck_assert_msg(a && b, "%s missing", exact[i]);
        ck_assert_int_eq(a->dtype, HX_DT_BF16);
        ck_assert(a->nbytes == b->nbytes && !memcmp(a->data, b->data, a->nbytes));
    }
    /* decoding agrees with the receipt's statistics */
    float *wq;
    int64_t sh[8];
    int nd;
    ck_assert_int_eq(hxq_load_f32(m, "model.layers.0.self_attn.q_proj.weight", &wq, sh, &nd), HX_OK);
    const hx_st_tensor *orig = hx_st_model_find(s, "model.layers.0.self_attn.q_proj.weight");
    hxq_stats st;
    hxq_compare(orig->data, orig->dtype, wq, 1024, &st);
    free(wq);
    int found = 0;
    for (size_t i = 0; i < r.n; i++)
        if (!strcmp(r.t[i].name, "model.layers.0.self_attn.q_proj.weight")) {
            found = 1;
            ck_assert(fabs(r.t[i].stats.rel_mse - st.rel_mse) <= 1e-9 + 1e-6 * st.rel_mse);
            ck_assert(st.cosine > 0.9999);
        }
    ck_assert(found);
    hx_st_model_close(m);
    hx_st_model_close(s);
    char *p = hx_path_join(out, "tokenizer.json");
    ck_assert(hx_file_exists(p));
    free(p);
    p = hx_path_join(out, "hxq_receipt.json");
    ck_assert(hx_file_exists(p));
    free(p);
    p = hx_path_join(out, ".hxq-state.json");
    ck_assert(!hx_file_exists(p));
    free(p);
    hxq_report_free(&r);
}
END_TEST

static void file_bytes(const char *path, char **buf, size_t *len)
{
    ck_assert_int_eq(hx_read_file(path, 1 << 26, buf, len), HX_OK);
}

START_TEST(deterministic_output)
{
    hxq_options o;
    hxq_options_default(&o);
    hxq_report r;
    char out2[320];
    snprintf(out2, sizeof out2, "%s/out2", root);
    o.params.threads = 1;
    ck_assert_int_eq(hxq_compress(src, out, &o, &r), HX_OK);
    hxq_report_free(&r);
    o.params.threads = 4;
    ck_assert_int_eq(hxq_compress(src, out2, &o, &r), HX_OK);
    hxq_report_free(&r);
    char *a, *b, *pa = hx_path_join(out, "model.safetensors"), *pb = hx_path_join(out2, "model.safetensors");
    size_t la, lb;
    file_bytes(pa, &a, &la);
    file_bytes(pb, &b, &lb);
    ck_assert(la == lb && !memcmp(a, b, la));
    free(a), free(b), free(pa), free(pb);
}
END_TEST

START_TEST(sharded_output_and_resume)
{
    hxq_options o;
    hxq_options_default(&o);
    o.max_shard_bytes = 6000; /* several shards */
    hxq_report r;
    setenv("HXZOO_TEST_STOP_AFTER_SHARDS", "2", 1);
    ck_assert_int_ne(hxq_compress(src, out, &o, &r), HX_OK); /* interrupted */
    hxq_report_free(&r);
    char *s1 = hx_path_join(out, "model-00001-of-00005.safetensors");
    char *idx = hx_path_join(out, "model.safetensors.index.json");
    char *cfgp = hx_path_join(out, "config.json");
    ck_assert_msg(hx_file_exists(s1), "first shard missing");
    ck_assert(!hx_file_exists(idx) && !hx_file_exists(cfgp)); /* nothing final yet */
    struct stat before;
    stat(s1, &before);
    unsetenv("HXZOO_TEST_STOP_AFTER_SHARDS");
    sleep(1);
    ck_assert_int_eq(hxq_compress(src, out, &o, &r), HX_OK); /* resumes */
    struct stat after;
    stat(s1, &after);
    ck_assert_msg(before.st_mtime == after.st_mtime && before.st_ino == after.st_ino,
                  "finished shard was rewritten");
    ck_assert_int_eq(r.shards, 5);
    size_t ncomp = 0;
    for (size_t i = 0; i < r.n; i++)
        ncomp += r.t[i].route == HXQ_ROUTE_COMPRESS;
    ck_assert_uint_eq(ncomp, 4);
    hxq_report_free(&r);
    ck_assert(hx_file_exists(idx));
    hx_st_model *m;
    ck_assert_int_eq(hx_st_model_open(out, &m), HX_OK);
    ck_assert_ptr_nonnull(hx_st_model_find(m, "model.layers.1.mlp.down_proj.indices"));
    ck_assert_uint_eq(hx_st_model_nshards(m), 5);
    hx_st_model_close(m);
    free(s1), free(idx), free(cfgp);
}
END_TEST

START_TEST(exact_f16_and_compat)
{
    hxq_options o;
    hxq_options_default(&o);
    o.exact_f16 = 1;
    o.params.compat_033 = 1;
    hxq_report r;
    ck_assert_int_eq(hxq_compress(src, out, &o, &r), HX_OK);
    hxq_report_free(&r);
    hx_st_model *m;
    ck_assert_int_eq(hx_st_model_open(out, &m), HX_OK);
    ck_assert_int_eq(hx_st_model_find(m, "model.embed_tokens.weight")->dtype, HX_DT_F16);
    const hx_st_tensor *sv = hx_st_model_find(m, "model.layers.0.mlp.down_proj.sidecar_values");
    ck_assert_ptr_nonnull(sv);
    /* 3072 weights: 0.2% two-tailed candidates, under the 512 cap; fp16 values */
    ck_assert(sv->nelem > 0 && sv->nelem <= 512);
    for (uint64_t i = 0; i < sv->nelem; i++) {
        float v;
        memcpy(&v, (const char *)sv->data + 4 * i, 4);
        ck_assert(hx_f16_to_f32(hx_f32_to_f16(v)) == v);
    }
    hx_st_model_close(m);
}
END_TEST

START_TEST(refusals)
{
    hxq_options o;
    hxq_options_default(&o);
    hxq_report r;
    char bad[320];
    snprintf(bad, sizeof bad, "%s/none", root);
    ck_assert_int_eq(hxq_compress(bad, out, &o, &r), HX_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(hx_lasterr(), "config.json"));
    ck_assert_int_eq(hxq_compress(src, src, &o, &r), HX_EINVAL);
    ck_assert_int_eq(hxq_compress(src, out, &o, &r), HX_OK);
    hxq_report_free(&r);
    char out2[320];
    snprintf(out2, sizeof out2, "%s/out2", root);
    ck_assert_int_eq(hxq_compress(out, out2, &o, &r), HX_EINVAL); /* already quantized */
    ck_assert_ptr_nonnull(strstr(hx_lasterr(), "already quantized"));
}
END_TEST

/* an interrupted run's temp files are removed; a second writer is refused */
START_TEST(stale_temp_files_and_lock)
{
    hx_mkdirs(out);
    char *stale = hx_path_join(out, "model.safetensors.tmp.99999");
    ck_assert_int_eq(hx_write_file_atomic(stale, "junk", 4), HX_OK);
    hxq_options o;
    hxq_options_default(&o);
    hxq_report r;
    ck_assert_int_eq(hxq_compress(src, out, &o, &r), HX_OK);
    hxq_report_free(&r);
    ck_assert(!hx_file_exists(stale));
    free(stale);
    char *lp = hx_path_join(out, ".hxq-lock");
    int fd = open(lp, O_RDWR | O_CREAT, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
    ck_assert_int_eq(hxq_compress(src, out, &o, &r), HX_EIO);
    ck_assert_ptr_nonnull(strstr(hx_lasterr(), "another hxzoo compress"));
    close(fd);
    free(lp);
}
END_TEST

Suite *hx_test_suite(void)
{
    Suite *s = suite_create("compress");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, layout_for_the_original_loader);
    tcase_add_test(tc, deterministic_output);
    tcase_add_test(tc, sharded_output_and_resume);
    tcase_add_test(tc, exact_f16_and_compat);
    tcase_add_test(tc, refusals);
    tcase_add_test(tc, stale_temp_files_and_lock);
    suite_add_tcase(s, tc);
    return s;
}

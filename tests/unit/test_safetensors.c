/* test_safetensors.c - the safetensors reader and writer: round trips
 * (single file and sharded model directories) and every malformed-input
 * case the reader must refuse with a clear error naming file and tensor. */
#include "codec/safetensors.h"

#include "tests/unit/check_main.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

static void setup(void)
{
    strcpy(tmpdir, "/tmp/hxst-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* write a file with the given header text and data length */
static char *raw_file(const char *name, const char *hdr, size_t data_len, int64_t hdr_len_override)
{
    char *p = hx_path_join(tmpdir, name);
    FILE *f = fopen(p, "wb");
    uint64_t n = hdr_len_override >= 0 ? (uint64_t)hdr_len_override : strlen(hdr);
    fwrite(&n, 8, 1, f);
    fwrite(hdr, 1, strlen(hdr), f);
    for (size_t i = 0; i < data_len; i++)
        fputc((int)(i & 0xff), f);
    fclose(f);
    return p;
}

static void expect_bad(const char *hdr, size_t data_len, const char *needle)
{
    char *p = raw_file("bad.safetensors", hdr, data_len, -1);
    hx_st_file *f = NULL;
    hx_status st = hx_st_open(p, &f);
    ck_assert_msg(st == HX_EFORMAT, "header %s: expected HX_EFORMAT, got %d", hdr, st);
    ck_assert_ptr_null(f);
    ck_assert_msg(strstr(hx_lasterr(), "bad.safetensors") != NULL, "error lacks the file: %s",
                  hx_lasterr());
    if (needle)
        ck_assert_msg(strstr(hx_lasterr(), needle) != NULL, "error '%s' lacks '%s'", hx_lasterr(),
                      needle);
    free(p);
}

START_TEST(roundtrip_writer_reader)
{
    char *p = hx_path_join(tmpdir, "a.safetensors");
    hx_st_writer *w;
    ck_assert_int_eq(hx_st_writer_open(p, 4096, &w), HX_OK);
    ck_assert_int_eq(hx_st_writer_meta(w, "format", "pt"), HX_OK);
    float f[6] = {1, 2, 3, 4, 5, 6};
    uint8_t u[3] = {7, 8, 9};
    int64_t s23[2] = {2, 3}, s3[1] = {3};
    ck_assert_int_eq(hx_st_writer_add(w, "w.weight", HX_DT_F32, 2, s23, f), HX_OK);
    /* a tensor written in two pieces */
    ck_assert_int_eq(hx_st_writer_begin(w, "u.indices", HX_DT_U8, 1, s3), HX_OK);
    ck_assert_int_eq(hx_st_writer_data(w, u, 1), HX_OK);
    ck_assert_int_eq(hx_st_writer_data(w, u + 1, 2), HX_OK);
    ck_assert_int_eq(hx_st_writer_finish(w), HX_OK);
    hx_st_file *r;
    ck_assert_int_eq(hx_st_open(p, &r), HX_OK);
    ck_assert_uint_eq(hx_st_count(r), 2);
    ck_assert_str_eq(hx_st_meta(r, "format"), "pt");
    const hx_st_tensor *t = hx_st_find(r, "w.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->dtype, HX_DT_F32);
    ck_assert_int_eq(t->shape[1], 3);
    float g[6];
    ck_assert_int_eq(hx_st_read_f32(t, g), HX_OK);
    ck_assert(!memcmp(f, g, sizeof f));
    t = hx_st_find(r, "u.indices");
    ck_assert(!memcmp(t->data, u, 3));
    ck_assert_uint_eq(t->offset % 1, 0);
    /* the data buffer starts 8-aligned */
    ck_assert_uint_eq(hx_st_find(r, "w.weight")->offset % 8, 0);
    hx_st_close(r);
    free(p);
}
END_TEST

START_TEST(writer_refuses_misuse_and_leaves_nothing)
{
    char *p = hx_path_join(tmpdir, "b.safetensors");
    hx_st_writer *w;
    int64_t s[1] = {4};
    uint8_t d[4] = {0};
    ck_assert_int_eq(hx_st_writer_open(p, 1024, &w), HX_OK);
    ck_assert_int_eq(hx_st_writer_begin(w, "x", HX_DT_U8, 1, s), HX_OK);
    ck_assert_int_eq(hx_st_writer_data(w, d, 2), HX_OK);
    ck_assert_int_ne(hx_st_writer_data(w, d, 4), HX_OK); /* too many bytes */
    ck_assert_int_ne(hx_st_writer_finish(w), HX_OK);     /* incomplete tensor */
    ck_assert(!hx_file_exists(p));
    ck_assert_int_eq(hx_st_writer_open(p, 1024, &w), HX_OK);
    ck_assert_int_eq(hx_st_writer_add(w, "x", HX_DT_U8, 1, s, d), HX_OK);
    ck_assert_int_ne(hx_st_writer_add(w, "x", HX_DT_U8, 1, s, d), HX_OK); /* duplicate */
    hx_st_writer_abort(w);
    ck_assert(!hx_file_exists(p));
    free(p);
}
END_TEST

START_TEST(bad_headers)
{
    expect_bad("{not json", 0, "not valid JSON");
    expect_bad("[1,2]", 0, NULL);
    expect_bad("{\"t\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "'t'");
    expect_bad("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8, "dtype F32 x shape");
    expect_bad("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "past the end");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
               "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}",
               8, "overlap");
    expect_bad("{\"t\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]}}", 1, "shape");
    expect_bad("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[4,2]}}", 8, "end");
    expect_bad("{\"t\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1, "data_offsets");
    expect_bad("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
               "\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
               2, "twice");
    expect_bad("{\"__metadata__\":{\"k\":1}}", 0, "__metadata__");
    expect_bad("{\"t\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,4294967296],"
               "\"data_offsets\":[0,1]}}",
               1, "overflows");
    expect_bad("{} trailing", 0, "garbage");
}
END_TEST

START_TEST(truncated_and_oversized)
{
    /* header length beyond the file */
    char *p = raw_file("bad.safetensors", "{}", 0, 1000);
    hx_st_file *f;
    ck_assert_int_eq(hx_st_open(p, &f), HX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hx_lasterr(), "truncated"));
    free(p);
    /* header length over the limit */
    p = raw_file("bad.safetensors", "{}", 0, (int64_t)HX_ST_MAX_HEADER + 1);
    ck_assert_int_eq(hx_st_open(p, &f), HX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hx_lasterr(), "limit"));
    free(p);
    /* shorter than 8 bytes */
    p = hx_path_join(tmpdir, "bad.safetensors");
    FILE *fp = fopen(p, "wb");
    fputs("abc", fp);
    fclose(fp);
    ck_assert_int_eq(hx_st_open(p, &f), HX_EFORMAT);
    free(p);
    /* missing file */
    p = hx_path_join(tmpdir, "missing.safetensors");
    ck_assert_int_eq(hx_st_open(p, &f), HX_ENOTFOUND);
    free(p);
}
END_TEST

static void write_shard(const char *name, const char *tname, float v)
{
    char *p = hx_path_join(tmpdir, name);
    hx_st_writer *w;
    int64_t s[1] = {2};
    float d[2] = {v, v};
    ck_assert_int_eq(hx_st_writer_open(p, 512, &w), HX_OK);
    ck_assert_int_eq(hx_st_writer_add(w, tname, HX_DT_F32, 1, s, d), HX_OK);
    ck_assert_int_eq(hx_st_writer_finish(w), HX_OK);
    free(p);
}

static void write_text(const char *name, const char *txt)
{
    char *p = hx_path_join(tmpdir, name);
    ck_assert_int_eq(hx_write_file_atomic(p, txt, strlen(txt)), HX_OK);
    free(p);
}

START_TEST(sharded_model)
{
    write_shard("m-1.safetensors", "a.weight", 1);
    write_shard("m-2.safetensors", "b.weight", 2);
    write_text("model.safetensors.index.json",
               "{\"metadata\":{},\"weight_map\":{\"a.weight\":\"m-1.safetensors\","
               "\"b.weight\":\"m-2.safetensors\"}}");
    hx_st_model *m;
    ck_assert_int_eq(hx_st_model_open(tmpdir, &m), HX_OK);
    ck_assert_uint_eq(hx_st_model_count(m), 2);
    ck_assert_uint_eq(hx_st_model_nshards(m), 2);
    float g[2];
    ck_assert_int_eq(hx_st_read_f32(hx_st_model_find(m, "b.weight"), g), HX_OK);
    ck_assert(g[0] == 2);
    hx_st_model_close(m);
    /* hostile shard names and lying maps */
    write_text("model.safetensors.index.json",
               "{\"weight_map\":{\"a.weight\":\"../etc/passwd\"}}");
    ck_assert_int_eq(hx_st_model_open(tmpdir, &m), HX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hx_lasterr(), "plain file name"));
    write_text("model.safetensors.index.json",
               "{\"weight_map\":{\"a.weight\":\"m-2.safetensors\"}}");
    ck_assert_int_eq(hx_st_model_open(tmpdir, &m), HX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hx_lasterr(), "not in that file"));
    {
        char *p = hx_path_join(tmpdir, "m-4.safetensors");
        hx_st_writer *w;
        int64_t sh[1] = {2};
        float d[2] = {4, 4};
        ck_assert_int_eq(hx_st_writer_open(p, 512, &w), HX_OK);
        ck_assert_int_eq(hx_st_writer_add(w, "a.weight", HX_DT_F32, 1, sh, d), HX_OK);
        ck_assert_int_eq(hx_st_writer_add(w, "b.weight", HX_DT_F32, 1, sh, d), HX_OK);
        ck_assert_int_eq(hx_st_writer_finish(w), HX_OK);
        free(p);
    }
    write_text("model.safetensors.index.json",
               "{\"weight_map\":{\"a.weight\":\"m-1.safetensors\",\"b.weight\":\"m-4.safetensors\"}}");
    /* m-4 also holds a.weight: stored twice */
    ck_assert_int_eq(hx_st_model_open(tmpdir, &m), HX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hx_lasterr(), "two shards"));
}
END_TEST

START_TEST(empty_dir)
{
    hx_st_model *m;
    ck_assert_int_eq(hx_st_model_open(tmpdir, &m), HX_ENOTFOUND);
}
END_TEST

Suite *hx_test_suite(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, roundtrip_writer_reader);
    tcase_add_test(tc, writer_refuses_misuse_and_leaves_nothing);
    tcase_add_test(tc, bad_headers);
    tcase_add_test(tc, truncated_and_oversized);
    tcase_add_test(tc, sharded_model);
    tcase_add_test(tc, empty_dir);
    suite_add_tcase(s, tc);
    return s;
}

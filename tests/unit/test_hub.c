/* test_hub.c - unit tests of hub/: name validation, encoding, globs,
 * hashes, .gitattributes, the server store (commits, history, refs), and
 * an in-process server + client round trip (upload, download, range read,
 * download through injected faults) so ASan/UBSan see both sides. */
#include "hub/hub.h"
#include "common/hash.h"
#include "hub/proto/proto.h"
#include "hub/server/server.h"
#include "hub/server/server_internal.h"
#include "hub/server/store_internal.h"

#include "tests/unit/check_main.h"
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir(void)
{
    char *t = hx_strdup("/tmp/hxzoo-unit-hub.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t));
    return t;
}

static void rm_rf(const char *p)
{
    char *cmd = hx_asprintf("rm -rf '%s'", p);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
}

static void write_file(const char *dir, const char *rel, const void *buf, size_t n)
{
    char *p = hx_path_join(dir, rel);
    char *d = hx_strdup(p);
    *strrchr(d, '/') = 0;
    ck_assert_int_eq(hx_mkdirs(d), HX_OK);
    ck_assert_int_eq(hx_write_file_atomic(p, buf, n), HX_OK);
    free(d);
    free(p);
}

START_TEST(names)
{
    ck_assert(hub_path_safe("a/b.txt"));
    ck_assert(hub_path_safe("dir with space/f"));
    ck_assert(!hub_path_safe("../x"));
    ck_assert(!hub_path_safe("a/../x"));
    ck_assert(!hub_path_safe("/abs"));
    ck_assert(!hub_path_safe("a\\b"));
    ck_assert(!hub_path_safe("a//b"));
    ck_assert(!hub_path_safe("a/./b"));
    ck_assert(!hub_path_safe(".git/config"));
    ck_assert(!hub_path_safe(""));
    ck_assert(hub_repo_id_valid("org/name-1.0"));
    ck_assert(hub_repo_id_valid("gpt2"));
    ck_assert(!hub_repo_id_valid("org/na--me"));
    ck_assert(!hub_repo_id_valid("a/b/c"));
    ck_assert(!hub_repo_id_valid("org/x.git"));
    ck_assert(!hub_repo_id_valid("../x"));
    ck_assert(hub_rev_safe("refs/pr/1"));
    ck_assert(!hub_rev_safe("../main"));
    ck_assert(!hub_rev_safe("a//b"));
    char *e = hub_urlencode("refs/pr/1", 0);
    ck_assert_str_eq(e, "refs%2Fpr%2F1");
    ck_assert(hub_urldecode(e));
    ck_assert_str_eq(e, "refs/pr/1");
    free(e);
    e = hub_urlencode("a b/c", 1);
    ck_assert_str_eq(e, "a%20b/c");
    free(e);
    char bad[] = "x%00y";
    ck_assert(!hub_urldecode(bad));
    ck_assert(hub_glob_match("*.json", "config.json"));
    ck_assert(hub_glob_match("*.json", "sub/config.json")); /* fnmatch: * crosses / */
    ck_assert(hub_glob_match("sub/", "sub/x"));
    ck_assert(hub_glob_match("model-0000[1-2].bin", "model-00002.bin"));
    ck_assert(!hub_glob_match("*.bin", "x.safetensors"));
    /* Python's fnmatch.fnmatchcase on each (pattern, name): '^' is a member,
     * '!' negates, ']' first is a member, an unclosed '[' is literal */
    static const struct { const char *p, *s; int want; } fm[] = {
        {"[^a]x", "^x", 1},  {"[^a]x", "ax", 1},       {"[^a]x", "bx", 0},     {"[!a]x", "bx", 1},
        {"[!a]x", "ax", 0},  {"[]]x", "]x", 1},        {"[!]]x", "]x", 0},     {"[!]]x", "ax", 1},
        {"a[", "a[", 1},     {"a[b", "a[b", 1},        {"*a*b", "aaaab", 1},   {"*a*b", "aaaa", 0},
        {"**/*.json", "x/y.json", 1}, {"*.json", "x/y.json", 1}, {"?.bin", "a.bin", 1},
        {"?.bin", "ab.bin", 0}, {"[a-c]*", "b/x", 1}, {"[a-c]*", "d/x", 0}, {"*[0-9]", "x9", 1},
        {"x*", "x", 1},      {"", "", 1},              {"*", "", 1}};
    for (size_t i = 0; i < sizeof fm / sizeof fm[0]; i++)
        ck_assert_msg(hub_glob_match(fm[i].p, fm[i].s) == fm[i].want, "glob '%s' on '%s'", fm[i].p, fm[i].s);
    /* many stars against a long non-matching name: the recursive matcher
     * took > 30 s here (Check's 4 s default timeout fails the test) */
    char name[901];
    memset(name, 'a', 900);
    name[900] = 0;
    ck_assert(!hub_glob_match("*a*a*a*a*a*a*a*a*a*a*b", name));
    ck_assert(hub_glob_match("*a*a*a*a*a*a*a*a*a*a*", name));
}
END_TEST

START_TEST(hashes)
{
    char s1[41], s256[65];
    hx_git_sha1_buf("hello\n", 6, s1);
    ck_assert_str_eq(s1, "ce013625030ba8dba906f756967f9e9ca394464a");
    hx_sha256_hex("", 0, s256);
    ck_assert_str_eq(s256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    char ptr[256];
    ck_assert_uint_eq(hub_lfs_pointer(s256, 440473133, ptr), 134);
    size_t n;
    char *b = hub_b64_encode("hello!?", 7);
    unsigned char *d = hub_b64_decode(b, strlen(b), &n);
    ck_assert_uint_eq(n, 7);
    ck_assert(!memcmp(d, "hello!?", 7));
    free(b);
    free(d);
    ck_assert_ptr_null(hub_b64_decode("abc", 3, &n));
    ck_assert(store_gitattr_is_lfs(store_default_gitattributes, "a/model.safetensors"));
    ck_assert(store_gitattr_is_lfs(store_default_gitattributes, "x.lfs.txt"));
    ck_assert(!store_gitattr_is_lfs(store_default_gitattributes, "config.json"));
    ck_assert(store_gitattr_is_lfs("big/data.txt filter=lfs diff=lfs merge=lfs -text\n", "big/data.txt"));
}
END_TEST

/* hx_gather_put: pieces end at multiples of the block, content intact;
 * hx_hasher_feed_fd: a range hash equals the in-memory one, and a file
 * shorter than asked is reported with where reading stopped. */
START_TEST(gather_and_feed)
{
    enum { BLOCK = 16, LEN = 100, START = 5 };
    char src[LEN], out[START + LEN + BLOCK] = {0}, buf[BLOCK];
    for (int i = 0; i < LEN; i++)
        src[i] = (char)('a' + i % 26);
    hx_gather g = {.buf = buf};
    size_t pieces[] = {3, 1, 17, 40, 2, 37}, at = 0, writes = 0;
    for (size_t k = 0; k < sizeof pieces / sizeof *pieces; k++)
        for (size_t left = pieces[k]; left;) {
            int full;
            size_t t = hx_gather_put(&g, BLOCK, START + at, src + at, left, &full);
            ck_assert_uint_gt(t, 0);
            at += t;
            left -= t;
            if (full) {
                ck_assert_uint_eq((g.off + g.n) % BLOCK, 0); /* ends aligned */
                ck_assert_uint_le(g.n, BLOCK);
                memcpy(out + g.off, g.buf, g.n);
                g.n = 0;
                writes++;
            }
        }
    ck_assert_uint_eq(at, LEN);
    memcpy(out + g.off, g.buf, g.n); /* the tail */
    ck_assert(!memcmp(out + START, src, LEN));
    ck_assert_uint_eq(writes, (START + LEN) / BLOCK);

    char path[] = "/tmp/hxzoo-feed-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, src, LEN), LEN);
    hx_hasher h;
    char a[65], b[65];
    hx_hasher_init(&h, LEN - 10, 0);
    uint64_t stop = 0;
    ck_assert(hx_hasher_feed_fd(&h, fd, 10, LEN, &stop));
    ck_assert_uint_eq(stop, LEN);
    hx_hasher_final(&h, a, NULL);
    hx_sha256_hex(src + 10, LEN - 10, b);
    ck_assert_str_eq(a, b);
    hx_hasher_init(&h, 10, 0);
    ck_assert(!hx_hasher_feed_fd(&h, fd, LEN - 5, LEN + 5, &stop));
    ck_assert_uint_eq(stop, LEN);
    hx_hasher_abort(&h);
    close(fd);
    unlink(path);
}
END_TEST

START_TEST(store_commits)
{
    char *root = tmpdir();
    hub_store *s;
    ck_assert_int_eq(store_open(&s, root), HX_OK);
    int exists;
    ck_assert_int_eq(store_repo_create(s, "model", "org/m", 0, "me", &exists), HX_OK);
    ck_assert_int_ne(store_repo_create(s, "model", "org/m", 0, "me", &exists), HX_OK);
    ck_assert(exists);
    char c0[41], c1[41], c2[41], x[41];
    ck_assert_int_eq(store_resolve(s, "model", "org/m", "main", c0), HX_OK);
    st_op ops[2] = {{.kind = ST_ADD_REGULAR, .path = "a/x.txt", .size = 2},
                    {.kind = ST_ADD_REGULAR, .path = "b.txt", .size = 2}};
    ck_assert_int_eq(store_git_put(s, "hi", 2, ops[0].oid), HX_OK);
    memcpy(ops[1].oid, ops[0].oid, 41);
    int http;
    ck_assert_int_eq(store_commit(s, "model", "org/m", "main", c0, ops, 2, "me", "one", "", c1, &http), HX_OK);
    /* stale parent: 412 */
    ck_assert_int_ne(store_commit(s, "model", "org/m", "main", c0, ops, 1, "me", "two", "", x, &http), HX_OK);
    ck_assert_int_eq(http, 412);
    st_op del = {.kind = ST_DELETE_FOLDER, .path = "a"};
    ck_assert_int_eq(store_commit(s, "model", "org/m", "main", NULL, &del, 1, "me", "del", "", c2, &http), HX_OK);
    st_commit c;
    ck_assert_int_eq(store_commit_load(s, "model", "org/m", c2, &c), HX_OK);
    ck_assert_ptr_null(st_commit_find(&c, "a/x.txt"));
    ck_assert_ptr_nonnull(st_commit_find(&c, "b.txt"));
    ck_assert_str_eq(c.parent, c1);
    st_commit_free(&c);
    ck_assert_int_eq(store_commit_load(s, "model", "org/m", c1, &c), HX_OK); /* history stays */
    ck_assert_ptr_nonnull(st_commit_find(&c, "a/x.txt"));
    st_commit_free(&c);
    char pfx[9];
    memcpy(pfx, c1, 8);
    pfx[8] = 0;
    ck_assert_int_eq(store_resolve(s, "model", "org/m", pfx, x), HX_OK);
    ck_assert_str_eq(x, c1);
    ck_assert_int_eq(store_branch_create(s, "model", "org/m", "dev", c1, &http), HX_OK);
    ck_assert_int_ne(store_branch_create(s, "model", "org/m", "dev", c1, &http), HX_OK);
    ck_assert_int_eq(http, 409);
    ck_assert_int_eq(store_resolve(s, "model", "org/m", "dev", x), HX_OK);
    ck_assert_str_eq(x, c1);
    ck_assert_int_ne(store_resolve(s, "model", "org/m", "nope", x), HX_OK);
    st_op lfs = {.kind = ST_ADD_LFS, .path = "w.bin", .size = 5};
    memset(lfs.oid, 'a', 64);
    lfs.oid[64] = 0;
    ck_assert_int_ne(store_commit(s, "model", "org/m", "main", NULL, &lfs, 1, "me", "lfs", "", x, &http), HX_OK);
    ck_assert_int_eq(http, 422);
    store_close(s);
    rm_rf(root);
    free(root);
}
END_TEST


/* Threads writing one path at once through hx_write_file_atomic_sync (as two
 * uploads of one multipart part record its ETag): every write succeeds and
 * the file is always one writer's whole content. With a temp name shared
 * by the process (PATH.tmp.<pid>, opened O_TRUNC) writers truncated and
 * renamed each other's temp file: writes failed or mixed. */
enum { AW_THREADS = 8, AW_ROUNDS = 300, AW_LEN = 4096 };
typedef struct {
    const char *path;
    int id, failures;
} aw_arg;

static void *aw_writer(void *p)
{
    aw_arg *a = p;
    char buf[AW_LEN];
    memset(buf, 'a' + a->id, sizeof buf);
    for (int i = 0; i < AW_ROUNDS; i++)
        if (hx_write_file_atomic_sync(a->path, buf, sizeof buf, 0) != HX_OK)
            a->failures++;
    return NULL;
}

START_TEST(atomic_write_unique_temp)
{
    char *dir = tmpdir();
    char *path = hx_path_join(dir, "mp-x.part1");
    pthread_t t[AW_THREADS];
    aw_arg a[AW_THREADS];
    for (int i = 0; i < AW_THREADS; i++) {
        a[i] = (aw_arg){.path = path, .id = i};
        ck_assert_int_eq(pthread_create(&t[i], NULL, aw_writer, &a[i]), 0);
    }
    for (int i = 0; i < AW_THREADS; i++) {
        pthread_join(t[i], NULL);
        ck_assert_msg(a[i].failures == 0, "writer %d failed %d times: %s", i, a[i].failures, hx_lasterr());
    }
    char *got = NULL;
    size_t len = 0;
    ck_assert_int_eq(hx_read_file(path, 1 << 20, &got, &len), HX_OK);
    ck_assert_uint_eq(len, AW_LEN);
    for (size_t i = 1; i < len; i++)
        ck_assert_msg(got[i] == got[0], "mixed content at byte %zu", i);
    free(got);
    /* no temp file left behind, also after a failure */
    char *bad = hx_path_join(dir, "missing/dir/file");
    ck_assert_int_ne(hx_write_file_atomic_sync(bad, "x", 1, 1), HX_OK);
    free(bad);
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++, ck_assert_msg(!strstr(e->d_name, ".tmp."), "left over: %s", e->d_name);
    closedir(d);
    ck_assert_int_eq(n, 1);
    /* store_tmp_create never hands out a name twice */
    hub_store *st;
    ck_assert_int_eq(store_open(&st, dir), HX_OK);
    char *p1 = NULL, *p2 = NULL;
    int f1 = store_tmp_create(st, "put", &p1), f2 = store_tmp_create(st, "put", &p2);
    ck_assert(f1 >= 0 && f2 >= 0);
    ck_assert_str_ne(p1, p2);
    close(f1);
    close(f2);
    free(p1);
    free(p2);
    store_close(st);
    free(path);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* JSON numbers are range-checked before they are converted (converting
 * 1e20, inf or NaN to an integer is undefined behaviour). */
START_TEST(numbers_checked)
{
    uint64_t v = 7;
    struct {
        double d;
        int ok;
    } cases[] = {{0, 1},       {5, 1},        {1e11, 1},        {-1, 0},        {1.5, 0},
                 {1e20, 0},    {1e308, 0},    {INFINITY, 0},    {-INFINITY, 0}, {NAN, 0},
                 {536870912000.0, 1}, {536870912001.0, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cJSON *n = cJSON_CreateNumber(cases[i].d);
        ck_assert_msg(srv_json_uint(n, 0, SRV_LFS_MAX_SIZE, &v) == cases[i].ok, "case %zu (%g)", i, cases[i].d);
        cJSON_Delete(n);
    }
    cJSON *str = cJSON_CreateString("5");
    ck_assert(!srv_json_uint(str, 0, 10, &v));
    ck_assert(!srv_json_uint(NULL, 0, 10, &v));
    cJSON_Delete(str);
    cJSON *one = cJSON_CreateNumber(1);
    ck_assert(!srv_json_uint(one, 2, 10, &v)); /* below lo */
    cJSON_Delete(one);
    ck_assert(srv_parse_u64("12345", 100000, &v) && v == 12345);
    ck_assert(!srv_parse_u64("", 10, &v));
    ck_assert(!srv_parse_u64("-1", 10, &v));
    ck_assert(!srv_parse_u64("1e3", 10000, &v));
    ck_assert(!srv_parse_u64(" 1", 10, &v));
    ck_assert(!srv_parse_u64("99999999999999999999", UINT64_MAX, &v)); /* > 2^64 */
    ck_assert(!srv_parse_u64("11", 10, &v));
    /* the JSON value count is bounded before parsing */
    cJSON *j = srv_json_parse("[1,2,3]", 7, 4);
    ck_assert_ptr_nonnull(j);
    cJSON_Delete(j);
    ck_assert_ptr_null(srv_json_parse("[1,2,3,4]", 9, 4));
    j = srv_json_parse("{\"a\":\"[,,,,:\\\",,\"}", 18, 3); /* commas in a string do not count */
    ck_assert_ptr_nonnull(j);
    cJSON_Delete(j);
    /* a multipart upload never has more than SRV_MP_MAX_PARTS parts */
    hub_server hs;
    memset(&hs, 0, sizeof hs);
    hs.mp_chunk = 1 << 20;
    ck_assert_uint_eq(srv_mp_chunk_for(&hs, 5ull << 20), 1 << 20);
    uint64_t big = SRV_LFS_MAX_SIZE, ch = srv_mp_chunk_for(&hs, big);
    ck_assert_uint_le((big + ch - 1) / ch, SRV_MP_MAX_PARTS);
    ck_assert_uint_ge(ch, 1 << 20);
}
END_TEST

static void make_folder(const char *dir)
{
    write_file(dir, "config.json", "{\"a\":1}\n", 8);
    size_t n = 3u << 20;
    unsigned char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (unsigned char)(i * 2654435761u >> 13);
    write_file(dir, "model.safetensors", big, n);
    write_file(dir, "sub/deep/t.txt", "text\n", 5);
    free(big);
}

static int same_file(const char *a, const char *b)
{
    char *x = NULL, *y = NULL;
    size_t lx = 0, ly = 0;
    int ok = hx_read_file(a, 1 << 26, &x, &lx) == HX_OK && hx_read_file(b, 1 << 26, &y, &ly) == HX_OK && lx == ly &&
             !memcmp(x, y, lx);
    free(x);
    free(y);
    return ok;
}

START_TEST(roundtrip)
{
    setenv("HXZOO_RETRY_BASE_MS", "10", 1);
    setenv("HXZOO_FAULTS", "", 1);
    char *root = tmpdir(), *src = tmpdir(), *cache = tmpdir();
    make_folder(src);
    hub_server_opts so = {.root = root, .multipart_chunk = 1 << 20};
    hub_server *srv;
    ck_assert_int_eq(hub_server_start(&so, &srv), HX_OK);
    char *ep = hx_asprintf("http://127.0.0.1:%d", hub_server_port(srv));
    hub_config cfg = {.endpoint = ep, .token = "hf_unit", .cache_dir = cache, .jobs = 3};
    hub_client *c;
    ck_assert_int_eq(hub_client_new(&cfg, &c), HX_OK);
    hub_upload_result ur;
    hub_upload_opts uo = {.message = "unit"};
    ck_assert_msg(hub_upload_folder(c, "org/rt", src, &uo, &ur) == HX_OK, "%s", hx_lasterr());
    ck_assert(ur.committed);
    ck_assert_uint_eq(ur.lfs_uploaded, 1);
    ck_assert_msg(hub_upload_folder(c, "org/rt", src, &uo, &ur) == HX_OK, "%s", hx_lasterr());
    ck_assert(!ur.committed);
    hub_download_result dr;
    hub_download_opts dopt = {0};
    ck_assert_msg(hub_download(c, "org/rt", &dopt, &dr) == HX_OK, "%s", hx_lasterr());
    ck_assert_uint_eq(dr.files, 4); /* + .gitattributes */
    char *a = hx_path_join(src, "model.safetensors"), *b = hx_path_join(dr.dir, "model.safetensors");
    ck_assert(same_file(a, b));
    free(b);
    b = hx_path_join(dr.dir, "sub/deep/t.txt");
    char *a2 = hx_path_join(src, "sub/deep/t.txt");
    ck_assert(same_file(a2, b));
    free(a2);
    free(b);
    char buf[16];
    size_t got;
    ck_assert_int_eq(hub_fetch_range(c, "org/rt", "main", "config.json", 2, 10, buf, &got), HX_OK);
    ck_assert_uint_eq(got, 6);
    ck_assert(!memcmp(buf, "a\":1}\n", 6));
    ck_assert_int_eq(hub_fetch_range(c, "org/rt", dr.commit, "model.safetensors", 1000, 16, buf, &got), HX_OK);
    ck_assert_uint_eq(got, 16);
    char commit[41];
    ck_assert_int_eq(hub_resolve_revision(c, "org/nope", "main", commit), HX_ENOTFOUND);
    ck_assert_int_eq(hub_resolve_revision(c, "org/rt", "nobranch", commit), HX_ENOTFOUND);
    free(dr.dir);
    hub_client_free(c);
    hub_server_stop(srv);
    /* the same store through faults: 500s and cut bodies */
    hub_server_opts fo = {.root = root, .faults = "500=3,drop=2:100000"};
    ck_assert_int_eq(hub_server_start(&fo, &srv), HX_OK);
    free(ep);
    ep = hx_asprintf("http://127.0.0.1:%d", hub_server_port(srv));
    char *cache2 = tmpdir();
    hub_config cfg2 = {.endpoint = ep, .cache_dir = cache2, .jobs = 2};
    ck_assert_int_eq(hub_client_new(&cfg2, &c), HX_OK);
    ck_assert_msg(hub_download(c, "org/rt", &dopt, &dr) == HX_OK, "%s", hx_lasterr());
    b = hx_path_join(dr.dir, "model.safetensors");
    ck_assert(same_file(a, b));
    free(b);
    free(a);
    free(dr.dir);
    hub_client_free(c);
    hub_server_stop(srv);
    free(ep);
    rm_rf(root);
    rm_rf(src);
    rm_rf(cache);
    rm_rf(cache2);
    free(root);
    free(src);
    free(cache);
    free(cache2);
}
END_TEST

Suite *hx_test_suite(void)
{
    Suite *s = suite_create("hub");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, names);
    tcase_add_test(tc, hashes);
    tcase_add_test(tc, gather_and_feed);
    tcase_add_test(tc, store_commits);
    tcase_add_test(tc, atomic_write_unique_temp);
    tcase_add_test(tc, numbers_checked);
    tcase_add_test(tc, roundtrip);
    suite_add_tcase(s, tc);
    return s;
}

/* fuzz_hub_server.c - the Hub server's request handling (hub/server/:
 * routing, query strings, auth, repo info / tree / paths-info / resolve
 * with Range, preupload, NDJSON commits, LFS batch, basic and multipart
 * uploads, completion, verify, settings, branches, validate-yaml): the
 * input is the bytes of one or more HTTP/1.1 requests, sent over a loopback
 * TCP connection to an in-process server (hub_server_start on port 0, its
 * own threads), then the write side is shut, the answer read to the end and
 * the server's connection count awaited back to 0.
 *
 * The store holds org/pub (public) and org/priv (private), each with a
 * config.json, a README.md, a folder and an LFS file; a tokens file gives
 * hf_w (write, org) and hf_r (read). Placeholders in the input are replaced
 * before sending by signed paths the target obtained from LFS batch
 * requests of its own, so inputs reach the code behind the signatures:
 *   @BASIC@    basic upload of a 100-byte object (content: 100 x 'b')
 *   @PART1@ @PART2@ @PART3@   the parts of a 3000-byte multipart object
 *              (content: 3000 x 'm'; the server's multipart chunk is 1024)
 *   @COMPLETE@ its completion, @VERIFY@ its verify, @GET@ the download of
 *              org/pub's LFS file
 *   @ETAG1@___________________________ (and 2, 3: 34 bytes, the length of
 *              the quoted ETag they stand for) the ETags of the three parts,
 *              which the target uploads itself (so a completion can succeed)
 * Uploads and commits grow the store: every 5,000 inputs it is rebuilt
 * (and the placeholders re-signed). FUZZ_HUB_SERVER_SHOW=1 prints each
 * answer's status lines, =all the whole answers (to check what the seeds
 * reach). */
#include "common/hx.h"
#include "hub/server/server.h"
#include "tests/fuzz/util.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

enum { PH_BASIC, PH_PART1, PH_PART2, PH_PART3, PH_COMPLETE, PH_VERIFY, PH_GET, PH_ETAG1, PH_ETAG2, PH_ETAG3, PH_N };
static const char *ph_name[PH_N] = {"@BASIC@", "@PART1@",  "@PART2@", "@PART3@", "@COMPLETE@",
                                    "@VERIFY@", "@GET@",
                                    /* as long as the quoted ETag they stand for (in a body:
                                     * Content-Length stays right) */
                                    "@ETAG1@___________________________", "@ETAG2@___________________________",
                                    "@ETAG3@___________________________"};
static char *ph_val[PH_N];
static hub_server *srv;
static int port;
static long execs;
static char lfs_oid[65];

static void hex_sha256(const void *p, size_t n, char out[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(p, n, d);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* one connection: send n bytes, shut the write side, read the answer
 * (malloc'd, NUL-terminated, into *ans when ans is not NULL) */
static void exchange(const char *req, size_t n, char **ans)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        abort();
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {20, 0}; /* a hang is a finding: libFuzzer's -timeout is 25 s */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        perror("fuzz_hub_server: connect");
        abort();
    }
    for (size_t off = 0; off < n;) {
        ssize_t k = send(fd, req + off, n - off, MSG_NOSIGNAL);
        if (k <= 0)
            break; /* the server may answer and close before reading it all */
        off += (size_t)k;
    }
    shutdown(fd, SHUT_WR);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 4096 > cap)
            buf = realloc(buf, cap *= 2);
        ssize_t k = recv(fd, buf + len, cap - len - 1, 0);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            fprintf(stderr, "fuzz_hub_server: no answer within 20 s (a hang)\n");
            abort(); /* a finding, also when make test replays the corpus */
        }
        if (k <= 0)
            break;
        len += (size_t)k;
    }
    buf[len] = 0;
    close(fd);
    if (ans)
        *ans = buf;
    else
        free(buf);
}

/* the path and query of an absolute href (after http://host:port) */
static char *path_of(const char *href)
{
    const char *p = href ? strstr(href, "://") : NULL;
    p = p ? strchr(p + 3, '/') : NULL;
    return hx_strdup(p ? p : "/");
}

/* POST an LFS batch for org/pub; returns the parsed answer's first object */
static cJSON *batch(const char *op, const char *oid, long size, cJSON **root)
{
    char body[512], req[1024];
    int bn = snprintf(body, sizeof body,
                      "{\"operation\":\"%s\",\"transfers\":[\"basic\",\"multipart\"],\"objects\":"
                      "[{\"oid\":\"%s\",\"size\":%ld}]}",
                      op, oid, size);
    int rn = snprintf(req, sizeof req,
                      "POST /org/pub.git/info/lfs/objects/batch HTTP/1.1\r\nHost: h\r\n"
                      "Authorization: Bearer hf_w\r\nContent-Type: application/vnd.git-lfs+json\r\n"
                      "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                      bn, body);
    char *ans;
    exchange(req, (size_t)rn, &ans);
    char *js = strstr(ans, "\r\n\r\n");
    *root = js ? cJSON_Parse(js + 4) : NULL;
    free(ans);
    cJSON *o = cJSON_GetArrayItem(cJSON_GetObjectItem(*root, "objects"), 0);
    if (!o) {
        fprintf(stderr, "fuzz_hub_server: LFS batch (%s) gave no object\n", op);
        abort();
    }
    return o;
}

static void sign_placeholders(void)
{
    for (int i = 0; i < PH_N; i++) {
        free(ph_val[i]);
        ph_val[i] = NULL;
    }
    char b[100], m[3000], oid[65];
    memset(b, 'b', sizeof b);
    memset(m, 'm', sizeof m);
    cJSON *root;
    hex_sha256(b, sizeof b, oid);
    cJSON *up = cJSON_GetObjectItem(cJSON_GetObjectItem(batch("upload", oid, 100, &root), "actions"), "upload");
    ph_val[PH_BASIC] = path_of(cJSON_GetStringValue(cJSON_GetObjectItem(up, "href")));
    cJSON_Delete(root);
    hex_sha256(m, sizeof m, oid);
    cJSON *act = cJSON_GetObjectItem(batch("upload", oid, 3000, &root), "actions");
    up = cJSON_GetObjectItem(act, "upload");
    cJSON *hd = cJSON_GetObjectItem(up, "header");
    ph_val[PH_COMPLETE] = path_of(cJSON_GetStringValue(cJSON_GetObjectItem(up, "href")));
    ph_val[PH_PART1] = path_of(cJSON_GetStringValue(cJSON_GetObjectItem(hd, "00001")));
    ph_val[PH_PART2] = path_of(cJSON_GetStringValue(cJSON_GetObjectItem(hd, "00002")));
    ph_val[PH_PART3] = path_of(cJSON_GetStringValue(cJSON_GetObjectItem(hd, "00003")));
    ph_val[PH_VERIFY] = path_of(cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(act, "verify"), "href")));
    cJSON_Delete(root);
    for (int i = 0; i < 3; i++) { /* the parts, for @ETAGn@ */
        int len = i < 2 ? 1024 : 3000 - 2048;
        char *req = hx_asprintf("PUT %s HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%.*s",
                                ph_val[PH_PART1 + i], len, len, m);
        char *ans, *et;
        exchange(req, strlen(req), &ans);
        et = strcasestr(ans, "\r\nETag: ");
        char *e = et ? strstr(et + 2, "\r\n") : NULL;
        ph_val[PH_ETAG1 + i] = e ? hx_asprintf("%.*s", (int)(e - et - 8), et + 8) : hx_strdup("\"\"");
        free(ans);
        free(req);
    }
    cJSON *dl = cJSON_GetObjectItem(cJSON_GetObjectItem(batch("download", lfs_oid, 64, &root), "actions"),
                                    "download");
    ph_val[PH_GET] = path_of(cJSON_GetStringValue(cJSON_GetObjectItem(dl, "href")));
    cJSON_Delete(root);
}

static void put_file(const char *dir, const char *name, const char *data, size_t n)
{
    char *p = hx_asprintf("%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f))
        abort();
    free(p);
}

static void start(void)
{
    const char *d = fz_dir();
    char *src = hx_asprintf("%s/src", d), *sub = hx_asprintf("%s/src/sub", d);
    char *root = hx_asprintf("%s/store", d), *tokens = hx_asprintf("%s/tokens", d);
    char *rm = hx_asprintf("rm -rf '%s'", root);
    if (system(rm))
        abort();
    mkdir(src, 0700);
    mkdir(sub, 0700);
    const char *cfg = "{\"model_type\":\"llama\",\"hidden_size\":64}\n";
    const char *card = "---\nlicense: mit\ntags:\n- hxq\n---\n# pub\n\nA card.\n";
    char st[64];
    memset(st, 's', sizeof st); /* *.safetensors: LFS by the default .gitattributes */
    hex_sha256(st, sizeof st, lfs_oid);
    put_file(src, "config.json", cfg, strlen(cfg));
    put_file(src, "README.md", card, strlen(card));
    put_file(src, "model.safetensors", st, sizeof st);
    put_file(sub, "a.txt", "a\n", 2);
    put_file(d, "tokens", "hf_w w write org\nhf_r r read\n", 28);
    char commit[41];
    if (hub_server_import(root, src, "org/pub", "main", 0, "init", commit) ||
        hub_server_import(root, src, "org/priv", "main", 1, "init", commit)) {
        fprintf(stderr, "fuzz_hub_server: import: %s\n", hx_lasterr());
        abort();
    }
    hub_server_opts o = {.root = root, .host = "127.0.0.1", .tokens_file = tokens, .multipart_chunk = 1024};
    if (hub_server_start(&o, &srv)) {
        fprintf(stderr, "fuzz_hub_server: start: %s\n", hx_lasterr());
        abort();
    }
    port = hub_server_port(srv);
    sign_placeholders();
    free(src);
    free(sub);
    free(root);
    free(tokens);
    free(rm);
}

static void stop(void)
{
    if (srv)
        hub_server_stop(srv);
    srv = NULL;
}

/* the input with every placeholder replaced */
static char *expand(const uint8_t *data, size_t size, size_t *out_n)
{
    size_t cap = size + 1, n = 0;
    char *o = malloc(cap);
    for (size_t i = 0; i < size;) {
        int hit = -1;
        if (data[i] == '@')
            for (int k = 0; k < PH_N && hit < 0; k++) {
                size_t l = strlen(ph_name[k]);
                if (i + l <= size && !memcmp(data + i, ph_name[k], l))
                    hit = k;
            }
        const char *v = hit >= 0 ? ph_val[hit] : NULL;
        size_t vl = v ? strlen(v) : 1;
        if (n + vl + 1 > cap)
            o = realloc(o, cap = 2 * (n + vl + 1));
        if (v) {
            memcpy(o + n, v, vl);
            i += strlen(ph_name[hit]);
        } else {
            o[n] = (char)data[i++];
        }
        n += vl;
    }
    o[n] = 0;
    *out_n = n;
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    if (!srv) {
        fz_dir(); /* its removal is registered first, so runs after stop() */
        start();
        atexit(stop);
    } else if (++execs % 5000 == 0) {
        stop();
        start();
    }
    size_t n;
    char *req = expand(data, size, &n), *ans = NULL;
    static int show = -1;
    if (show < 0)
        show = getenv("FUZZ_HUB_SERVER_SHOW") != NULL;
    exchange(req, n, show ? &ans : NULL);
    /* the server has closed the connection; wait until it has freed it, so
     * that no teardown is in flight when libFuzzer looks for leaks (a
     * connection that never ends is a hang: libFuzzer's -timeout) */
    while (hub_server_connections(srv) > 0)
        usleep(200);
    if (ans && show && !strcmp(getenv("FUZZ_HUB_SERVER_SHOW"), "all"))
        fprintf(stderr, "%s\n", ans);
    for (char *p = ans; p && (p = strstr(p, "HTTP/1.1 ")); p += 9) {
        char *e = strstr(p, "\r\n");
        fprintf(stderr, "  %.*s\n", e ? (int)(e - p) : 40, p);
    }
    free(ans);
    free(req);
    return 0;
}

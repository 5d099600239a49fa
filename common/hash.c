/* hash.c - the one hashing helper (hash.h): streaming SHA-256 + git blob
 * SHA-1, one-shot SHA-256 of buffers, files and fd ranges, git object ids
 * and hex, through OpenSSL's EVP interface. */
#include "common/hash.h"
#include "common/io.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void hx_hex(const unsigned char *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = 0;
}

int hx_is_hex(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* ---- streaming hasher ---- */

void hx_hasher_init(hx_hasher *h, uint64_t size, int want_sha1)
{
    memset(h, 0, sizeof *h);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
        abort();
    h->sha256 = c;
    if (want_sha1) {
        EVP_MD_CTX *c1 = EVP_MD_CTX_new();
        if (!c1 || EVP_DigestInit_ex(c1, EVP_sha1(), NULL) != 1)
            abort();
        h->sha1 = c1;
        char hdr[40];
        int k = snprintf(hdr, sizeof hdr, "blob %" PRIu64, size);
        EVP_DigestUpdate(c1, hdr, (size_t)k + 1); /* includes the NUL */
    }
}

void hx_hasher_update(hx_hasher *h, const void *buf, size_t n)
{
    EVP_DigestUpdate((EVP_MD_CTX *)h->sha256, buf, n);
    h->fed += n;
    if (h->sha1)
        EVP_DigestUpdate((EVP_MD_CTX *)h->sha1, buf, n);
}

void hx_hasher_final(hx_hasher *h, char *sha256_hex, char *sha1_hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex((EVP_MD_CTX *)h->sha256, md, &len);
    if (sha256_hex)
        hx_hex(md, len, sha256_hex);
    if (h->sha1) {
        EVP_DigestFinal_ex((EVP_MD_CTX *)h->sha1, md, &len);
        if (sha1_hex)
            hx_hex(md, len, sha1_hex);
    } else if (sha1_hex) {
        sha1_hex[0] = 0;
    }
    hx_hasher_abort(h);
}

void hx_hasher_abort(hx_hasher *h)
{
    EVP_MD_CTX_free((EVP_MD_CTX *)h->sha256);
    EVP_MD_CTX_free((EVP_MD_CTX *)h->sha1);
    h->sha256 = h->sha1 = NULL;
}

int hx_hasher_feed_fd(hx_hasher *h, int fd, uint64_t from, uint64_t to, uint64_t *at)
{
    const size_t bs = (size_t)1 << 20; /* stays in the CPU cache */
    char *buf = hx_malloc(bs);
    int ok = 1;
    while (from < to) {
        size_t want = to - from < bs ? (size_t)(to - from) : bs;
        ssize_t r = hx_pread_some(fd, buf, want, from);
        if (r <= 0) {
            if (r == 0)
                errno = 0;
            ok = 0;
            break;
        }
        hx_hasher_update(h, buf, (size_t)r);
        from += (uint64_t)r;
    }
    int e = errno;
    free(buf);
    errno = e;
    if (at)
        *at = from;
    return ok;
}

/* ---- one-shot ---- */

void hx_sha256_hex(const void *buf, size_t n, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_Digest(buf, n, md, &mdlen, EVP_sha256(), NULL);
    hx_hex(md, mdlen, hex);
}

hx_status hx_sha256_file(const char *path, char hex[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return HX_FAIL(HX_EIO, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    hx_status st = fstat(fd, &sb) != 0 ? HX_FAIL(HX_EIO, "cannot stat %s: %s", path, strerror(errno))
                                       : hx_hash_fd(fd, (uint64_t)sb.st_size, hex, NULL, path);
    close(fd);
    return st;
}

hx_status hx_hash_fd(int fd, uint64_t len, char *sha256_hex, char *sha1_hex, const char *what)
{
    hx_hasher h;
    hx_hasher_init(&h, len, sha1_hex != NULL);
    uint64_t off;
    if (!hx_hasher_feed_fd(&h, fd, 0, len, &off)) {
        hx_hasher_abort(&h);
        return HX_FAIL(HX_EIO, "cannot read %s at offset %" PRIu64 ": %s", what, off,
                       errno ? strerror(errno) : "file shorter than expected");
    }
    hx_hasher_final(&h, sha256_hex, sha1_hex);
    return HX_OK;
}

void hx_git_sha1_obj(const char *type, const void *buf, size_t n, char out[41])
{
    char hdr[48];
    int hl = snprintf(hdr, sizeof hdr, "%s %zu", type, n) + 1; /* with its NUL */
    unsigned char md[EVP_MAX_MD_SIZE];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) || !EVP_DigestUpdate(ctx, hdr, (size_t)hl) ||
        !EVP_DigestUpdate(ctx, buf ? buf : "", n) || !EVP_DigestFinal_ex(ctx, md, NULL))
        abort(); /* OpenSSL without SHA-1: nothing sensible to answer */
    EVP_MD_CTX_free(ctx);
    hx_hex(md, 20, out);
}

void hx_git_sha1_buf(const void *buf, size_t n, char out[41])
{
    hx_git_sha1_obj("blob", buf, n, out);
}

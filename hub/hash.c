/* hash.c - the hashes and encodings of the Hub protocol: SHA-256 (LFS
 * oids), git blob SHA-1 (regular file oids), the LFS pointer text, HMAC
 * (the server's self-authenticating upload URLs), base64 (commit payloads,
 * preupload samples) and ISO timestamps. OpenSSL does the hashing. */
#include "hub/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void hub_hex(const unsigned char *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = 0;
}

int hub_is_hex(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

void hub_hasher_init(hub_hasher *h, uint64_t size, int want_sha1)
{
    memset(h, 0, sizeof *h);
    h->size = size;
    h->sha256 = EVP_MD_CTX_new();
    if (!h->sha256 || EVP_DigestInit_ex(h->sha256, EVP_sha256(), NULL) != 1)
        abort();
    if (want_sha1) {
        h->sha1 = EVP_MD_CTX_new();
        if (!h->sha1 || EVP_DigestInit_ex(h->sha1, EVP_sha1(), NULL) != 1)
            abort();
        char hdr[40];
        int k = snprintf(hdr, sizeof hdr, "blob %" PRIu64, size);
        EVP_DigestUpdate(h->sha1, hdr, (size_t)k + 1); /* includes the NUL */
    }
}

void hub_hasher_update(hub_hasher *h, const void *buf, size_t n)
{
    EVP_DigestUpdate(h->sha256, buf, n);
    if (h->sha1)
        EVP_DigestUpdate(h->sha1, buf, n);
    h->fed += n;
}

void hub_hasher_final(hub_hasher *h, char *sha256_hex, char *sha1_hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(h->sha256, md, &len);
    if (sha256_hex)
        hub_hex(md, len, sha256_hex);
    if (h->sha1) {
        EVP_DigestFinal_ex(h->sha1, md, &len);
        if (sha1_hex)
            hub_hex(md, len, sha1_hex);
    } else if (sha1_hex) {
        sha1_hex[0] = 0;
    }
    hub_hasher_abort(h);
}

void hub_hasher_abort(hub_hasher *h)
{
    EVP_MD_CTX_free(h->sha256);
    EVP_MD_CTX_free(h->sha1);
    h->sha256 = h->sha1 = NULL;
}

int hub_hasher_feed_fd(hub_hasher *h, int fd, uint64_t from, uint64_t to, uint64_t *at)
{
    const size_t bs = (size_t)1 << 20; /* stays in the CPU cache */
    char *buf = hx_malloc(bs);
    int ok = 1;
    while (from < to) {
        size_t want = to - from < bs ? (size_t)(to - from) : bs;
        ssize_t r = pread(fd, buf, want, (off_t)from);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = 0;
            ok = 0;
            break;
        }
        hub_hasher_update(h, buf, (size_t)r);
        from += (uint64_t)r;
    }
    int e = errno;
    free(buf);
    errno = e;
    if (at)
        *at = from;
    return ok;
}

hx_status hub_hash_fd(int fd, uint64_t len, char *sha256_hex, char *sha1_hex, const char *what)
{
    hub_hasher h;
    hub_hasher_init(&h, len, sha1_hex != NULL);
    uint64_t off;
    if (!hub_hasher_feed_fd(&h, fd, 0, len, &off)) {
        hub_hasher_abort(&h);
        return HX_FAIL(HX_EIO, "cannot read %s at offset %" PRIu64 ": %s", what, off,
                       errno ? strerror(errno) : "file shorter than expected");
    }
    hub_hasher_final(&h, sha256_hex, sha1_hex);
    return HX_OK;
}

void hub_git_sha1_buf(const void *buf, size_t n, char out[41])
{
    hub_hasher h;
    hub_hasher_init(&h, n, 1);
    hub_hasher_update(&h, buf, n);
    hub_hasher_final(&h, NULL, out);
}

size_t hub_lfs_pointer(const char *sha256, uint64_t size, char *buf)
{
    return (size_t)sprintf(buf, "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %" PRIu64 "\n",
                           sha256, size);
}

void hub_hmac_hex(const char *key, const char *msg, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, strlen(msg), md, &len);
    hub_hex(md, len, out);
}

char *hub_b64_encode(const void *buf, size_t n)
{
    char *out = hx_malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, buf, (int)n);
    return out;
}

unsigned char *hub_b64_decode(const char *s, size_t slen, size_t *out_len)
{
    if (slen % 4 != 0 || slen > (size_t)1 << 30)
        return NULL;
    unsigned char *out = hx_malloc(slen / 4 * 3 + 1);
    int n = slen ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)slen) : 0;
    if (n < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts padding as zero bytes. */
    if (slen >= 1 && s[slen - 1] == '=')
        n--;
    if (slen >= 2 && s[slen - 2] == '=')
        n--;
    *out_len = (size_t)n;
    return out;
}

void hub_rand_hex(char *out, size_t nchars)
{
    unsigned char b[32];
    size_t nb = (nchars + 1) / 2;
    if (nb > sizeof b)
        nb = sizeof b;
    if (RAND_bytes(b, (int)nb) != 1)
        abort();
    char tmp[65];
    hub_hex(b, nb, tmp);
    memcpy(out, tmp, nchars);
    out[nchars] = 0;
}

void hub_iso_time(double t, char *buf)
{
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    int ms = (int)((t - (double)s) * 1000.0);
    if (ms < 0 || ms > 999)
        ms = 0;
    char d[32];
    strftime(d, sizeof d, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, 32, "%.19s.%03dZ", d, ms);
}

/* encode.c - the encodings of the Hub protocol (proto.h): the LFS pointer
 * text, HMAC (the server's self-authenticating upload URLs), base64 (commit
 * payloads, preupload samples), random hex (unique temp names) and ISO
 * timestamps. */
#include "hub/proto/proto.h"
#include "common/hash.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    hx_hex(md, len, out);
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
    hx_hex(b, nb, tmp);
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

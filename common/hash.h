/* hash.h - the one hashing helper (hash.c): a streaming hasher (SHA-256 of
 * the content, optionally the git blob SHA-1 of it), one-shot SHA-256 of a
 * buffer, a file or a range of an open fd, git object SHA-1 of a buffer,
 * and hex encoding. OpenSSL does the hashing; this header shows none of its
 * types. */
#ifndef HX_HASH_H
#define HX_HASH_H

#include "common/hx.h"

#include <stddef.h>
#include <stdint.h>

/* ---- hex ---- */
/* out[2n + 1]: lowercase hex of in[0, n), NUL-terminated. */
void hx_hex(const unsigned char *in, size_t n, char *out);
/* Is s exactly n lowercase hex digits? (NULL is not.) */
int hx_is_hex(const char *s, size_t n);

/* ---- streaming hasher ---- */
/* SHA-256 of one file's content and, with want_sha1, its git blob SHA-1
 * ("blob <size>\0" + content); size must be known in advance. The state is
 * OpenSSL's, behind void pointers. */
typedef struct hx_hasher {
    void *sha256, *sha1; /* EVP_MD_CTX * */
    uint64_t fed;        /* bytes hashed so far */
} hx_hasher;
void hx_hasher_init(hx_hasher *h, uint64_t size, int want_sha1);
void hx_hasher_update(hx_hasher *h, const void *buf, size_t n);
/* sha256_hex[65], sha1_hex[41] (may be NULL). Frees the contexts. */
void hx_hasher_final(hx_hasher *h, char *sha256_hex, char *sha1_hex);
void hx_hasher_abort(hx_hasher *h);
/* Feed [from, to) of an open fd into h (pread through a small buffer).
 * Returns 0 on a read error or early end of file (errno, or 0 for the
 * latter), with *at (may be NULL) = where reading stopped. */
int hx_hasher_feed_fd(hx_hasher *h, int fd, uint64_t from, uint64_t to, uint64_t *at);

/* ---- one-shot ---- */
/* hex must hold 65 bytes. */
void hx_sha256_hex(const void *buf, size_t n, char hex[65]);
hx_status hx_sha256_file(const char *path, char hex[65]);
/* SHA-256 (and, when sha1_hex is not NULL, the git blob SHA-1) of [0, len)
 * of an open fd (pread); `what` names the file in the error detail. */
hx_status hx_hash_fd(int fd, uint64_t len, char *sha256_hex, char *sha1_hex, const char *what);
/* git object id: SHA-1 of "<type> <n>\0" + buf[0, n) ("blob", "tree"). */
void hx_git_sha1_obj(const char *type, const void *buf, size_t n, char out[41]);
/* git blob id of buf[0, n). */
void hx_git_sha1_buf(const void *buf, size_t n, char out[41]);

#endif

/* internal.h - helpers shared by the files of hub/ (client and server):
 * path and repo-id validation, URL encoding, glob matching, hashing (git
 * blob SHA-1, SHA-256, HMAC), base64, and the LFS pointer format. Not part
 * of the public API (see hub.h and server.h). */
#ifndef HX_HUB_INTERNAL_H
#define HX_HUB_INTERNAL_H

#include "common/hx.h"

#include <openssl/evp.h>
#include <stdint.h>

/* ---- names (paths.c) ---- */
/* A repo file name is safe when it is relative, non-empty, has no empty,
 * "." or ".." segment, no backslash, no control character, no ".git"
 * segment and is at most 1000 bytes. Returns 1 if safe; otherwise 0 and
 * sets the error detail naming the path. */
int hub_path_safe(const char *path);
/* A repo id is "name" or "namespace/name", segments [A-Za-z0-9_.-]{1,96},
 * no leading/trailing '-'/'.', no "--" or "..". */
int hub_repo_id_valid(const char *repo);
/* A revision name is safe to use as a file name under refs/ (branch, tag,
 * refs/pr/N, commit): no "..", no empty segment, printable ASCII, ≤ 256. */
int hub_rev_safe(const char *rev);
int hub_is_commit_id(const char *s); /* 40 lowercase hex */
/* Percent-encode; keep_slash keeps '/' unencoded. Caller frees. */
char *hub_urlencode(const char *s, int keep_slash);
/* Percent-decode in place; returns 0 on a malformed escape or an encoded
 * NUL. */
int hub_urldecode(char *s);
/* fnmatch-style glob where '*' also matches '/', like Python's fnmatch
 * used by huggingface_hub allow_patterns. A pattern ending in '/' matches
 * everything below that folder. */
int hub_glob_match(const char *pattern, const char *path);

/* ---- local folders (walk.c) ---- */
/* Every regular file under root as sorted relative paths, skipping .git/
 * anywhere and .cache/ at the top (huggingface_hub's own metadata). */
typedef struct hub_walk {
    char **paths;
    size_t n, cap;
} hub_walk;
hx_status hub_walk_dir(const char *root, hub_walk *w);
void hub_walk_free(hub_walk *w);

/* ---- aligned write gathering (gather.c) ---- */
/* Collects a stream's bytes into pieces that end at multiples of `block`
 * file offsets, so that page-cache folios are written whole. */
typedef struct hub_gather {
    char *buf; /* block bytes */
    size_t n;  /* bytes held */
    uint64_t off; /* file offset of buf[0] */
} hub_gather;
/* Take up to n bytes that belong at file offset `at` (right after what the
 * gather holds). Returns how many were taken; *full = 1 when the held piece
 * reached an aligned end: write buf[0, n) at off, then set n = 0. */
size_t hub_gather_put(hub_gather *g, uint64_t block, uint64_t at, const void *p, size_t n, int *full);

/* ---- hashing (hash.c) ---- */
void hub_hex(const unsigned char *in, size_t n, char *out);
int hub_is_hex(const char *s, size_t n);
/* Streaming hasher for one file: SHA-256 of the content and the git blob
 * SHA-1 ("blob <size>\0" + content); size must be known in advance. */
typedef struct hub_hasher {
    EVP_MD_CTX *sha256, *sha1;
    uint64_t size, fed;
} hub_hasher;
void hub_hasher_init(hub_hasher *h, uint64_t size, int want_sha1);
void hub_hasher_update(hub_hasher *h, const void *buf, size_t n);
/* sha256_hex[65], sha1_hex[41] (may be NULL). Frees the contexts. */
void hub_hasher_final(hub_hasher *h, char *sha256_hex, char *sha1_hex);
void hub_hasher_abort(hub_hasher *h);
/* Feed [from, to) of an open fd into h (pread through a small buffer).
 * Returns 0 on a read error or early end of file (errno, or 0 for the
 * latter), with *at (may be NULL) = where reading stopped. */
int hub_hasher_feed_fd(hub_hasher *h, int fd, uint64_t from, uint64_t to, uint64_t *at);
/* Hash [0, len) of an open fd (pread). */
hx_status hub_hash_fd(int fd, uint64_t len, char *sha256_hex, char *sha1_hex, const char *what);
void hub_git_sha1_buf(const void *buf, size_t n, char out[41]);
/* LFS pointer text for (sha256, size); returns its length. buf ≥ 200. */
size_t hub_lfs_pointer(const char *sha256, uint64_t size, char *buf);
/* HMAC-SHA256(key, msg) as 64 hex. */
void hub_hmac_hex(const char *key, const char *msg, char out[65]);
/* Base64 (no newlines). Caller frees. decode returns NULL when malformed. */
char *hub_b64_encode(const void *buf, size_t n);
unsigned char *hub_b64_decode(const char *s, size_t slen, size_t *out_len);
/* 8 random hex characters (for unique temp names). */
void hub_rand_hex(char *out, size_t nchars);

/* ---- time ---- */
/* ISO-8601 UTC with milliseconds and 'Z' for a Unix time. buf ≥ 32. */
void hub_iso_time(double t, char *buf);

#endif

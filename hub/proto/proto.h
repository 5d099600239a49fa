/* proto.h - the Hub protocol layer that the client (hub/) and the server
 * (hub/server/) both use: validation of repo ids, revisions and repo file
 * paths, URL encoding and glob matching (paths.c), the tree walk of a
 * local folder (walk.c), and the protocol's encodings: LFS pointer text,
 * HMAC, base64, ISO time, random hex (encode.c). No OpenSSL types here;
 * hashing is common/hash.h. Not part of the public API (hub/hub.h,
 * hub/server/server.h). */
#ifndef HX_HUB_PROTO_H
#define HX_HUB_PROTO_H

#include "common/hx.h"

#include <stddef.h>
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

/* ---- protocol encodings (encode.c) ---- */
/* LFS pointer text for (sha256, size); returns its length. buf ≥ 200. */
size_t hub_lfs_pointer(const char *sha256, uint64_t size, char *buf);
/* HMAC-SHA256(key, msg) as 64 hex. */
void hub_hmac_hex(const char *key, const char *msg, char out[65]);
/* Base64 (no newlines). Caller frees. decode returns NULL when malformed. */
char *hub_b64_encode(const void *buf, size_t n);
unsigned char *hub_b64_decode(const char *s, size_t slen, size_t *out_len);
/* nchars random hex characters (≤ 64; for unique temp names). */
void hub_rand_hex(char *out, size_t nchars);
/* ISO-8601 UTC with milliseconds and 'Z' for a Unix time. buf ≥ 32. */
void hub_iso_time(double t, char *buf);

#endif

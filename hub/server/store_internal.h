/* store_internal.h - the server's on-disk repository store (internal to hub/server/).
 *
 * Layout under ROOT:
 *   secret                         random key for self-authenticating URLs
 *   objects/lfs/<sha256>           LFS object content (verified on ingest)
 *   objects/git/<sha1>             regular file content, named by git blob id
 *   tmp/                           uploads in progress (never visible)
 *   repos/<type>s--<ns>--<name>/   one repo: repo.json, refs/heads/<b>,
 *                                  refs/tags/<t>, commits/<id>.json
 * A commit file holds the full file list of that revision, so every old
 * revision stays downloadable. Commits are written (temp+fsync+rename)
 * before the ref moves, so a crash never exposes a half-commit. */
#ifndef HX_HUB_STORE_INTERNAL_H
#define HX_HUB_STORE_INTERNAL_H

#include "common/hx.h"

#include <cJSON.h>
#include <stdint.h>

typedef struct hub_store hub_store;

typedef struct st_file {
    char *path;
    uint64_t size;
    char oid[41];  /* git blob id (of the content, or of the LFS pointer) */
    char lfs[65];  /* sha256 of the content for LFS files, "" otherwise */
} st_file;

typedef struct st_commit {
    char id[41];
    char parent[41]; /* "" for the first commit */
    char *title, *message, *author;
    double date;
    st_file *files; /* sorted by path */
    size_t n;
} st_commit;

typedef struct st_repo {
    char type[16];  /* "model", "dataset", "space" */
    char *id;       /* ns/name */
    char uid[25];   /* 24-hex */
    int private_;
    char gated[16]; /* "" or "auto"/"manual" */
    cJSON *granted; /* users allowed through the gate (array, may be NULL) */
    double created;
} st_repo;

/* Commit operations (one per NDJSON line). */
typedef struct st_op {
    int kind;        /* ST_ADD_REGULAR, ST_ADD_LFS, ST_DELETE_FILE, ST_DELETE_FOLDER */
    char *path;
    char oid[65];    /* git sha1 (regular, content already stored) or sha256 (lfs) */
    uint64_t size;
} st_op;
enum { ST_ADD_REGULAR = 1, ST_ADD_LFS, ST_DELETE_FILE, ST_DELETE_FOLDER };

hx_status store_open(hub_store **out, const char *root);
void store_close(hub_store *s);
const char *store_root(hub_store *s);
const char *store_secret(hub_store *s);

/* Repos. type is the singular ("model"). */
hx_status store_repo_get(hub_store *s, const char *type, const char *repo, st_repo *out);
void st_repo_free(st_repo *r);
/* Creates the repo with an initial commit adding .gitattributes. Returns
 * HX_EINVAL with "exists" detail when it already exists (*exists = 1). */
hx_status store_repo_create(hub_store *s, const char *type, const char *repo, int private_,
                            const char *author, int *exists);
hx_status store_repo_delete(hub_store *s, const char *type, const char *repo);
hx_status store_repo_set(hub_store *s, const char *type, const char *repo, int private_,
                         const char *gated, cJSON *granted);

/* Revisions: branch, tag, full commit id or unique prefix (≥ 7), "HEAD".
 * HX_ENOTFOUND when unknown. */
hx_status store_resolve(hub_store *s, const char *type, const char *repo, const char *rev,
                        char commit[41]);
hx_status store_commit_load(hub_store *s, const char *type, const char *repo, const char *id,
                            st_commit *c);
void st_commit_free(st_commit *c);
const st_file *st_commit_find(const st_commit *c, const char *path);

/* Apply ops on top of branch's head as one commit. parent may be NULL or
 * the expected head (else *http = 412). On success writes the new id.
 * *http receives the HTTP status to answer on failure (400, 404, 409, 412,
 * 422). */
hx_status store_commit(hub_store *s, const char *type, const char *repo, const char *branch,
                       const char *parent, const st_op *ops, size_t nops, const char *author,
                       const char *title, const char *message, char out[41], int *http);

hx_status store_branch_create(hub_store *s, const char *type, const char *repo, const char *branch,
                              const char *from_rev, int *http);
hx_status store_branch_delete(hub_store *s, const char *type, const char *repo, const char *branch,
                              int *http);
hx_status store_tag_create(hub_store *s, const char *type, const char *repo, const char *tag,
                           const char *rev, int *http);
hx_status store_tag_delete(hub_store *s, const char *type, const char *repo, const char *tag,
                           int *http);
/* {"branches":[...],"converts":[],"tags":[...]} */
cJSON *store_refs_json(hub_store *s, const char *type, const char *repo);

/* Objects. */
char *store_lfs_path(hub_store *s, const char *sha256);
char *store_git_path(hub_store *s, const char *sha1);
int store_lfs_has(hub_store *s, const char *sha256, uint64_t *size);
hx_status store_git_put(hub_store *s, const void *buf, size_t n, char oid[41]);
/* Move a fully written temp file into objects/lfs after checking its
 * SHA-256 and size (the file is hashed here unless sha_known is set). */
hx_status store_lfs_ingest(hub_store *s, const char *tmp, const char *sha256, uint64_t size,
                           int sha_known);
/* A fresh temp path under ROOT/tmp (caller frees). */
char *store_tmp_path(hub_store *s, const char *tag);
/* Create a temp file ROOT/tmp/TAG.<pid>.<n> (hx_create_unique) that nobody else has opened
 * (O_EXCL; a name that exists is never reused or truncated): returns a
 * write-only fd and sets *path (caller frees), or -1 (error detail set). */
int store_tmp_create(hub_store *s, const char *tag, char **path);

/* .gitattributes helpers: does the text mark path as LFS? */
int store_gitattr_is_lfs(const char *attrs, const char *path);
extern const char *store_default_gitattributes;

#endif

/* hub.h - Hugging Face Hub client (libcurl + OpenSSL): resolve revisions,
 * list files, download snapshots into the Hugging Face cache (byte-for-byte
 * the layout huggingface_hub uses, so either tool finds the other's files),
 * read byte ranges of remote files, create repos and publish a folder as
 * one commit (LFS basic/multipart). Configuration follows the Python tools:
 * HF_ENDPOINT, HF_TOKEN then $HF_HOME/token, HF_HOME / HF_HUB_CACHE,
 * HF_HUB_OFFLINE; explicit values in hub_config override them.
 *
 * Every function returns hx_status and leaves a message naming the repo,
 * revision or file in hx_lasterr(); the token never appears in it. */
#ifndef HX_HUB_H
#define HX_HUB_H

#include "common/hx.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hub_config {
    const char *endpoint;  /* NULL: $HF_ENDPOINT or https://huggingface.co */
    const char *token;     /* NULL: $HF_TOKEN, then $HF_TOKEN_PATH / $HF_HOME/token */
    const char *cache_dir; /* NULL: $HF_HUB_CACHE or $HF_HOME/hub */
    int offline;           /* 1 forces offline; 0: $HF_HUB_OFFLINE decides */
    int jobs;              /* parallel transfers; 0 = 8 */
    int progress;          /* -1 auto (stderr is a terminal), 0 off, 1 on */
    int json;              /* 1: one JSON object per event on stdout */
} hub_config;

typedef struct hub_client hub_client;

hx_status hub_client_new(const hub_config *cfg, hub_client **out);
void hub_client_free(hub_client *c);
const char *hub_client_endpoint(const hub_client *c);
const char *hub_client_cache_dir(const hub_client *c);
int hub_client_has_token(const hub_client *c);

/* One file of a revision, as listed by the Hub. */
typedef struct hub_entry {
    char *path;
    uint64_t size;
    char oid[41];     /* git blob id */
    char sha256[65];  /* LFS content hash, "" for regular files */
} hub_entry;

typedef struct hub_listing {
    char commit[41];
    hub_entry *files;
    size_t n;
} hub_listing;

/* Branch, tag, commit (or "HEAD") to the commit it names (pinned). */
hx_status hub_resolve_revision(hub_client *c, const char *repo, const char *rev, char commit[41]);
/* Every file of the commit (recursive, all pages). */
hx_status hub_list_files(hub_client *c, const char *repo, const char *commit, hub_listing *out);
void hub_listing_free(hub_listing *l);

typedef struct hub_download_opts {
    const char *revision;          /* NULL = "main" */
    const char *const *include;    /* glob patterns; none = everything */
    size_t n_include;
    const char *local_dir;         /* also copy files there (HF local_dir layout) */
} hub_download_opts;

typedef struct hub_download_result {
    char commit[41];
    char *dir;              /* snapshot dir (or local_dir); caller frees */
    size_t files;           /* files in the snapshot selection */
    size_t files_fetched;   /* files that had to be transferred */
    uint64_t bytes_total, bytes_fetched;
    double seconds;
} hub_download_result;

/* Download a snapshot into the cache (resuming partial files, verifying
 * every file) and return its directory. */
hx_status hub_download(hub_client *c, const char *repo, const hub_download_opts *o, hub_download_result *res);

/* Read [off, off+len) of a file at a revision (e.g. a safetensors header)
 * without downloading the rest. *got = bytes read (short at end of file). */
hx_status hub_fetch_range(hub_client *c, const char *repo, const char *rev, const char *path, uint64_t off,
                          size_t len, void *buf, size_t *got);

hx_status hub_create_repo(hub_client *c, const char *repo, int private_, int exist_ok);

/* Check a model card (README.md text) with the Hub's POST
 * /api/validate-yaml before publishing it (the build's publish step):
 * HX_EFORMAT with the Hub's error messages when it refuses the metadata;
 * *warnings (caller frees; NULL if none) = the warnings of an accepted
 * card, joined with "; ". */
hx_status hub_validate_card(hub_client *c, const char *readme, char **warnings);

typedef struct hub_upload_opts {
    const char *branch;   /* NULL = "main"; created from main if missing */
    const char *message;  /* NULL = "Upload folder with hxzoo" */
    int private_;         /* when the repo is created */
} hub_upload_opts;

typedef struct hub_upload_result {
    char commit[41];       /* new head (or unchanged head) */
    int committed;         /* 0 when the content was already there */
    size_t files, files_changed, lfs_uploaded;
    uint64_t bytes_uploaded;
    double seconds;
} hub_upload_result;

/* Publish every file of dir (except .git/ and .cache/huggingface/) as
 * one commit; identical content uploads nothing. */
hx_status hub_upload_folder(hub_client *c, const char *repo, const char *dir, const hub_upload_opts *o,
                            hub_upload_result *res);

#endif

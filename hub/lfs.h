/* lfs.h - LFS object upload for the client (lfs.c). */
#ifndef HX_HUB_LFS_H
#define HX_HUB_LFS_H

#include "hub/client.h"

typedef struct hub_lfs_obj {
    const char *path; /* repo path (for messages) */
    const char *full; /* local file */
    char sha256[65];
    uint64_t size;
} hub_lfs_obj;

/* Negotiate and upload objs (skipping those the server has), in parallel. */
hx_status hub_lfs_upload(hub_client *c, const char *repo, const char *rev, const hub_lfs_obj *objs, size_t n,
                         uint64_t *bytes_sent, size_t *uploaded);

/* The answer to one LFS batch call for objs[0, n), as hub_lfs_upload reads
 * it (every action parsed, then discarded); for the fuzz targets. */
hx_status hub_lfs_batch_answer_check(const char *body, size_t len, const hub_lfs_obj *objs, size_t n);

#endif

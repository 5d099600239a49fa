/* import.c - `hxzoo serve --import DIR REPO`: puts a local folder
 * into the server's store as one commit (creating the repo and branch if
 * needed), which is how tests and demos seed an "upstream" model. */
#include "hub/server/server_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

hx_status hub_server_import(const char *root, const char *dir, const char *repo, const char *branch, int private_,
                            const char *message, char commit[41])
{
    if (!hub_repo_id_valid(repo))
        return HX_FAIL(HX_EINVAL, "invalid repo id '%s'", repo);
    hub_store *s;
    hx_status st = store_open(&s, root);
    if (st)
        return st;
    hub_walk w = {0};
    st_op *ops = NULL;
    size_t nops = 0;
    int exists;
    st = store_repo_create(s, "model", repo, private_, "import", &exists);
    if (st && !exists)
        goto out;
    st = HX_OK;
    if (!branch)
        branch = "main";
    if (strcmp(branch, "main")) {
        int http;
        char tmp[41];
        if (store_resolve(s, "model", repo, branch, tmp) != HX_OK &&
            (st = store_branch_create(s, "model", repo, branch, "main", &http)))
            goto out;
    }
    if ((st = hub_walk_dir(dir, &w)))
        goto out;
    ops = hx_calloc(w.n + 1, sizeof *ops);
    for (size_t i = 0; i < w.n; i++) {
        if (!hub_path_safe(w.paths[i])) {
            st = HX_EINVAL;
            goto out;
        }
        char *full = hx_path_join(dir, w.paths[i]);
        struct stat sb;
        stat(full, &sb);
        st_op *op = &ops[nops++];
        op->path = hx_strdup(w.paths[i]);
        op->size = (uint64_t)sb.st_size;
        int lfs = sb.st_size > 0 && (store_gitattr_is_lfs(store_default_gitattributes, w.paths[i]) ||
                                     sb.st_size >= (10 << 20));
        if (lfs) {
            char *tmp = store_tmp_path(s, "import");
            st = hx_copy_file_atomic(full, tmp);
            char sha[65];
            if (!st)
                st = hx_sha256_file(tmp, sha);
            if (!st)
                st = store_lfs_ingest(s, tmp, sha, op->size, 1);
            free(tmp);
            op->kind = ST_ADD_LFS;
            memcpy(op->oid, sha, 65);
        } else {
            char *buf = NULL;
            size_t len = 0;
            st = hx_read_file(full, (size_t)1 << 31, &buf, &len);
            if (!st)
                st = store_git_put(s, buf, len, op->oid);
            free(buf);
            op->kind = ST_ADD_REGULAR;
        }
        free(full);
        if (st)
            goto out;
    }
    int http;
    st = store_commit(s, "model", repo, branch, NULL, ops, nops, "import", message ? message : "Import folder", "",
                      commit, &http);
out:
    for (size_t i = 0; i < nops; i++)
        free(ops[i].path);
    free(ops);
    hub_walk_free(&w);
    store_close(s);
    return st;
}

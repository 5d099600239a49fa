/* resume.c - resuming hxzoo compress: a state file in the output directory
 * records the finished shards (with their tensor reports) under a
 * fingerprint of the source and the options, so an interrupted run
 * continues at the first unfinished shard; and the lock that keeps one
 * writer per output directory. */
#include "compress/compress_internal.h"
#include "common/buf.h"
#include "common/hash.h"
#include "common/pyjson.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void compress_fingerprint(const hx_st_model *m, const hxq_options *o, char hex[65])
{
    hx_buf b = HX_BUF_INIT;
    hx_buf_printf(&b, "%s k=%d frac=%.9g compat=%d fit=%d f16=%d shard=%llu qm=%s\n", HXQ_CODEC_VERSION,
                  o->params.k, o->params.sidecar_fraction, o->params.compat_033, (int)o->params.fit,
                  o->exact_f16, (unsigned long long)o->max_shard_bytes, o->quant_method ? o->quant_method : "hxq");
    for (size_t i = 0; i < hx_st_model_count(m); i++) {
        const hx_st_tensor *t = hx_st_model_at(m, i);
        hx_buf_printf(&b, "%s %s %llu %llu\n", t->name, hx_dtype_name(t->dtype),
                      (unsigned long long)t->nbytes, (unsigned long long)t->offset);
    }
    hx_sha256_hex(b.data, b.len, hex);
    hx_buf_free(&b);
}

/* --------------------------------------------------------------- state */
void compress_state_new(compress_state *s, const char *fp)
{
    s->root = cJSON_CreateObject();
    cJSON_AddStringToObject(s->root, "fingerprint", fp);
    cJSON_AddObjectToObject(s->root, "shards");
}

void compress_state_load(const char *out_dir, const char *fp, compress_state *s)
{
    char *p = hx_path_join(out_dir, HXQ_STATE_FILE);
    cJSON *r;
    s->root = NULL;
    if (hx_pyjson_load(p, 256u << 20, &r) == HX_OK) {
        const char *f = cJSON_GetStringValue(cJSON_GetObjectItem(r, "fingerprint"));
        if (r && f && !strcmp(f, fp) && cJSON_IsObject(cJSON_GetObjectItem(r, "shards")))
            s->root = r;
        else {
            if (r)
                hx_info("previous partial run in %s used other inputs/options: starting over", out_dir);
            cJSON_Delete(r);
        }
    }
    hx_clearerr();
    free(p);
    if (!s->root)
        compress_state_new(s, fp);
}

hx_status compress_state_save(const char *out_dir, const compress_state *s)
{
    char *p = hx_path_join(out_dir, HXQ_STATE_FILE);
    char *txt = cJSON_Print(s->root);
    hx_status st = hx_write_file_atomic(p, txt, strlen(txt));
    free(txt);
    free(p);
    return st;
}

int compress_state_resume(compress_state *s, const char *fname, const char *path,
                          hxq_report *rep, uint64_t *bytes)
{
    cJSON *shards_js = cJSON_GetObjectItem(s->root, "shards");
    cJSON *done = cJSON_GetObjectItem(shards_js, fname);
    struct stat sb;
    if (done && stat(path, &sb) == 0 &&
        (uint64_t)sb.st_size == (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(done, "bytes"))) {
        hx_info("resume: %s already complete", fname);
        const cJSON *arr = cJSON_GetObjectItem(done, "tensors"), *e;
        cJSON_ArrayForEach(e, arr)
        {
            hxq_tensor_report tr;
            if (compress_tensor_from_json(e, &tr) == 0)
                compress_report_add(rep, &tr);
        }
        *bytes = (uint64_t)sb.st_size;
        return 1;
    }
    if (done)
        cJSON_DeleteItemFromObject(shards_js, fname);
    return 0;
}

hx_status compress_state_record(const char *out_dir, compress_state *s, const char *fname,
                                cJSON *entry, uint64_t bytes)
{
    cJSON_AddNumberToObject(entry, "bytes", (double)bytes);
    cJSON_AddItemToObject(cJSON_GetObjectItem(s->root, "shards"), fname, entry);
    return compress_state_save(out_dir, s);
}

void compress_state_remove(const char *out_dir)
{
    char *p = hx_path_join(out_dir, HXQ_STATE_FILE), *l = hx_path_join(out_dir, HXQ_LOCK_FILE);
    unlink(p);
    unlink(l);
    free(p);
    free(l);
}

/* ---------------------------------------------------------------- lock */
/* One writer per output directory: an exclusive lock on OUT_DIR/.hxq-lock
 * (released by the kernel if the process dies). Holding it, leftover temp
 * files of an interrupted run ("NAME.tmp.PID.N") can be removed safely. */
hx_status compress_lock(const char *out_dir, int *fd_out)
{
    char *lp = hx_path_join(out_dir, HXQ_LOCK_FILE);
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    free(lp);
    if (fd < 0)
        return HX_FAIL(HX_EIO, "%s: cannot create the lock file: %s", out_dir, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return HX_FAIL(HX_EIO, "%s: another hxzoo compress is writing this directory", out_dir);
    }
    DIR *d = opendir(out_dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        const char *t = strstr(de->d_name, ".tmp.");
        if (!t || !t[5] || strspn(t + 5, "0123456789.") != strlen(t + 5))
            continue;
        char *p = hx_path_join(out_dir, de->d_name);
        hx_info("removing %s (left by an interrupted run)", p);
        unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    *fd_out = fd;
    return HX_OK;
}

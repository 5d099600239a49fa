/* compress.c - hxq_compress (compress.h), whole-model compression: SRC_DIR
 * (config.json + dense safetensors, single or sharded) -> OUT_DIR in the
 * HXQ layout that helix-substrate 0.3.3 loads.
 *
 * Plan first (plan.c: routing table, tied lm_head, output shards by
 * estimated size), then stream the shards (shards.c): one tensor at a time
 * from the mmap'd source, encoded and appended to the current shard by the
 * streaming safetensors writer. Each shard is written to a temp file and
 * renamed when complete; a state file (resume.c) records finished shards
 * (with their reports) under a fingerprint of the source and options, so an
 * interrupted run resumes at the first unfinished shard. config.json (with
 * the quantization_config, config.c), the shard index, the copied
 * tokenizer/generation files and hxq_receipt.json (receipt.c) are written
 * last, each atomically. */
#include "compress/compress_internal.h"
#include "common/parallel.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void hxq_options_default(hxq_options *o)
{
    memset(o, 0, sizeof *o);
    hxq_params_default(&o->params);
    o->params.threads = hx_ncpus();
    o->quant_method = "hxq";
}

hx_status hxq_compress(const char *src_dir, const char *out_dir, const hxq_options *o,
                       hxq_report *rep)
{
    double t0 = hx_now();
    int lock_fd = -1;
    memset(rep, 0, sizeof *rep);
    if (!strcmp(src_dir, out_dir))
        return HX_FAIL(HX_EINVAL, "output directory must differ from the source directory");
    cJSON *cfg;
    hx_status st = compress_read_config(src_dir, &cfg);
    if (st)
        return st;
    if (cJSON_GetObjectItem(cfg, "quantization_config")) {
        cJSON_Delete(cfg);
        return HX_FAIL(HX_EINVAL, "%s is already quantized (config.json has a quantization_config)",
                       src_dir);
    }
    int tie = cJSON_IsTrue(cJSON_GetObjectItem(cfg, "tie_word_embeddings"));
    hx_st_model *m;
    if ((st = hx_st_model_open(src_dir, &m))) {
        cJSON_Delete(cfg);
        return st;
    }
    compress_plan plan;
    compress_plan_build(m, tie, o, &plan);
    int nshards = plan.nshards;
    if ((st = hx_mkdirs(out_dir)))
        goto out;
    if ((st = compress_lock(out_dir, &lock_fd)))
        goto out;
    char fp[65];
    compress_fingerprint(m, o, fp);
    compress_state stt;
    if (o->force)
        compress_state_new(&stt, fp);
    else
        compress_state_load(out_dir, fp, &stt);
    hx_progress prog;
    hx_progress_start(&prog, "compress", plan.total_src);
    cJSON *wmap = cJSON_CreateObject();
    uint64_t data_total = 0;
    /* test hook: stop (as if killed) after this many shards were written */
    const char *stop_env = getenv("HXZOO_TEST_STOP_AFTER_SHARDS");
    int stop_after = stop_env ? atoi(stop_env) : -1, written = 0;
    for (int s = 0; s < nshards && !st; s++) {
        if (stop_after >= 0 && written >= stop_after) {
            st = HX_FAIL(HX_EIO, "stopped after %d shard(s) (HXZOO_TEST_STOP_AFTER_SHARDS)", written);
            break;
        }
        char *fname = nshards == 1 ? hx_strdup("model.safetensors")
                                   : hx_asprintf("model-%05d-of-%05d.safetensors", s + 1, nshards);
        char *path = hx_path_join(out_dir, fname);
        uint64_t bytes = 0;
        if (compress_state_resume(&stt, fname, path, rep, &bytes)) {
            for (size_t i = 0; i < plan.n; i++)
                if (plan.items[i].shard == s)
                    hx_progress_add(&prog, plan.items[i].t->nbytes);
        } else {
            cJSON *entry = cJSON_CreateObject();
            cJSON *tarr = cJSON_AddArrayToObject(entry, "tensors");
            st = compress_write_shard(path, &plan, s, o, &prog, rep, tarr, &bytes);
            if (st) {
                cJSON_Delete(entry);
            } else {
                st = compress_state_record(out_dir, &stt, fname, entry, bytes);
                written++;
            }
        }
        if (!st && nshards > 1)
            st = compress_index_add(wmap, path, fname, &data_total);
        free(path);
        free(fname);
    }
    hx_progress_end(&prog);
    if (!st && nshards > 1) {
        st = compress_index_write(out_dir, wmap, data_total);
        wmap = NULL;
    }
    cJSON_Delete(wmap);
    if (!st) {
        /* a stale single-file output must not shadow the shard index, and
         * vice versa */
        compress_remove_stale(out_dir, nshards);
        st = compress_write_config(out_dir, cfg, o, plan.mods, plan.nmods);
    }
    if (!st)
        st = compress_copy_aux(src_dir, out_dir);
    if (!st) {
        rep->shards = nshards;
        rep->seconds = hx_now() - t0;
        rep->peak_rss = hx_peak_rss();
        compress_report_totals(rep);
        st = compress_write_receipt(out_dir, rep, o, src_dir);
    }
    if (!st) /* done: neither the state nor the lock file belongs in the result */
        compress_state_remove(out_dir);
    cJSON_Delete(stt.root);
out:
    if (lock_fd >= 0)
        close(lock_fd); /* releases the lock; the lock file itself stays (harmless) */
    compress_plan_free(&plan);
    hx_st_model_close(m);
    cJSON_Delete(cfg);
    return st;
}

/* compress_internal.h - what the files of compress/ share (not a public
 * API; the public one is compress.h): the plan (plan.c), the shard writer
 * and the shard index (shards.c), the resume state and the output lock
 * (resume.c), config.json and the other non-weight files (config.c), the
 * per-tensor report and the receipt (receipt.c). compress.c runs them in
 * order (hxq_compress). */
#ifndef HX_COMPRESS_INTERNAL_H
#define HX_COMPRESS_INTERNAL_H

#include "compress/compress.h"
#include "common/progress.h"

#include <cJSON.h>

#define HXQ_STATE_FILE ".hxq-state.json"
#define HXQ_RECEIPT_FILE "hxq_receipt.json"
#define HXQ_LOCK_FILE ".hxq-lock"
/* HXQ_CODEC_VERSION: codec/encoder/encoder.h */

/* ------------------------------------------------------------ plan.c */
/* What happens to one source tensor. */
typedef struct {
    const hx_st_tensor *t;
    hxq_route_info ri;
    uint64_t est_bytes; /* estimated output bytes */
    int shard;          /* output shard, 0-based */
} plan_item;

typedef struct {
    plan_item *items;   /* one per source tensor, in the source's order */
    size_t n;
    int nshards;
    char **mods;        /* the compressed modules (quantization_config), sorted */
    size_t nmods;
    uint64_t total_src; /* source bytes (the progress total) */
} compress_plan;

/* Route every tensor of m (tie: config.json's tie_word_embeddings), note
 * the deviations from 0.3.3, and cut the output into shards of at most
 * o->max_shard_bytes estimated bytes. */
void compress_plan_build(const hx_st_model *m, int tie, const hxq_options *o, compress_plan *p);
void compress_plan_free(compress_plan *p);

/* ---------------------------------------------------------- shards.c */
/* Write output shard `shard` of the plan to path (atomically): tensors
 * encoded (several small ones at a time) or copied, a report per tensor
 * appended to rep and to state_tensors; *shard_bytes is its size. */
hx_status compress_write_shard(const char *path, const compress_plan *p, int shard,
                               const hxq_options *o, hx_progress *prog, hxq_report *rep,
                               cJSON *state_tensors, uint64_t *shard_bytes);
/* Add the tensors of the shard file at path (named fname) to the weight
 * map of the shard index; *data_total counts their bytes. */
hx_status compress_index_add(cJSON *wmap, const char *path, const char *fname,
                             uint64_t *data_total);
/* Write OUT_DIR/model.safetensors.index.json (takes wmap). */
hx_status compress_index_write(const char *out_dir, cJSON *wmap, uint64_t data_total);
/* Remove a stale single-file output when sharded, the stale index when
 * not, so that neither shadows the other. */
void compress_remove_stale(const char *out_dir, int nshards);

/* ---------------------------------------------------------- resume.c */
/* {"fingerprint": "...", "shards": {file: {"tensors": [...], "bytes": n}}} */
typedef struct {
    cJSON *root;
} compress_state;

/* SHA-256 hex of the codec version, the options and the source tensors. */
void compress_fingerprint(const hx_st_model *m, const hxq_options *o, char hex[65]);
/* A fresh state for fingerprint fp. */
void compress_state_new(compress_state *s, const char *fp);
/* The state a previous run left in out_dir when its fingerprint is fp,
 * else a fresh one. */
void compress_state_load(const char *out_dir, const char *fp, compress_state *s);
hx_status compress_state_save(const char *out_dir, const compress_state *s);
/* 1 when shard fname (written at path) was completed by an earlier run:
 * its tensor reports are appended to rep and *bytes is its size; else 0
 * (and a stale record of it is dropped). */
int compress_state_resume(compress_state *s, const char *fname, const char *path,
                          hxq_report *rep, uint64_t *bytes);
/* Record shard fname as complete (entry: its "tensors"; takes entry), and
 * save the state. */
hx_status compress_state_record(const char *out_dir, compress_state *s, const char *fname,
                                cJSON *entry, uint64_t bytes);
/* One writer per output directory: lock OUT_DIR/.hxq-lock, remove the temp
 * files an interrupted run left. */
hx_status compress_lock(const char *out_dir, int *fd_out);
/* Done: remove the state and the lock file. */
void compress_state_remove(const char *out_dir);

/* ---------------------------------------------------------- config.c */
/* SRC_DIR/config.json (Python's JSON tokens accepted), an object. */
hx_status compress_read_config(const char *dir, cJSON **out);
/* OUT_DIR/config.json: cfg with the quantization_config of the output. */
hx_status compress_write_config(const char *out_dir, cJSON *cfg, const hxq_options *o,
                                char **mods, size_t nmods);
/* Copy the tokenizer, generation and licence files of src into dst. */
hx_status compress_copy_aux(const char *src, const char *dst);

/* --------------------------------------------------------- receipt.c */
/* One tensor's report as JSON (state file and receipt), and back. */
cJSON *compress_tensor_json(const hxq_tensor_report *t);
int compress_tensor_from_json(const cJSON *o, hxq_tensor_report *t);
void compress_report_add(hxq_report *r, const hxq_tensor_report *t);
/* Totals of the report (bytes, parameters, cosines) from its tensors. */
void compress_report_totals(hxq_report *r);
/* OUT_DIR/hxq_receipt.json (hxq_report_json). */
hx_status compress_write_receipt(const char *out_dir, const hxq_report *r, const hxq_options *o,
                                 const char *src_dir);

#endif

/* compress.h - the model-directory pipeline (hxzoo compress): public API
 * of compress/.
 *
 * hxq_compress turns SRC_DIR (config.json + dense safetensors, single or
 * sharded) into OUT_DIR in the HXQ layout helix-substrate 0.3.3 loads,
 * encoding each compressed tensor with codec/encoder/encoder.h, and
 * reports per tensor (hxq_report; the receipt hxq_receipt.json is
 * hxq_report_json). */
#ifndef HX_COMPRESS_H
#define HX_COMPRESS_H

#include "codec/encoder/encoder.h"
#include "codec/hxq.h"

typedef struct hxq_options {
    hxq_params params;
    int exact_f16;            /* store exact tensors as F16 like 0.3.3 */
    uint64_t max_shard_bytes; /* shard the output above this (0 = never) */
    int json;                 /* machine-readable summary on stdout */
    int force;                /* ignore a previous partial run */
    const char *quant_method; /* "hxq" (default), "helix" or "cdna_v3" */
    const char *command_line; /* recorded in the receipt */
} hxq_options;

void hxq_options_default(hxq_options *o);

typedef struct hxq_tensor_report {
    char *name;
    hxq_route route;
    hxq_class cls;
    hx_dtype src_dtype;
    int64_t rows, cols;          /* the first two dimensions (cols -1 for 1-D) */
    int ndim;                    /* the whole shape, e.g. a conv1d kernel [C, 1, K] */
    int64_t shape[HX_ST_MAX_DIMS];
    uint64_t nelem;              /* product of the shape */
    uint64_t src_bytes, out_bytes;
    hxq_stats stats; /* compressed tensors only */
} hxq_tensor_report;

typedef struct hxq_report {
    hxq_tensor_report *t;
    size_t n;
    uint64_t src_bytes, out_bytes;
    uint64_t compressed_params, exact_params;
    double seconds;
    uint64_t peak_rss;
    int shards;
    double min_cosine, mean_cosine;
} hxq_report;

/* Compress SRC_DIR (config.json + safetensors) into OUT_DIR. Resumable: an
 * interrupted run continues at the first unfinished shard. Writes
 * config.json (with quantization_config), the weights, copied tokenizer and
 * generation files, and hxq_receipt.json. */
hx_status hxq_compress(const char *src_dir, const char *out_dir, const hxq_options *o,
                       hxq_report *rep);
void hxq_report_free(hxq_report *r);
/* The receipt as JSON text (caller frees). */
char *hxq_report_json(const hxq_report *r, const hxq_options *o, const char *src_dir);

#endif

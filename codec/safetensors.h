/* safetensors.h - read and write safetensors files.
 *
 * Reader: a file is mmap'd read-only; its header is parsed and validated
 * (JSON, dtypes, shapes vs byte sizes, offsets in bounds, no overlaps, size
 * limits) before any tensor is handed out. A "model" is a directory holding
 * either model.safetensors or model.safetensors.index.json + shards, seen
 * as one tensor namespace. Tensor data pointers stay valid until close and
 * may be unaligned.
 *
 * Writer: streaming. Tensors are appended one after the other (their data
 * written in any number of pieces); the header, whose size the caller
 * bounds up front, is written last into reserved space at the start of the
 * file and padded with spaces (allowed by the format). The file appears
 * under its final name only on a successful finish (temp + fsync + rename).
 */
#ifndef HX_SAFETENSORS_H
#define HX_SAFETENSORS_H

#include "codec/dtype.h"
#include "common/hx.h"

#define HX_ST_MAX_DIMS 8
/* Headers larger than this are refused (the reference library's limit). */
#define HX_ST_MAX_HEADER (100u * 1024u * 1024u)

typedef struct hx_st_tensor {
    char *name;
    hx_dtype dtype;
    int ndim;
    int64_t shape[HX_ST_MAX_DIMS];
    uint64_t nelem;
    uint64_t nbytes;
    uint64_t offset;  /* absolute file offset of the data */
    const void *data; /* into the mapping; possibly unaligned */
    int shard;        /* index of the file within a model */
} hx_st_tensor;

typedef struct hx_st_file hx_st_file;

hx_status hx_st_open(const char *path, hx_st_file **out);
void hx_st_close(hx_st_file *f); /* NULL ok */
size_t hx_st_count(const hx_st_file *f);
const hx_st_tensor *hx_st_at(const hx_st_file *f, size_t i);
const hx_st_tensor *hx_st_find(const hx_st_file *f, const char *name);
/* Value of a __metadata__ string entry, or NULL. */
const char *hx_st_meta(const hx_st_file *f, const char *key);
const char *hx_st_path(const hx_st_file *f);
uint64_t hx_st_file_size(const hx_st_file *f);

/* Parse and validate a header given as bytes (used by the reader and by
 * hub code that fetches only a file's first bytes). file_size is the total
 * size of the file the header belongs to (0 = unknown: skip the end check).
 * On success *out is a file object without data pointers. */
hx_status hx_st_parse_header(const char *what, const void *hdr, uint64_t hdr_len,
                             uint64_t file_size, hx_st_file **out);

/* ---- model directories (single file or sharded) ---- */
typedef struct hx_st_model hx_st_model;

hx_status hx_st_model_open(const char *dir, hx_st_model **out);
void hx_st_model_close(hx_st_model *m);
size_t hx_st_model_count(const hx_st_model *m);
/* Tensors in name order. */
const hx_st_tensor *hx_st_model_at(const hx_st_model *m, size_t i);
const hx_st_tensor *hx_st_model_find(const hx_st_model *m, const char *name);
size_t hx_st_model_nshards(const hx_st_model *m);
const hx_st_file *hx_st_model_shard(const hx_st_model *m, size_t i);
/* Tell the kernel the pages of a tensor are no longer needed (keeps the
 * resident set small while streaming through a large model). */
void hx_st_release(const hx_st_tensor *t);

/* Map a tensor's pages in one go before a full scan (fewer page faults;
 * reads ahead if the file is not cached). */
void hx_st_prefetch(const hx_st_tensor *t);

/* Read tensor t as F32 into dst (t->nelem floats). Float dtypes only. */
hx_status hx_st_read_f32(const hx_st_tensor *t, float *dst);

/* ---- writer ---- */
typedef struct hx_st_writer hx_st_writer;

/* Upper bound of the header bytes one tensor entry needs. */
size_t hx_st_header_bound(const char *name, int ndim);

/* header_reserve: bound on the whole header (sum of hx_st_header_bound over
 * the tensors + metadata + 64). */
hx_status hx_st_writer_open(const char *path, size_t header_reserve, hx_st_writer **out);
/* Metadata string entry (optional). */
hx_status hx_st_writer_meta(hx_st_writer *w, const char *key, const char *value);
/* Start a tensor; then hx_st_writer_data() exactly its byte size. */
hx_status hx_st_writer_begin(hx_st_writer *w, const char *name, hx_dtype dt, int ndim,
                             const int64_t *shape);
hx_status hx_st_writer_data(hx_st_writer *w, const void *buf, size_t n);
/* Whole tensor in one call. */
hx_status hx_st_writer_add(hx_st_writer *w, const char *name, hx_dtype dt, int ndim,
                           const int64_t *shape, const void *data);
/* Write the header, fsync, rename. Frees w in every case. */
hx_status hx_st_writer_finish(hx_st_writer *w);
/* Discard everything (temp file removed). NULL ok. */
void hx_st_writer_abort(hx_st_writer *w);
uint64_t hx_st_writer_bytes(const hx_st_writer *w);

#endif

/* fuzz_st_header.c - a whole safetensors file (u64 header length, JSON
 * header, data) into codec/st_read.c: written to a scratch file and opened
 * with hx_st_open (mmap, length checks, header validation), every tensor
 * looked up by name, its metadata read and, for float tensors of up to 64K
 * elements, its data converted with hx_st_read_f32 (touching every byte the
 * header claims); the header bytes also go to hx_st_parse_header directly,
 * with and without a file size (the hub's range-read path). */
#include "codec/safetensors.h"
#include "tests/fuzz/util.h"

#include <stdlib.h>
#include <string.h>

static volatile unsigned sink; /* keeps the byte reads */

static void walk(const hx_st_file *f)
{
    for (size_t i = 0; i < hx_st_count(f); i++) {
        const hx_st_tensor *t = hx_st_at(f, i);
        if (hx_st_find(f, t->name) != t)
            abort(); /* names are unique and sorted */
        if (t->data && t->nelem <= 65536 && hx_dtype_is_float(t->dtype)) {
            float *dst = malloc((t->nelem ? t->nelem : 1) * sizeof *dst);
            hx_st_read_f32(t, dst);
            free(dst);
        } else if (t->data && t->nbytes <= (1u << 20)) {
            for (uint64_t k = 0; k < t->nbytes; k++)
                sink += ((const unsigned char *)t->data)[k];
        }
    }
    hx_st_meta(f, "format");
    hx_st_find(f, "");
    hx_st_at(f, hx_st_count(f));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    char *p = fz_write("model.safetensors", data, size);
    hx_st_file *f = NULL;
    if (p && hx_st_open(p, &f) == HX_OK) {
        walk(f);
        hx_st_close(f);
    }
    free(p);
    if (size > 8) {
        if (hx_st_parse_header("fuzz", data + 8, size - 8, size, &f) == HX_OK) {
            walk(f);
            hx_st_close(f);
        }
        if (hx_st_parse_header("fuzz", data + 8, size - 8, 0, &f) == HX_OK) {
            walk(f);
            hx_st_close(f);
        }
    }
    hx_clearerr();
    return 0;
}

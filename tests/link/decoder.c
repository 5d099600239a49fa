/* decoder.c - the HXQ decoder linked alone (Makefile "link-check"): loads
 * one weight of an HXQ (or dense) model directory as float32 and prints its
 * shape and the SHA-256 of the floats. Linked without the encoder, the
 * model-directory pipeline and the Hub (tests/integration/link_split.sh). */
#include "codec/hxq.h"
#include "common/hash.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: link-decoder MODEL_DIR WEIGHT\n");
        return 2;
    }
    hx_st_model *m;
    hx_status st = hx_st_model_open(argv[1], &m);
    float *w = NULL;
    int64_t shape[HX_ST_MAX_DIMS];
    int ndim = 0;
    if (!st)
        st = hxq_load_f32(m, argv[2], &w, shape, &ndim);
    if (st) {
        fprintf(stderr, "link-decoder: %s\n", hx_lasterr());
        return st;
    }
    uint64_t n = 1;
    printf("shape");
    for (int d = 0; d < ndim; d++) {
        printf(" %" PRId64, shape[d]);
        n *= (uint64_t)shape[d];
    }
    char hex[65];
    hx_sha256_hex(w, n * sizeof(float), hex);
    printf("\nsha256 %s\n", hex);
    free(w);
    hx_st_model_close(m);
    return 0;
}

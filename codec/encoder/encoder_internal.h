/* encoder_internal.h - inside codec/encoder/ (and for the tests only): the
 * scalar quantizer's fit functions (quant.c) that encode.c drives, and the
 * encoder's test hooks. Nothing outside codec/encoder/ and tests/ includes
 * it; the public API is encoder.h. */
#ifndef HX_ENCODER_INTERNAL_H
#define HX_ENCODER_INTERNAL_H

#include "codec/encoder/encoder.h"

#include <stddef.h>

/* ---------------------------------------------------------------- fit */
/* A group of values of a tensor, in ascending value order: w elements whose
 * values sum to s1 and whose squares sum to s2 (after subtracting the
 * shift used by the fitter, see quant.c). For BF16/F16 sources each point is
 * one distinct value. */
typedef struct hxq_point {
    double w, s1, s2;
    double v; /* representative value: s1/w */
} hxq_point;

/* Exact optimal k-level quantizer of the points (1-D k-means, dynamic
 * programming, SMAWK per row): O(k n). Writes up to k
 * centroids (ascending) and returns how many were used (< k only when
 * there are fewer points). starts[j] = first point of cluster j (may be
 * NULL). Returns -1 on allocation failure. */
int hxq_fit_exact(const hxq_point *p, size_t n, int k, double *cent, size_t *starts);
/* Fast near-optimal fit: companded initialisation, up to max_iter Lloyd
 * steps, then the windowed exact DP refinement (see quant.c). Same outputs
 * as hxq_fit_exact. */
int hxq_fit_fast(const hxq_point *p, size_t n, int k, int max_iter, double *cent, size_t *starts);
/* Warm-started fit: start from the runs of the given sorted centroids and
 * run the windowed exact refinement (+-win points); cent is updated. */
int hxq_fit_warm(const hxq_point *p, size_t n, int k, double *cent, size_t win);
/* Same, with each boundary's window reaching the boundaries `reach`
 * clusters away on either side (a window in clusters, not points: for fine
 * point sets whose density in value varies, e.g. F32 buckets). */
int hxq_fit_refine(const hxq_point *p, size_t n, int k, double *cent, int reach);
/* Sum of squared errors of the points against sorted centroids with the
 * nearest-centroid (lowest index on ties) assignment. */
double hxq_points_sse(const hxq_point *p, size_t n, const double *cent, int k);

/* ---------------------------------------------------------- test hooks */
/* Fault injection for the tests (tests/unit/test_codec.c): nonzero makes
 * every codebook fit report failure (its out-of-memory path); the counts
 * of index-buffer threads the encoder started and that have finished. */
extern int hxq_fault_fit;
extern unsigned hxq_idx_threads_started, hxq_idx_threads_done;

#endif

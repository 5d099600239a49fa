/* blas.h - the BLAS the forward pass uses, loaded on first use.
 *
 * OpenBLAS is opened with dlopen when a model is loaded, not linked into
 * the binary: its pthread build starts a thread pool at load time whose
 * idle spinning (sched_yield) would take a core from every hxzoo command,
 * compress included. It is opened with OPENBLAS_NUM_THREADS=1 (unless the
 * user set it): our own threads split the work and call sgemm
 * concurrently, which the threaded build allows and the serial one does
 * not. */
#ifndef HX_BLAS_H
#define HX_BLAS_H

#include "common/hx.h"

#include <cblas.h>

/* Open the library (once; thread-safe). Clear error if it is missing. */
hx_status hx_blas_init(void);

/* cblas_sgemm through the loaded library; hx_blas_init must have succeeded. */
void hx_sgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k,
              float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c,
              int ldc);

#endif

/* blas.c - OpenBLAS through dlopen (see blas.h for why). */
#include "model/blas.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

typedef void (*sgemm_fn)(CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, blasint, blasint, blasint,
                         float, const float *, blasint, const float *, blasint, float, float *,
                         blasint);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static sgemm_fn p_sgemm;
static char err[512];

static void open_blas(void)
{
    /* one OpenBLAS thread: our workers call sgemm concurrently */
    setenv("OPENBLAS_NUM_THREADS", "1", 0);
    static const char *const names[] = {"libopenblas.so.0", "libopenblas.so", NULL};
    void *h = NULL;
    for (int i = 0; names[i] && !h; i++)
        h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, sizeof err, "cannot load OpenBLAS (libopenblas.so.0): %s", dlerror());
        return;
    }
    p_sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
    if (!p_sgemm)
        snprintf(err, sizeof err, "OpenBLAS has no cblas_sgemm");
}

hx_status hx_blas_init(void)
{
    pthread_once(&once, open_blas);
    if (!p_sgemm)
        return HX_FAIL(HX_EIO, "%s (install libopenblas0)", err);
    return HX_OK;
}

void hx_sgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k,
              float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c,
              int ldc)
{
    p_sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

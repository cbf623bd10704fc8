// OpenBLAS from Debian's libopenblas-dev; pkg-config `openblas` adds its include folder.
#include <cblas.h>
// Not in every cblas.h: OpenBLAS's own thread controls (used by Kernels/Parallel/Threading.swift).
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
// Name of the kernel set OpenBLAS chose for this CPU (e.g. "SkylakeX", or "Prescott" when a
// build predates the CPU and falls back to generic kernels).
char *openblas_get_corename(void);
// LAPACK's single-precision SVD (column-major), which OpenBLAS builds in.
void sgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, float *a, const int *lda, float *s,
             float *u, const int *ldu, float *vt, const int *ldvt, float *work, const int *lwork, int *info);

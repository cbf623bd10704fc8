// bf16 GEMMs through oneDNN (libdnnl), the library PyTorch's CPU bf16 path uses: it picks AMX tiles
// or AVX512-BF16 by itself. Built against oneDNN when Package.swift finds its headers (scripts/setup.sh
// installs libdnnl-dev); otherwise every entry point reports it is unavailable and Kernels keeps fp32.
#ifndef DNNLBRIDGE_H
#define DNNLBRIDGE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this build links oneDNN, else 0.
int sa_dnnl_linked(void);

/// The instruction set oneDNN will use on this CPU, as its name (e.g. "avx512_core_bf16",
/// "avx512_core_amx"), or "none" without oneDNN.
const char *sa_dnnl_isa(void);

/// oneDNN's version "major.minor.patch", or "none".
const char *sa_dnnl_version(void);

/// Row-major `C[m, n] = op(A)[m, k] · op(B)[k, n] (+ bias[n] when not NULL) (+ C when accumulate)`, A and B in
/// bf16, C and bias fp32, accumulation in fp32. transA/transB: 0 = as stored, 1 = transposed (A stored `[k, m]`,
/// B `[n, k]`).
/// Runs on the calling thread only (the caller splits the work over its own workers).
/// Returns 0 on success, else oneDNN's status code (C is then unspecified).
int sa_dnnl_gemm_bf16(int transA, int transB, int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda,
                      const uint16_t *b, int64_t ldb, const float *bias, int accumulate, float *c, int64_t ldc);

#ifdef __cplusplus
}
#endif

#endif

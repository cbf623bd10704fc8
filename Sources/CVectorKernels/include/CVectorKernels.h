// Inner loops of SwiftAdapters' element-wise kernels, compiled once per instruction set.
//
// Swift compiles for the baseline x86-64 CPU (SSE2) unless given unsafe flags, which would stop
// other packages from depending on ours; its SIMD16<Float> then becomes four 128-bit operations.
// These few loops are where that costs (GELU, softmax, tanh, LayerNorm, dropout and the batch-1
// GEMM), so they live here, compiled on x86-64 Linux for AVX-512, AVX2 and baseline x86-64; the
// first call picks the copy for the CPU it runs on. Elsewhere they are plain portable C. All take
// raw pointers and lengths; the Swift `Kernels` target owns threading and shapes.
#ifndef CVECTORKERNELS_H
#define CVECTORKERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// GELU forms: 0 = exact erf (BERT `gelu`), 1 = tanh approximation (`gelu_new`).
void sa_gelu_forward(int form, float *out, const float *x, size_t n);
/// dx = dout * gelu'(x), or dx += … when accumulate != 0.
void sa_gelu_backward(int form, float *dx, const float *dout, const float *x, size_t n, int accumulate);
/// out = softmax(scale * x) over one row of n; out may equal x.
void sa_softmax_row(float *out, const float *x, size_t n, float scale);
/// sa_softmax_row in place on `p` (scale as there), then `dropped` = bf16 of the row after dropout with
/// rate `drop` (element i kept when the counter stream (seed, offset + i) draws ≥ drop, as sa_dropout;
/// 0: none), and `probs16` (optional) = bf16 of the row before dropout: bit for bit sa_softmax_row,
/// sa_dropout and sa_f32_to_bf16 in turn, in fewer passes.
void sa_softmax_dropout_bf16_row(float *p, unsigned short *dropped, unsigned short *probs16, size_t n, float scale,
                                 float drop, unsigned long long seed, unsigned long long offset);
/// dx = p * (dout - <p, dout>) * scale over one row; dx may equal dout.
void sa_softmax_row_backward(float *dx, const float *dout, const float *p, size_t n, float scale);
/// out = tanh(x).
void sa_tanh_forward(float *out, const float *x, size_t n);
/// Inverted dropout with counter-based randomness, identical to Swift's `CounterRNG`: element i is
/// kept when uniform(seed, offset + i) >= p, then scaled by 1/(1-p); out may equal x.
/// With accumulate != 0, out += result. (Used for the backward pass too: same mask.)
void sa_dropout(float *out, const float *x, size_t n, float p, unsigned long long seed, unsigned long long offset,
                int accumulate);
/// LayerNorm over rows of c: out = (s - mean) * rstd * gamma + beta with s = x (+ residual).
/// sum (optional) receives s; mean and rstd (optional) the row statistics. out may equal x.
void sa_layernorm_forward(float *out, const float *x, const float *residual, float *sum, const float *gamma,
                          const float *beta, float *mean, float *rstd, size_t rows, size_t c, float eps);
/// Backward of sa_layernorm_forward from its input x (= s): dx = rstd * (g - mean(g) - n * mean(g * n)),
/// g = dout * gamma, n = (x - mean) * rstd; dx overwritten (or added to when accumulate != 0; dx may
/// equal dout only when accumulate == 0). dgamma/dbeta (optional) accumulate sum(dout * n), sum(dout).
void sa_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dout, const float *x, const float *gamma,
                           const float *mean, const float *rstd, size_t rows, size_t c, int accumulate);
/// Element-wise exp and erf (exposed for accuracy tests).
void sa_exp(float *out, const float *x, size_t n);
void sa_erf(float *out, const float *x, size_t n);
/// xt[p * 16 + i] = X[i, p] for i < m (≤ 16), 0 for m ≤ i < 16: X `[m, k]` (ldx) transposed and
/// padded to 16 lanes, the layout sa_skinny_gemm reads. xt holds k·16 floats.
void sa_pack_transposed16(size_t m, size_t k, const float *x, size_t ldx, float *xt);
/// C[0:m, n0:n1] = (C when accumulate != 0) + bias[n0:n1] (when not NULL) + X·W[n0:n1, :]ᵀ for m ≤ 16
/// rows of X given packed (sa_pack_transposed16); W `[n, k]` row-major (ldw), bias `[n]`, C `[m, n]`
/// (ldc). Reads each weight once.
/// sa_skinny_gemm with W in bf16 (`[n, k]` row-major, ldw in elements): the weights are widened
/// exactly to fp32 in L1-sized tiles, the arithmetic is the fp32 kernel's.
void sa_skinny_gemm_bf16(size_t m, size_t n0, size_t n1, size_t k, const float *xt, const unsigned short *w, size_t ldw,
                         const float *bias, float *c, size_t ldc, int accumulate);
/// Whether sa_skinny_gemm_bf16_dot can run (the CPU has AVX512-BF16).
int sa_skinny_bf16_dot_available(void);
/// sa_pack_transposed16's xt `[k][16]` → bf16 pairs `[(k+1)/2][16]` (32-bit each: X[i,2q] low, X[i,2q+1] high).
void sa_pack_pairs_bf16(size_t k, const float *xt, unsigned int *xb);
/// sa_skinny_gemm with bf16 weights through `vdpbf16ps` (X rounded to bf16 pairs by sa_pack_pairs_bf16).
void sa_skinny_gemm_bf16_dot(size_t m, size_t n0, size_t n1, size_t k, const unsigned int *xb, const unsigned short *w,
                             size_t ldw, const float *bias, float *c, size_t ldc, int accumulate);
/// Attention dropout's backward from the kept bf16 probabilities: dp[i] *= keep where kept[i] ≠ 0 or
/// p[i] = 0 (a dropped probability is 0; so is a kept one whose probability is 0, whose gradient is then
/// multiplied by 0 anyway), else dp[i] = 0.
void sa_bf16_dropout_mask(float *dp, const unsigned short *kept, const float *p, size_t n, float keep);
/// sa_f32_to_bf16 over `rows` rows of `cols` floats (x: rows ldx apart; out: ldo apart).
void sa_f32_to_bf16_rows(size_t rows, size_t cols, const float *x, size_t ldx, unsigned short *out, size_t ldo);
/// Packs op(B) `[k, n]` for sa_small_gemm_bf16 from S stored row-major `[k, n]` (lds elements): pairs
/// along k, out[q·np + j] = S[2q, j] (low half) | S[2q+1, j] (high half, 0 past k), np = n rounded up to
/// 16 (zeros past n). out holds ((k+1)/2)·np words. The same layout packs a transposed A (see below).
void sa_pack_pairs_bf16_rows(size_t k, size_t n, const unsigned short *s, size_t lds, unsigned int *out);
/// The same from S stored row-major `[n, k]` (op(B) = Sᵀ): out[q·np + j] = S[j, 2q] | S[j, 2q+1] << 16.
void sa_pack_pairs_transposed_bf16(size_t k, size_t n, const unsigned short *s, size_t lds, unsigned int *out);
/// C[m, n] (ldc) = (C when accumulate) + A·B, bf16 operands, fp32 accumulation (`vdpbf16ps` where the CPU
/// has AVX512-BF16, else the same products widened to fp32). B packed by one of the two functions above.
/// A is read in pairs along k: A[i, 2q] at a + i·rs + q·ps and A[i, 2q+1] right after it (elements), so
/// a row-major A `[m, k]` is (rs = lda, ps = 2) and an A packed by sa_pack_pairs_bf16_rows(k, m, …)
/// (a transposed one) is (rs = 2, ps = 2·mp). For odd k the last pair's second half is not read.
void sa_small_gemm_bf16(size_t m, size_t n, size_t k, const unsigned short *a, size_t rs, size_t ps,
                        const unsigned int *bp, float *c, size_t ldc, int accumulate);
/// fp32 → bf16, round to nearest even, NaN kept NaN.
void sa_f32_to_bf16(const float *x, unsigned short *out, size_t n);
/// bf16 → fp32 (exact).
void sa_bf16_to_f32(const unsigned short *x, float *out, size_t n);
/// bf16 hardware this CPU and OS offer: bit 0 AVX512-BF16, bit 1 AMX-BF16 (0 elsewhere).
int sa_cpu_bf16_features(void);
void sa_skinny_gemm(size_t m, size_t n0, size_t n1, size_t k, const float *xt, const float *w, size_t ldw,
                    const float *bias, float *c, size_t ldc, int accumulate);

#ifdef __cplusplus
}
#endif

#endif

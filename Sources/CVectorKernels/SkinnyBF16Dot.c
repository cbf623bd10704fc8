// The batch-1 GEMM on CPUs with AVX512-BF16: one `vdpbf16ps` multiplies a pair of bf16 weights
// (broadcast straight from the weight row) by a pair of bf16 X columns in every lane and adds both
// products into fp32, so each instruction advances 16 rows of X by two weights. The widening kernel
// (sa_skinny_gemm_bf16) spends a shift and an FMA per weight and ran slower than the fp32 kernel
// streaming twice the bytes; this one is bound by the weight stream again. X is rounded to bf16
// (as oneDNN's bf16 GEMMs round it), accumulation is fp32.
#include "CVectorKernels.h"

#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

#define SA_BF16DP_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"), min_vector_width(512)))

// xt (sa_pack_transposed16's layout, [k][16] fp32) → xb [(k+1)/2][16] pairs of bf16: lane i of pair q
// holds X[i, 2q] in its low half and X[i, 2q+1] (0 past k) in its high half.
SA_BF16DP_TARGET static void pack_pairs(size_t k, const float *xt, unsigned int *xb) {
    size_t q = 0;
    for (; 2 * q + 1 < k; q++) {
        __m512 lo = _mm512_loadu_ps(xt + 2 * q * 16), hi = _mm512_loadu_ps(xt + (2 * q + 1) * 16);
        // cvtne2ps2bf16(a, b): the low 16 results from b, the high 16 from a; interleave to pairs.
        __m512bh both = _mm512_cvtne2ps_pbh(hi, lo);
        __m512i v = (__m512i)both;
        __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20,
                                       4, 19, 3, 18, 2, 17, 1, 16, 0);
        _mm512_storeu_si512(xb + q * 16, _mm512_permutexvar_epi16(idx, v));
    }
    if (q * 2 < k) {
        __m512 lo = _mm512_loadu_ps(xt + 2 * q * 16);
        __m512bh both = _mm512_cvtne2ps_pbh(_mm512_setzero_ps(), lo);
        __m512i v = (__m512i)both;
        __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20,
                                       4, 19, 3, 18, 2, 17, 1, 16, 0);
        _mm512_storeu_si512(xb + q * 16, _mm512_permutexvar_epi16(idx, v));
    }
}

static inline unsigned int weight_pair(const unsigned short *row, size_t p, size_t k) {
    unsigned int lo = row[p], hi = p + 1 < k ? row[p + 1] : 0;
    return lo | (hi << 16);
}

#define DP_ROW(j) const unsigned short *r##j = w + col[j] * ldw;
#define DP_STEP(j, acc, q) acc##j = _mm512_dpbf16_ps(acc##j, x, (__m512bh)_mm512_set1_epi32((int)wp(r##j, 2 * (q))));
#ifndef SA_DOT_PREFETCH_LINES
#define SA_DOT_PREFETCH_LINES 12
#endif
#define DP_PREFETCH(j) _mm_prefetch((const char *)(r##j + 2 * q) + SA_DOT_PREFETCH_LINES * 64, _MM_HINT_T0);

SA_BF16DP_TARGET static void kernel(size_t m, size_t n0, size_t n1, size_t k, const unsigned int *xb, const unsigned short *w,
                                    size_t ldw, const float *bias, float *c, size_t ldc, int accumulate) {
    size_t pairs = (k + 1) / 2;
    size_t full = k / 2;  // pairs read as one 32-bit load (both halves inside the row)
    size_t streamRows = (n1 - n0) / 8;
    size_t tail = (n1 - n0) % 8;
    for (size_t block = 0; block < streamRows + (tail ? 1 : 0); block++) {
        size_t col[8];
        size_t nb = block < streamRows ? 8 : tail;
        for (size_t j = 0; j < 8; j++)
            col[j] = block < streamRows ? n0 + j * streamRows + block : n0 + 8 * streamRows + (j < nb ? j : nb - 1);
        DP_ROW(0) DP_ROW(1) DP_ROW(2) DP_ROW(3) DP_ROW(4) DP_ROW(5) DP_ROW(6) DP_ROW(7)
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        __m512 b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
        size_t q = 0;
#define wp(r, p) (*(const unsigned int *)((r) + (p)))
        for (; q + 2 <= full; q += 2) {
            if ((q & 15) == 0) { DP_PREFETCH(0) DP_PREFETCH(1) DP_PREFETCH(2) DP_PREFETCH(3) DP_PREFETCH(4) DP_PREFETCH(5) DP_PREFETCH(6) DP_PREFETCH(7) }
            __m512 xf = _mm512_loadu_ps((const float *)(xb + q * 16));
            __m512bh x = (__m512bh)xf;
            DP_STEP(0, a, q) DP_STEP(1, a, q) DP_STEP(2, a, q) DP_STEP(3, a, q)
            DP_STEP(4, a, q) DP_STEP(5, a, q) DP_STEP(6, a, q) DP_STEP(7, a, q)
            xf = _mm512_loadu_ps((const float *)(xb + (q + 1) * 16));
            x = (__m512bh)xf;
            DP_STEP(0, b, q + 1) DP_STEP(1, b, q + 1) DP_STEP(2, b, q + 1) DP_STEP(3, b, q + 1)
            DP_STEP(4, b, q + 1) DP_STEP(5, b, q + 1) DP_STEP(6, b, q + 1) DP_STEP(7, b, q + 1)
        }
#undef wp
#define wp(r, p) weight_pair((r), (p), k)
        for (; q < pairs; q++) {
            __m512 xf = _mm512_loadu_ps((const float *)(xb + q * 16));
            __m512bh x = (__m512bh)xf;
            DP_STEP(0, a, q) DP_STEP(1, a, q) DP_STEP(2, a, q) DP_STEP(3, a, q)
            DP_STEP(4, a, q) DP_STEP(5, a, q) DP_STEP(6, a, q) DP_STEP(7, a, q)
        }
#undef wp
        float t[8][16];
        _mm512_storeu_ps(t[0], _mm512_add_ps(a0, b0));
        _mm512_storeu_ps(t[1], _mm512_add_ps(a1, b1));
        _mm512_storeu_ps(t[2], _mm512_add_ps(a2, b2));
        _mm512_storeu_ps(t[3], _mm512_add_ps(a3, b3));
        _mm512_storeu_ps(t[4], _mm512_add_ps(a4, b4));
        _mm512_storeu_ps(t[5], _mm512_add_ps(a5, b5));
        _mm512_storeu_ps(t[6], _mm512_add_ps(a6, b6));
        _mm512_storeu_ps(t[7], _mm512_add_ps(a7, b7));
        for (size_t i = 0; i < m; i++) {
            float *o = c + i * ldc;
            for (size_t j = 0; j < nb; j++) {
                size_t n = col[j];
                float base = accumulate ? o[n] : 0;
                if (bias) base += bias[n];
                o[n] = accumulate || bias ? base + t[j][i] : t[j][i];
            }
        }
    }
}

int sa_skinny_bf16_dot_available(void) { return (sa_cpu_bf16_features() & 1) != 0; }

void sa_pack_pairs_bf16(size_t k, const float *xt, unsigned int *xb) { pack_pairs(k, xt, xb); }

void sa_skinny_gemm_bf16_dot(size_t m, size_t n0, size_t n1, size_t k, const unsigned int *xb, const unsigned short *w,
                             size_t ldw, const float *bias, float *c, size_t ldc, int accumulate) {
    kernel(m, n0, n1, k, xb, w, ldw, bias, c, ldc, accumulate);
}
#else
int sa_skinny_bf16_dot_available(void) { return 0; }
void sa_pack_pairs_bf16(size_t k, const float *xt, unsigned int *xb) { (void)k, (void)xt, (void)xb; }
void sa_skinny_gemm_bf16_dot(size_t m, size_t n0, size_t n1, size_t k, const unsigned int *xb, const unsigned short *w,
                             size_t ldw, const float *bias, float *c, size_t ldc, int accumulate) {
    (void)m, (void)n0, (void)n1, (void)k, (void)xb, (void)w, (void)ldw, (void)bias, (void)c, (void)ldc, (void)accumulate;
}
#endif

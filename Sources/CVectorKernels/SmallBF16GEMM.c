// Small GEMMs with bf16 operands and fp32 accumulation: attention's per-head products in bf16 runs
// ([T, T]·[T, D] and the like, T ≈ 10–512, D = 32–128). oneDNN spends ~1.4 µs on a call whatever its
// size (more than the whole product below T ≈ 40) and a step makes thousands of them; OpenBLAS runs
// them in fp32. Here B is packed once into pairs along k, so that one `vdpbf16ps` multiplies a
// broadcast pair of A by sixteen pairs of B and adds both products into fp32 lanes.
#include "CVectorKernels.h"

#include <string.h>

static inline unsigned int pair_at(const unsigned short *row, size_t p, size_t k) {
    unsigned int lo = row[p], hi = p + 1 < k ? row[p + 1] : 0;
    return lo | (hi << 16);
}

static void pack_rows_portable(size_t k, size_t n, const unsigned short *s, size_t lds, unsigned int *out) {
    size_t np = (n + 15) & ~(size_t)15;
    for (size_t q = 0; 2 * q < k; q++) {
        const unsigned short *r0 = s + 2 * q * lds;
        const unsigned short *r1 = 2 * q + 1 < k ? r0 + lds : NULL;
        unsigned int *o = out + q * np;
        for (size_t j = 0; j < n; j++) o[j] = (unsigned int)r0[j] | (r1 ? (unsigned int)r1[j] << 16 : 0);
        for (size_t j = n; j < np; j++) o[j] = 0;
    }
}

static void pack_transposed_portable(size_t k, size_t n, const unsigned short *s, size_t lds, unsigned int *out) {
    size_t np = (n + 15) & ~(size_t)15;
    size_t pairs = (k + 1) / 2;
    for (size_t j = 0; j < n; j++) {
        const unsigned short *row = s + j * lds;
        for (size_t q = 0; q < pairs; q++) out[q * np + j] = pair_at(row, 2 * q, k);
    }
    for (size_t q = 0; q < pairs; q++)
        for (size_t j = n; j < np; j++) out[q * np + j] = 0;
}

static void gemm_portable(size_t m, size_t n, size_t k, const unsigned short *a, size_t rs, size_t ps,
                          const unsigned int *bp, float *c, size_t ldc, int accumulate) {
    size_t np = (n + 15) & ~(size_t)15;
    size_t pairs = (k + 1) / 2;
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            float sum = 0;
            for (size_t q = 0; q < pairs; q++) {
                const unsigned short *ap = a + i * rs + q * ps;
                unsigned int b = bp[q * np + j];
                unsigned int alo = (unsigned int)ap[0] << 16, blo = b << 16, bhi = b & 0xffff0000u;
                float fa, fb;
                memcpy(&fa, &alo, 4);
                memcpy(&fb, &blo, 4);
                sum += fa * fb;
                if (2 * q + 1 < k) {
                    unsigned int ahi = (unsigned int)ap[1] << 16;
                    memcpy(&fa, &ahi, 4);
                    memcpy(&fb, &bhi, 4);
                    sum += fa * fb;
                }
            }
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
        }
    }
}

static void rows_portable(size_t rows, size_t cols, const float *x, size_t ldx, unsigned short *out, size_t ldo) {
    for (size_t r = 0; r < rows; r++) sa_f32_to_bf16(x + r * ldx, out + r * ldo, cols);
}

static void mask_portable(float *dp, const unsigned short *kept, const float *p, size_t n, float keep) {
    for (size_t i = 0; i < n; i++) dp[i] = (kept[i] & 0x7fffu) != 0 || p[i] == 0 ? dp[i] * keep : 0;
}

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

#define SA_SMALL_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"), min_vector_width(512)))

SA_SMALL_TARGET static void pack_rows_avx512(size_t k, size_t n, const unsigned short *s, size_t lds, unsigned int *out) {
    size_t np = (n + 15) & ~(size_t)15;
    for (size_t q = 0; 2 * q < k; q++) {
        const unsigned short *r0 = s + 2 * q * lds;
        const unsigned short *r1 = 2 * q + 1 < k ? r0 + lds : NULL;
        unsigned int *o = out + q * np;
        for (size_t j = 0; j < np; j += 16) {
            __mmask16 mask = n - j >= 16 ? (__mmask16)0xffff : (n > j ? (__mmask16)((1u << (n - j)) - 1) : 0);
            __m512i lo = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, r0 + j));
            __m512i hi = r1 ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, r1 + j)) : _mm512_setzero_si512();
            _mm512_storeu_si512(o + j, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
        }
    }
}

// sa_f32_to_bf16's rounding (to nearest even, NaN kept NaN), sixteen at a time, for the short rows of one
// head (a call per 32-float row spent more on the call than on the row).
SA_SMALL_TARGET static void rows_avx512(size_t rows, size_t cols, const float *x, size_t ldx, unsigned short *out,
                                        size_t ldo) {
    const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7fff), quiet = _mm512_set1_epi32(0x40);
    const __m512i magnitude = _mm512_set1_epi32(0x7fffffff), infinity = _mm512_set1_epi32(0x7f800000);
    for (size_t r = 0; r < rows; r++) {
        const float *src = x + r * ldx;
        unsigned short *dst = out + r * ldo;
        for (size_t j = 0; j < cols; j += 16) {
            __mmask16 mask = cols - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (cols - j)) - 1);
            __m512i b = _mm512_castps_si512(_mm512_maskz_loadu_ps(mask, src + j));
            __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(b, 16), one);
            __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(b, bias), lsb), 16);
            __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(b, magnitude), infinity);
            __m512i v = _mm512_mask_or_epi32(rounded, nan, _mm512_srli_epi32(b, 16), quiet);
            _mm256_mask_storeu_epi16(dst + j, mask, _mm512_cvtepi32_epi16(v));
        }
    }
}

SA_SMALL_TARGET static void mask_avx512(float *dp, const unsigned short *kept, const float *p, size_t n, float keep) {
    const __m512 scale = _mm512_set1_ps(keep);
    const __m256i magnitude = _mm256_set1_epi16(0x7fff);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 mask = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m256i k = _mm256_and_si256(_mm256_maskz_loadu_epi16(mask, kept + i), magnitude);
        __mmask16 live = _mm256_test_epi16_mask(k, k) | _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(mask, p + i), _mm512_setzero_ps(), _CMP_EQ_OQ);
        __m512 g = _mm512_maskz_mul_ps(live, _mm512_maskz_loadu_ps(mask, dp + i), scale);
        _mm512_mask_storeu_ps(dp + i, mask, g);
    }
}

// r[c] ← column c of the 16 × 16 dword matrix whose row a is r[a].
SA_SMALL_TARGET static inline __attribute__((always_inline)) void transpose16(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    // u[4i + m], 128-bit lane L: column 4L + m of rows 4i … 4i + 3.
    for (int i = 0; i < 4; i++) {
        u[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int m = 0; m < 4; m++) {
        __m512i v1 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0x44), v2 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0xee);
        __m512i w1 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0x44), w2 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0xee);
        r[m] = _mm512_shuffle_i32x4(v1, w1, 0x88);
        r[4 + m] = _mm512_shuffle_i32x4(v1, w1, 0xdd);
        r[8 + m] = _mm512_shuffle_i32x4(v2, w2, 0x88);
        r[12 + m] = _mm512_shuffle_i32x4(v2, w2, 0xdd);
    }
}

// Sixteen rows × sixteen pairs at a time: a row's pairs are consecutive dwords, so the packed block is
// their 16 × 16 dword transpose.
SA_SMALL_TARGET static void pack_transposed_avx512(size_t k, size_t n, const unsigned short *s, size_t lds,
                                                   unsigned int *out) {
    size_t np = (n + 15) & ~(size_t)15;
    size_t full = k / 2;
    for (size_t j0 = 0; j0 < np; j0 += 16) {
        for (size_t q0 = 0; q0 < full; q0 += 16) {
            size_t qn = full - q0 < 16 ? full - q0 : 16;
            __mmask16 qm = qn == 16 ? (__mmask16)0xffff : (__mmask16)((1u << qn) - 1);
            __m512i r[16];
            for (int i = 0; i < 16; i++)
                r[i] = j0 + i < n ? _mm512_maskz_loadu_epi32(qm, s + (j0 + i) * lds + 2 * q0) : _mm512_setzero_si512();
            transpose16(r);
            for (size_t i = 0; i < qn; i++) _mm512_storeu_si512(out + (q0 + i) * np + j0, r[i]);
        }
    }
    if (k & 1)
        for (size_t j = 0; j < np; j++) out[full * np + j] = j < n ? s[j * lds + k - 1] : 0;
}

static inline __attribute__((always_inline)) unsigned int load_pair(const unsigned short *p) {
    unsigned int w;
    memcpy(&w, p, 4);
    return w;
}

// C[mr, 16·nv] block (masks m0, m1 on its two column halves) over all k: mr ≤ 6 rows of A, nv ≤ 2
// vectors of packed B. Constant mr/nv at every call site, so the accumulators live in registers.
SA_SMALL_TARGET static inline __attribute__((always_inline)) void block(
    const int mr, const int nv, size_t k, const unsigned short *a, size_t rs, size_t ps, const unsigned int *bp, size_t np,
    float *c, size_t ldc, __mmask16 m0, __mmask16 m1, int accumulate) {
    __m512 acc[6][2];
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_ps();
    size_t full = k / 2;
    for (size_t q = 0; q < full; q++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp + q * np);
        __m512bh b1 = nv > 1 ? (__m512bh)_mm512_loadu_si512(bp + q * np + 16) : b0;
        for (int r = 0; r < mr; r++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)load_pair(a + r * rs + q * ps));
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            if (nv > 1) acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
    }
    if (k & 1) {
        // The last pair's high half is zero in B; A's is read as zero (it may lie past the row).
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp + full * np);
        __m512bh b1 = nv > 1 ? (__m512bh)_mm512_loadu_si512(bp + full * np + 16) : b0;
        for (int r = 0; r < mr; r++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[r * rs + full * ps]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            if (nv > 1) acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
    }
    for (int r = 0; r < mr; r++) {
        for (int v = 0; v < nv; v++) {
            __mmask16 mask = v == 0 ? m0 : m1;
            float *dst = c + r * ldc + 16 * v;
            __m512 sum = acc[r][v];
            if (accumulate) sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(mask, dst));
            _mm512_mask_storeu_ps(dst, mask, sum);
        }
    }
}

#define SA_BLOCK_CASE(R)                                                                                     \
    case R:                                                                                                  \
        if (nv == 2)                                                                                         \
            block(R, 2, k, a + i * rs, rs, ps, bp + j, np, c + i * ldc + j, ldc, m0, m1, accumulate);         \
        else                                                                                                 \
            block(R, 1, k, a + i * rs, rs, ps, bp + j, np, c + i * ldc + j, ldc, m0, m1, accumulate);         \
        break;

SA_SMALL_TARGET static void gemm_avx512(size_t m, size_t n, size_t k, const unsigned short *a, size_t rs, size_t ps,
                                        const unsigned int *bp, float *c, size_t ldc, int accumulate) {
    size_t np = (n + 15) & ~(size_t)15;
    for (size_t j = 0; j < n; j += 32) {
        size_t rem = n - j;
        int nv = rem > 16 ? 2 : 1;
        __mmask16 m0 = rem >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << rem) - 1);
        __mmask16 m1 = rem >= 32 ? (__mmask16)0xffff : (rem > 16 ? (__mmask16)((1u << (rem - 16)) - 1) : 0);
        for (size_t i = 0; i < m; i += 6) {
            switch (m - i >= 6 ? 6 : (int)(m - i)) {
                SA_BLOCK_CASE(1)
                SA_BLOCK_CASE(2)
                SA_BLOCK_CASE(3)
                SA_BLOCK_CASE(4)
                SA_BLOCK_CASE(5)
                SA_BLOCK_CASE(6)
            }
        }
    }
}

// cpuid traps to the hypervisor on a VM (microseconds): ask once. Racing first calls store the same value.
static int has_bf16_dot(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        v = sa_cpu_bf16_features() & 1;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

void sa_bf16_dropout_mask(float *dp, const unsigned short *kept, const float *p, size_t n, float keep) {
    if (has_bf16_dot()) mask_avx512(dp, kept, p, n, keep);
    else mask_portable(dp, kept, p, n, keep);
}

void sa_pack_pairs_transposed_bf16(size_t k, size_t n, const unsigned short *s, size_t lds, unsigned int *out) {
    if (has_bf16_dot()) pack_transposed_avx512(k, n, s, lds, out);
    else pack_transposed_portable(k, n, s, lds, out);
}

void sa_f32_to_bf16_rows(size_t rows, size_t cols, const float *x, size_t ldx, unsigned short *out, size_t ldo) {
    if (has_bf16_dot()) rows_avx512(rows, cols, x, ldx, out, ldo);
    else rows_portable(rows, cols, x, ldx, out, ldo);
}

void sa_pack_pairs_bf16_rows(size_t k, size_t n, const unsigned short *s, size_t lds, unsigned int *out) {
    if (has_bf16_dot()) pack_rows_avx512(k, n, s, lds, out);
    else pack_rows_portable(k, n, s, lds, out);
}

void sa_small_gemm_bf16(size_t m, size_t n, size_t k, const unsigned short *a, size_t rs, size_t ps,
                        const unsigned int *bp, float *c, size_t ldc, int accumulate) {
    if (has_bf16_dot()) gemm_avx512(m, n, k, a, rs, ps, bp, c, ldc, accumulate);
    else gemm_portable(m, n, k, a, rs, ps, bp, c, ldc, accumulate);
}
#else
void sa_pack_pairs_transposed_bf16(size_t k, size_t n, const unsigned short *s, size_t lds, unsigned int *out) {
    pack_transposed_portable(k, n, s, lds, out);
}

void sa_bf16_dropout_mask(float *dp, const unsigned short *kept, const float *p, size_t n, float keep) {
    mask_portable(dp, kept, p, n, keep);
}

void sa_f32_to_bf16_rows(size_t rows, size_t cols, const float *x, size_t ldx, unsigned short *out, size_t ldo) {
    rows_portable(rows, cols, x, ldx, out, ldo);
}

void sa_pack_pairs_bf16_rows(size_t k, size_t n, const unsigned short *s, size_t lds, unsigned int *out) {
    pack_rows_portable(k, n, s, lds, out);
}

void sa_small_gemm_bf16(size_t m, size_t n, size_t k, const unsigned short *a, size_t rs, size_t ps,
                        const unsigned int *bp, float *c, size_t ldc, int accumulate) {
    gemm_portable(m, n, k, a, rs, ps, bp, c, ldc, accumulate);
}
#endif

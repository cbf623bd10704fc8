#include "CVectorKernels.h"

#include <math.h>
#include <string.h>

// Element-wise loops may run in place (out == x): each element is read before it is written and
// no iteration reads another's output, so vectorising is safe; the pragma says so, where clang's
// runtime overlap check would otherwise fall back to the scalar loop.
#if defined(__clang__)
#define SA_ELEMENTWISE _Pragma("clang loop vectorize(assume_safety)")
#else
#define SA_ELEMENTWISE
#endif

#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#define SA_CLONES __attribute__((target_clones("arch=skylake-avx512", "arch=haswell", "default")))
#else
#define SA_CLONES
#endif

// Reductions keep 16 partial sums (lane l takes elements ≡ l mod 16) so they vectorise without
// reassociating; the partials are then added in a fixed order, so results do not depend on the ISA.
#define LANES 16

// exp(x): Cody–Waite range reduction and a degree-6 polynomial (Cephes expf); relative error
// < 2e-7 on [-87, 88]; below -87 the result is 0 (softmax of masked scores).
static inline float sa_expf(float x) {
    float xc = x < -87.f ? -87.f : (x > 88.f ? 88.f : x);
    // n = round(x / ln 2) by the 1.5·2^23 trick: no rint call, which baseline x86-64 (no SSE4.1)
    // would make a libm call and so stop vectorisation.
    float n = (xc * 1.44269504f + 12582912.f) - 12582912.f;
    float r = xc - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691e-4f;
    p = p * r + 1.3981999e-3f;
    p = p * r + 8.3334519e-3f;
    p = p * r + 4.1665796e-2f;
    p = p * r + 1.6666665e-1f;
    p = p * r + 5e-1f;
    p = p * r * r + r + 1.f;
    int bits = ((int)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return x < -87.f ? 0.f : p * scale;
}

// erf(x): Abramowitz & Stegun 7.1.26, max abs error ≈ 4e-7 in float.
static inline float sa_erff(float x) {
    float a = fabsf(x);
    float t = 1.f / (1.f + 0.3275911f * a);
    float p = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
    float y = 1.f - p * sa_expf(-a * a);
    return x < 0 ? -y : y;
}

// tanh(x) = 1 − 2/(e^{2x} + 1).
static inline float sa_tanhf(float x) { return 1.f - 2.f / (sa_expf(2.f * x) + 1.f); }

static inline float gelu_value(int form, float x) {
    if (form == 0) return 0.5f * x * (1.f + sa_erff(x * 0.70710678118654752f));
    float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
    return 0.5f * x * (1.f + sa_tanhf(u));
}

static inline float gelu_derivative(int form, float x) {
    if (form == 0) {
        float cdf = 0.5f * (1.f + sa_erff(x * 0.70710678118654752f));
        float pdf = 0.3989422804014327f * sa_expf(-0.5f * x * x);
        return cdf + x * pdf;
    }
    float x2 = x * x;
    float t = sa_tanhf(0.7978845608028654f * (x + 0.044715f * x2 * x));
    float du = 0.7978845608028654f * (1.f + 3.f * 0.044715f * x2);
    return 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * du;
}

SA_CLONES void sa_gelu_forward(int form, float *out, const float *x, size_t n) {
    if (form == 0) {
        SA_ELEMENTWISE
        for (size_t i = 0; i < n; i++) out[i] = gelu_value(0, x[i]);
    } else {
        SA_ELEMENTWISE
        for (size_t i = 0; i < n; i++) out[i] = gelu_value(1, x[i]);
    }
}

SA_CLONES void sa_gelu_backward(int form, float *dx, const float *dout, const float *x, size_t n, int accumulate) {
    if (form == 0) {
        SA_ELEMENTWISE
        for (size_t i = 0; i < n; i++) {
            float g = dout[i] * gelu_derivative(0, x[i]);
            dx[i] = accumulate ? dx[i] + g : g;
        }
    } else {
        SA_ELEMENTWISE
        for (size_t i = 0; i < n; i++) {
            float g = dout[i] * gelu_derivative(1, x[i]);
            dx[i] = accumulate ? dx[i] + g : g;
        }
    }
}

SA_CLONES void sa_softmax_row(float *out, const float *x, size_t n, float scale) {
    float mxl[LANES];
    for (int l = 0; l < LANES; l++) mxl[l] = -INFINITY;
    size_t nv = n / LANES * LANES;
    for (size_t i = 0; i < nv; i += LANES)
        for (int l = 0; l < LANES; l++) mxl[l] = x[i + l] > mxl[l] ? x[i + l] : mxl[l];
    float mx = -INFINITY;
    for (int l = 0; l < LANES; l++) mx = mxl[l] > mx ? mxl[l] : mx;
    for (size_t i = nv; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    float shift = mx * scale;
    SA_ELEMENTWISE
    for (size_t i = 0; i < n; i++) out[i] = sa_expf(x[i] * scale - shift);
    float sl[LANES] = {0};
    for (size_t i = 0; i < nv; i += LANES)
        for (int l = 0; l < LANES; l++) sl[l] += out[i + l];
    float sum = 0.f;
    for (int l = 0; l < LANES; l++) sum += sl[l];
    for (size_t i = nv; i < n; i++) sum += out[i];
    float inv = 1.f / sum;
    for (size_t i = 0; i < n; i++) out[i] *= inv;
}

SA_CLONES void sa_softmax_row_backward(float *dx, const float *dout, const float *p, size_t n, float scale) {
    float dl[LANES] = {0};
    size_t nv = n / LANES * LANES;
    for (size_t i = 0; i < nv; i += LANES)
        for (int l = 0; l < LANES; l++) dl[l] += p[i + l] * dout[i + l];
    float dot = 0.f;
    for (int l = 0; l < LANES; l++) dot += dl[l];
    for (size_t i = nv; i < n; i++) dot += p[i] * dout[i];
    SA_ELEMENTWISE
    for (size_t i = 0; i < n; i++) dx[i] = p[i] * (dout[i] - dot) * scale;
}

SA_CLONES void sa_tanh_forward(float *out, const float *x, size_t n) {
    SA_ELEMENTWISE
    for (size_t i = 0; i < n; i++) out[i] = sa_tanhf(x[i]);
}

// SplitMix64's finaliser over seed + (index + 1)·golden: the same stream as Kernels' CounterRNG.
static inline unsigned long long sa_hash(unsigned long long seed, unsigned long long index) {
    unsigned long long z = seed + (index + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

SA_CLONES void sa_dropout(float *out, const float *x, size_t n, float p, unsigned long long seed, unsigned long long offset,
                          int accumulate) {
    float scale = p >= 1.f ? 0.f : 1.f / (1.f - p);
    if (accumulate) {
        SA_ELEMENTWISE
        for (size_t i = 0; i < n; i++) {
            float u = (float)(sa_hash(seed, offset + i) >> 40) * (1.f / 16777216.f);
            out[i] += u >= p ? x[i] * scale : 0.f;
        }
    } else {
        SA_ELEMENTWISE
        for (size_t i = 0; i < n; i++) {
            float u = (float)(sa_hash(seed, offset + i) >> 40) * (1.f / 16777216.f);
            out[i] = u >= p ? x[i] * scale : 0.f;
        }
    }
}

static inline float lane_sum(const float *v, size_t n) {
    float part[LANES] = {0};
    size_t nv = n / LANES * LANES;
    for (size_t i = 0; i < nv; i += LANES)
        for (int l = 0; l < LANES; l++) part[l] += v[i + l];
    float s = 0.f;
    for (int l = 0; l < LANES; l++) s += part[l];
    for (size_t i = nv; i < n; i++) s += v[i];
    return s;
}

SA_CLONES void sa_layernorm_forward(float *out, const float *x, const float *residual, float *sum, const float *gamma,
                                    const float *beta, float *mean, float *rstd, size_t rows, size_t c, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *orow = out + r * c;
        // s = x + residual goes to `sum` when kept, else into the output row (then normalised in place).
        const float *src = xr;
        if (residual) {
            float *dst = sum ? sum + r * c : orow;
            const float *rr = residual + r * c;
            SA_ELEMENTWISE
            for (size_t i = 0; i < c; i++) dst[i] = xr[i] + rr[i];
            src = dst;
        }
        float mu = lane_sum(src, c) / (float)c;
        float part[LANES] = {0};
        size_t nv = c / LANES * LANES;
        for (size_t i = 0; i < nv; i += LANES)
            for (int l = 0; l < LANES; l++) {
                float d = src[i + l] - mu;
                part[l] += d * d;
            }
        float var = 0.f;
        for (int l = 0; l < LANES; l++) var += part[l];
        for (size_t i = nv; i < c; i++) var += (src[i] - mu) * (src[i] - mu);
        var /= (float)c;
        float rs = 1.f / sqrtf(var + eps);
        if (mean) mean[r] = mu;
        if (rstd) rstd[r] = rs;
        SA_ELEMENTWISE
        for (size_t i = 0; i < c; i++) orow[i] = (src[i] - mu) * rs * gamma[i] + beta[i];
    }
}

SA_CLONES void sa_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dout, const float *x, const float *gamma,
                                     const float *mean, const float *rstd, size_t rows, size_t c, int accumulate) {
    size_t nv = c / LANES * LANES;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        const float *dr = dout + r * c;
        float *dxr = dx + r * c;
        float mu = mean[r], rs = rstd[r];
        float p1[LANES] = {0}, p2[LANES] = {0};
        for (size_t i = 0; i < nv; i += LANES)
            for (int l = 0; l < LANES; l++) {
                float n = (xr[i + l] - mu) * rs;
                float g = dr[i + l] * gamma[i + l];
                p1[l] += g;
                p2[l] += g * n;
            }
        float s1 = 0.f, s2 = 0.f;
        for (int l = 0; l < LANES; l++) {
            s1 += p1[l];
            s2 += p2[l];
        }
        for (size_t i = nv; i < c; i++) {
            float n = (xr[i] - mu) * rs;
            float g = dr[i] * gamma[i];
            s1 += g;
            s2 += g * n;
        }
        float m1 = s1 / (float)c, m2 = s2 / (float)c;
        if (dgamma) {
            SA_ELEMENTWISE
            for (size_t i = 0; i < c; i++) {
                dgamma[i] += dr[i] * (xr[i] - mu) * rs;
                dbeta[i] += dr[i];
            }
        }
        if (accumulate) {
            SA_ELEMENTWISE
            for (size_t i = 0; i < c; i++) dxr[i] += (dr[i] * gamma[i] - m1 - (xr[i] - mu) * rs * m2) * rs;
        } else {
            SA_ELEMENTWISE
            for (size_t i = 0; i < c; i++) dxr[i] = (dr[i] * gamma[i] - m1 - (xr[i] - mu) * rs * m2) * rs;
        }
    }
}

void sa_exp(float *out, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = sa_expf(x[i]);
}

void sa_erf(float *out, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = sa_erff(x[i]);
}

typedef float f32x16 __attribute__((vector_size(64)));

// Vector values never cross a function boundary here: passing one between code compiled for
// different instruction sets would change the ABI.
#define LOAD16(dst, p) memcpy(&(dst), (p), 64)

SA_CLONES void sa_skinny_gemm(size_t m, size_t n0, size_t n1, size_t k, const float *x, size_t ldx, const float *w,
                              size_t ldw, float *c, size_t ldc, int accumulate) {
    size_t kv = k / 16 * 16;
    for (size_t j0 = n0; j0 < n1; j0 += 4) {
        size_t nb = n1 - j0 < 4 ? n1 - j0 : 4;
        const float *wr[4];
        for (size_t j = 0; j < 4; j++) wr[j] = w + (j0 + (j < nb ? j : nb - 1)) * ldw;
        // The next block's rows, prefetched while this block is computed from L1, so reading the
        // weights from memory overlaps the arithmetic instead of alternating with it.
        const float *next = w + (j0 + 4 < n1 ? j0 + 4 : j0) * ldw;
        for (size_t i0 = 0; i0 < m; i0 += 4) {
            size_t mb = m - i0 < 4 ? m - i0 : 4;
            const float *xr[4];
            for (size_t i = 0; i < 4; i++) xr[i] = x + (i0 + (i < mb ? i : mb - 1)) * ldx;
            f32x16 acc[4][4];
            memset(acc, 0, sizeof acc);
            for (size_t p = 0; p < kv; p += 16) {
                for (int j = 0; j < 4; j++) __builtin_prefetch(next + j * ldw + p, 0, 3);
                f32x16 wv[4];
                for (int j = 0; j < 4; j++) LOAD16(wv[j], wr[j] + p);
                for (int i = 0; i < 4; i++) {
                    f32x16 xv;
                    LOAD16(xv, xr[i] + p);
                    for (int j = 0; j < 4; j++) acc[i][j] += xv * wv[j];
                }
            }
            // Sixteen horizontal sums at once by a transposing tree of shuffles (15 vector adds
            // instead of 240 scalar ones): lane i·4+j of `sums` is the sum of acc[i][j].
            f32x16 *a = &acc[0][0];
            f32x16 s1[8], s2[4], s3[2];
            for (int q = 0; q < 8; q++)
                s1[q] = __builtin_shufflevector(a[2 * q], a[2 * q + 1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23)
                      + __builtin_shufflevector(a[2 * q], a[2 * q + 1], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
            for (int q = 0; q < 4; q++)
                s2[q] = __builtin_shufflevector(s1[2 * q], s1[2 * q + 1], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27)
                      + __builtin_shufflevector(s1[2 * q], s1[2 * q + 1], 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
            for (int q = 0; q < 2; q++)
                s3[q] = __builtin_shufflevector(s2[2 * q], s2[2 * q + 1], 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29)
                      + __builtin_shufflevector(s2[2 * q], s2[2 * q + 1], 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
            f32x16 sums = __builtin_shufflevector(s3[0], s3[1], 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
                        + __builtin_shufflevector(s3[0], s3[1], 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
            for (size_t i = 0; i < mb; i++) {
                float *row = c + (i0 + i) * ldc;
                for (size_t j = 0; j < nb; j++) {
                    float s = sums[i * 4 + j];
                    for (size_t p = kv; p < k; p++) s += xr[i][p] * wr[j][p];
                    row[j0 + j] = accumulate ? row[j0 + j] + s : s;
                }
            }
        }
    }
}

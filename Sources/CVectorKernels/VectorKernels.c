#include "CVectorKernels.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#define SA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SA_CLONES
#endif

// exp(x): Cody–Waite range reduction and a degree-6 polynomial (Cephes expf); relative error
// < 2e-7 on [-87, 88]; below -87 the result is 0 (softmax of masked scores).
static inline float sa_expf(float x) {
    float xc = x < -87.f ? -87.f : (x > 88.f ? 88.f : x);
    float n = __builtin_rintf(xc * 1.44269504f);
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
        for (size_t i = 0; i < n; i++) out[i] = gelu_value(0, x[i]);
    } else {
        for (size_t i = 0; i < n; i++) out[i] = gelu_value(1, x[i]);
    }
}

SA_CLONES void sa_gelu_backward(int form, float *dx, const float *dout, const float *x, size_t n, int accumulate) {
    for (size_t i = 0; i < n; i++) {
        float g = dout[i] * (form == 0 ? gelu_derivative(0, x[i]) : gelu_derivative(1, x[i]));
        dx[i] = accumulate ? dx[i] + g : g;
    }
}

SA_CLONES void sa_softmax_row(float *out, const float *x, size_t n, float scale) {
    float mx = -INFINITY;
    for (size_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    float shift = mx * scale;
    float sum = 0.f;
    for (size_t i = 0; i < n; i++) {
        float e = sa_expf(x[i] * scale - shift);
        out[i] = e;
        sum += e;
    }
    float inv = 1.f / sum;
    for (size_t i = 0; i < n; i++) out[i] *= inv;
}

SA_CLONES void sa_softmax_row_backward(float *dx, const float *dout, const float *p, size_t n, float scale) {
    float dot = 0.f;
    for (size_t i = 0; i < n; i++) dot += p[i] * dout[i];
    for (size_t i = 0; i < n; i++) dx[i] = p[i] * (dout[i] - dot) * scale;
}

SA_CLONES void sa_tanh_forward(float *out, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = sa_tanhf(x[i]);
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
        for (size_t i0 = 0; i0 < m; i0 += 4) {
            size_t mb = m - i0 < 4 ? m - i0 : 4;
            const float *xr[4];
            for (size_t i = 0; i < 4; i++) xr[i] = x + (i0 + (i < mb ? i : mb - 1)) * ldx;
            f32x16 acc[4][4];
            memset(acc, 0, sizeof acc);
            for (size_t p = 0; p < kv; p += 16) {
                f32x16 wv[4];
                for (int j = 0; j < 4; j++) LOAD16(wv[j], wr[j] + p);
                for (int i = 0; i < 4; i++) {
                    f32x16 xv;
                    LOAD16(xv, xr[i] + p);
                    for (int j = 0; j < 4; j++) acc[i][j] += xv * wv[j];
                }
            }
            for (size_t i = 0; i < mb; i++) {
                float *row = c + (i0 + i) * ldc;
                for (size_t j = 0; j < nb; j++) {
                    float s = 0.f;
                    for (int l = 0; l < 16; l++) s += acc[i][j][l];
                    for (size_t p = kv; p < k; p++) s += xr[i][p] * wr[j][p];
                    row[j0 + j] = accumulate ? row[j0 + j] + s : s;
                }
            }
        }
    }
}

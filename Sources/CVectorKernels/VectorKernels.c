#include "CVectorKernels.h"

#include <math.h>
#include <string.h>

// Element-wise loops may run in place (out == x): each element is read before it is written and
// no iteration reads another's output, so vectorising is safe; the pragma says so, where clang's
// runtime overlap check would otherwise fall back to the scalar loop. Width 16 because clang's
// tuning for AVX-512 CPUs would otherwise pick 256-bit vectors (two per iteration on AVX2).
#if defined(__clang__)
#define SA_ELEMENTWISE _Pragma("clang loop vectorize(assume_safety) vectorize_width(16)")
#else
#define SA_ELEMENTWISE
#endif

// Each kernel is compiled three times on x86-64 Linux: for AVX-512 (with 512-bit vectors allowed:
// clang's tuning for AVX-512 CPUs otherwise splits every 64-byte vector into two 256-bit halves,
// which halved the batch-1 GEMM's and GELU's throughput), for AVX2+FMA, and for baseline x86-64.
// `sa_isa()` picks one at the first call. Elsewhere the kernels are compiled once, portably.
#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#define SA_MULTIVERSION 1
#else
#define SA_MULTIVERSION 0
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
    // A NaN input (a diverged run) makes n NaN, and converting NaN to int is undefined behaviour
    // (UBSan found it); the NaN still reaches the result through p.
    int bits = ((int)(n == n ? n : 0.f) + 127) << 23;
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

// SplitMix64's finaliser over seed + (index + 1)·golden: the same stream as Kernels' CounterRNG.
static inline unsigned long long sa_hash(unsigned long long seed, unsigned long long index) {
    unsigned long long z = seed + (index + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
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

// The row's maximum.
static inline float sa_row_max(const float *x, size_t n) {
    float mxl[LANES];
    for (int l = 0; l < LANES; l++) mxl[l] = -INFINITY;
    size_t nv = n / LANES * LANES;
    for (size_t i = 0; i < nv; i += LANES)
        for (int l = 0; l < LANES; l++) mxl[l] = x[i + l] > mxl[l] ? x[i + l] : mxl[l];
    float mx = -INFINITY;
    for (int l = 0; l < LANES; l++) mx = mxl[l] > mx ? mxl[l] : mx;
    for (size_t i = nv; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    return mx;
}

// bf16 of y, rounded to nearest even; a NaN stays a (quiet) NaN instead of rounding into inf.
static inline unsigned short sa_bf16_bits(float y) {
    unsigned int b;
    memcpy(&b, &y, 4);
    unsigned int isNaN = (b & 0x7fffffffu) > 0x7f800000u;
    return (unsigned short)(isNaN ? ((b >> 16) | 0x40u) : (b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

typedef float f32x16 __attribute__((vector_size(64)));

// Vector values never cross a function boundary here: passing one between code compiled for
// different instruction sets would change the ABI.
#define LOAD16(dst, p) memcpy(&(dst), (p), 64)


#if SA_MULTIVERSION
#define SA_TARGET __attribute__((target("arch=skylake-avx512"), min_vector_width(512)))
#define SA_FN(name) name##_avx512
#include "KernelBodies.inc"
#undef SA_TARGET
#undef SA_FN
#define SA_TARGET __attribute__((target("arch=haswell")))
#define SA_FN(name) name##_avx2
#include "KernelBodies.inc"
#undef SA_TARGET
#undef SA_FN
#define SA_TARGET
#define SA_FN(name) name##_base
#include "KernelBodies.inc"

enum { SA_ISA_UNKNOWN = -1, SA_ISA_BASE, SA_ISA_AVX2, SA_ISA_AVX512 };
static int sa_isa_level = SA_ISA_UNKNOWN;

// The answer never changes, so a race between first callers only stores the same value twice.
static inline int sa_isa(void) {
    int level = __atomic_load_n(&sa_isa_level, __ATOMIC_RELAXED);
    if (__builtin_expect(level != SA_ISA_UNKNOWN, 1)) return level;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
        level = SA_ISA_AVX512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        level = SA_ISA_AVX2;
    else
        level = SA_ISA_BASE;
    __atomic_store_n(&sa_isa_level, level, __ATOMIC_RELAXED);
    return level;
}

#define SA_DISPATCH(name, args)                                   \
    switch (sa_isa()) {                                           \
    case SA_ISA_AVX512: name##_avx512 args; break;                \
    case SA_ISA_AVX2: name##_avx2 args; break;                    \
    default: name##_base args; break;                             \
    }
#else
#define SA_TARGET
#define SA_FN(name) name##_base
#include "KernelBodies.inc"
#define SA_DISPATCH(name, args) name##_base args;
#endif

void sa_gelu_forward(int form, float *out, const float *x, size_t n) { SA_DISPATCH(sa_gelu_forward, (form, out, x, n)) }

void sa_gelu_backward(int form, float *dx, const float *dout, const float *x, size_t n, int accumulate) {
    SA_DISPATCH(sa_gelu_backward, (form, dx, dout, x, n, accumulate))
}

void sa_softmax_row(float *out, const float *x, size_t n, float scale) { SA_DISPATCH(sa_softmax_row, (out, x, n, scale)) }

void sa_softmax_dropout_bf16_row(float *p, unsigned short *dropped, unsigned short *probs16, size_t n, float scale,
                                 float drop, unsigned long long seed, unsigned long long offset) {
    SA_DISPATCH(sa_softmax_dropout_bf16_row, (p, dropped, probs16, n, scale, drop, seed, offset))
}

void sa_softmax_row_backward(float *dx, const float *dout, const float *p, size_t n, float scale) {
    SA_DISPATCH(sa_softmax_row_backward, (dx, dout, p, n, scale))
}

void sa_tanh_forward(float *out, const float *x, size_t n) { SA_DISPATCH(sa_tanh_forward, (out, x, n)) }

void sa_dropout(float *out, const float *x, size_t n, float p, unsigned long long seed, unsigned long long offset,
                int accumulate) {
    SA_DISPATCH(sa_dropout, (out, x, n, p, seed, offset, accumulate))
}

void sa_layernorm_forward(float *out, const float *x, const float *residual, float *sum, const float *gamma,
                          const float *beta, float *mean, float *rstd, size_t rows, size_t c, float eps) {
    SA_DISPATCH(sa_layernorm_forward, (out, x, residual, sum, gamma, beta, mean, rstd, rows, c, eps))
}

void sa_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dout, const float *x, const float *gamma,
                           const float *mean, const float *rstd, size_t rows, size_t c, int accumulate) {
    SA_DISPATCH(sa_layernorm_backward, (dx, dgamma, dbeta, dout, x, gamma, mean, rstd, rows, c, accumulate))
}

void sa_skinny_gemm(size_t m, size_t n0, size_t n1, size_t k, const float *xt, const float *w, size_t ldw,
                    const float *bias, float *c, size_t ldc, int accumulate) {
    SA_DISPATCH(sa_skinny_gemm, (m, n0, n1, k, xt, w, ldw, bias, c, ldc, accumulate))
}

void sa_skinny_gemm_bf16(size_t m, size_t n0, size_t n1, size_t k, const float *xt, const unsigned short *w, size_t ldw,
                         const float *bias, float *c, size_t ldc, int accumulate) {
    SA_DISPATCH(sa_skinny_gemm_bf16, (m, n0, n1, k, xt, w, ldw, bias, c, ldc, accumulate))
}

void sa_f32_to_bf16(const float *x, unsigned short *out, size_t n) { SA_DISPATCH(sa_f32_to_bf16, (x, out, n)) }

void sa_bf16_to_f32(const unsigned short *x, float *out, size_t n) { SA_DISPATCH(sa_bf16_to_f32, (x, out, n)) }

int sa_cpu_bf16_features(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    unsigned int a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
    if (a < 7) return 0;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
    unsigned int leaf7edx = d, leaf7ebx = b, maxSub = a;
    int features = 0;
    // The OS must save the AVX-512 (opmask, ZMM) and AMX tile state: XCR0 bits 5-7 and 17-18.
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!(c & (1u << 27))) return 0;  // no OSXSAVE
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    int avx512State = (lo & 0xe6u) == 0xe6u;
    int amxState = (lo & (3u << 17)) == (3u << 17);
    if (maxSub >= 1) {
        __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
        if (avx512State && (leaf7ebx & (1u << 16)) && (a & (1u << 5))) features |= 1;  // AVX512F + AVX512_BF16
    }
    if (amxState && (leaf7edx & (1u << 22)) && (leaf7edx & (1u << 24))) features |= 2;  // AMX-BF16 + AMX-TILE
    return features;
#else
    return 0;
#endif
}

void sa_pack_transposed16(size_t m, size_t k, const float *x, size_t ldx, float *xt) {
    SA_DISPATCH(sa_pack_transposed16, (m, k, x, ldx, xt))
}

void sa_exp(float *out, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = sa_expf(x[i]);
}

void sa_erf(float *out, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = sa_erff(x[i]);
}


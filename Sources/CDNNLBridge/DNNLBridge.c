#include "DNNLBridge.h"

#ifdef SA_HAVE_DNNL
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdio.h>

// One matmul primitive per (transA, transB, accumulate, bias), with every size and stride a runtime
// value: the packed token count changes with every batch, and a primitive per shape would JIT new
// code for each (0.1–0.6 ms measured) where the runtime-shape one is created once.
static dnnl_engine_t engine;
static dnnl_primitive_t primitives[16];
// A primitive oneDNN could not create (bf16 unimplemented on this CPU): the status, so that every later
// call falls back at once instead of asking oneDNN again.
static dnnl_status_t failures[16];
static dnnl_status_t initStatus = dnnl_success;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t createLock = PTHREAD_MUTEX_INITIALIZER;
// A stream per calling thread: streams are not to be shared between threads that execute at once.
static _Thread_local dnnl_stream_t threadStream;
static _Thread_local int threadConfigured;
static void (*setThreads)(int);

static void initialize(void) {
    initStatus = dnnl_engine_create(&engine, dnnl_cpu, 0);
    // oneDNN's Debian build runs on OpenMP; each of our workers calls it for its own share, so each
    // must run it on one thread (else every worker would start a team of its own on the same cores).
    setThreads = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
}

static dnnl_status_t describe(dnnl_memory_desc_t *md, dnnl_data_type_t type, int transposed, int runtime,
                              int64_t rows, int64_t cols, int64_t ld) {
    // Logical [rows, cols]; stored row-major with leading dimension ld, or (transposed) as the
    // row-major [cols, rows] matrix with leading dimension ld.
    dnnl_dims_t dims = {runtime ? DNNL_RUNTIME_DIM_VAL : rows, runtime ? DNNL_RUNTIME_DIM_VAL : cols};
    dnnl_dims_t strides;
    if (transposed) {
        strides[0] = 1;
        strides[1] = runtime ? DNNL_RUNTIME_DIM_VAL : ld;
    } else {
        strides[0] = runtime ? DNNL_RUNTIME_DIM_VAL : ld;
        strides[1] = 1;
    }
    return dnnl_memory_desc_init_by_strides(md, 2, dims, type, strides);
}

// The bias: logical [1, n] fp32, one row broadcast over C's rows.
static dnnl_status_t describeBias(dnnl_memory_desc_t *md, int runtime, int64_t n) {
    dnnl_dims_t dims = {1, runtime ? DNNL_RUNTIME_DIM_VAL : n};
    dnnl_dims_t strides = {runtime ? DNNL_RUNTIME_DIM_VAL : n, 1};
    return dnnl_memory_desc_init_by_strides(md, 2, dims, dnnl_f32, strides);
}

static dnnl_status_t primitive(int transA, int transB, int accumulate, int bias, dnnl_primitive_t *out) {
    int key = transA | (transB << 1) | (accumulate << 2) | (bias << 3);
    pthread_mutex_lock(&createLock);
    dnnl_status_t s = failures[key];
    if (!primitives[key] && s == dnnl_success) {
        dnnl_memory_desc_t a, b, c, bi;
        dnnl_matmul_desc_t desc;
        dnnl_primitive_attr_t attr = NULL;
        dnnl_post_ops_t ops = NULL;
        dnnl_primitive_desc_t pd = NULL;
        if ((s = describe(&a, dnnl_bf16, transA, 1, 0, 0, 0)) != dnnl_success) goto done;
        // B is logically [k, n]: "as stored" means row-major [k, n]; HF's Linear weight [n, k] used
        // as Wᵀ is the transposed case.
        if ((s = describe(&b, dnnl_bf16, transB, 1, 0, 0, 0)) != dnnl_success) goto done;
        if ((s = describe(&c, dnnl_f32, 0, 1, 0, 0, 0)) != dnnl_success) goto done;
        // The bias rides in the primitive: no pass of its own filling C first, nor reading C back for a sum.
        if ((s = describeBias(&bi, 1, 0)) != dnnl_success) goto done;
        if ((s = dnnl_matmul_desc_init(&desc, &a, &b, bias ? &bi : NULL, &c)) != dnnl_success) goto done;
        if ((s = dnnl_primitive_attr_create(&attr)) != dnnl_success) goto done;
        if (accumulate) {
            if ((s = dnnl_post_ops_create(&ops)) != dnnl_success) goto done;
            if ((s = dnnl_post_ops_append_sum(ops, 1.0f)) != dnnl_success) goto done;
            if ((s = dnnl_primitive_attr_set_post_ops(attr, ops)) != dnnl_success) goto done;
        }
        if ((s = dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL)) != dnnl_success) goto done;
        s = dnnl_primitive_create(&primitives[key], pd);
    done:
        failures[key] = s;
        if (pd) dnnl_primitive_desc_destroy(pd);
        if (ops) dnnl_post_ops_destroy(ops);
        if (attr) dnnl_primitive_attr_destroy(attr);
    }
    *out = primitives[key];
    pthread_mutex_unlock(&createLock);
    return s;
}

int sa_dnnl_linked(void) { return 1; }

const char *sa_dnnl_isa(void) {
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    default: return "other";
    }
}

static char versionText[48];
static pthread_once_t versionOnce = PTHREAD_ONCE_INIT;
static void fillVersion(void) {
    const dnnl_version_t *v = dnnl_version();
    snprintf(versionText, sizeof versionText, "%d.%d.%d", v->major, v->minor, v->patch);
}

const char *sa_dnnl_version(void) {
    pthread_once(&versionOnce, fillVersion);
    return versionText;
}

int sa_dnnl_gemm_bf16(int transA, int transB, int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda,
                      const uint16_t *b, int64_t ldb, const float *bias, int accumulate, float *c, int64_t ldc) {
    if (m <= 0 || n <= 0) return 0;
    pthread_once(&once, initialize);
    if (initStatus != dnnl_success) return initStatus;
    dnnl_status_t s;
    if (!threadConfigured) {
        if (setThreads) setThreads(1);
        if ((s = dnnl_stream_create(&threadStream, engine, dnnl_stream_default_flags)) != dnnl_success) return s;
        threadConfigured = 1;
    }
    dnnl_primitive_t p;
    if ((s = primitive(transA ? 1 : 0, transB ? 1 : 0, accumulate ? 1 : 0, bias ? 1 : 0, &p)) != dnnl_success) return s;
    dnnl_memory_desc_t da, db, dc, dbias;
    if ((s = describe(&da, dnnl_bf16, transA, 0, m, k, lda)) != dnnl_success) return s;
    if ((s = describe(&db, dnnl_bf16, transB, 0, k, n, ldb)) != dnnl_success) return s;
    if ((s = describe(&dc, dnnl_f32, 0, 0, m, n, ldc)) != dnnl_success) return s;
    if ((s = describeBias(&dbias, 0, n)) != dnnl_success) return s;
    dnnl_memory_t ma = NULL, mb = NULL, mc = NULL, mbias = NULL;
    if ((s = dnnl_memory_create(&ma, &da, engine, (void *)a)) != dnnl_success) goto done;
    if ((s = dnnl_memory_create(&mb, &db, engine, (void *)b)) != dnnl_success) goto done;
    if ((s = dnnl_memory_create(&mc, &dc, engine, c)) != dnnl_success) goto done;
    if (bias && (s = dnnl_memory_create(&mbias, &dbias, engine, (void *)bias)) != dnnl_success) goto done;
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}, {DNNL_ARG_BIAS, mbias}};
    if ((s = dnnl_primitive_execute(p, threadStream, bias ? 4 : 3, args)) != dnnl_success) goto done;
    s = dnnl_stream_wait(threadStream);
done:
    if (ma) dnnl_memory_destroy(ma);
    if (mb) dnnl_memory_destroy(mb);
    if (mc) dnnl_memory_destroy(mc);
    if (mbias) dnnl_memory_destroy(mbias);
    return s;
}
#else
int sa_dnnl_linked(void) { return 0; }
const char *sa_dnnl_isa(void) { return "none"; }
const char *sa_dnnl_version(void) { return "none"; }
int sa_dnnl_gemm_bf16(int transA, int transB, int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda,
                      const uint16_t *b, int64_t ldb, const float *bias, int accumulate, float *c, int64_t ldc) {
    (void)transA, (void)transB, (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)ldb, (void)bias, (void)accumulate;
    (void)c, (void)ldc;
    return -1;
}
#endif

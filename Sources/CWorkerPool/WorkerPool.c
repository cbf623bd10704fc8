#include "CWorkerPool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SA_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define SA_PAUSE() __asm__ __volatile__("yield")
#else
#define SA_PAUSE() ((void)0)
#endif

// How long an idle worker keeps spinning before it sleeps: about a millisecond (a `pause` costs
// tens to ~140 cycles). Long enough to bridge the gaps between the kernels of a forward or backward
// pass; short enough that an idle process gives its cores back almost at once.
#define SA_SPIN_ROUNDS 20000

// One region at a time: `run_lock` is held by the calling thread for the whole region, so the job
// fields below are written only while no worker reads them. A worker learns of a region from
// `generation` (release/acquire) and reports back through `checked_in`; the caller returns only
// after every worker has checked in, so no worker still looks at a job that has been replaced.
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static atomic_long generation;
static atomic_int sleeping;
static atomic_long next_index;
static atomic_int checked_in;
static int worker_count;  // set once, under run_lock
static sa_pool_task job_fn;
static void *job_context;
static long job_count;

static _Thread_local int inside_region;

static void run_indices(void) {
    long i;
    while ((i = atomic_fetch_add_explicit(&next_index, 1, memory_order_relaxed)) < job_count) job_fn(job_context, i);
}

static void *worker_main(void *unused) {
    (void)unused;
    inside_region = 1;
    long seen = 0;
    for (;;) {
        int rounds = 0;
        while (atomic_load_explicit(&generation, memory_order_acquire) == seen && rounds < SA_SPIN_ROUNDS) {
            SA_PAUSE();
            rounds++;
        }
        if (atomic_load_explicit(&generation, memory_order_acquire) == seen) {
            // Sequentially consistent with the caller's increment of `generation` followed by its
            // read of `sleeping`: either it sees this worker asleep and signals, or this worker
            // sees the new generation and does not wait.
            pthread_mutex_lock(&sleep_lock);
            atomic_fetch_add(&sleeping, 1);
            while (atomic_load(&generation) == seen) pthread_cond_wait(&wake, &sleep_lock);
            atomic_fetch_sub(&sleeping, 1);
            pthread_mutex_unlock(&sleep_lock);
        }
        seen = atomic_load_explicit(&generation, memory_order_acquire);
        run_indices();
        atomic_fetch_add_explicit(&checked_in, 1, memory_order_release);
    }
    return NULL;
}

// Called with run_lock held. Starts the workers once; returns how many run.
static int ensure_workers(int requested) {
    if (worker_count > 0 || requested <= 0) return worker_count;
    int started = 0;
    for (int w = 0; w < requested; w++) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&thread, &attr, worker_main, NULL) == 0) started++;
        pthread_attr_destroy(&attr);
    }
    worker_count = started;
    return started;
}

static void run_serially(long count, sa_pool_task fn, void *context) {
    for (long i = 0; i < count; i++) fn(context, i);
}

void sa_pool_run(long count, int workers, sa_pool_task fn, void *context) {
    if (count <= 0) return;
    if (count == 1 || workers <= 0 || inside_region || pthread_mutex_trylock(&run_lock) != 0) {
        run_serially(count, fn, context);
        return;
    }
    int active = ensure_workers(workers);
    if (active == 0) {
        pthread_mutex_unlock(&run_lock);
        run_serially(count, fn, context);
        return;
    }
    job_fn = fn;
    job_context = context;
    job_count = count;
    atomic_store_explicit(&next_index, 0, memory_order_relaxed);
    atomic_store_explicit(&checked_in, 0, memory_order_relaxed);
    atomic_fetch_add(&generation, 1);  // seq_cst: publishes the job, ordered before the read below
    if (atomic_load(&sleeping) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
    inside_region = 1;
    run_indices();
    inside_region = 0;
    while (atomic_load_explicit(&checked_in, memory_order_acquire) < active) SA_PAUSE();
    pthread_mutex_unlock(&run_lock);
}

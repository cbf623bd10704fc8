// The worker pool behind Kernels' `Threading`: persistent threads that spin briefly between parallel
// regions, so a region starts in well under a microsecond instead of waiting for a sleeping thread
// to be woken (libdispatch's `concurrentPerform` often ran batch-1 GEMMs on the calling thread
// alone because its worker woke too late to take a share).
#ifndef CWORKERPOOL_H
#define CWORKERPOOL_H

#ifdef __cplusplus
extern "C" {
#endif

/// One task of a parallel region: `fn(context, index)` for an index in 0..<count.
typedef void (*sa_pool_task)(void *context, long index);

/// Runs fn(context, i) for every i in 0..<count on the calling thread and the pool's workers
/// (created on first use, `workers` of them besides the caller; later calls reuse them and ignore
/// `workers`). Returns when every index has run. Each index runs exactly once; which thread runs
/// it is unspecified. Runs everything on the calling thread when count ≤ 1, when workers ≤ 0, when
/// called from inside a region (regions do not nest), or while another thread's region is running.
void sa_pool_run(long count, int workers, sa_pool_task fn, void *context);

#ifdef __cplusplus
}
#endif

#endif

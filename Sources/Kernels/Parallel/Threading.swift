import CWorkerPool
import Foundation

#if canImport(CBLAS)
    import CBLAS
#endif

/// The one threading policy of the project.
///
/// OpenBLAS's pthread build and our own parallel loops would otherwise both try to use every core,
/// and a GEMM issued from inside a parallel loop would oversubscribe them (OpenBLAS's usage notes warn
/// of exactly this). So OpenBLAS is pinned to one thread, and *all* parallelism is ours:
/// - GEMMs are split by `GEMM.multiply` into one block per worker (rows of the output when there
///   are enough of them, columns otherwise), each block a single-threaded BLAS call.
/// - Row-wise kernels (LayerNorm, GELU, softmax, attention per sequence and head) split their rows
///   with `Threading.parallelFor`.
/// Parallel regions never nest: a kernel running inside `parallelFor` calls BLAS directly, never
/// `GEMM.multiply`'s parallel path. On macOS, Accelerate ignores this and manages its own threads.
///
/// The loops run on `CWorkerPool`: `workerCount - 1` persistent threads plus the caller, which spin
/// for about a millisecond between regions. Batch-1 inference issues ~100 regions of 0.1–1 ms per
/// forward pass; with `DispatchQueue.concurrentPerform` the second core often joined a region late
/// or not at all (roberta-base at 16 tokens: 34 ms on two cores against 39 ms on one; on the pool,
/// see BENCHMARKS.md). A region started while another thread's region runs (two models used from
/// two threads, parallel tests) runs on its caller alone rather than waiting.
///
/// The worker count is the number of active processors, or `ADAPTERS_NUM_THREADS` when set. Under an
/// MPI launcher that starts several processes on one machine (`OMPI_COMM_WORLD_LOCAL_SIZE`), each gets
/// its share of the processors: spinning workers of several processes on the same cores would
/// stall each other.
public enum Threading {
    /// Number of workers our parallel loops use (≥ 1).
    public static let workerCount: Int = {
        configureBLAS()
        if let text = ProcessInfo.processInfo.environment["ADAPTERS_NUM_THREADS"],
            let n = Int(text), n >= 1
        {
            return n
        }
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        if let text = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"], let local = Int(text), local > 1 {
            return max(1, cores / local)
        }
        return cores
    }()

    /// Pins OpenBLAS to a single thread. Idempotent; called before the first BLAS use.
    public static func configureBLAS() {
        _ = blasConfigured
    }

    private static let blasConfigured: Bool = {
        #if canImport(CBLAS)
            openblas_set_num_threads(1)
        #endif
        return true
    }()

    /// Runs `body(i)` for `i` in `0..<count`, spread over the workers. `body` must only write
    /// memory that no other index writes. Runs inline when `count` is 1 or there is one worker.
    public static func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || workerCount == 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { task in
            var task = task
            withUnsafeMutablePointer(to: &task) { context in
                sa_pool_run(
                    count, Int32(clamping: workerCount - 1),
                    { context, index in
                        context?.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
                    }, context)
            }
        }
    }

    /// Splits `0..<total` into about `workerCount` contiguous chunks of at least `minChunk`
    /// elements and runs `body(range)` for each, in parallel.
    public static func parallelRanges(_ total: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        if total <= 0 { return }
        let chunks = max(1, min(workerCount, total / max(1, minChunk)))
        if chunks == 1 {
            body(0..<total)
            return
        }
        let step = (total + chunks - 1) / chunks
        parallelFor(chunks) { c in
            let lo = c * step
            let hi = min(total, lo + step)
            if lo < hi { body(lo..<hi) }
        }
    }
}

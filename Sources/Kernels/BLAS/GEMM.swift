#if canImport(Accelerate)
    import Accelerate
#elseif canImport(CBLAS)
    import CBLAS
#endif

/// Whether a GEMM operand is used as stored or transposed.
public enum Transpose: Sendable {
    case none
    case transpose
}

/// Row-major single-precision matrix multiplication, the one place that touches BLAS.
///
/// `C[m, n] = alpha · op(A)[m, k] · op(B)[k, n] + beta · C`, all row-major. `op(A)` is `A` stored as
/// `[m, k]` (`.none`) or `Aᵀ` with `A` stored as `[k, m]` (`.transpose`); likewise for `B`.
/// An HF `Linear` weight is `[out, in]`, so `Y = X·Wᵀ` is `multiply(.none, .transpose, ...)`.
public enum GEMM {
    /// One single-threaded BLAS call on the calling thread. Use this inside `parallelFor` bodies.
    @inlinable
    public static func serial(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            // BLAS would scale C by beta; keep that contract.
            for i in 0..<m {
                let row = c + i * ldc
                for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] }
            }
            return
        }
        Threading.configureBLAS()
        cblas_sgemm(
            CblasRowMajor, transA == .none ? CblasNoTrans : CblasTrans,
            transB == .none ? CblasNoTrans : CblasTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The same product split over the workers (`split`); few rows of `X·Wᵀ` go to `SkinnyGEMM`.
    public static func multiply(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if transA == .none, transB == .transpose, SkinnyGEMM.applies(m: m, k: k), beta == 0 || beta == 1, alpha == 1 {
            SkinnyGEMM.multiply(m: m, n: n, k: k, x: a, ldx: lda, w: b, ldw: ldb, accumulate: beta == 1, c: c, ldc: ldc)
            return
        }
        split(m: m, n: n, k: k) { rows, cols in
            let aBlock = transA == .none ? a + rows.lowerBound * lda : a + rows.lowerBound
            let bBlock = transB == .none ? b + cols.lowerBound : b + cols.lowerBound * ldb
            serial(
                transA, transB, m: rows.count, n: cols.count, k: k, alpha: alpha, a: aBlock, lda: lda, b: bBlock,
                ldb: ldb, beta: beta, c: c + rows.lowerBound * ldc + cols.lowerBound, ldc: ldc)
        }
    }

    /// How a product `C[m, n]` (inner size `k`) is shared out: by rows of `C` when there are enough rows
    /// for every worker to run a full-speed block, else by columns (small-batch inference, where each
    /// worker then reads only its share of the weight matrix); below ~4 MFLOP on the calling thread
    /// alone, where the fork/join costs more than it saves. `body` gets each block's rows and columns.
    static func split(m: Int, n: Int, k: Int, _ body: (_ rows: Range<Int>, _ cols: Range<Int>) -> Void) {
        let workers = Threading.workerCount
        if workers == 1 || m * n * k < 1 << 21 {
            body(0..<m, 0..<n)
        } else if m >= 64 * workers {
            // Row blocks, rounded to multiples of 16 so every block uses whole micro-kernel tiles.
            let step = ((m + workers - 1) / workers + 15) / 16 * 16
            Threading.parallelFor((m + step - 1) / step) { w in body(w * step..<min(m, w * step + step), 0..<n) }
        } else {
            let step = ((n + workers - 1) / workers + 15) / 16 * 16
            Threading.parallelFor((n + step - 1) / step) { w in body(0..<m, w * step..<min(n, w * step + step)) }
        }
    }
}

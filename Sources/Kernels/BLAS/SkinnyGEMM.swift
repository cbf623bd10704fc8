import CVectorKernels

/// `C = X·Wᵀ (+ C)` for few rows of `X`: the batch-1 inference case.
///
/// With 16 tokens a GEMM is bound by reading the weights, and OpenBLAS copies ("packs") every
/// weight panel before using it. `sa_skinny_gemm` reads each block of 4 weight rows once and keeps
/// it in L1 while the rows of `X` (a few KB) stream past it, so the weights cross the memory bus
/// once. Columns of `C` are split over the workers in blocks of 4.
enum SkinnyGEMM {
    /// Rows of `X` up to which this kernel beats the BLAS call (measured: `adapters bench`).
    static let maxRows = 16

    /// - Parameters: c `[m, n]` (ldc), x `[m, k]` (ldx), w `[n, k]` (ldw).
    static func multiply(
        m: Int, n: Int, k: Int, x: UnsafePointer<Float>, ldx: Int, w: UnsafePointer<Float>, ldw: Int,
        accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let blocks = (n + 3) / 4
        Threading.parallelRanges(blocks, minChunk: 8) { range in
            sa_skinny_gemm(
                m, range.lowerBound * 4, min(n, range.upperBound * 4), k, x, ldx, w, ldw, c, ldc, accumulate ? 1 : 0)
        }
    }
}

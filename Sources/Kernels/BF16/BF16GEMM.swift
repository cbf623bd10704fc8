import CDNNLBridge

/// Row-major GEMMs with bf16 operands and fp32 accumulation through oneDNN, split over the workers
/// as `GEMM.multiply` splits fp32 ones (each worker runs oneDNN on its own block, single-threaded).
///
/// `C[m, n] = op(A)[m, k] · op(B)[k, n] (+ C)`, `op` as in `GEMM`.
public enum BF16GEMM {
    public static func multiply(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int, bias: UnsafePointer<Float>? = nil,
        accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            emptyProduct(m: m, n: n, bias: bias, accumulate: accumulate, c: c, ldc: ldc)
            return
        }
        GEMM.split(m: m, n: n, k: k) { rows, cols in
            serial(
                transA, transB, m: rows.count, n: cols.count, k: k,
                a: transA == .none ? a + rows.lowerBound * lda : a + rows.lowerBound, lda: lda,
                b: transB == .none ? b + cols.lowerBound : b + cols.lowerBound * ldb, ldb: ldb,
                bias: bias.map { $0 + cols.lowerBound }, accumulate: accumulate,
                c: c + rows.lowerBound * ldc + cols.lowerBound, ldc: ldc)
        }
    }

    /// `C = (C) + bias` for k = 0.
    private static func emptyProduct(
        m: Int, n: Int, bias: UnsafePointer<Float>?, accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        for i in 0..<m {
            let row = c + i * ldc
            if !accumulate { row.update(repeating: 0, count: n) }
            if let bias { for j in 0..<n { row[j] += bias[j] } }
        }
    }

    /// `C[m, n] = bf16(A)[m, k] · op(B)[k, n] (+ bias[n]) (+ C)` with `A` in fp32 (activations, row-major, not
    /// transposed): each worker rounds its own rows of `A`, `chunkRows` at a time, just before its
    /// oneDNN call, so no bf16 copy of the whole activation matrix is ever held (19.7 MB for
    /// roberta-base's FFN input at 32 × 100 tokens; oneDNN runs as fast on 256-row calls).
    public static func multiply(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, _ transB: Transpose,
        b: UnsafePointer<UInt16>, ldb: Int, bias: UnsafePointer<Float>? = nil, accumulate: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            emptyProduct(m: m, n: n, bias: bias, accumulate: accumulate, c: c, ldc: ldc)
            return
        }
        let chunkRows = 256
        GEMM.split(m: m, n: n, k: k) { rows, cols in
            BF16ScratchPool.shared.withBuffer(count: min(chunkRows, rows.count) * k) { buffer in
                var r = rows.lowerBound
                while r < rows.upperBound {
                    let h = min(chunkRows, rows.upperBound - r)
                    for i in 0..<h { BF16.convertSerial(a + (r + i) * lda, to: buffer + i * k, count: k) }
                    serial(
                        .none, transB, m: h, n: cols.count, k: k, a: buffer, lda: k,
                        b: transB == .none ? b + cols.lowerBound : b + cols.lowerBound * ldb, ldb: ldb,
                        bias: bias.map { $0 + cols.lowerBound }, accumulate: accumulate,
                        c: c + r * ldc + cols.lowerBound, ldc: ldc)
                    r += h
                }
            }
        }
    }

    /// One oneDNN call on the calling thread. Should oneDNN fail (it does not on a supported CPU; an
    /// allocation failure could), the product is computed by widening to fp32 and BLAS, so a result
    /// is never silently wrong.
    static func serial(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int, bias: UnsafePointer<Float>? = nil,
        accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let status = sa_dnnl_gemm_bf16(
            transA == .none ? 0 : 1, transB == .none ? 0 : 1, Int64(m), Int64(n), Int64(k), a, Int64(lda), b,
            Int64(ldb), bias, accumulate ? 1 : 0, c, Int64(ldc))
        if status == 0 { return }
        defer {
            if let bias { for i in 0..<m { for j in 0..<n { c[i * ldc + j] += bias[j] } } }
        }
        // Stored extents: the last row is read only up to its last used column.
        let aCount = transA == .none ? (m - 1) * lda + k : (k - 1) * lda + m
        let bCount = transB == .none ? (k - 1) * ldb + n : (n - 1) * ldb + k
        let wa = UnsafeMutablePointer<Float>.allocate(capacity: aCount)
        let wb = UnsafeMutablePointer<Float>.allocate(capacity: bCount)
        defer {
            wa.deallocate()
            wb.deallocate()
        }
        BF16.widenSerial(a, to: wa, count: aCount)
        BF16.widenSerial(b, to: wb, count: bCount)
        GEMM.serial(
            transA, transB, m: m, n: n, k: k, a: wa, lda: lda, b: wb, ldb: ldb, beta: accumulate ? 1 : 0, c: c, ldc: ldc
        )
    }
}

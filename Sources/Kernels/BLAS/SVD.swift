import CBLAS

/// The thin singular value decomposition of a row-major matrix, through LAPACK's `sgesvd` (OpenBLAS).
public enum SVD {
    /// `m = U · diag(S) · Vt` for `m` `[rows, cols]` row-major, `k = min(rows, cols)`.
    ///
    /// - Returns: `u` `[rows, k]`, `s` `[k]` (descending) and `vt` `[k, cols]`, all row-major; nil when LAPACK
    ///   reports no convergence.
    public static func thin(_ m: [Float], rows: Int, cols: Int) -> (u: [Float], s: [Float], vt: [Float])? {
        let k = min(rows, cols)
        guard k > 0, m.count == rows * cols else { return nil }
        // Row-major M is column-major Mᵀ = V·S·Uᵀ: LAPACK's U is our V, its Vᵀ our Uᵀ.
        var a = m
        var (lm, ln) = (Int32(cols), Int32(rows))
        var s = [Float](repeating: 0, count: k)
        var lu = [Float](repeating: 0, count: cols * k)  // V, column-major [cols, k]
        var lvt = [Float](repeating: 0, count: k * rows)  // Uᵀ, column-major [k, rows]
        var (ldu, ldvt) = (Int32(cols), Int32(k))
        var info: Int32 = 0
        var lwork: Int32 = -1
        var query: Float = 0
        var job = (UInt8(ascii: "S"), UInt8(ascii: "S"))
        let ok = withUnsafePointer(to: &job.0) { jobu in
            withUnsafePointer(to: &job.1) { jobvt in
                jobu.withMemoryRebound(to: CChar.self, capacity: 1) { ju in
                    jobvt.withMemoryRebound(to: CChar.self, capacity: 1) { jv in
                        // Workspace query, then the decomposition.
                        var lda = lm
                        sgesvd_(ju, jv, &lm, &ln, &a, &lda, &s, &lu, &ldu, &lvt, &ldvt, &query, &lwork, &info)
                        guard info == 0 else { return false }
                        lwork = Int32(query)
                        var work = [Float](repeating: 0, count: max(1, Int(lwork)))
                        sgesvd_(ju, jv, &lm, &ln, &a, &lda, &s, &lu, &ldu, &lvt, &ldvt, &work, &lwork, &info)
                        return info == 0
                    }
                }
            }
        }
        guard ok else { return nil }
        // U [rows, k] row-major: U[i][j] = (Uᵀ)[j][i] = lvt[j + i·k] (column-major [k, rows]).
        var u = [Float](repeating: 0, count: rows * k)
        for i in 0..<rows { for j in 0..<k { u[i * k + j] = lvt[j + i * k] } }
        // Vt [k, cols] row-major: Vt[j][c] = V[c][j] = lu[c + j·cols] (column-major [cols, k]).
        var vt = [Float](repeating: 0, count: k * cols)
        for j in 0..<k { for c in 0..<cols { vt[j * cols + c] = lu[c + j * cols] } }
        return (u, s, vt)
    }
}

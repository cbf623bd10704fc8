/// `C = X·Wᵀ (+ β·C)` for few rows of `X`: the batch-1 inference case.
///
/// With 16 tokens a GEMM is bound by reading the weights, and OpenBLAS copies ("packs") every
/// weight panel before using it, roughly doubling that traffic. Here each block of 4 weight rows is
/// read from memory once and kept in L1 while every row of `X` (a few KB) streams past it, so the
/// weights cross the memory bus exactly once. Columns of `C` are split over the workers.
enum SkinnyGEMM {
    /// The four lane-sums of `a`, `b`, `c`, `d` in lanes 0…3 (tree reduction by halves: the
    /// standard library's `sum()` is a scalar lane loop, ~9 ns per vector).
    @inline(__always)
    static func horizontalSums(_ a: FloatVector, _ b: FloatVector, _ c: FloatVector, _ d: FloatVector) -> FloatVector {
        func half(_ v: FloatVector) -> SIMD8<Float> { v.lowHalf + v.highHalf }
        let ab = SIMD16(lowHalf: half(a), highHalf: half(b))
        let cd = SIMD16(lowHalf: half(c), highHalf: half(d))
        // lanes: a0..7 b0..7 → fold to 4 each
        let ab4 = SIMD8(lowHalf: ab.lowHalf.lowHalf + ab.lowHalf.highHalf, highHalf: ab.highHalf.lowHalf + ab.highHalf.highHalf)
        let cd4 = SIMD8(lowHalf: cd.lowHalf.lowHalf + cd.lowHalf.highHalf, highHalf: cd.highHalf.lowHalf + cd.highHalf.highHalf)
        let all = SIMD16(lowHalf: ab4, highHalf: cd4)  // a0..3 b0..3 c0..3 d0..3
        var out = FloatVector(repeating: 0)
        out[0] = all[0] + all[1] + all[2] + all[3]
        out[1] = all[4] + all[5] + all[6] + all[7]
        out[2] = all[8] + all[9] + all[10] + all[11]
        out[3] = all[12] + all[13] + all[14] + all[15]
        return out
    }

    /// Rows of `X` up to which this kernel beats the BLAS call (measured on AVX-512 and AVX2).
    static let maxRows = 32

    /// - Parameters: c `[m, n]` (ldc), x `[m, k]` (ldx), w `[n, k]` (ldw); beta 0 or 1.
    static func multiply(
        m: Int, n: Int, k: Int, x: UnsafePointer<Float>, ldx: Int, w: UnsafePointer<Float>, ldw: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let blocks = (n + 3) / 4
        Threading.parallelRanges(blocks, minChunk: 16) { range in
            for block in range {
                let n0 = block * 4
                let nb = min(4, n - n0)
                var m0 = 0
                while m0 < m {
                    let mb = min(4, m - m0)
                    tile(m0: m0, mb: mb, n0: n0, nb: nb, k: k, x: x, ldx: ldx, w: w, ldw: ldw, beta: beta, c: c, ldc: ldc)
                    m0 += 4
                }
            }
        }
    }

    /// One up-to-4 × up-to-4 block of `C`, sixteen SIMD accumulators over `k`.
    @inline(__always)
    static func tile(
        m0: Int, mb: Int, n0: Int, nb: Int, k: Int, x: UnsafePointer<Float>, ldx: Int, w: UnsafePointer<Float>,
        ldw: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        // Rows past the edge alias the last valid row; their sums are computed and dropped.
        let x0 = x + m0 * ldx
        let x1 = x + (m0 + min(1, mb - 1)) * ldx
        let x2 = x + (m0 + min(2, mb - 1)) * ldx
        let x3 = x + (m0 + min(3, mb - 1)) * ldx
        let w0 = w + n0 * ldw
        let w1 = w + (n0 + min(1, nb - 1)) * ldw
        let w2 = w + (n0 + min(2, nb - 1)) * ldw
        let w3 = w + (n0 + min(3, nb - 1)) * ldw
        let zero = FloatVector(repeating: 0)
        var a00 = zero, a01 = zero, a02 = zero, a03 = zero
        var a10 = zero, a11 = zero, a12 = zero, a13 = zero
        var a20 = zero, a21 = zero, a22 = zero, a23 = zero
        var a30 = zero, a31 = zero, a32 = zero, a33 = zero
        var i = 0
        while i + 16 <= k {
            let v0 = w0.vector(at: i), v1 = w1.vector(at: i), v2 = w2.vector(at: i), v3 = w3.vector(at: i)
            var u = x0.vector(at: i)
            a00 += u * v0; a01 += u * v1; a02 += u * v2; a03 += u * v3
            u = x1.vector(at: i)
            a10 += u * v0; a11 += u * v1; a12 += u * v2; a13 += u * v3
            u = x2.vector(at: i)
            a20 += u * v0; a21 += u * v1; a22 += u * v2; a23 += u * v3
            u = x3.vector(at: i)
            a30 += u * v0; a31 += u * v1; a32 += u * v2; a33 += u * v3
            i += 16
        }
        let sums: (FloatVector, FloatVector, FloatVector, FloatVector) = (
            horizontalSums(a00, a01, a02, a03), horizontalSums(a10, a11, a12, a13),
            horizontalSums(a20, a21, a22, a23), horizontalSums(a30, a31, a32, a33))
        for r in 0..<mb {
            let xr = x + (m0 + r) * ldx
            let row = c + (m0 + r) * ldc + n0
            let s = r == 0 ? sums.0 : r == 1 ? sums.1 : r == 2 ? sums.2 : sums.3
            for j in 0..<nb {
                var v = s[j]
                if i < k {
                    let wj = w + (n0 + j) * ldw
                    for p in i..<k { v += xr[p] * wj[p] }
                }
                row[j] = beta == 0 ? v : v + row[j]
            }
        }
    }
}

import CVectorKernels
import Kernels
import TestSupport
import Testing

@Suite("GEMM")
struct GEMMTests {
    /// Naive row-major reference.
    static func reference(
        _ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int, alpha: Float, a: [Float], b: [Float],
        beta: Float, c: [Float]
    ) -> [Float] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var s: Double = 0
                for p in 0..<k {
                    let av = ta == .none ? a[i * k + p] : a[p * m + i]
                    let bv = tb == .none ? b[p * n + j] : b[j * k + p]
                    s += Double(av) * Double(bv)
                }
                out[i * n + j] = alpha * Float(s) + beta * c[i * n + j]
            }
        }
        return out
    }

    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (3, 5, 7), (17, 33, 9), (64, 48, 96), (300, 130, 70), (8, 700, 600),
    ]

    @Test(arguments: shapes)
    func allTransposeCases(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        for ta in [Transpose.none, .transpose] {
            for tb in [Transpose.none, .transpose] {
                var a = randomFloats(m * k, seed: 1)
                var b = randomFloats(k * n, seed: 2)
                let c0 = randomFloats(m * n, seed: 3)
                let expected = Self.reference(ta, tb, m: m, n: n, k: k, alpha: 0.5, a: a, b: b, beta: 2, c: c0)
                for parallel in [false, true] {
                    var c = c0
                    a.withPointer { ap in
                        b.withPointer { bp in
                            c.withPointer { cp in
                                let lda = ta == .none ? k : m
                                let ldb = tb == .none ? n : k
                                if parallel {
                                    GEMM.multiply(
                                        ta, tb, m: m, n: n, k: k, alpha: 0.5, a: ap, lda: lda, b: bp, ldb: ldb, beta: 2,
                                        c: cp, ldc: n)
                                } else {
                                    GEMM.serial(
                                        ta, tb, m: m, n: n, k: k, alpha: 0.5, a: ap, lda: lda, b: bp, ldb: ldb, beta: 2,
                                        c: cp, ldc: n)
                                }
                            }
                        }
                    }
                    #expect(maxAbsDifference(c, expected) < 1e-3, "ta=\(ta) tb=\(tb) parallel=\(parallel)")
                }
            }
        }
    }

    @Test func emptyInnerDimensionScalesByBeta() {
        var c: [Float] = [1, 2, 3, 4]
        let a: [Float] = [0]
        c.withPointer { cp in
            a.withUnsafeBufferPointer { ap in
                GEMM.serial(
                    .none, .none, m: 2, n: 2, k: 0, a: ap.baseAddress!, lda: 1, b: ap.baseAddress!, ldb: 2, beta: 0.5,
                    c: cp, ldc: 2)
            }
        }
        #expect(c == [0.5, 1, 1.5, 2])
    }
}

@Suite("Skinny GEMM (batch-1 path)")
struct SkinnyGEMMTests {
    // Block edges: n not a multiple of 8, k with a tail after the 16-wide steps, m below and at 16.
    @Test(arguments: [
        (1, 7, 64), (5, 130, 77), (16, 33, 200), (3, 4, 16), (16, 17, 95), (7, 301, 3072), (16, 2304, 768),
    ])
    func matchesReference(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        for beta: Float in [0, 1] {
            var x = randomFloats(m * k, seed: 21)
            var w = randomFloats(n * k, seed: 22)
            let c0 = randomFloats(m * n, seed: 23)
            let expected = GEMMTests.reference(
                .none, .transpose, m: m, n: n, k: k, alpha: 1, a: x, b: w, beta: beta, c: c0)
            var c = c0
            x.withPointer { xp in
                w.withPointer { wp in
                    c.withPointer { cp in
                        // m ≤ 16 with alpha 1 takes the skinny kernel inside GEMM.multiply.
                        GEMM.multiply(
                            .none, .transpose, m: m, n: n, k: k, a: xp, lda: k, b: wp, ldb: k, beta: beta, c: cp, ldc: n
                        )
                    }
                }
            }
            #expect(maxAbsDifference(c, expected) < 1e-4, "beta \(beta)")
        }
    }

    /// Linear with a bias: rows ≤ 16 take the skinny kernel (bias added in its store), more rows the
    /// prefill-then-GEMM path; both equal x·Wᵀ + b (+ out when accumulating).
    @Test(arguments: [(1, 24, 64), (16, 2304, 768), (5, 33, 3072), (17, 40, 96)])
    func linearWithBias(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var x = randomFloats(m * k, seed: 31)
        var w = randomFloats(n * k, seed: 32)
        var bias = randomFloats(n, seed: 33)
        let start = randomFloats(m * n, seed: 34)
        let product = GEMMTests.reference(.none, .transpose, m: m, n: n, k: k, alpha: 1, a: x, b: w, beta: 0, c: start)
        for accumulate in [false, true] {
            var expected = product
            for i in 0..<m {
                for j in 0..<n { expected[i * n + j] += bias[j] + (accumulate ? start[i * n + j] : 0) }
            }
            var out = start
            x.withPointer { xp in
                w.withPointer { wp in
                    bias.withPointer { bp in
                        out.withPointer { op in
                            Linear.forward(
                                out: op, x: xp, weight: wp, bias: bp, rows: m, inFeatures: k, outFeatures: n,
                                accumulate: accumulate)
                        }
                    }
                }
            }
            #expect(maxAbsDifference(out, expected) < 1e-4, "accumulate \(accumulate)")
        }
    }

    /// `activation` gives gelu(x·Wᵀ + b) on both paths (fused per chunk for ≤ 16 rows, a pass after
    /// the GEMM otherwise), equal to Linear then GELU.
    @Test(arguments: [(3, 200, 96, GELUForm.erf), (16, 1536, 384, .tanh), (40, 72, 80, .erf)])
    func linearWithActivation(shape: (Int, Int, Int, GELUForm)) {
        let (m, n, k, form) = shape
        var x = randomFloats(m * k, seed: 41)
        var w = randomFloats(n * k, seed: 42)
        var bias = randomFloats(n, seed: 43)
        var fused = [Float](repeating: .nan, count: m * n)
        var separate = [Float](repeating: .nan, count: m * n)
        x.withPointer { xp in
            w.withPointer { wp in
                bias.withPointer { bp in
                    fused.withPointer { op in
                        Linear.forward(
                            out: op, x: xp, weight: wp, bias: bp, rows: m, inFeatures: k, outFeatures: n,
                            activation: form)
                    }
                    separate.withPointer { op in
                        Linear.forward(out: op, x: xp, weight: wp, bias: bp, rows: m, inFeatures: k, outFeatures: n)
                        GELU.forward(form, out: op, x: op, count: m * n)
                    }
                }
            }
        }
        #expect(fused == separate)
        #expect(Linear.fusesActivation(rows: m, inFeatures: k) == (m <= 16))
    }
}

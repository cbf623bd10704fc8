import CVectorKernels
import Kernels
import TestSupport
import Testing

/// bf16 attention (`Attention.forwardBF16` / `backwardBF16`) and the small bf16 GEMM under it.
@Suite("bf16 attention")
struct AttentionBF16Tests {
    /// (m, n, k, A transposed, B transposed, accumulate): odd k, n past one and two vectors of 16, m past
    /// the kernel's 6-row blocks.
    static let gemmCases: [(Int, Int, Int, Bool, Bool, Bool)] = [
        (1, 1, 1, false, false, false), (6, 16, 2, false, true, true), (7, 17, 3, true, false, false),
        (13, 33, 32, false, true, false), (40, 100, 32, false, true, false), (100, 32, 99, true, false, true),
        (5, 47, 64, true, true, true), (64, 8, 31, false, false, true),
    ]

    /// `sa_small_gemm_bf16` against the products of the same bf16 values summed in Double: within fp32
    /// accumulation's error (1e-5 of Σ|a·b| per element), and the columns past n of each C row untouched.
    @Test(arguments: gemmCases)
    func smallGEMMMatchesItsDefinition(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, accumulate: Bool) {
        let lda = (transA ? m : k) + 3
        let ldb = (transB ? k : n) + 1
        let ldc = n + 5
        func bf16(_ values: [Float]) -> [UInt16] {
            var out = [UInt16](repeating: 0, count: values.count)
            values.withUnsafeBufferPointer { BF16.convert($0.baseAddress!, to: &out, count: values.count) }
            return out
        }
        func widen(_ h: UInt16) -> Double { Double(Float(bitPattern: UInt32(h) << 16)) }
        let a = bf16(randomFloats((transA ? k : m) * lda, seed: 1, scale: 3))
        let b = bf16(randomFloats((transB ? n : k) * ldb, seed: 2, scale: 2))
        let c0 = randomFloats(m * ldc, seed: 3)
        var c = c0
        let np = (n + 15) / 16 * 16
        let mp = (m + 15) / 16 * 16
        var packedB = [UInt32](repeating: 0, count: (k + 1) / 2 * np)
        var packedA = [UInt32](repeating: 0, count: (k + 1) / 2 * mp)
        if transB {
            sa_pack_pairs_transposed_bf16(k, n, b, ldb, &packedB)
        } else {
            sa_pack_pairs_bf16_rows(k, n, b, ldb, &packedB)
        }
        if transA {
            sa_pack_pairs_bf16_rows(k, m, a, lda, &packedA)
            packedA.withUnsafeBytes { pa in
                sa_small_gemm_bf16(
                    m, n, k, pa.bindMemory(to: UInt16.self).baseAddress!, 2, 2 * mp, packedB, &c, ldc,
                    accumulate ? 1 : 0)
            }
        } else {
            sa_small_gemm_bf16(m, n, k, a, lda, 2, packedB, &c, ldc, accumulate ? 1 : 0)
        }
        for i in 0..<m {
            for j in 0..<ldc {
                guard j < n else {
                    #expect(c[i * ldc + j] == c0[i * ldc + j], "column \(j) past n overwritten")
                    continue
                }
                var sum = accumulate ? Double(c0[i * ldc + j]) : 0
                var magnitude = accumulate ? abs(sum) : 0
                for p in 0..<k {
                    let x =
                        widen(transA ? a[p * lda + i] : a[i * lda + p])
                        * widen(transB ? b[j * ldb + p] : b[p * ldb + j])
                    sum += x
                    magnitude += abs(x)
                }
                let got = Double(c[i * ldc + j])
                #expect(abs(got - sum) <= 1e-5 * magnitude + 1e-30, "C[\(i), \(j)] = \(got), expected \(sum)")
            }
        }
    }

    /// `sa_f32_to_bf16_rows` (one head's strided rows) rounds exactly as `sa_f32_to_bf16`: ties to even, NaNs
    /// (one with its payload in the dropped half too) kept NaN, infinities, subnormals, the largest float; rows
    /// longer than one vector, strides on both sides, nothing written between the rows.
    @Test func rowConversionRoundsAsTheArrayConversion() {
        let specials: [Float] = [
            0, -0, 1, -1, .infinity, -.infinity, .nan, Float(bitPattern: 0x7f80_0001), Float(bitPattern: 0x3f80_8000),
            Float(bitPattern: 0x3f81_8000), Float(bitPattern: 0x0000_0001), Float(bitPattern: 0x807f_ffff),
            .greatestFiniteMagnitude, -3.1415926,
        ]
        let (rows, cols, ldx, ldo) = (3, 19, 23, 21)
        var x = randomFloats(rows * ldx, seed: 4, scale: 100)
        for (i, v) in specials.enumerated() { x[(i % rows) * ldx + i] = v }
        var got = [UInt16](repeating: 0xabcd, count: rows * ldo)
        sa_f32_to_bf16_rows(rows, cols, x, ldx, &got, ldo)
        for r in 0..<rows {
            var expected = [UInt16](repeating: 0, count: cols)
            x.withUnsafeBufferPointer { sa_f32_to_bf16($0.baseAddress! + r * ldx, &expected, cols) }
            #expect(Array(got[(r * ldo)..<(r * ldo + cols)]) == expected, "row \(r)")
            #expect(got[(r * ldo + cols)..<(r * ldo + ldo)].allSatisfy { $0 == 0xabcd }, "row \(r) padding written")
        }
    }

    /// `sa_softmax_dropout_bf16_row` is `sa_softmax_row`, `sa_dropout` and `sa_f32_to_bf16` in turn, bit
    /// for bit (its optional bf16 probabilities before dropout too): row lengths below, at and past the 16 lanes, dropout off and on at two stream offsets, and
    /// a row holding a NaN (a diverged run: the NaN stays NaN in bf16, as the array conversion keeps it).
    @Test(arguments: [(1, Float(0)), (15, 0.1), (16, 0), (33, 0.1), (100, 0.5), (257, 0.1), (64, 1)])
    func fusedSoftmaxRowIsTheThreeKernels(n: Int, drop: Float) {
        for (offset, poison) in [(UInt64(0), false), (UInt64(977), false), (UInt64(5), true)] {
            var scores = randomFloats(n, seed: UInt64(n) + offset, scale: 6)
            if poison { scores[n / 2] = .nan }
            let scale: Float = 0.125
            let seed: UInt64 = 0x5eed
            var p = scores
            var fused = [UInt16](repeating: 0xabcd, count: n + 1)
            var fusedProbs = [UInt16](repeating: 0xabcd, count: n + 1)
            sa_softmax_dropout_bf16_row(&p, &fused, &fusedProbs, n, scale, drop, seed, offset)
            var alone = scores
            var droppedAlone = [UInt16](repeating: 0, count: n)
            sa_softmax_dropout_bf16_row(&alone, &droppedAlone, nil, n, scale, drop, seed, offset)

            var reference = [Float](repeating: 0, count: n)
            sa_softmax_row(&reference, scores, n, scale)
            var dropped = reference
            if drop > 0 { sa_dropout(&dropped, reference, n, drop, seed, offset, 0) }
            var expected = [UInt16](repeating: 0, count: n)
            sa_f32_to_bf16(dropped, &expected, n)
            #expect(p.map(\.bitPattern) == reference.map(\.bitPattern), "n \(n) offset \(offset): probabilities")
            #expect(Array(fused[0..<n]) == expected, "n \(n) drop \(drop) offset \(offset): dropped bf16 row")
            #expect(fused[n] == 0xabcd && fusedProbs[n] == 0xabcd, "written past the row")
            var probs16 = [UInt16](repeating: 0, count: n)
            sa_f32_to_bf16(reference, &probs16, n)
            #expect(Array(fusedProbs[0..<n]) == probs16, "n \(n) drop \(drop): the bf16 probabilities before dropout")
            #expect(
                droppedAlone == Array(fused[0..<n]) && alone.map(\.bitPattern) == p.map(\.bitPattern),
                "without the bf16 probabilities")
            if drop > 0 && drop < 1 && n >= 33 && !poison {
                #expect(expected.contains(0) && expected.contains { $0 != 0 }, "the mask keeps and drops")
            }
        }
    }

    /// (sequence offsets, heads, head size, first queries only, dropout, keep the dropped probabilities).
    static let cases: [([Int], Int, Int, Bool, Float, Bool)] = [
        ([0, 3, 8, 9], 2, 4, false, 0, false), ([0, 5, 5, 12], 3, 8, false, 0.3, true),
        ([0, 40, 77], 12, 16, false, 0.1, true), ([0, 40, 77], 12, 16, false, 0.1, false),
        ([0, 40, 77, 140], 4, 32, true, 0.2, true), ([0, 1, 31, 64], 6, 32, true, 0, false),
    ]

    /// The bf16 pass against the fp32 `Attention.forward` / `backward` on the same inputs, dropout masks
    /// included: the softmax output within 5e-3 of its norm, the context and every gradient within 1e-2 of
    /// theirs (Q, K, V and the probabilities rounded to 2⁻⁹ relative; the scores' rounding passes through the
    /// exponentials; 2–4e-3 measured) and not equal to fp32's (the products did run in bf16). Q/K/V kept for the backward are
    /// exactly their bf16 rounding; a forward without `savedQKV` gives the same context bit for bit; the
    /// backward writes every element of dQKV (it starts NaN-filled).
    @Test(arguments: cases)
    func followsTheFP32Pass(
        offsets: [Int], heads: Int, headDim: Int, firstQueries: Bool, dropout: Float, keepDropped: Bool
    ) {
        let shape = AttentionShape(offsets: offsets, heads: heads, headDim: headDim)
        let c = shape.channels
        let m = shape.tokens
        let rows = firstQueries ? shape.batch : m
        let count = max(firstQueries ? shape.firstQueryProbabilityCount : shape.probabilityCount, 1)
        let qkv = randomFloats(m * 3 * c, seed: 21, scale: 2)
        let dout = randomFloats(rows * c, seed: 22)
        let seed: UInt64 = 9

        var out32 = [Float](repeating: 0, count: rows * c)
        var probs32 = [Float](repeating: 0, count: count)
        var dqkv32 = [Float](repeating: 0, count: m * 3 * c)
        out32.withUnsafeMutableBufferPointer { o in
            probs32.withUnsafeMutableBufferPointer { p in
                let forward = firstQueries ? Attention.forwardFirstQueries : Attention.forward
                forward(o.baseAddress!, qkv, shape, p.baseAddress, dropout, seed, nil, nil, nil)
            }
        }
        dqkv32.withUnsafeMutableBufferPointer { g in
            let backward = firstQueries ? Attention.backwardFirstQueries : Attention.backward
            backward(g.baseAddress!, dout, qkv, probs32, shape, dropout, seed, nil, nil, nil, nil)
        }

        var out16 = [Float](repeating: 0, count: rows * c)
        var unsaved = [Float](repeating: 0, count: rows * c)
        var probs16 = [Float](repeating: 0, count: count)
        var saved = [UInt16](repeating: 0, count: m * 3 * c)
        var dropped = [UInt16](repeating: 0, count: count)
        // NaN-filled: the bf16 backward writes every element (no clearing first), zeros included.
        var dqkv16 = [Float](repeating: .nan, count: m * 3 * c)
        out16.withUnsafeMutableBufferPointer { o in
            probs16.withUnsafeMutableBufferPointer { p in
                saved.withUnsafeMutableBufferPointer { s in
                    dropped.withUnsafeMutableBufferPointer { d in
                        Attention.forwardBF16(
                            out: o.baseAddress!, qkv: qkv, shape: shape, savedQKV: s.baseAddress, probs: p.baseAddress,
                            dropout: dropout, seed: seed, droppedProbs: keepDropped ? d.baseAddress : nil,
                            firstQueries: firstQueries)
                    }
                }
            }
        }
        unsaved.withUnsafeMutableBufferPointer { o in
            Attention.forwardBF16(
                out: o.baseAddress!, qkv: qkv, shape: shape, dropout: dropout, seed: seed, firstQueries: firstQueries)
        }
        #expect(unsaved == out16, "the context does not depend on where Q/K/V are rounded to")
        dqkv16.withUnsafeMutableBufferPointer { g in
            Attention.backwardBF16(
                dqkv: g.baseAddress!, dout: dout, qkv: saved, probs: probs16, shape: shape, dropout: dropout,
                seed: seed, droppedProbs: keepDropped ? dropped : nil, firstQueries: firstQueries)
        }

        if keepDropped {
            // The kept bf16 probabilities carry the mask the backward pass would otherwise regenerate.
            var regenerated = [Float](repeating: .nan, count: m * 3 * c)
            regenerated.withUnsafeMutableBufferPointer { g in
                Attention.backwardBF16(
                    dqkv: g.baseAddress!, dout: dout, qkv: saved, probs: probs16, shape: shape, dropout: dropout,
                    seed: seed, firstQueries: firstQueries)
            }
            #expect(regenerated == dqkv16, "the kept mask differs from the regenerated one")
        }
        func relative(_ x: [Float], _ y: [Float]) -> (Float, Float) {
            var norm: Float = 0
            var diff: Float = 0
            for (a, b) in zip(x, y) {
                norm += a * a
                diff += (a - b) * (a - b)
            }
            return (diff.squareRoot() / max(norm.squareRoot(), 1e-30), norm.squareRoot())
        }
        #expect(!dqkv16.contains { $0.isNaN }, "the backward left elements of dQKV unwritten")
        // The softmax output kept in bf16 instead: exactly the fp32 one rounded, the same context, and
        // gradients within 1e-2 of those from the fp32 probabilities (their rounding, 2⁻⁹ relative, enters
        // the softmax's backward; with regenerated dropout also the dropped weights, rounded once more).
        var probsHalf = [UInt16](repeating: 0, count: count)
        var outHalf = [Float](repeating: 0, count: rows * c)
        var droppedHalf = [UInt16](repeating: 0, count: count)
        outHalf.withUnsafeMutableBufferPointer { o in
            probsHalf.withUnsafeMutableBufferPointer { p in
                droppedHalf.withUnsafeMutableBufferPointer { d in
                    Attention.forwardBF16(
                        out: o.baseAddress!, qkv: qkv, shape: shape, probsBF16: p.baseAddress, dropout: dropout,
                        seed: seed, droppedProbs: keepDropped ? d.baseAddress : nil, firstQueries: firstQueries)
                }
            }
        }
        var probsRounded = [UInt16](repeating: 0, count: count)
        sa_f32_to_bf16(probs16, &probsRounded, count)
        #expect(probsHalf == probsRounded, "bf16 probabilities are not the fp32 ones rounded")
        #expect(outHalf == out16, "the context depends on how the probabilities are kept")
        var dqkvHalf = [Float](repeating: .nan, count: m * 3 * c)
        dqkvHalf.withUnsafeMutableBufferPointer { g in
            Attention.backwardBF16(
                dqkv: g.baseAddress!, dout: dout, qkv: saved, probsBF16: probsHalf, shape: shape, dropout: dropout,
                seed: seed, droppedProbs: keepDropped ? droppedHalf : nil, firstQueries: firstQueries)
        }
        let (halfError, _) = relative(dqkv16, dqkvHalf)
        #expect(halfError <= 1e-2, "gradients from bf16 probabilities off by \(halfError) of their norm")
        // Saved Q/K/V: rounded to bf16.
        var rounded = [UInt16](repeating: 0, count: m * 3 * c)
        qkv.withUnsafeBufferPointer { BF16.convert($0.baseAddress!, to: &rounded, count: m * 3 * c) }
        #expect(saved == rounded, "saved Q/K/V are not their bf16 rounding")

        let (probsError, _) = relative(probs32, probs16)
        let (outError, outNorm) = relative(out32, out16)
        #expect(probsError <= 5e-3, "softmax output off by \(probsError) of its norm")
        #expect(outError <= 1e-2 && outError > 0, "context off by \(outError) of its norm")
        #expect(outNorm > 0.1)
        // dQ, dK and dV apart: each is a different product.
        for part in 0..<3 {
            var a: [Float] = []
            var b: [Float] = []
            for r in 0..<m {
                let start: Int = r * 3 * c + part * c
                a.append(contentsOf: dqkv32[start..<(start + c)])
                b.append(contentsOf: dqkv16[start..<(start + c)])
            }
            let (error, norm) = relative(a, b)
            #expect(norm > 1e-3, "part \(part) has no gradient")
            #expect(
                error <= 1e-2 && error > 0, "gradient part \(part) (0 = Q, 1 = K, 2 = V) off by \(error) of its norm")
        }
    }
}

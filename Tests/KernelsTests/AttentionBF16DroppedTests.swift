import Kernels
import TestSupport
import Testing

/// bf16 training keeps the post-dropout attention probabilities in bf16 (`droppedProbsBF16`): the forward pass is
/// unchanged, and the backward pass differs from keeping them in fp32 only where they are the P·V product's input
/// (dV), by bf16's rounding; dQ and dK — the mask and the softmax backward, which reads the fp32 probabilities — are
/// the same bit for bit.
@Suite("Attention with bf16 dropped probabilities")
struct AttentionBF16DroppedTests {
    /// (sequence offsets, heads, head size, first queries only).
    static let cases: [([Int], Int, Int, Bool)] = [
        ([0, 3, 8, 9], 2, 4, false), ([0, 5, 5, 12], 3, 8, false), ([0, 40, 77], 12, 16, false),
        ([0, 40, 77], 4, 8, true),
    ]

    @Test(arguments: cases)
    func onlyTheValueGradientSeesTheRounding(offsets: [Int], heads: Int, headDim: Int, firstQueries: Bool) throws {
        let shape = AttentionShape(offsets: offsets, heads: heads, headDim: headDim)
        let c = shape.channels
        let m = shape.tokens
        let rows = firstQueries ? shape.batch : m
        let count = firstQueries ? shape.firstQueryProbabilityCount : shape.probabilityCount
        let qkv = randomFloats(m * 3 * c, seed: 5, scale: 2)
        let dout = randomFloats(rows * c, seed: 6, scale: 1)
        let dropout: Float = 0.3
        func run(halfPrecision: Bool) -> (out: [Float], dqkv: [Float]) {
            var out = [Float](repeating: 0, count: rows * c)
            var probs = [Float](repeating: 0, count: max(count, 1))
            var dropped = [Float](repeating: 0, count: max(count, 1))
            var half = [UInt16](repeating: 0, count: max(count, 1))
            var dqkv = [Float](repeating: 0, count: m * 3 * c)
            out.withUnsafeMutableBufferPointer { o in
                probs.withUnsafeMutableBufferPointer { p in
                    dropped.withUnsafeMutableBufferPointer { d in
                        half.withUnsafeMutableBufferPointer { h in
                            let forward = firstQueries ? Attention.forwardFirstQueries : Attention.forward
                            forward(
                                o.baseAddress!, qkv, shape, p.baseAddress, dropout, 11,
                                halfPrecision ? nil : d.baseAddress,
                                nil, halfPrecision ? h.baseAddress : nil)
                        }
                    }
                }
            }
            dqkv.withUnsafeMutableBufferPointer { g in
                let backward = firstQueries ? Attention.backwardFirstQueries : Attention.backward
                backward(
                    g.baseAddress!, dout, qkv, probs, shape, dropout, 11, halfPrecision ? nil : dropped, nil, nil,
                    halfPrecision ? half : nil)
            }
            return (out, dqkv)
        }
        let full = run(halfPrecision: false)
        let half = run(halfPrecision: true)
        #expect(full.out == half.out, "the forward pass uses the fp32 values")
        var norm: Float = 0
        var diff: Float = 0
        for row in 0..<m {
            let start = row * 3 * c
            for j in 0..<(2 * c) where full.dqkv[start + j] != half.dqkv[start + j] {
                Issue.record("dQ/dK row \(row) column \(j): \(full.dqkv[start + j]) vs \(half.dqkv[start + j])")
            }
            for j in (2 * c)..<(3 * c) {
                let a = full.dqkv[start + j]
                let d = a - half.dqkv[start + j]
                norm += a * a
                diff += d * d
            }
        }
        norm = norm.squareRoot()
        diff = diff.squareRoot()
        #expect(norm > 0.1)
        // Each probability rounded by ≤ 2⁻⁹ relative; dV sums such products.
        #expect(diff <= 4e-3 * norm, "dV off by \(diff / norm) of its norm")
        #expect(diff > 0, "dV should see the bf16 rounding")
    }
}

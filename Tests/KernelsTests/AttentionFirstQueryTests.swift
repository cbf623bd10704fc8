import Kernels
import TestSupport
import Testing

@Suite("Attention for the first query only")
struct AttentionFirstQueryTests {
    /// (sequence offsets, heads, head size): single token, empty sequence, long sequences.
    static let cases: [([Int], Int, Int)] = [
        ([0, 1], 1, 4), ([0, 3, 8, 9], 2, 4), ([0, 5, 5, 12], 3, 8), ([0, 40, 77], 12, 16),
    ]

    @Test(arguments: cases)
    func matchesTheFullPassAtEachFirstToken(offsets: [Int], heads: Int, headDim: Int) {
        let shape = AttentionShape(offsets: offsets, heads: heads, headDim: headDim)
        let c = shape.channels
        let m = shape.tokens
        let qkv = randomFloats(m * 3 * c, seed: 91, scale: 2)
        var full = [Float](repeating: 0, count: max(m * c, 1))
        full.withPointer { Attention.forward(out: $0, qkv: qkv, shape: shape) }
        var first = [Float](repeating: .nan, count: shape.batch * c)
        first.withPointer { Attention.forwardFirstQueries(out: $0, qkv: qkv, shape: shape) }
        for b in 0..<shape.batch {
            let got = Array(first[(b * c)..<((b + 1) * c)])
            if offsets[b] == offsets[b + 1] {
                #expect(got == [Float](repeating: 0, count: c), "sequence \(b) has no token")
            } else {
                let row = offsets[b]
                #expect(maxAbsDifference(got, Array(full[(row * c)..<((row + 1) * c)])) <= 1e-6, "sequence \(b)")
            }
        }
    }

    /// The backward against finite differences, with and without dropout (mask regenerated, and
    /// read from the saved dropped probabilities).
    @Test(arguments: [(Float(0), false), (0.3, false), (0.3, true)])
    func backwardMatchesFiniteDifferences(dropout: Float, keepDropped: Bool) {
        let check = GradientCheck()
        let shape = AttentionShape(offsets: [0, 3, 8, 8, 9], heads: 2, headDim: 4)
        let c = shape.channels
        let b = shape.batch
        var qkv = randomFloats(shape.tokens * 3 * c, seed: 51, scale: 1.5)
        let gw = randomFloats(b * c, seed: 52)
        func run(_ qkv: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: b * c)
            out.withPointer {
                Attention.forwardFirstQueries(out: $0, qkv: qkv, shape: shape, dropout: dropout, seed: 9)
            }
            return out
        }
        var probs = [Float](repeating: 0, count: shape.firstQueryProbabilityCount)
        var dropped = [Float](repeating: 0, count: shape.firstQueryProbabilityCount)
        var out = [Float](repeating: 0, count: b * c)
        out.withPointer { o in
            probs.withPointer { p in
                dropped.withPointer { dp in
                    Attention.forwardFirstQueries(
                        out: o, qkv: qkv, shape: shape, probs: p, dropout: dropout, seed: 9, droppedProbs: dp)
                }
            }
        }
        #expect(out == run(qkv))
        var dqkv = [Float](repeating: 0, count: qkv.count)
        dqkv.withPointer { d in
            Attention.backwardFirstQueries(
                dqkv: d, dout: gw, qkv: qkv, probs: probs, shape: shape, dropout: dropout, seed: 9,
                droppedProbs: keepDropped ? dropped : nil)
        }
        #expect(check.firstMismatch(dqkv, check.numerical(&qkv) { weightedSum(run($0), gw) }) == nil)
        // Only the first rows' queries get gradient.
        for row in 0..<shape.tokens where !shape.offsets.dropLast().contains(row) {
            #expect(dqkv[(row * 3 * c)..<(row * 3 * c + c)].allSatisfy { $0 == 0 }, "row \(row)")
        }
    }
}

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
}

/// The encoder's last hidden states for the attended tokens, and ways to read them.
public struct EncoderOutput: Sendable {
    public let batchSize: Int
    public let sequenceLength: Int
    public let hiddenSize: Int
    /// `[M, C]`: attended tokens only, sequence after sequence.
    public let packedHidden: [Float]
    /// `[B + 1]` row offsets into `packedHidden`.
    public let offsets: [Int]
    /// Packed row of `(b, t)` or -1 for padding; `[B · T]`.
    let rowOf: [Int]

    /// `[B, T, C]`; padded positions are zero (they are never computed: see `Attention`).
    public func lastHiddenState() -> [Float] {
        let c = hiddenSize
        var out = [Float](repeating: 0, count: batchSize * sequenceLength * c)
        for (k, row) in rowOf.enumerated() where row >= 0 {
            for i in 0..<c { out[k * c + i] = packedHidden[row * c + i] }
        }
        return out
    }

    /// Whether `(b, t)` was attended (its hidden state was computed).
    public func isAttended(sequence b: Int, position t: Int) -> Bool { rowOf[b * sequenceLength + t] >= 0 }

    /// `[B, C]`: mean over attended tokens, as sentence-transformers' mean pooling (unnormalised).
    public func meanPooled() -> [Float] {
        let c = hiddenSize
        var out = [Float](repeating: 0, count: batchSize * c)
        for b in 0..<batchSize {
            let n = offsets[b + 1] - offsets[b]
            if n == 0 { continue }
            var acc = [Double](repeating: 0, count: c)
            for r in offsets[b]..<offsets[b + 1] {
                for i in 0..<c { acc[i] += Double(packedHidden[r * c + i]) }
            }
            for i in 0..<c { out[b * c + i] = Float(acc[i] / Double(n)) }
        }
        return out
    }

    /// `[B, C]`: the hidden state of each sequence's first token (`[CLS]` / `<s>`).
    public func firstToken() throws -> [Float] {
        let c = hiddenSize
        var out = [Float](repeating: 0, count: batchSize * c)
        for b in 0..<batchSize {
            let row = rowOf[b * sequenceLength]
            guard row >= 0 else {
                throw EncoderError.invalidInput("sequence \(b): its first token is masked out (left padding is not supported for CLS pooling)")
            }
            for i in 0..<c { out[b * c + i] = packedHidden[row * c + i] }
        }
        return out
    }
}
